//! The seeder's configuration objects: shared gateways, and customers with their trunks, DID numbers, SIP accounts and routes,
//! each created through the store's rules as an operator would, keeping what the CDR generators need of them.

use super::names::{
    did_ranges, CARRIERS, COMPANY_EN, COMPANY_EN_SUFFIX, COMPANY_LT, COMPANY_LV, COMPANY_RU, DID_FALLBACK, GATEWAY_CODECS, LANGUAGE_MIX,
    OUTSIDE, PEOPLE, REGIONS, ROUTE_PLAN,
};
use super::rng::Rng;
use super::SeedSize;
use anyhow::{bail, Result};
use domain::schema::{self, Resource};
use serde_json::Value as Json;
use std::collections::HashSet;
use store::{Actor, Input, ListQuery, RelInput, Scope, Store};

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
pub(super) struct Taken {
    numbers: HashSet<String>,
    usernames: HashSet<String>,
    names: HashSet<String>,
}

impl Taken {
    pub(super) async fn load(store: &Store) -> Result<Taken> {
        let all = |res: &'static Resource, column: &'static str| async move {
            let mut out = HashSet::new();
            let mut rx = store.stream(res, Scope::Operator, &ListQuery::default());
            while let Some(r) = rx.recv().await {
                if let Some(s) = r?.get(column).as_str() {
                    out.insert(s.to_owned());
                }
            }
            Ok::<_, store::Error>(out)
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
        bail!("the demo number ranges are full")
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
pub(super) struct Gateway {
    pub(super) id: i64,
    pub(super) host: String,
    /// What its source/destination rewrite rules put in front of a number (they match whole digit strings).
    pub(super) src_prefix: &'static str,
    pub(super) dst_prefix: &'static str,
}

pub(super) async fn create_gateway(store: &Store, actor: &Actor, rng: &mut Rng, i: usize) -> Result<Gateway> {
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
pub(super) struct Tenant {
    pub(super) id: i64,
    pub(super) name: String,
    pub(super) people: &'static [(&'static str, &'static str)],
    pub(super) trunks: Vec<i64>,
    pub(super) numbers: Vec<Number>,
    pub(super) accounts: Vec<Account>,
    /// Indexes of the accounts that may call out.
    pub(super) callers: Vec<usize>,
    pub(super) routes: Vec<Route>,
}

pub(super) struct Number {
    pub(super) number: String,
    pub(super) enabled: bool,
    pub(super) forwarded: bool,
}

pub(super) struct Account {
    pub(super) id: i64,
    pub(super) name: &'static str,
    /// What it sends as caller number inside (extension, else username).
    pub(super) inside: String,
    /// Its external caller id (one of the customer's numbers), else `inside`.
    pub(super) outside: String,
    pub(super) external_calls: bool,
}

pub(super) struct Route {
    pub(super) id: i64,
    pub(super) gateway: usize,
    pub(super) prefix: &'static str,
}

pub(super) async fn create_customer(
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
        // Its external caller id is set once the numbers are the customer's.
        let outside = if numbers.is_empty() { inside.clone() } else { numbers[j % numbers.len()].clone() };
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
    if !dids.is_empty() {
        for a in &accounts {
            let caller_id = Build::new(&schema::SIP_ACCOUNTS).set("external_caller_id", a.outside.as_str())?;
            store.update(&schema::SIP_ACCOUNTS, actor, a.id, caller_id.input).await?;
        }
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
