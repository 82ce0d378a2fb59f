//! Demo data: fills a store with plausible customers, DID numbers, SIP accounts, trunks, shared termination gateways, routes and
//! millions of CDRs of a chosen size, the same on every run, for trying the product and for benchmarks.
//!
//! Configuration goes through [`Store::create`] as the system actor, so every rule and the audit log apply exactly as for an
//! operator; attribute values are parsed by [`domain::validate`] as the APIs parse them. CDRs are the typed rows
//! ([`IncomingCdr`], [`TerminationCdr`]), written with [`Store::append_cdrs`] in batches, in time order (as a live switch
//! appends them), reusing one batch of rows so that ten million CDRs cost no more memory than five thousand.
//!
//! The pseudo-random generator is a SplitMix64 with a fixed seed: names, numbers, limits and the shape of the traffic are
//! reproducible. Only the CDR times move with the clock (they end just before now), and the ids the store assigns.

use crate::cdr::{CdrRow, IncomingCdr, TerminationCdr};
use crate::{Actor, Input, ListQuery, RelInput, Result, Scope, Store};
use domain::schema::{self, Resource};
use serde_json::Value as Json;
use std::collections::HashSet;
use std::fmt::Write as _;

/// How much to create. Per-customer counts apply to every customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedSize {
    pub customers: usize,
    pub numbers_per_customer: usize,
    pub accounts_per_customer: usize,
    /// Shared (operator) termination gateways; routes need at least one.
    pub gateways: usize,
    pub routes_per_customer: usize,
    pub incoming_cdrs: u64,
    pub termination_cdrs: u64,
    /// CDR `time_start` is spread over the last N days (0 counts as 1).
    pub days: u32,
}

impl SeedSize {
    /// A store to click through: 10 customers, 20,000 CDRs over 30 days.
    pub fn small() -> Self {
        SeedSize {
            customers: 10,
            numbers_per_customer: 5,
            accounts_per_customer: 5,
            gateways: 3,
            routes_per_customer: 2,
            incoming_cdrs: 10_000,
            termination_cdrs: 10_000,
            days: 30,
        }
    }
}

/// What was created.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub customers: usize,
    pub numbers: usize,
    pub accounts: usize,
    /// Incoming trunks, including each customer's automatic "Default" one.
    pub trunks: usize,
    pub gateways: usize,
    pub routes: usize,
    pub incoming_cdrs: u64,
    pub termination_cdrs: u64,
}

/// Rows per [`Store::append_cdrs`] call (one transaction each).
const BATCH: usize = 5_000;
const SEED: u64 = 0x5357_4254_4452_0001;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

/// Fills `store` with demo data of `size`; it may already hold data (numbers and usernames already taken are avoided).
/// `progress(label, done, total)` is called after each gateway (`"gateways"`), each customer with its numbers, accounts,
/// trunks and routes (`"customers"`) and each CDR batch (`"incoming CDRs"`, `"termination CDRs"`).
pub async fn seed(store: &Store, size: &SeedSize, mut progress: impl FnMut(&str, u64, u64)) -> Result<SeedReport> {
    let actor = Actor::system();
    let mut rng = Rng::new(SEED);
    let mut report = SeedReport::default();
    let mut taken = Taken::load(store).await?;

    let mut gateways = Vec::with_capacity(size.gateways);
    for i in 0..size.gateways {
        gateways.push(create_gateway(store, &actor, &mut rng, i).await?);
        report.gateways += 1;
        progress("gateways", i as u64 + 1, size.gateways as u64);
    }

    let mut tenants = Vec::with_capacity(size.customers);
    for i in 0..size.customers {
        let t = create_customer(store, &actor, &mut rng, &mut taken, size, &gateways).await?;
        report.customers += 1;
        report.trunks += t.trunks.len();
        report.numbers += t.numbers.len();
        report.accounts += t.accounts.len();
        report.routes += t.routes.len();
        tenants.push(t);
        progress("customers", i as u64 + 1, size.customers as u64);
    }
    if tenants.is_empty() {
        return Ok(report);
    }

    let now = domain::time::now_ms();
    let traffic = Traffic::new(&tenants, &mut rng);
    let mut gen = IncomingGen {
        rng: Rng::new(SEED ^ 0x1),
        times: Times::new(now, size.days, size.incoming_cdrs),
        traffic: &traffic,
        gateways: &gateways,
    };
    write_cdrs(store, size.incoming_cdrs, "incoming CDRs", &mut progress, |row, i| gen.fill(row, i)).await?;
    report.incoming_cdrs = size.incoming_cdrs;

    let mut gen = TerminationGen {
        rng: Rng::new(SEED ^ 0x2),
        times: Times::new(now, size.days, size.termination_cdrs),
        traffic: &traffic,
        gateways: &gateways,
    };
    write_cdrs(store, size.termination_cdrs, "termination CDRs", &mut progress, |row, i| gen.fill(row, i)).await?;
    report.termination_cdrs = size.termination_cdrs;
    Ok(report)
}

// ---------------------------------------------------------------------------
// Pseudo-random numbers

/// SplitMix64: tiny, fast, and good enough for demo data.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo) as u64) as i64
    }

    fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }

    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Appends `n` random decimal digits.
    fn push_digits(&mut self, s: &mut String, mut n: usize) {
        while n > 0 {
            let mut x = self.next();
            for _ in 0..n.min(19) {
                s.push(char::from(b'0' + (x % 10) as u8));
                x /= 10;
                n -= 1;
            }
        }
    }

    /// Appends `n` random lower-case hex digits.
    fn push_hex(&mut self, s: &mut String, mut n: usize) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        while n > 0 {
            let mut x = self.next();
            for _ in 0..n.min(16) {
                s.push(char::from(HEX[(x & 0xf) as usize]));
                x >>= 4;
                n -= 1;
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Word lists

/// Customer languages, weighted.
const LANGUAGE_MIX: &[(&str, u64)] = &[("EN", 40), ("LT", 25), ("LV", 25), ("RU", 10)];

/// (display name, ASCII login) of people, per language.
const PEOPLE_EN: &[(&str, &str)] = &[
    ("Oliver Smith", "oliver.smith"),
    ("Amelia Jones", "amelia.jones"),
    ("George Taylor", "george.taylor"),
    ("Isla Brown", "isla.brown"),
    ("Harry Williams", "harry.williams"),
    ("Ava Wilson", "ava.wilson"),
    ("Jack Evans", "jack.evans"),
    ("Emily Walker", "emily.walker"),
    ("Charlie Wright", "charlie.wright"),
    ("Sophie Hughes", "sophie.hughes"),
    ("Thomas Green", "thomas.green"),
    ("Grace Hall", "grace.hall"),
];
const PEOPLE_LT: &[(&str, &str)] = &[
    ("Jonas Kazlauskas", "jonas.k"),
    ("Rūta Petrauskienė", "ruta.p"),
    ("Lukas Jankauskas", "lukas.j"),
    ("Emilija Stankevičiūtė", "emilija.s"),
    ("Mantas Vasiliauskas", "mantas.v"),
    ("Gabija Žukauskaitė", "gabija.z"),
    ("Matas Butkus", "matas.b"),
    ("Austėja Paulauskienė", "austeja.p"),
    ("Tomas Urbonas", "tomas.u"),
    ("Ieva Kavaliauskaitė", "ieva.k"),
];
const PEOPLE_LV: &[(&str, &str)] = &[
    ("Jānis Bērziņš", "janis.b"),
    ("Anna Kalniņa", "anna.k"),
    ("Mārtiņš Ozols", "martins.o"),
    ("Laura Liepiņa", "laura.l"),
    ("Andris Jansons", "andris.j"),
    ("Ilze Krūmiņa", "ilze.k"),
    ("Edgars Vītols", "edgars.v"),
    ("Kristīne Zariņa", "kristine.z"),
    ("Roberts Kļaviņš", "roberts.k"),
    ("Līga Eglīte", "liga.e"),
];
const PEOPLE_RU: &[(&str, &str)] = &[
    ("Иван Петров", "ivan.p"),
    ("Ольга Смирнова", "olga.s"),
    ("Дмитрий Волков", "dmitry.v"),
    ("Наталья Иванова", "natalia.i"),
    ("Сергей Кузнецов", "sergey.k"),
    ("Елена Попова", "elena.p"),
    ("Алексей Соколов", "alexei.s"),
    ("Ирина Лебедева", "irina.l"),
];
const PEOPLE: &[&[(&str, &str)]] = &[PEOPLE_EN, PEOPLE_LT, PEOPLE_LV, PEOPLE_RU];

const COMPANY_EN: (&[&str], &[&str]) = (
    &[
        "Thames",
        "Northwind",
        "Oakfield",
        "Kestrel",
        "Bluebell",
        "Harbour",
        "Granite",
        "Meridian",
        "Riverside",
        "Summit",
        "Brightwater",
        "Foxglove",
    ],
    &[
        "Logistics",
        "Dental Care",
        "Legal",
        "Travel",
        "Software",
        "Freight",
        "Insurance",
        "Hotels",
        "Motors",
        "Pharmacy",
        "Estates",
        "Consulting",
    ],
);
const COMPANY_EN_SUFFIX: &[&str] = &["Ltd", "Ltd", "Group", "& Co", "LLP"];
const COMPANY_LT: (&[&str], &[&str]) = (
    &["Baltijos", "Neries", "Gintaro", "Vilniaus", "Kauno", "Nemuno", "Ąžuolo", "Šiaurės"],
    &["logistika", "klinika", "statyba", "prekyba", "sprendimai", "transportas", "kelionės"],
);
const COMPANY_LV: (&[&str], &[&str]) = (
    &["Daugavas", "Rīgas", "Gaujas", "Dzintara", "Baltijas", "Vidzemes", "Kurzemes", "Ozola"],
    &["loģistika", "klīnika", "būve", "tirdzniecība", "risinājumi", "transports", "ceļojumi"],
);
const COMPANY_RU: (&[&str], &[&str]) = (
    &["Северная", "Балтийская", "Янтарная", "Речная", "Новая", "Городская"],
    &["логистика", "клиника", "торговля", "аптека", "типография", "служба доставки"],
);

const CARRIERS: &[&str] = &[
    "Amber Transit",
    "Northern Voice",
    "Atlantic Interconnect",
    "Eastgate Carrier",
    "Harbour Telecom",
    "Meridian Wholesale",
    "Baltic Backbone",
    "Skyline SIP",
];
const REGIONS: &[&str] = &["London", "Vilnius", "Riga", "Frankfurt", "Amsterdam", "Stockholm"];
const GATEWAY_CODECS: &[&str] =
    &["PCMA,PCMU,telephone-event", "G722,PCMA,telephone-event", "g729,PCMA,telephone-event", "OPUS,PCMA,PCMU,telephone-event"];

/// Termination routes a customer gets, in order (after one for its own country).
const ROUTE_PLAN: &[(&str, &str)] = &[
    ("United Kingdom", "44"),
    ("Lithuania", "370"),
    ("Latvia", "371"),
    ("North America", "1"),
    ("Lithuania mobile", "3706"),
    ("Latvia mobile", "3712"),
    ("UK mobile", "447"),
    ("Germany", "49"),
    ("Estonia", "372"),
    ("Poland", "48"),
    ("Everything else", ""),
];

/// DID ranges (prefix, random digits after it) by customer language, tried in order. 44 20 7946 is Ofcom's drama range.
fn did_ranges(lang: &str) -> &'static [(&'static str, usize)] {
    match lang {
        "EN" => &[("44207946", 4), ("442037", 6)],
        "LT" => &[("3705", 7), ("37037", 6)],
        "LV" => &[("3716", 7), ("37167", 6)],
        _ => &[("3716", 7), ("3705", 7)],
    }
}
/// Where any range runs full, numbers come from these.
const DID_FALLBACK: &[(&str, usize)] = &[("4420", 8), ("3705", 7), ("3716", 7), ("3703", 7)];

/// Numbers of outside callers and forward targets: mobiles and landlines.
const OUTSIDE: &[(&str, usize)] = &[("3706", 7), ("3712", 7), ("447", 9), ("4420", 8), ("3705", 7), ("3716", 7), ("1212", 7)];

// ---------------------------------------------------------------------------
// Configuration objects

/// An [`Input`] whose attributes are parsed from JSON by the field kinds, as the APIs do.
struct Build {
    res: &'static Resource,
    input: Input,
}

impl Build {
    fn new(res: &'static Resource) -> Self {
        Build { res, input: Input::default() }
    }

    fn set(mut self, name: &str, v: impl Into<Json>) -> Result<Self> {
        let f = self.res.field(name).expect("known field");
        let v = domain::validate::parse(f, &v.into())?;
        self.input = self.input.with(self.res, name, v);
        Ok(self)
    }

    fn rel(mut self, name: &str, kind: &'static str, id: i64) -> Self {
        self.input = self.input.with_rel(self.res, name, RelInput::To(kind, id));
        self
    }

    async fn create(self, store: &Store, actor: &Actor) -> Result<i64> {
        Ok(store.create(self.res, actor, self.input).await?.id())
    }
}

/// Numbers, usernames and names in use, so a second seed into the same store does not collide.
struct Taken {
    numbers: HashSet<String>,
    usernames: HashSet<String>,
    names: HashSet<String>,
}

impl Taken {
    async fn load(store: &Store) -> Result<Taken> {
        let all = |res: &'static Resource, column: &'static str| async move {
            let mut out = HashSet::new();
            let mut rx = store.stream(res, Scope::Operator, &ListQuery::default());
            while let Some(r) = rx.recv().await {
                if let Some(s) = r?.get(column).as_str() {
                    out.insert(s.to_owned());
                }
            }
            Ok::<_, crate::Error>(out)
        };
        Ok(Taken {
            numbers: all(&schema::DID_NUMBERS, "number").await?,
            usernames: all(&schema::SIP_ACCOUNTS, "username").await?,
            names: HashSet::new(),
        })
    }

    /// A fresh DID number for a customer of `lang`.
    fn number(&mut self, rng: &mut Rng, lang: &str) -> Result<String> {
        for &(prefix, digits) in did_ranges(lang).iter().chain(DID_FALLBACK) {
            for _ in 0..64 {
                let mut n = String::with_capacity(prefix.len() + digits);
                n.push_str(prefix);
                rng.push_digits(&mut n, digits);
                if self.numbers.insert(n.clone()) {
                    return Ok(n);
                }
            }
        }
        Err(crate::Error::Refused("the demo number ranges are full".into()))
    }

    fn company(&mut self, rng: &mut Rng, lang: &str) -> String {
        let mut name = String::new();
        for attempt in 0.. {
            name = match lang {
                "EN" => format!("{} {} {}", rng.pick(COMPANY_EN.0), rng.pick(COMPANY_EN.1), rng.pick(COMPANY_EN_SUFFIX)),
                "LT" => format!("UAB „{} {}“", rng.pick(COMPANY_LT.0), rng.pick(COMPANY_LT.1)),
                "LV" => format!("SIA \"{} {}\"", rng.pick(COMPANY_LV.0), rng.pick(COMPANY_LV.1)),
                _ => format!("ООО «{} {}»", rng.pick(COMPANY_RU.0), rng.pick(COMPANY_RU.1)),
            };
            if attempt >= 8 {
                // Many customers: number the repeats.
                name = format!("{name} {}", self.names.len() + 1);
            }
            if self.names.insert(name.clone()) {
                break;
            }
        }
        name
    }
}

/// What the CDR generators need of a shared gateway.
struct Gateway {
    id: i64,
    host: String,
    /// What its source/destination rewrite rules put in front of a number (they match whole digit strings).
    src_prefix: &'static str,
    dst_prefix: &'static str,
}

async fn create_gateway(store: &Store, actor: &Actor, rng: &mut Rng, i: usize) -> Result<Gateway> {
    let host = match i {
        0..240 => format!("192.0.2.{}", 10 + i),
        240..480 => format!("198.51.100.{}", i - 230),
        480..720 => format!("203.0.113.{}", i - 470),
        _ => format!("sip{}.carrier.example", i - 719),
    };
    let name = format!("{} – {}", CARRIERS[i % CARRIERS.len()], REGIONS[(i / CARRIERS.len()) % REGIONS.len()]);
    let name = if i >= CARRIERS.len() * REGIONS.len() { format!("{name} {}", i / (CARRIERS.len() * REGIONS.len()) + 1) } else { name };
    let mut b = Build::new(&schema::GATEWAYS).set("name", name)?.set("host", host.as_str())?;
    match i % 4 {
        1 => b = b.set("transport_protocol", "TCP")?,
        2 => b = b.set("transport_protocol", "TLS")?.set("port", 5061)?,
        _ => {}
    }
    // Some carriers want digest authentication.
    if rng.percent(40) {
        let mut secret = String::new();
        rng.push_hex(&mut secret, 24);
        b = b.set("authorization_name", format!("switchboard{}", 1000 + rng.below(9000)))?.set("authorization_password", secret)?;
    }
    if i >= 720 {
        // Named hosts may resolve to both families.
        b = b.set("network_protocol", "dual_stack")?;
    }
    if i > 0 {
        b = b.set("codecs", *rng.pick(GATEWAY_CODECS))?;
    }
    const TECH: &[&str] = &["7701#", "0011", "9#"];
    let (mut src_prefix, mut dst_prefix) = ("", "");
    if i % 3 == 1 {
        dst_prefix = TECH[(i / 3) % TECH.len()];
        b = b.set("dst_rewrite_rule", r"^(\d+)$")?.set("dst_rewrite_result", format!(r"{dst_prefix}\1"))?;
    }
    if i % 4 == 3 {
        src_prefix = "+";
        b = b.set("src_rewrite_rule", r"^(\d+)$")?.set("src_rewrite_result", r"+\1")?;
    }
    let id = b.create(store, actor).await?;
    Ok(Gateway { id, host, src_prefix, dst_prefix })
}

/// A customer and what the CDR generators need of it.
struct Tenant {
    id: i64,
    name: String,
    people: &'static [(&'static str, &'static str)],
    trunks: Vec<i64>,
    numbers: Vec<Number>,
    accounts: Vec<Account>,
    /// Indexes of the accounts that may call out.
    callers: Vec<usize>,
    routes: Vec<Route>,
}

struct Number {
    number: String,
    enabled: bool,
    forwarded: bool,
}

struct Account {
    id: i64,
    name: &'static str,
    /// What it sends as caller number inside (extension, else username).
    inside: String,
    /// Its external caller id (one of the customer's numbers), else `inside`.
    outside: String,
    external_calls: bool,
}

struct Route {
    id: i64,
    gateway: usize,
    prefix: &'static str,
}

async fn create_customer(
    store: &Store,
    actor: &Actor,
    rng: &mut Rng,
    taken: &mut Taken,
    size: &SeedSize,
    gateways: &[Gateway],
) -> Result<Tenant> {
    let lang_roll = rng.below(100);
    let mut acc = 0;
    let lang_ix = LANGUAGE_MIX.iter().position(|(_, w)| {
        acc += w;
        lang_roll < acc
    });
    let lang_ix = lang_ix.unwrap_or(0);
    let lang = LANGUAGE_MIX[lang_ix].0;
    let people = PEOPLE[lang_ix];

    let name = taken.company(rng, lang);
    let mut b = Build::new(&schema::CUSTOMERS).set("name", name.as_str())?.set("language", lang)?;
    if rng.percent(40) {
        b = b.set("capacity_limit", *rng.pick(&[5, 10, 20, 30, 50, 100]))?;
    }
    if rng.percent(30) {
        // Never below what we are about to create.
        b = b.set("sip_account_limit", size.accounts_per_customer as u64 + rng.below(10))?;
    }
    if rng.percent(15) {
        b = b.set("trm_mode", *rng.pick(schema::TRM_MODES))?;
    }
    let id = b.create(store, actor).await?;

    // The "Default" trunk came with the customer (unless the settings say otherwise); some have a PBX trunk too.
    let q = ListQuery { limit: 1_000, ..ListQuery::default() };
    let mut trunks: Vec<i64> =
        store.list(&schema::INCOMING_TRUNKS, Scope::Customer(id), &q).await?.records.iter().map(|r| r.id()).collect();
    if trunks.is_empty() || rng.percent(30) {
        let t = Build::new(&schema::INCOMING_TRUNKS)
            .set("name", "Office PBX")?
            .set("transport_protocol", "TCP")?
            .set("destination_field", "TO_USERPART")?
            .set("codecs", "G722,PCMA,telephone-event")?
            .rel("customer", "customers", id);
        trunks.push(t.create(store, actor).await?);
    }

    let mut numbers = Vec::with_capacity(size.numbers_per_customer);
    for _ in 0..size.numbers_per_customer {
        numbers.push(taken.number(rng, lang)?);
    }

    let mut accounts = Vec::with_capacity(size.accounts_per_customer);
    for j in 0..size.accounts_per_customer {
        let &(person, login) = rng.pick(people);
        let ext = 100 + j;
        let mut username = format!("{login}-{id}-{ext}");
        while !taken.usernames.insert(username.clone()) {
            username.push('x');
        }
        let mut b = Build::new(&schema::SIP_ACCOUNTS).set("username", username.as_str())?.set("caller_id_name", person)?.rel(
            "customer",
            "customers",
            id,
        );
        let inside = if ext <= 9999 {
            b = b.set("internal_caller_id", ext.to_string())?;
            ext.to_string()
        } else {
            username
        };
        let external_calls = rng.percent(70);
        if external_calls {
            b = b.set("allow_external_calls", true)?;
        }
        let outside = if numbers.is_empty() {
            inside.clone()
        } else {
            let n = numbers[j % numbers.len()].clone();
            b = b.set("external_caller_id", n.as_str())?;
            n
        };
        let account_id = b.create(store, actor).await?;
        accounts.push(Account { id: account_id, name: person, inside, outside, external_calls });
    }

    let mut dids = Vec::with_capacity(numbers.len());
    for (k, number) in numbers.into_iter().enumerate() {
        let mut b = Build::new(&schema::DID_NUMBERS).set("number", number.as_str())?.rel("customer", "customers", id);
        let enabled = !rng.percent(10);
        if !enabled {
            b = b.set("enabled", false)?;
        }
        if rng.percent(50) {
            b = b.set("external_id", 100_000 + rng.below(900_000))?;
        }
        let mut forwarded = false;
        if !accounts.is_empty() && rng.percent(65) {
            b = b.rel("destination", "sip_device_routes", accounts[k % accounts.len()].id);
        } else if rng.percent(30) {
            let mut to = String::new();
            let &(prefix, digits) = rng.pick(OUTSIDE);
            to.push_str(prefix);
            rng.push_digits(&mut to, digits);
            b = b.set("forward_number", to)?;
            forwarded = true;
        }
        b.create(store, actor).await?;
        dids.push(Number { number, enabled, forwarded });
    }

    let mut routes = Vec::new();
    if !gateways.is_empty() {
        let home = match lang {
            "EN" => 0,
            "LT" => 1,
            _ => 2,
        };
        let plan = std::iter::once(home).chain((0..ROUTE_PLAN.len()).filter(|&i| i != home));
        for (k, ix) in plan.cycle().take(size.routes_per_customer).enumerate() {
            let (rname, prefix) = ROUTE_PLAN[ix];
            let round = k / ROUTE_PLAN.len();
            let rname = if round == 0 { rname.to_owned() } else { format!("{rname} (backup {round})") };
            let gateway = rng.below(gateways.len() as u64) as usize;
            let mut b = Build::new(&schema::ROUTES).set("name", rname)?.set("dst_prefix", prefix)?.rel("customer", "customers", id).rel(
                "gateway",
                "termination_gateways",
                gateways[gateway].id,
            );
            if rng.percent(25) {
                // Strips a leading plus; the demo traffic dials plain digits, so it never changes a number.
                b = b.set("dst_rewrite_rule", r"^\+(\d+)$")?.set("dst_rewrite_result", r"\1")?;
            }
            let route_id = b.create(store, actor).await?;
            routes.push(Route { id: route_id, gateway, prefix });
        }
    }

    let callers = (0..accounts.len()).filter(|&k| accounts[k].external_calls).collect();
    Ok(Tenant { id, name, people, trunks, numbers: dids, accounts, callers, routes })
}

// ---------------------------------------------------------------------------
// CDRs

/// How a call ended: weight (of 100), A-leg code and reason, our reason, ringing time in ms.
struct Outcome {
    weight: u64,
    code: i64,
    reason: &'static str,
    internal: &'static str,
    ring: (i64, i64),
}

const fn outcome(weight: u64, code: i64, reason: &'static str, internal: &'static str, ring: (i64, i64)) -> Outcome {
    Outcome { weight, code, reason, internal, ring }
}

const INCOMING_OUTCOMES: &[Outcome] = &[
    outcome(45, 200, "BYE", "Normal clearing", (2_000, 15_000)),
    outcome(19, 200, "OK", "Normal clearing", (1_000, 10_000)),
    outcome(12, 487, "Request Terminated", "Caller cancelled", (3_000, 30_000)),
    outcome(8, 486, "Busy Here", "Callee busy", (300, 3_000)),
    outcome(8, 480, "Temporarily Unavailable", "No answer", (30_000, 60_000)),
    outcome(3, 404, "Not Found", "Unknown destination", (50, 800)),
    outcome(3, 503, "Service Unavailable", "Capacity limit reached", (20, 300)),
    outcome(2, 603, "Decline", "Callee declined", (2_000, 12_000)),
];

const TERMINATION_OUTCOMES: &[Outcome] = &[
    outcome(42, 200, "BYE", "Normal clearing", (3_000, 20_000)),
    outcome(18, 200, "OK", "Normal clearing", (2_000, 12_000)),
    outcome(13, 487, "Request Terminated", "Caller cancelled", (3_000, 30_000)),
    outcome(9, 486, "Busy Here", "Callee busy", (500, 4_000)),
    outcome(8, 480, "Temporarily Unavailable", "No answer", (30_000, 60_000)),
    outcome(4, 404, "Not Found", "Number does not exist", (100, 1_500)),
    outcome(4, 503, "Service Unavailable", "Gateway unavailable", (20, 500)),
    outcome(2, 403, "Forbidden", "Rejected by carrier", (50, 600)),
];

const DISABLED_NUMBER: Outcome = outcome(0, 403, "Forbidden", "Number is disabled", (10, 200));
const NO_EXTERNAL_CALLS: Outcome = outcome(0, 403, "Forbidden", "External calls not allowed", (10, 200));

fn draw_outcome<'a>(rng: &mut Rng, table: &'a [Outcome]) -> &'a Outcome {
    let mut roll = rng.below(100);
    for o in table {
        if roll < o.weight {
            return o;
        }
        roll -= o.weight;
    }
    &table[0]
}

/// Sets a text column in place, reusing its buffer.
fn text(v: &mut Option<String>) -> &mut String {
    let s = v.get_or_insert_with(|| String::with_capacity(48));
    s.clear();
    s
}

/// The times of a call: start, answer, end (epoch ms) and the whole seconds talked.
struct CallTimes {
    start: i64,
    connect: Option<i64>,
    end: i64,
    duration: i64,
}

/// The times of a call started at `start` with `outcome`; ends no later than `now`.
fn call_times(rng: &mut Rng, o: &Outcome, start: i64, now: i64) -> CallTimes {
    let ring = rng.range(o.ring.0, o.ring.1);
    if o.code == 200 {
        let connect = start + ring;
        // Talk time: exponential, mean 2.5 min, capped at 3 h and at now.
        let talk = (-(1.0 - rng.unit()).ln() * 150_000.0) as i64;
        let talk = talk.clamp(400, 3 * HOUR).min(now - connect).max(0);
        CallTimes { start, connect: Some(connect), end: connect + talk, duration: talk / 1000 }
    } else {
        CallTimes { start, connect: None, end: (start + ring).min(now), duration: 0 }
    }
}

/// Call start times: `n` of them in increasing order, spread over the last `days` days with a weekday business-hours peak.
struct Times {
    /// (start, length, weight) of each hour (the first and last may be partial).
    hours: Vec<(i64, i64, f64)>,
    total: f64,
    n: u64,
    now: i64,
    at: usize,
    before: f64,
}

impl Times {
    fn new(now: i64, days: u32, n: u64) -> Times {
        // Calls end by `now`: the latest starts a minute before it.
        let end = now - 60_000;
        let start = end - i64::from(days.max(1)) * DAY;
        let mut hours = Vec::new();
        let mut total = 0.0;
        let mut t = start;
        while t < end {
            let next = ((t.div_euclid(HOUR) + 1) * HOUR).min(end);
            let w = Self::weight(t) * (next - t) as f64 / HOUR as f64;
            hours.push((t, next - t, w));
            total += w;
            t = next;
        }
        Times { hours, total, n: n.max(1), now, at: 0, before: 0.0 }
    }

    /// Relative call volume of the hour containing `t` (UTC; 1970-01-01 was a Thursday).
    fn weight(t: i64) -> f64 {
        let day = t.div_euclid(DAY);
        let hour = t.rem_euclid(DAY) / HOUR;
        let weekend = (day + 3).rem_euclid(7) >= 5;
        match (weekend, hour) {
            (false, 7..=16) => 10.0,
            (false, 6 | 17..=19) => 4.0,
            (true, 8..=17) => 2.5,
            _ => 1.0,
        }
    }

    /// The start of call `i` (of `n`); `i` must not decrease between calls.
    fn at(&mut self, i: u64, jitter: f64) -> i64 {
        let q = (i as f64 + jitter) / self.n as f64 * self.total;
        while self.at + 1 < self.hours.len() && self.before + self.hours[self.at].2 <= q {
            self.before += self.hours[self.at].2;
            self.at += 1;
        }
        let (start, len, w) = self.hours[self.at];
        let off = if w > 0.0 { ((q - self.before) / w * len as f64) as i64 } else { 0 };
        start + off.clamp(0, len - 1)
    }
}

/// Who calls how much: customers weighted unevenly, as real traffic is.
struct Traffic<'a> {
    tenants: &'a [Tenant],
    /// Cumulative weights.
    cum: Vec<u64>,
}

impl<'a> Traffic<'a> {
    fn new(tenants: &'a [Tenant], rng: &mut Rng) -> Self {
        let mut sum = 0;
        let cum = tenants
            .iter()
            .map(|_| {
                sum += *rng.pick(&[1, 1, 2, 3, 5, 8, 13]);
                sum
            })
            .collect();
        Traffic { tenants, cum }
    }

    fn pick(&self, rng: &mut Rng) -> &'a Tenant {
        let roll = rng.below(*self.cum.last().expect("at least one customer"));
        &self.tenants[self.cum.partition_point(|&c| c <= roll)]
    }
}

fn push_outside_number(rng: &mut Rng, s: &mut String) {
    let &(prefix, digits) = rng.pick(OUTSIDE);
    s.push_str(prefix);
    rng.push_digits(s, digits);
}

struct IncomingGen<'a> {
    rng: Rng,
    times: Times,
    traffic: &'a Traffic<'a>,
    /// Calls come in from the same carriers (their hosts end the call ids).
    gateways: &'a [Gateway],
}

impl IncomingGen<'_> {
    /// Overwrites every field of `row` with call `i`.
    fn fill(&mut self, row: &mut IncomingCdr, i: u64) {
        let rng = &mut self.rng;
        let t = self.traffic.pick(rng);
        let start = self.times.at(i, rng.unit());
        let number = (!t.numbers.is_empty()).then(|| rng.pick(&t.numbers));
        let o = match number {
            Some(n) if !n.enabled => &DISABLED_NUMBER,
            _ => draw_outcome(rng, INCOMING_OUTCOMES),
        };
        row.customer_id = Some(t.id);
        row.incoming_trunk_id = (!t.trunks.is_empty()).then(|| *rng.pick(&t.trunks));
        let times = call_times(rng, o, start, self.times.now);
        (row.time_start, row.time_connect, row.time_end, row.duration) = (times.start, times.connect, Some(times.end), times.duration);
        // Mostly callers who speak the customer's language.
        let people = if rng.percent(70) { t.people } else { *rng.pick(PEOPLE) };
        text(&mut row.src_name).push_str(rng.pick(people).0);
        push_outside_number(rng, text(&mut row.src_number));
        let dst = text(&mut row.dst_number);
        match number {
            Some(n) => dst.push_str(&n.number),
            None => push_outside_number(rng, dst),
        }
        text(&mut row.did_number).push_str(row.dst_number.as_deref().unwrap_or_default());
        row.lega_disconnect_code = Some(o.code);
        text(&mut row.lega_disconnect_reason).push_str(o.reason);
        let internal = if o.code == 200 && number.is_some_and(|n| n.forwarded) { "Forwarded" } else { o.internal };
        text(&mut row.internal_reason).push_str(internal);
        row.success = o.code == 200;
        let call_id = text(&mut row.call_id);
        rng.push_hex(call_id, 32);
        call_id.push('@');
        call_id.push_str(self.gateways.get(i as usize % self.gateways.len().max(1)).map_or("sbc.carrier.example", |g| g.host.as_str()));
        let global = text(&mut row.global_tag);
        rng.push_hex(global, 11);
        global.push('-');
        rng.push_hex(global, 16);
    }
}

struct TerminationGen<'a> {
    rng: Rng,
    times: Times,
    traffic: &'a Traffic<'a>,
    gateways: &'a [Gateway],
}

impl TerminationGen<'_> {
    /// Overwrites every field of `row` with call `i`.
    fn fill(&mut self, row: &mut TerminationCdr, i: u64) {
        let rng = &mut self.rng;
        let t = self.traffic.pick(rng);
        let start = self.times.at(i, rng.unit());
        // Mostly accounts that may call out; now and then one that may not, and is refused before routing.
        let account = if !t.callers.is_empty() && !rng.percent(2) {
            Some(&t.accounts[*rng.pick(&t.callers)])
        } else {
            (!t.accounts.is_empty()).then(|| rng.pick(&t.accounts))
        };
        let refused = account.is_some_and(|a| !a.external_calls);
        let route = (!t.routes.is_empty() && !refused).then(|| rng.pick(&t.routes));
        let gateway = route.map(|r| &self.gateways[r.gateway]);
        let o = if refused { &NO_EXTERNAL_CALLS } else { draw_outcome(rng, TERMINATION_OUTCOMES) };

        row.customer_id = Some(t.id);
        row.sip_account_id = account.map(|a| a.id);
        row.route_id = route.map(|r| r.id);
        row.gateway_id = gateway.map(|g| g.id);
        let times = call_times(rng, o, start, self.times.now);
        (row.time_start, row.time_connect, row.time_end, row.duration) = (times.start, times.connect, Some(times.end), times.duration);
        let local = text(&mut row.local_tag);
        rng.push_hex(local, 8);
        local.push('-');
        rng.push_hex(local, 8);
        let global = text(&mut row.global_tag);
        for (k, n) in [8, 4, 4, 4, 12].into_iter().enumerate() {
            if k > 0 {
                global.push('-');
            }
            rng.push_hex(global, n);
        }
        row.lega_disconnect_code = Some(o.code);
        text(&mut row.lega_disconnect_reason).push_str(o.reason);

        let (name, inside, outside) = match account {
            Some(a) => (a.name, a.inside.as_str(), a.outside.as_str()),
            None => (t.name.as_str(), "100", t.numbers.first().map_or("100", |n| n.number.as_str())),
        };
        text(&mut row.src_name_in).push_str(name);
        text(&mut row.src_number_in).push_str(inside);
        // The dialled number: a route's prefix and the rest of a plausible number, or anywhere for a catch-all route.
        let dialled = text(&mut row.dst_number_in);
        match route.map(|r| r.prefix).filter(|p| !p.is_empty()) {
            Some(p) => {
                dialled.push_str(p);
                let len: usize = match p.as_bytes() {
                    [b'4', b'4' | b'9', ..] => 12,
                    _ => 11,
                };
                rng.push_digits(dialled, len.saturating_sub(p.len()).max(4));
            }
            None => push_outside_number(rng, dialled),
        }
        text(&mut row.src_name_out).push_str(name);
        let (src_prefix, dst_prefix) = gateway.map_or(("", ""), |g| (g.src_prefix, g.dst_prefix));
        let src_out = text(&mut row.src_number_out);
        src_out.push_str(src_prefix);
        src_out.push_str(outside);
        let dst_out = text(&mut row.dst_number_out);
        dst_out.push_str(dst_prefix);
        dst_out.push_str(row.dst_number_in.as_deref().unwrap_or_default());
        let call_id = text(&mut row.orig_call_id);
        rng.push_hex(call_id, 32);
        let _ = write!(call_id, "@192.168.{}.{}", rng.below(8), 2 + rng.below(250));
        row.success = o.code == 200;
    }
}

/// Writes `total` CDRs in batches of [`BATCH`], filling one reused batch of rows.
async fn write_cdrs<R: CdrRow + Default>(
    store: &Store,
    total: u64,
    label: &str,
    progress: &mut impl FnMut(&str, u64, u64),
    mut fill: impl FnMut(&mut R, u64),
) -> Result<()> {
    let mut rows: Vec<R> = Vec::new();
    let mut done = 0u64;
    while done < total {
        let n = (total - done).min(BATCH as u64) as usize;
        rows.truncate(n);
        rows.resize_with(n, R::default);
        for (k, row) in rows.iter_mut().enumerate() {
            fill(row, done + k as u64);
        }
        store.append_cdrs(&rows).await?;
        done += n as u64;
        progress(label, done, total);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{sqlite, stores};
    use crate::{Cond, Op, Record};
    use domain::schema::Storage;
    use domain::Value;
    use std::collections::HashMap;

    /// Small enough for a debug build, and the termination CDRs span two batches.
    fn tiny() -> SeedSize {
        SeedSize {
            customers: 3,
            numbers_per_customer: 4,
            accounts_per_customer: 3,
            gateways: 2,
            routes_per_customer: 3,
            incoming_cdrs: 300,
            termination_cdrs: BATCH as u64 + 200,
            days: 7,
        }
    }

    fn no_cdrs(size: SeedSize) -> SeedSize {
        SeedSize { incoming_cdrs: 0, termination_cdrs: 0, ..size }
    }

    async fn all(s: &Store, res: &'static Resource) -> Vec<Record> {
        s.list(res, Scope::Operator, &ListQuery { limit: 100_000, ..ListQuery::default() }).await.unwrap().records
    }

    fn time_cond(op: Op, t: i64) -> Cond {
        Cond { column: "time_start", st: Storage::Int, op, values: vec![Value::Int(t)] }
    }

    #[tokio::test]
    async fn creates_and_reports_the_requested_counts() {
        for (name, s, _db) in stores().await {
            let size = tiny();
            let mut calls: Vec<(String, u64, u64)> = Vec::new();
            let report = seed(&s, &size, |label, done, total| calls.push((label.to_owned(), done, total))).await.unwrap();
            assert_eq!(
                (report.customers, report.numbers, report.accounts, report.gateways, report.routes),
                (3, 12, 9, 2, 9),
                "{name}: {report:?}"
            );
            assert!((3..=6).contains(&report.trunks), "{name}: a Default trunk each, a PBX trunk for some: {report:?}");
            assert_eq!((report.incoming_cdrs, report.termination_cdrs), (300, 5_200));

            let count = |res: &'static Resource| {
                let s = s.clone();
                async move { s.count(res, Scope::Operator, &ListQuery::default()).await.unwrap() }
            };
            let expected = [
                (&schema::CUSTOMERS, report.customers as u64),
                (&schema::DID_NUMBERS, report.numbers as u64),
                (&schema::SIP_ACCOUNTS, report.accounts as u64),
                (&schema::INCOMING_TRUNKS, report.trunks as u64),
                (&schema::GATEWAYS, report.gateways as u64),
                (&schema::ROUTES, report.routes as u64),
                (&schema::INCOMING_CDRS, report.incoming_cdrs),
                (&schema::TERMINATION_CDRS, report.termination_cdrs),
            ];
            for (res, n) in expected {
                assert_eq!(count(res).await, n, "{name}: {}", res.kind);
            }
            // Every object went through the audited create path.
            let objects = report.customers + report.numbers + report.accounts + report.trunks + report.gateways + report.routes;
            assert_eq!(count(&schema::AUDIT_LOG).await, objects as u64, "{name}");

            // Progress: every gateway and customer, every CDR batch, ending at the total.
            let done = |label: &str| calls.iter().filter(|c| c.0 == label).map(|c| (c.1, c.2)).collect::<Vec<_>>();
            assert_eq!(done("gateways"), [(1, 2), (2, 2)], "{name}");
            assert_eq!(done("customers"), [(1, 3), (2, 3), (3, 3)]);
            assert_eq!(done("incoming CDRs"), [(300, 300)]);
            assert_eq!(done("termination CDRs"), [(5_000, 5_200), (5_200, 5_200)]);
        }
    }

    #[tokio::test]
    async fn configuration_is_plausible_unique_and_consistent() {
        for (name, s, _db) in stores().await {
            let size = no_cdrs(SeedSize::small());
            seed(&s, &size, |_, _, _| {}).await.unwrap();

            let customers = all(&s, &schema::CUSTOMERS).await;
            let languages: HashSet<_> = customers.iter().map(|c| c.get("language").as_str().unwrap().to_owned()).collect();
            assert!(languages.len() >= 2, "{name}: languages are mixed: {languages:?}");
            assert!(customers.iter().any(|c| !c.get("capacity_limit").is_null()), "{name}: some capacity limits");
            let names: HashSet<_> = customers.iter().map(|c| c.get("name").as_str().unwrap()).collect();
            assert_eq!(names.len(), customers.len(), "{name}: company names differ");

            let accounts = all(&s, &schema::SIP_ACCOUNTS).await;
            let account_customer: HashMap<i64, i64> = accounts.iter().map(|a| (a.id(), a.customer_id().unwrap())).collect();
            let usernames: HashSet<_> = accounts.iter().map(|a| a.get("username").as_str().unwrap()).collect();
            assert_eq!(usernames.len(), 50, "{name}");
            assert!(accounts.iter().any(|a| a.get("allow_external_calls") == &Value::Bool(true)));
            assert!(accounts.iter().any(|a| a.get("allow_external_calls") == &Value::Bool(false)));
            let extensions: HashSet<_> = accounts.iter().map(|a| a.get("internal_caller_id").as_str().unwrap()).collect();
            assert_eq!(extensions, ["100", "101", "102", "103", "104"].into_iter().collect());

            let dids = all(&s, &schema::DID_NUMBERS).await;
            assert_eq!(dids.len(), 50, "{name}");
            let numbers: HashSet<_> = dids.iter().map(|d| d.get("number").as_str().unwrap()).collect();
            assert_eq!(numbers.len(), dids.len(), "{name}: DIDs are unique");
            for d in &dids {
                let n = d.get("number").as_str().unwrap();
                assert!(n.bytes().all(|b| b.is_ascii_digit()) && (11..=12).contains(&n.len()), "{name}: {n}");
                assert!(["44", "370", "371"].iter().any(|p| n.starts_with(p)), "{n}");
                if let Some((kind, acc)) = d.rel(&schema::DID_NUMBERS.rels[1]) {
                    assert_eq!(kind, "sip_device_routes");
                    assert_eq!(account_customer[&acc], d.customer_id().unwrap(), "{name}: rings an own account");
                }
            }
            assert!(dids.iter().any(|d| d.get("enabled") == &Value::Bool(false)), "{name}: some disabled");
            assert!(dids.iter().any(|d| !d.get("destination_id").is_null()), "{name}: some ring an account");
            // Each account's external caller id is one of its customer's numbers.
            let did_customer: HashMap<&str, i64> =
                dids.iter().map(|d| (d.get("number").as_str().unwrap(), d.customer_id().unwrap())).collect();
            for a in &accounts {
                let ext = a.get("external_caller_id").as_str().unwrap();
                assert_eq!(did_customer.get(ext), Some(&a.customer_id().unwrap()), "{name}: {ext}");
            }

            let gateways = all(&s, &schema::GATEWAYS).await;
            assert_eq!(gateways.len(), 3);
            assert!(gateways.iter().all(|g| g.customer_id().is_none() && g.get("host").as_str().unwrap().starts_with("192.0.2.")));
            assert!(gateways.iter().any(|g| !g.get("dst_rewrite_rule").is_null()), "{name}: some rewrite");
            let shared: HashSet<i64> = gateways.iter().map(Record::id).collect();
            let routes = all(&s, &schema::ROUTES).await;
            assert_eq!(routes.len(), 20);
            for r in &routes {
                assert!(shared.contains(&r.get("gateway_id").as_i64().unwrap()), "{name}");
                assert!(r.customer_id().is_some());
            }
            let prefixes: HashSet<_> = routes.iter().filter_map(|r| r.get("dst_prefix").as_str()).collect();
            assert!(prefixes.contains("44") && prefixes.contains("370") && prefixes.contains("371"), "{prefixes:?}");

            // A second seed into the same store avoids what the first one took.
            let again = seed(&s, &size, |_, _, _| {}).await.unwrap();
            assert_eq!(again.numbers, 50);
            let dids = all(&s, &schema::DID_NUMBERS).await;
            let numbers: HashSet<_> = dids.iter().map(|d| d.get("number").as_str().unwrap()).collect();
            assert_eq!((dids.len(), numbers.len()), (100, 100), "{name}");
        }
    }

    #[tokio::test]
    async fn the_same_seed_gives_the_same_data() {
        let mut seen = Vec::new();
        for _ in 0..2 {
            let (s, _db) = sqlite().await;
            seed(&s, &no_cdrs(tiny()), |_, _, _| {}).await.unwrap();
            let mut out = Vec::new();
            for (res, col) in [(&schema::CUSTOMERS, "name"), (&schema::DID_NUMBERS, "number"), (&schema::SIP_ACCOUNTS, "username")] {
                out.extend(all(&s, res).await.iter().map(|r| r.get(col).as_str().unwrap().to_owned()));
            }
            seen.push(out);
        }
        assert_eq!(seen[0], seen[1]);
    }

    #[tokio::test]
    async fn seeding_can_run_on_a_spawned_task() {
        fn is_send<T: Send>(_: T) {}
        let (s, _db) = sqlite().await;
        is_send(seed(&s, &SeedSize::small(), |_, _, _| {}));
    }

    #[tokio::test]
    async fn cdrs_are_consistent_and_found_by_time_window() {
        for (name, s, _db) in stores().await {
            let size = tiny();
            seed(&s, &size, |_, _, _| {}).await.unwrap();
            let now = domain::time::now_ms();
            let gateways: HashMap<i64, Record> = all(&s, &schema::GATEWAYS).await.into_iter().map(|g| (g.id(), g)).collect();
            let routes: HashMap<i64, Record> = all(&s, &schema::ROUTES).await.into_iter().map(|r| (r.id(), r)).collect();
            for res in [&schema::INCOMING_CDRS, &schema::TERMINATION_CDRS] {
                // The last day, newest first, as the CDR screens ask.
                let q = ListQuery {
                    conds: vec![time_cond(Op::Gte, now - DAY), time_cond(Op::Lte, now)],
                    sort: vec![("time_start", Storage::Int, true)],
                    limit: 5_000,
                    ..ListQuery::default()
                };
                let page = s.list(res, Scope::Operator, &q).await.unwrap();
                assert!(!page.records.is_empty(), "{name}: {} in the last day", res.kind);
                let total = if res.kind == "incoming_trunk_cdrs" { size.incoming_cdrs } else { size.termination_cdrs };
                assert!((page.records.len() as u64) < total, "{name}: {} spread over {} days", res.kind, size.days);
                for r in &page.records {
                    let start = r.get("time_start").as_i64().unwrap();
                    assert!((now - DAY..=now).contains(&start), "{name}");
                    let end = r.get("time_end").as_i64().unwrap();
                    assert!(start <= end && end <= now, "{name}: ends by now");
                    let success = r.get("success") == &Value::Bool(true);
                    assert_eq!(success, r.get("lega_disconnect_code") == &Value::Int(200), "{name}");
                    match r.get("time_connect").as_i64() {
                        Some(connect) => {
                            assert!(success && start <= connect && connect <= end);
                            assert_eq!(r.get("duration").as_i64(), Some((end - connect) / 1000), "{name}");
                        }
                        None => assert!(!success && r.get("duration") == &Value::Int(0)),
                    }
                    // Every other column is filled (a refused outbound call has no route or gateway).
                    let routed = !r.get("route_id").is_null();
                    for c in crate::record::columns(res) {
                        let optional = c.name == "time_connect" || (!routed && (c.name == "route_id" || c.name == "gateway_id"));
                        assert!(optional || !r.get(c.name).is_null(), "{name}: {}.{} is null", res.kind, c.name);
                    }
                    if res.kind == "termination_cdrs" && routed {
                        let route = &routes[&r.get("route_id").as_i64().unwrap()];
                        let gw = &gateways[&r.get("gateway_id").as_i64().unwrap()];
                        assert_eq!(route.get("gateway_id").as_i64(), Some(gw.id()), "{name}");
                        assert_eq!(route.customer_id(), r.customer_id());
                        let dst_in = r.get("dst_number_in").as_str().unwrap();
                        assert!(dst_in.starts_with(route.get("dst_prefix").as_str().unwrap_or("")), "{name}: {dst_in}");
                        // The gateway's rewrite rule, applied for real, gives the number sent out.
                        let out = match (gw.get("dst_rewrite_rule").as_str(), gw.get("dst_rewrite_result").as_str()) {
                            (Some(rule), Some(result)) => domain::rewrite::RewriteRule::parse(rule, result).unwrap().apply(dst_in),
                            _ => dst_in.to_owned(),
                        };
                        assert_eq!(r.get("dst_number_out").as_str(), Some(out.as_str()), "{name}");
                    }
                }
                let hit_codes: HashSet<i64> = page.records.iter().filter_map(|r| r.get("lega_disconnect_code").as_i64()).collect();
                assert!(hit_codes.contains(&200) && hit_codes.len() >= 3, "{name}: a mix of outcomes: {hit_codes:?}");

                // Nothing before the window, everything inside it.
                let before =
                    ListQuery { conds: vec![time_cond(Op::Lt, now - i64::from(size.days) * DAY - 61_000)], ..ListQuery::default() };
                assert_eq!(s.count(res, Scope::Operator, &before).await.unwrap(), 0, "{name}");
                let inside =
                    ListQuery { conds: vec![time_cond(Op::Gte, now - i64::from(size.days) * DAY - 61_000)], ..ListQuery::default() };
                assert_eq!(s.count(res, Scope::Operator, &inside).await.unwrap(), total, "{name}");
            }
        }
    }

    #[test]
    fn call_times_rise_within_the_window_and_peak_in_office_hours() {
        let now = 1_760_000_000_000;
        let n = 50_000;
        let mut times = Times::new(now, 14, n);
        let mut rng = Rng::new(1);
        let mut last = i64::MIN;
        let (mut office, mut night) = (0, 0);
        for i in 0..n {
            let t = times.at(i, rng.unit());
            assert!(t >= last && t >= now - 14 * DAY - 60_000 && t < now - 60_000);
            last = t;
            let weekday = (t.div_euclid(DAY) + 3).rem_euclid(7) < 5;
            match t.rem_euclid(DAY) / HOUR {
                9..=14 if weekday => office += 1,
                0..=5 if weekday => night += 1,
                _ => {}
            }
        }
        assert!(office > 5 * night, "{office} vs {night}");
    }
}
