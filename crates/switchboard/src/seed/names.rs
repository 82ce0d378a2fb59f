//! The seeder's word lists and number ranges: people, companies, carriers, routes and the number blocks DIDs and callers are drawn
//! from, per customer language.

/// Customer languages, weighted.
pub(super) const LANGUAGE_MIX: &[(&str, u64)] = &[("EN", 40), ("LT", 25), ("LV", 25), ("RU", 10)];

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
pub(super) const PEOPLE: &[&[(&str, &str)]] = &[PEOPLE_EN, PEOPLE_LT, PEOPLE_LV, PEOPLE_RU];

pub(super) const COMPANY_EN: (&[&str], &[&str]) = (
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
pub(super) const COMPANY_EN_SUFFIX: &[&str] = &["Ltd", "Ltd", "Group", "& Co", "LLP"];
pub(super) const COMPANY_LT: (&[&str], &[&str]) = (
    &["Baltijos", "Neries", "Gintaro", "Vilniaus", "Kauno", "Nemuno", "Ąžuolo", "Šiaurės"],
    &["logistika", "klinika", "statyba", "prekyba", "sprendimai", "transportas", "kelionės"],
);
pub(super) const COMPANY_LV: (&[&str], &[&str]) = (
    &["Daugavas", "Rīgas", "Gaujas", "Dzintara", "Baltijas", "Vidzemes", "Kurzemes", "Ozola"],
    &["loģistika", "klīnika", "būve", "tirdzniecība", "risinājumi", "transports", "ceļojumi"],
);
pub(super) const COMPANY_RU: (&[&str], &[&str]) = (
    &["Северная", "Балтийская", "Янтарная", "Речная", "Новая", "Городская"],
    &["логистика", "клиника", "торговля", "аптека", "типография", "служба доставки"],
);

pub(super) const CARRIERS: &[&str] = &[
    "Amber Transit",
    "Northern Voice",
    "Atlantic Interconnect",
    "Eastgate Carrier",
    "Harbour Telecom",
    "Meridian Wholesale",
    "Baltic Backbone",
    "Skyline SIP",
];
pub(super) const REGIONS: &[&str] = &["London", "Vilnius", "Riga", "Frankfurt", "Amsterdam", "Stockholm"];
pub(super) const GATEWAY_CODECS: &[&str] =
    &["PCMA,PCMU,telephone-event", "G722,PCMA,telephone-event", "g729,PCMA,telephone-event", "OPUS,PCMA,PCMU,telephone-event"];

/// Termination routes a customer gets, in order (after one for its own country).
pub(super) const ROUTE_PLAN: &[(&str, &str)] = &[
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
pub(super) fn did_ranges(lang: &str) -> &'static [(&'static str, usize)] {
    match lang {
        "EN" => &[("44207946", 4), ("442037", 6)],
        "LT" => &[("3705", 7), ("37037", 6)],
        "LV" => &[("3716", 7), ("37167", 6)],
        _ => &[("3716", 7), ("3705", 7)],
    }
}
/// Where any range runs full, numbers come from these.
pub(super) const DID_FALLBACK: &[(&str, usize)] = &[("4420", 8), ("3705", 7), ("3716", 7), ("3703", 7)];

/// Numbers of outside callers and forward targets: mobiles and landlines.
pub(super) const OUTSIDE: &[(&str, usize)] = &[("3706", 7), ("3712", 7), ("447", 9), ("4420", 8), ("3705", 7), ("3716", 7), ("1212", 7)];
