//! The access policy end to end, on every backend: every resource ×
//! method × field × actor (the operator, customer A, customer B) under
//! each kind of domain settings, against answers written out here (not
//! computed from `domain::access`); and the UIs offering exactly what the
//! API then allows.

use super::super::tabs::TABS;
use super::{customer, open_ui, set, Server, Session};
use domain::schema::{self, Kind, Resource, RESOURCES};
use reqwest::StatusCode;
use serde_json::{json, Value as Json};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU32, Ordering};

const OP: &str = "/api/rest/public/operator";
const CU: &str = "/api/rest/public/customer";

const ADD: &str = "customers_may_add_numbers";
const TRUNKS: &str = "customers_may_manage_incoming_trunks";
const GWS: &str = "customers_may_manage_termination_gateways";
const ROUTES: &str = "customers_may_manage_termination_routes";
const FIELDS: &str = "customer_termination_fields";

/// What the policy must answer for one resource: the methods of each
/// scope (Read, Create, Update, Delete; none: not in that API at all), the
/// setting a customer's writes need, and the fields a customer may set
/// (with the setting each needs).
struct Expect {
    kind: &'static str,
    operator: &'static str,
    customer: &'static str,
    gate: Option<&'static str>,
    sets: &'static [(&'static str, Option<&'static str>)],
}

const GATEWAY_SETS: &[(&str, Option<&str>)] = &[
    ("name", Some(GWS)),
    ("host", Some(GWS)),
    ("port", Some(GWS)),
    ("network_protocol", Some(GWS)),
    ("authorization_name", Some(GWS)),
    ("authorization_password", Some(GWS)),
    ("codecs", Some(GWS)),
    ("transport_protocol", Some(GWS)),
    ("src_rewrite_rule", Some(GWS)),
    ("src_rewrite_result", Some(GWS)),
    ("dst_rewrite_rule", Some(GWS)),
    ("dst_rewrite_result", Some(GWS)),
];

const ROUTE_SETS: &[(&str, Option<&str>)] = &[
    ("name", Some(ROUTES)),
    ("src_prefix", Some(ROUTES)),
    ("dst_prefix", Some(ROUTES)),
    ("src_rewrite_rule", Some(ROUTES)),
    ("src_rewrite_result", Some(ROUTES)),
    ("dst_rewrite_rule", Some(ROUTES)),
    ("dst_rewrite_result", Some(ROUTES)),
    ("gateway", Some(ROUTES)),
];

const EXPECT: &[Expect] = &[
    Expect { kind: "customers", operator: "RCUD", customer: "RU", gate: None, sets: &[("language", None)] },
    Expect {
        kind: "sip_device_routes",
        operator: "RCUD",
        customer: "RCUD",
        gate: None,
        sets: &[
            ("username", None),
            ("password", None),
            ("caller_id_name", None),
            ("internal_caller_id", None),
            ("external_caller_id", None),
        ],
    },
    Expect {
        kind: "available_did_numbers",
        operator: "RCUD",
        customer: "RCUD",
        gate: None,
        sets: &[("number", Some(ADD)), ("forward_number", None), ("destination", None)],
    },
    Expect {
        kind: "ring_groups",
        operator: "RCUD",
        customer: "RCUD",
        gate: None,
        sets: &[("name", None), ("strategy", None), ("ring_timeout", None), ("external_numbers", None), ("members", None)],
    },
    Expect { kind: "capacity_groups", operator: "RCUD", customer: "", gate: None, sets: &[] },
    Expect {
        kind: "incoming_trunks",
        operator: "RCUD",
        customer: "RCUD",
        gate: Some(TRUNKS),
        sets: &[
            ("name", None),
            ("codecs", None),
            ("transport_protocol", None),
            ("destination_field", None),
            ("allowed_sources", None),
            ("auth_name", None),
            ("auth_password", None),
        ],
    },
    Expect { kind: "termination_gateways", operator: "RCUD", customer: "RCUD", gate: Some(GWS), sets: GATEWAY_SETS },
    Expect { kind: "termination_routes", operator: "RCUD", customer: "RCUD", gate: Some(ROUTES), sets: ROUTE_SETS },
    Expect { kind: "incoming_trunk_cdrs", operator: "R", customer: "R", gate: None, sets: &[] },
    Expect { kind: "termination_cdrs", operator: "R", customer: "R", gate: None, sets: &[] },
    Expect { kind: "operator_users", operator: "RCUD", customer: "", gate: None, sets: &[] },
    Expect { kind: "customer_users", operator: "RCUD", customer: "", gate: None, sets: &[] },
    Expect { kind: "api_credentials", operator: "RCUD", customer: "", gate: None, sets: &[] },
    Expect { kind: "audit_log_entries", operator: "R", customer: "", gate: None, sets: &[] },
    Expect { kind: "domain_settings", operator: "RU", customer: "", gate: None, sets: &[] },
];

/// Domain settings the walk runs under.
struct State {
    name: &'static str,
    open: &'static [&'static str],
    fields: &'static str,
}

const STATES: &[State] = &[
    State { name: "all closed", open: &[], fields: schema::TERMINATION_FIELD_NAMES },
    State { name: "numbers", open: &[ADD], fields: schema::TERMINATION_FIELD_NAMES },
    State { name: "trunks", open: &[TRUNKS], fields: schema::TERMINATION_FIELD_NAMES },
    State { name: "gateways", open: &[GWS], fields: schema::TERMINATION_FIELD_NAMES },
    State { name: "gateways and routes, some fields", open: &[GWS, ROUTES], fields: "name,host,dst_prefix,gateway" },
    State { name: "all open", open: &[ADD, TRUNKS, GWS, ROUTES], fields: schema::TERMINATION_FIELD_NAMES },
];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Who {
    Operator,
    A,
    B,
}

impl Expect {
    fn of(kind: &str) -> &'static Expect {
        EXPECT.iter().find(|e| e.kind == kind).unwrap_or_else(|| panic!("no expectation written for {kind}"))
    }

    fn res(&self) -> &'static Resource {
        schema::resource(self.kind).unwrap()
    }

    /// The status a method gets before any record is looked at, if refused.
    fn refuses(&self, who: Who, m: char, st: &State) -> Option<u16> {
        let letters = if who == Who::Operator { self.operator } else { self.customer };
        if letters.is_empty() {
            return Some(404);
        }
        if !letters.contains(m) {
            return Some(403);
        }
        if who != Who::Operator && m != 'R' && self.gate.is_some_and(|g| !st.open.contains(&g)) {
            return Some(403);
        }
        None
    }

    fn may_set(&self, who: Who, name: &str, creating: bool, st: &State) -> bool {
        let res = self.res();
        let writable = match (res.field(name), res.rel(name)) {
            (Some(f), _) => name != "id" && f.writable(creating),
            (None, Some(r)) => creating || r.updatable,
            _ => false,
        };
        writable
            && (who == Who::Operator
                || name == "customer"
                || self.sets.iter().any(|(n, need)| {
                    *n == name
                        && need.is_none_or(|o| {
                            st.open.contains(&o) && (![GWS, ROUTES].contains(&o) || st.fields.split(',').any(|x| x == name))
                        })
                }))
    }

    fn creates(&self, who: Who, st: &State) -> u16 {
        if let Some(s) = self.refuses(who, 'C', st) {
            return s;
        }
        let res = self.res();
        let required =
            res.fields.iter().filter(|f| f.required).map(|f| f.name).chain(res.rels.iter().filter(|r| r.required).map(|r| r.name));
        if who != Who::Operator && required.into_iter().any(|n| !self.may_set(who, n, true, st)) {
            return 403;
        }
        201
    }
}

/// An API caller.
struct Api<'a> {
    srv: &'a Server,
    base: &'static str,
    user: &'static str,
    pass: &'static str,
}

impl Api<'_> {
    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Json>) -> (u16, Json) {
        let mut req =
            self.srv.http.request(method, format!("{}{}{path}", self.srv.origin, self.base)).basic_auth(self.user, Some(self.pass));
        if let Some(b) = body {
            req = req.header("content-type", "application/vnd.api+json").body(b.to_string());
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Json::Null))
    }
}

fn path(kind: &str, id: Option<i64>) -> String {
    match (kind, id) {
        ("domain_settings", _) => "/domain_settings".into(),
        ("incoming_trunk_cdrs" | "termination_cdrs", None) => format!("/{kind}?filter%5Btime_start_gteq%5D=2000-01-01%2000:00:00"),
        (_, Some(id)) => format!("/{kind}/{id}"),
        (_, None) => format!("/{kind}"),
    }
}

fn rel(kind: &str, id: i64) -> Json {
    json!({ "data": { "type": kind, "id": id.to_string() } })
}

static N: AtomicU32 = AtomicU32::new(0);

/// A body with the required fields of `kind`, unique each time; the
/// operator's records are A's (API credentials stay the operator's).
fn create_body(kind: &str, who: Who, fx: &Fixtures) -> Json {
    let as_operator = who == Who::Operator;
    let gateway = if who == Who::B { fx.b_gateway } else { fx.gateway };
    let n = N.fetch_add(1, Ordering::Relaxed);
    let (attrs, mut rels) = match kind {
        "customers" => (json!({ "name": format!("C{n}") }), json!({})),
        "sip_device_routes" => (json!({ "username": format!("acc{n}") }), json!({})),
        "available_did_numbers" => (json!({ "number": format!("3706{n:07}") }), json!({})),
        "ring_groups" | "incoming_trunks" => (json!({ "name": format!("g{n}") }), json!({})),
        "capacity_groups" => (json!({ "name": format!("cg{n}"), "capacity": 10 }), json!({})),
        "termination_gateways" => (json!({ "name": format!("gw{n}"), "host": "10.0.0.1" }), json!({})),
        "termination_routes" => (json!({ "name": format!("r{n}") }), json!({ "gateway": rel("termination_gateways", gateway) })),
        "operator_users" | "customer_users" => (json!({ "username": format!("user{n}"), "password": "Secret-123" }), json!({})),
        "api_credentials" => (json!({ "username": format!("cred{n}") }), json!({})),
        _ => (json!({}), json!({})),
    };
    // A capacity group's `customer` lists members: it owns nothing.
    let owned = schema::resource(kind).and_then(|r| r.rel("customer")).is_some_and(|r| !r.many);
    if as_operator && owned && kind != "api_credentials" {
        rels["customer"] = rel("customers", fx.a);
    }
    json!({ "data": { "type": kind, "attributes": attrs, "relationships": rels } })
}

/// Records of customer A that updates and field changes are tried on.
struct Fixtures {
    a: i64,
    gateway: i64,
    b_gateway: i64,
    targets: Vec<(&'static str, i64)>,
    /// A number the operator provisioned for A (a system number).
    system_did: i64,
}

impl Fixtures {
    fn target(&self, kind: &str) -> i64 {
        self.targets.iter().find(|(k, _)| *k == kind).map_or(1, |(_, id)| *id)
    }
}

async fn created(op: &Api<'_>, body: Json) -> i64 {
    let kind = body["data"]["type"].as_str().unwrap().to_owned();
    let (s, b) = op.send(reqwest::Method::POST, &path(&kind, None), Some(body)).await;
    assert_eq!(s, 201, "{kind}: {b}");
    b["data"]["id"].as_str().unwrap().parse().unwrap()
}

async fn fixtures(srv: &Server, op: &Api<'_>) -> Fixtures {
    let a = customer(srv, "A").await;
    let b = customer(srv, "B").await;
    for (user, pass, c) in [("api-a", "Secret-A-1", a), ("api-b", "Secret-B-1", b)] {
        let input = store::Input::default()
            .with(&schema::API_CREDENTIALS, "username", user)
            .with(&schema::API_CREDENTIALS, "secret", pass)
            .with_rel(&schema::API_CREDENTIALS, "customer", store::RelInput::To("customers", c));
        srv.store.create(&schema::API_CREDENTIALS, &store::Actor::system(), input).await.unwrap();
    }
    let mut fx = Fixtures { a, gateway: 0, b_gateway: 0, targets: vec![("customers", a)], system_did: 0 };
    let gw = |c: i64| json!({ "data": { "type": "termination_gateways", "attributes": { "name": "gw", "host": "10.0.0.2" }, "relationships": { "customer": rel("customers", c) } } });
    fx.gateway = created(op, gw(a)).await;
    fx.b_gateway = created(op, gw(b)).await;
    fx.targets.push(("termination_gateways", fx.gateway));
    for kind in [
        "sip_device_routes",
        "available_did_numbers",
        "ring_groups",
        "capacity_groups",
        "incoming_trunks",
        "termination_routes",
        "operator_users",
        "customer_users",
        "api_credentials",
    ] {
        let id = created(op, create_body(kind, Who::Operator, &fx)).await;
        fx.targets.push((kind, id));
    }
    let system = json!({ "data": { "type": "available_did_numbers", "attributes": { "number": "37069999999", "external_id": 7 }, "relationships": { "customer": rel("customers", a) } } });
    fx.system_did = created(op, system).await;
    fx
}

async fn apply(srv: &Server, st: &State) {
    for o in [ADD, TRUNKS, GWS, ROUTES] {
        set(srv, o, st.open.contains(&o)).await;
    }
    set(srv, FIELDS, st.fields).await;
}

/// The current value of a field or relationship of `doc`, to send back
/// unchanged (a secret, never answered, gets a new one).
fn current(doc: &Json, name: &str, is_rel: bool) -> Json {
    if is_rel {
        return doc["data"]["relationships"][name]["data"].clone();
    }
    match doc["data"]["attributes"].get(name) {
        Some(v) => v.clone(),
        None => json!("Secret-123-new"),
    }
}

/// Accepted by the policy: stored, or refused only by validation.
fn accepted(status: u16) -> bool {
    status == 200 || status == 422
}

pub(super) async fn the_policy_answers_every_resource_method_field_and_actor(srv: Server) {
    let op = Api { srv: &srv, base: OP, user: "op", pass: "op-secret" };
    let a = Api { srv: &srv, base: CU, user: "api-a", pass: "Secret-A-1" };
    let b = Api { srv: &srv, base: CU, user: "api-b", pass: "Secret-B-1" };
    let fx = fixtures(&srv, &op).await;
    let mut wrong: Vec<String> = Vec::new();
    fn check(wrong: &mut Vec<String>, what: String, got: u16, want: u16) {
        if got != want {
            wrong.push(format!("{what}: got {got}, want {want}"));
        }
    }
    use reqwest::Method as M;
    for st in STATES {
        apply(&srv, st).await;
        for res in RESOURCES {
            let e = Expect::of(res.kind);
            let target = fx.target(res.kind);
            for (who, api) in [(Who::Operator, &op), (Who::A, &a), (Who::B, &b)] {
                let at = |m: &str| format!("[{}] {who:?} {m} {}", st.name, res.kind);
                // Read: the list, and A's record (B sees none of A's).
                let (s, _) = api.send(M::GET, &path(res.kind, None), None).await;
                check(&mut wrong, at("list"), s, e.refuses(who, 'R', st).unwrap_or(200));
                if !res.cdr && res.kind != "audit_log_entries" {
                    let (s, _) = api.send(M::GET, &path(res.kind, Some(target)), None).await;
                    let want = e.refuses(who, 'R', st).unwrap_or(if who == Who::B && res.kind != "domain_settings" { 404 } else { 200 });
                    check(&mut wrong, at("show"), s, want);
                }
                // Create.
                let (s, body) = api.send(M::POST, &path(res.kind, None), Some(create_body(res.kind, who, &fx))).await;
                check(&mut wrong, format!("{} {body}", at("create")), s, e.creates(who, st));
                // Update (no fields: the method itself) and delete of A's records.
                let empty = json!({ "data": { "type": res.kind, "id": target.to_string() } });
                let (s, _) = api.send(M::PATCH, &path(res.kind, Some(target)), Some(empty)).await;
                let on_a = |m: char| e.refuses(who, m, st).unwrap_or(if who == Who::B { 404 } else { 0 });
                check(
                    &mut wrong,
                    at("update"),
                    s,
                    match on_a('U') {
                        0 => 200,
                        s => s,
                    },
                );
                let fresh =
                    if e.operator.contains('C') { Some(created(&op, create_body(res.kind, Who::Operator, &fx)).await) } else { None };
                let (s, _) = api.send(M::DELETE, &format!("/{}/{}", res.kind, fresh.unwrap_or(1)), None).await;
                let want = match on_a('D') {
                    // A number the operator added is not the customer's to delete.
                    0 if who == Who::A && res.kind == "available_did_numbers" => 403,
                    0 => 204,
                    s => s,
                };
                check(&mut wrong, at("delete"), s, want);
                // Fields, one PATCH each, the current value sent back.
                if who == Who::B {
                    continue;
                }
                let (_, doc) = op.send(M::GET, &path(res.kind, Some(target)), None).await;
                let names = res.fields.iter().skip(1).map(|f| (f.name, false)).chain(res.rels.iter().map(|r| (r.name, true)));
                for (name, is_rel) in names {
                    let section = if is_rel { "relationships" } else { "attributes" };
                    let value = if is_rel { json!({ "data": current(&doc, name, true) }) } else { current(&doc, name, false) };
                    let body = json!({ "data": { "type": res.kind, "id": target.to_string(), section: { name: value } } });
                    let (s, _) = api.send(M::PATCH, &path(res.kind, Some(target)), Some(body)).await;
                    let want = e.refuses(who, 'U', st).is_none() && e.may_set(who, name, false, st);
                    if accepted(s) != want {
                        wrong.push(format!("{}.{name}: got {s}, want {}", at("set"), if want { "accepted" } else { "refused" }));
                    }
                }
            }
        }
        // Rows: a system number is the operator's; a number A added is A's
        // to delete while the domain lets it add numbers.
        let (s, _) = a.send(M::PATCH, &path("available_did_numbers", Some(fx.system_did)), Some(json!({ "data": { "type": "available_did_numbers", "id": fx.system_did.to_string(), "attributes": { "forward_number": "1" } } }))).await;
        check(&mut wrong, format!("[{}] A updates a system number", st.name), s, 403);
        let (s, _) = a.send(M::DELETE, &path("available_did_numbers", Some(fx.system_did)), None).await;
        check(&mut wrong, format!("[{}] A deletes a system number", st.name), s, 403);
        if st.open.contains(&ADD) {
            let (s, body) = a.send(M::POST, "/available_did_numbers", Some(create_body("available_did_numbers", Who::A, &fx))).await;
            assert_eq!(s, 201, "{body}");
            let own = body["data"]["id"].as_str().unwrap().to_owned();
            // Still A's own number after the domain closes adding: kept.
            apply(&srv, &STATES[0]).await;
            let (s, _) = a.send(M::DELETE, &format!("/available_did_numbers/{own}"), None).await;
            check(&mut wrong, format!("[{}] A deletes its own number once adding is closed", st.name), s, 403);
            apply(&srv, st).await;
            let (s, _) = a.send(M::DELETE, &format!("/available_did_numbers/{own}"), None).await;
            check(&mut wrong, format!("[{}] A deletes its own number", st.name), s, 204);
        }
    }
    assert!(wrong.is_empty(), "{} answers differ from the policy written here:\n{}", wrong.len(), wrong.join("\n"));
}

/// Input ids of a form page (`in-name`, `in-rel-gateway`) as field names.
fn inputs(html: &str) -> BTreeSet<String> {
    html.match_indices("id=\"in-")
        .filter_map(|(i, m)| html[i + m.len()..].split('"').next())
        .map(|id| id.strip_prefix("rel-").unwrap_or(id))
        // A checkbox list numbers its boxes (`in-name-0`); other suffixes are no inputs.
        .filter_map(|id| match id.split_once('-') {
            None => Some(id.to_owned()),
            Some((name, n)) if n.bytes().all(|b| b.is_ascii_digit()) => Some(name.to_owned()),
            Some(_) => None,
        })
        .collect()
}

pub(super) async fn the_uis_offer_exactly_what_the_api_allows(srv: Server) {
    let op = Api { srv: &srv, base: OP, user: "op", pass: "op-secret" };
    let a = Api { srv: &srv, base: CU, user: "api-a", pass: "Secret-A-1" };
    let fx = fixtures(&srv, &op).await;
    let mut op_ui = srv.operator().await;
    let mut wrong: Vec<String> = Vec::new();
    use reqwest::Method as M;
    for st in STATES {
        apply(&srv, st).await;
        let mut a_ui = open_ui(&srv, &mut op_ui, fx.a).await;
        for (who, api, base) in [(Who::Operator, &op, "/ui"), (Who::A, &a, "/customer")] {
            let ui: &mut Session = if who == Who::Operator { &mut op_ui } else { &mut a_ui };
            for tab in TABS.iter().chain([&super::super::pages::SETTINGS_TAB]) {
                let res = tab.res;
                let at = |what: &str| format!("[{}] {who:?} {} {what}", st.name, tab.slug);
                let target = fx.target(res.kind);
                // A page that is its one record's form: the domain settings,
                // and the customer's own record (its settings page).
                if who == Who::A && res.kind == "domain_settings" {
                    continue;
                }
                let single = res.kind == "domain_settings" || (who == Who::A && res.kind == "customers");
                let page = if single { format!("{base}/settings") } else { format!("{base}/{}", tab.slug) };
                let (ui_status, list, _) = srv.get(ui, &page).await;
                let (api_status, _) = api.send(M::GET, &path(res.kind, None), None).await;
                if (ui_status == StatusCode::OK) != (api_status == 200) {
                    wrong.push(format!("{}: UI {ui_status}, API {api_status}", at("seen")));
                }
                if ui_status != StatusCode::OK {
                    continue;
                }
                if !single {
                    let offered = list.contains(&format!("href=\"{base}/{}/new\"", tab.slug));
                    let (s, _) = api.send(M::POST, &path(res.kind, None), Some(create_body(res.kind, who, &fx))).await;
                    if offered != (s == 201) {
                        wrong.push(format!("{}: New {offered}, API {s}", at("create")));
                    }
                }
                if res.cdr || res.kind == "audit_log_entries" {
                    continue;
                }
                let editable = single || {
                    let (_, show, _) = srv.get(ui, &format!("{base}/{}/{target}", tab.slug)).await;
                    show.contains(&format!("/{}/{target}/edit\"", tab.slug))
                };
                let empty = json!({ "data": { "type": res.kind, "id": target.to_string() } });
                let (s, _) = api.send(M::PATCH, &path(res.kind, Some(target)), Some(empty)).await;
                if editable != (s == 200) {
                    wrong.push(format!("{}: Edit {editable}, API {s}", at("update")));
                }
                if editable {
                    let form = if single { list.clone() } else { srv.get(ui, &format!("{base}/{}/{target}/edit", tab.slug)).await.1 };
                    let offered = inputs(&form);
                    let (_, doc) = op.send(M::GET, &path(res.kind, Some(target)), None).await;
                    let mut taken = BTreeSet::new();
                    let fields = res.fields.iter().skip(1).filter(|f| !matches!(f.kind, Kind::Json | Kind::Time)).map(|f| (f.name, false));
                    let rels = res.rels.iter().filter(|r| !(r.name == "customer" && who == Who::A)).map(|r| (r.name, true));
                    for (name, is_rel) in fields.chain(rels) {
                        let section = if is_rel { "relationships" } else { "attributes" };
                        let value = if is_rel { json!({ "data": current(&doc, name, true) }) } else { current(&doc, name, false) };
                        let body = json!({ "data": { "type": res.kind, "id": target.to_string(), section: { name: value } } });
                        if accepted(api.send(M::PATCH, &path(res.kind, Some(target)), Some(body)).await.0) {
                            taken.insert(name.to_owned());
                        }
                    }
                    if offered != taken {
                        wrong.push(format!("{}: UI inputs {offered:?}, API takes {taken:?}", at("fields")));
                    }
                }
                if !single && Expect::of(res.kind).operator.contains('C') {
                    let fresh = created(&op, create_body(res.kind, Who::Operator, &fx)).await;
                    let (_, page, _) = srv.get(ui, &format!("{base}/{}/{fresh}", tab.slug)).await;
                    let offered = page.contains(">Delete</a>");
                    let (s, _) = api.send(M::DELETE, &format!("/{}/{fresh}", res.kind), None).await;
                    if offered != (s == 204) {
                        wrong.push(format!("{}: Delete {offered}, API {s}", at("delete")));
                    }
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{} differences between the UIs and the API:\n{}", wrong.len(), wrong.join("\n"));
}
