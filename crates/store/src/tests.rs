//! The store suite, run on SQLite and (when configured) PostgreSQL.

use crate::cdr::IncomingCdr;
use crate::testing::stores;
use crate::{Actor, Cond, Cursor, Error, Input, ListQuery, Op, RelInput, Scope, Store};
use domain::schema::{self, Storage};
use domain::Value;

mod capacity_groups;
mod forms;
mod ui_preferences;

fn op() -> Actor {
    Actor { scope: Scope::Operator, kind: "api_credential", id: "1".into(), name: "test".into() }
}

fn as_customer(c: i64) -> Actor {
    Actor { scope: Scope::Customer(c), kind: "customer_user", id: "9".into(), name: "cust".into() }
}

async fn customer(s: &Store, name: &str, limit: Option<i64>) -> i64 {
    let mut i = Input::default().with(&schema::CUSTOMERS, "name", name);
    if let Some(l) = limit {
        i = i.with(&schema::CUSTOMERS, "sip_account_limit", l);
    }
    s.create(&schema::CUSTOMERS, &op(), i).await.unwrap().id()
}

fn sip(user: &str, customer: i64, ext: Option<&str>) -> Input {
    let mut i = Input::default().with(&schema::SIP_ACCOUNTS, "username", user).with_rel(
        &schema::SIP_ACCOUNTS,
        "customer",
        RelInput::To("customers", customer),
    );
    if let Some(e) = ext {
        i = i.with(&schema::SIP_ACCOUNTS, "internal_caller_id", e);
    }
    i
}

fn field_of(e: Error) -> String {
    match e {
        Error::Invalid(f) => f.field,
        other => panic!("expected a field error, got {other:?}"),
    }
}

#[tokio::test]
async fn customers_get_defaults_ids_and_a_default_trunk() {
    for (name, s, _db) in stores().await {
        let c = s.create(&schema::CUSTOMERS, &op(), Input::default().with(&schema::CUSTOMERS, "name", "Acme")).await.unwrap();
        assert_eq!(c.get("language"), &Value::Text("EN".into()), "{name}");
        assert_eq!(c.get("trm_mode"), &Value::Text("operator_customer".into()));
        assert_eq!(c.get("capacity_limit"), &Value::Null);
        let chosen = Input { id: Some(339_128_572_810), ..Input::default() }.with(&schema::CUSTOMERS, "name", "Chosen");
        assert_eq!(s.create(&schema::CUSTOMERS, &op(), chosen.clone()).await.unwrap().id(), 339_128_572_810);
        assert!(matches!(s.create(&schema::CUSTOMERS, &op(), chosen).await, Err(Error::IdTaken(339_128_572_810))));
        // Generated ids never collide with chosen ones.
        let next = customer(&s, "Next", None).await;
        assert_eq!(next, 339_128_572_811);

        let trunks = s.list(&schema::INCOMING_TRUNKS, Scope::Customer(c.id()), &ListQuery::default()).await.unwrap().records;
        assert_eq!(trunks.len(), 1);
        let t = &trunks[0];
        assert_eq!(t.get("name"), &Value::Text("Default".into()));
        assert_eq!(t.get("domain"), &Value::Text(format!("{}.in.switchboard.local", t.id())));
        assert_eq!(t.get("codecs"), &Value::Text("PCMA,PCMU,telephone-event".into()));
    }
}

#[tokio::test]
async fn numbers_are_unique_across_customers() {
    for (name, s, _db) in stores().await {
        let a = customer(&s, "A", None).await;
        let b = customer(&s, "B", None).await;
        let did = |c| {
            Input::default().with(&schema::DID_NUMBERS, "number", "441174090316").with_rel(
                &schema::DID_NUMBERS,
                "customer",
                RelInput::To("customers", c),
            )
        };
        let d = s.create(&schema::DID_NUMBERS, &op(), did(a)).await.unwrap();
        assert_eq!(d.get("enabled"), &Value::Bool(true), "{name}");
        assert_eq!(field_of(s.create(&schema::DID_NUMBERS, &op(), did(b)).await.unwrap_err()), "number");
        let n = s.count(&schema::DID_NUMBERS, Scope::Operator, &ListQuery::default()).await.unwrap();
        assert_eq!(n, 1, "a refused create changes nothing");
    }
}

#[tokio::test]
async fn sip_account_limit_and_extensions() {
    for (name, s, _db) in stores().await {
        let a = customer(&s, "A", Some(2)).await;
        let b = customer(&s, "B", None).await;
        let first = s.create(&schema::SIP_ACCOUNTS, &op(), sip("alice", a, Some("100"))).await.unwrap();
        assert_eq!(first.get("password").as_str().map(str::len), Some(20), "{name}: generated password");
        assert_eq!(first.generated.as_ref().map(|g| g.0), Some("password"));
        assert_eq!(field_of(s.create(&schema::SIP_ACCOUNTS, &op(), sip("bob", a, Some("100"))).await.unwrap_err()), "internal_caller_id");
        assert_eq!(field_of(s.create(&schema::SIP_ACCOUNTS, &op(), sip("alice", b, None)).await.unwrap_err()), "username");
        // The same extension is fine in another customer.
        s.create(&schema::SIP_ACCOUNTS, &op(), sip("carol", b, Some("100"))).await.unwrap();
        s.create(&schema::SIP_ACCOUNTS, &as_customer(a), sip("bob", a, Some("101"))).await.unwrap();
        let e = s.create(&schema::SIP_ACCOUNTS, &op(), sip("dave", a, None)).await.unwrap_err();
        assert!(matches!(e, Error::Refused(ref m) if m.contains("SIP account limit (2)")), "{e:?}");
        // Lowering the limit keeps existing accounts.
        s.update(&schema::CUSTOMERS, &op(), a, Input::default().with(&schema::CUSTOMERS, "sip_account_limit", 1)).await.unwrap();
        assert_eq!(s.count(&schema::SIP_ACCOUNTS, Scope::Customer(a), &ListQuery::default()).await.unwrap(), 2);
    }
}

#[tokio::test]
async fn tenants_cannot_see_or_point_at_each_other() {
    for (name, s, _db) in stores().await {
        let a = customer(&s, "A", None).await;
        let b = customer(&s, "B", None).await;
        let acc_b = s.create(&schema::SIP_ACCOUNTS, &op(), sip("bee", b, None)).await.unwrap().id();
        assert!(matches!(s.get(&schema::SIP_ACCOUNTS, Scope::Customer(a), acc_b).await, Err(Error::NotFound)), "{name}");
        assert!(matches!(s.get(&schema::CUSTOMERS, Scope::Customer(a), b).await, Err(Error::NotFound)));
        assert!(matches!(s.delete(&schema::SIP_ACCOUNTS, &as_customer(a), acc_b).await, Err(Error::NotFound)));
        // A's number cannot ring B's account.
        let did = Input::default()
            .with(&schema::DID_NUMBERS, "number", "3701")
            .with_rel(&schema::DID_NUMBERS, "customer", RelInput::To("customers", a))
            .with_rel(&schema::DID_NUMBERS, "destination", RelInput::To("sip_device_routes", acc_b));
        assert_eq!(field_of(s.create(&schema::DID_NUMBERS, &op(), did).await.unwrap_err()), "destination");
        // A customer creating for another customer is refused.
        let e = s.create(&schema::SIP_ACCOUNTS, &as_customer(a), sip("x", b, None)).await.unwrap_err();
        assert_eq!(field_of(e), "customer");
    }
}

#[tokio::test]
async fn routes_use_own_or_shared_gateways_and_gateways_in_use_stay() {
    for (name, s, _db) in stores().await {
        let a = customer(&s, "A", None).await;
        let b = customer(&s, "B", None).await;
        let gw = |c: Option<i64>| {
            let i = Input::default().with(&schema::GATEWAYS, "name", "gw").with(&schema::GATEWAYS, "host", "10.0.0.1");
            match c {
                Some(c) => i.with_rel(&schema::GATEWAYS, "customer", RelInput::To("customers", c)),
                None => i,
            }
        };
        let shared = s.create(&schema::GATEWAYS, &op(), gw(None)).await.unwrap();
        assert_eq!(shared.get("port"), &Value::Int(5060), "{name}");
        assert_eq!(shared.get("transport_protocol"), &Value::Text("UDP".into()));
        let gb = s.create(&schema::GATEWAYS, &op(), gw(Some(b))).await.unwrap().id();
        let route = |c: i64, g: i64| {
            Input::default()
                .with(&schema::ROUTES, "name", "r")
                .with(&schema::ROUTES, "dst_prefix", "44")
                .with_rel(&schema::ROUTES, "customer", RelInput::To("customers", c))
                .with_rel(&schema::ROUTES, "gateway", RelInput::To("termination_gateways", g))
        };
        s.create(&schema::ROUTES, &op(), route(a, shared.id())).await.unwrap();
        assert_eq!(field_of(s.create(&schema::ROUTES, &op(), route(a, gb)).await.unwrap_err()), "gateway");
        let e = s.delete(&schema::GATEWAYS, &op(), shared.id()).await.unwrap_err();
        assert!(matches!(e, Error::Refused(_)), "{e:?}");
        // Deleting a customer takes its gateways and routes with it.
        s.create(&schema::ROUTES, &op(), route(b, gb)).await.unwrap();
        s.delete(&schema::CUSTOMERS, &op(), b).await.unwrap();
        assert!(matches!(s.get(&schema::GATEWAYS, Scope::Operator, gb).await, Err(Error::NotFound)));
        assert_eq!(s.count(&schema::ROUTES, Scope::Operator, &ListQuery::default()).await.unwrap(), 1);
    }
}

#[tokio::test]
async fn every_change_is_audited() {
    for (name, s, _db) in stores().await {
        let a = customer(&s, "A", None).await;
        s.update(&schema::CUSTOMERS, &op(), a, Input::default().with(&schema::CUSTOMERS, "name", "A2")).await.unwrap();
        s.delete(&schema::CUSTOMERS, &op(), a).await.unwrap();
        let q = ListQuery {
            conds: vec![Cond { column: "resource_type", st: Storage::Text, op: Op::Eq, values: vec!["customers".into()] }],
            ..ListQuery::default()
        };
        let log = s.list(&schema::AUDIT_LOG, Scope::Operator, &q).await.unwrap().records;
        let actions: Vec<_> = log.iter().map(|r| r.get("action").as_str().unwrap().to_owned()).collect();
        assert_eq!(actions, ["create", "update", "delete"], "{name}");
        let upd = &log[1];
        assert!(upd.get("before_json").as_str().unwrap().contains("\"name\":\"A\""));
        assert!(upd.get("after_json").as_str().unwrap().contains("\"name\":\"A2\""));
        assert_eq!(upd.get("actor_type"), &Value::Text("api_credential".into()));
    }
}

#[tokio::test]
async fn lists_filter_sort_page_and_keyset() {
    for (name, s, _db) in stores().await {
        let a = customer(&s, "A", None).await;
        let b = customer(&s, "B", None).await;
        let rows: Vec<_> = (0..30)
            .map(|i| IncomingCdr {
                customer_id: Some(if i % 3 == 0 { b } else { a }),
                time_start: 1_000_000 + (i % 10) * 1000,
                src_number: Some(format!("4420{i:02}")),
                lega_disconnect_code: Some(if i % 2 == 0 { 200 } else { 486 }),
                success: i % 2 == 0,
                ..IncomingCdr::default()
            })
            .collect();
        s.append_cdrs(&rows).await.unwrap();
        let window = Cond { column: "time_start", st: Storage::Int, op: Op::Gte, values: vec![Value::Int(1_000_000)] };
        let mut q =
            ListQuery { conds: vec![window.clone()], sort: vec![("time_start", Storage::Int, true)], limit: 7, ..ListQuery::default() };
        let mut seen = Vec::new();
        loop {
            let page = s.list(&schema::INCOMING_CDRS, Scope::Customer(a), &q).await.unwrap();
            for r in &page.records {
                seen.push((r.get("time_start").as_i64().unwrap(), r.id()));
            }
            if !page.has_more {
                break;
            }
            let last = page.records.last().unwrap();
            q.after = Some(Cursor { value: last.get("time_start").clone(), id: last.id() });
        }
        assert_eq!(seen.len(), 20, "{name}: every row of customer A once");
        let mut sorted = seen.clone();
        sorted.sort_by(|x, y| y.cmp(x));
        assert_eq!(seen, sorted, "time_start desc, id desc");

        let q = ListQuery {
            conds: vec![
                window,
                Cond { column: "success", st: Storage::Bool, op: Op::Eq, values: vec![Value::Bool(true)] },
                Cond { column: "src_number", st: Storage::Text, op: Op::StartsWith, values: vec!["44201".into()] },
            ],
            count: true,
            ..ListQuery::default()
        };
        let page = s.list(&schema::INCOMING_CDRS, Scope::Operator, &q).await.unwrap();
        assert_eq!(page.total, Some(5), "{name}: 10..=18 even");
        // LIKE wildcards in input are literal.
        let q = ListQuery {
            conds: vec![Cond { column: "src_number", st: Storage::Text, op: Op::Contains, values: vec!["%".into()] }],
            ..ListQuery::default()
        };
        assert_eq!(s.list(&schema::INCOMING_CDRS, Scope::Operator, &q).await.unwrap().records.len(), 0);
    }
}

#[tokio::test]
async fn first_operator_login_is_created_once() {
    for (name, s, _db) in stores().await {
        let (user, pass) = s.bootstrap_operator(None).await.unwrap().unwrap();
        assert_eq!(user, "admin", "{name}");
        assert!(s.bootstrap_operator(None).await.unwrap().is_none());
        let login = s.api_credential("admin").await.unwrap().unwrap();
        assert!(crate::auth::verify_password(pass.clone(), login.hash.clone()).await);
        assert!(!crate::auth::verify_password("wrong".into(), login.hash).await);
        let e = s.delete(&schema::OPERATOR_USERS, &op(), s.operator_user("admin").await.unwrap().unwrap().id).await.unwrap_err();
        assert!(matches!(e, Error::Refused(_)));
    }
}

#[tokio::test]
async fn bindings_and_presence() {
    use crate::presence::{BindingOp, StoredBinding};
    for (name, s, _db) in stores().await {
        let c = customer(&s, "A", None).await;
        let a = s.create(&schema::SIP_ACCOUNTS, &op(), sip("phone-1", c, None)).await.unwrap().id();
        let login = s.sip_login("phone-1").await.unwrap().unwrap();
        assert_eq!((login.id, login.customer_id), (a, c), "{name}");
        assert!(s.sip_login("nobody").await.unwrap().is_none());
        let all = s.sip_logins().await.unwrap();
        assert_eq!(all.iter().map(|l| (l.id, l.username.as_str())).collect::<Vec<_>>(), vec![(a, "phone-1")], "{name}");
        let b = |contact: &str, expires_at: i64| StoredBinding {
            account: a,
            contact: contact.into(),
            expires_at,
            user_agent: Some("ua/1".into()),
            source: "192.0.2.1:5060".into(),
            transport: "udp".into(),
            call_id: "cid".into(),
            cseq: 1,
            updated_at: 1,
        };
        let save = |x| BindingOp::Save(x);
        s.write_bindings(&[save(b("sip:x@1", 1_000)), save(b("sip:x@1", 5_000)), save(b("sip:y@1", 2_000))]).await.unwrap();
        let live = s.live_bindings(1_500).await.unwrap();
        assert_eq!(live.len(), 2, "{name}: refreshed, not duplicated");
        let live = s.live_bindings(3_000).await.unwrap();
        assert_eq!(live, vec![b("sip:x@1", 5_000)], "{name}: expired ones are gone");
        s.write_bindings(&[BindingOp::Delete { account: a, contact: Some("sip:x@1".into()) }]).await.unwrap();
        assert!(s.live_bindings(0).await.unwrap().is_empty());

        s.write_bindings(&[BindingOp::Presence { account: a, online: true, user_agent: Some("ua/1".into()) }]).await.unwrap();
        let r = s.get(&schema::SIP_ACCOUNTS, Scope::Operator, a).await.unwrap();
        assert_eq!((r.get("is_online"), r.get("user_agent")), (&Value::Bool(true), &Value::Text("ua/1".into())), "{name}");
        s.reset_presence(&[a]).await.unwrap();
        assert_eq!(s.get(&schema::SIP_ACCOUNTS, Scope::Operator, a).await.unwrap().get("is_online"), &Value::Bool(true));
        s.reset_presence(&[]).await.unwrap();
        let r = s.get(&schema::SIP_ACCOUNTS, Scope::Operator, a).await.unwrap();
        assert_eq!((r.get("is_online"), r.get("user_agent")), (&Value::Bool(false), &Value::Null), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_writes_never_lock_out_the_next_ones() {
    for (name, s, _db) in stores().await {
        let c = customer(&s, "A", None).await;
        // Half of these break the username constraint; a refused write's
        // rollback must not make the next one fail with "database is
        // locked" (seen once in CI with deferred transactions; a race, so
        // this stress does not catch it every time).
        let tasks: Vec<_> = (0..40)
            .map(|i| {
                let s = s.clone();
                tokio::spawn(async move { s.create(&schema::SIP_ACCOUNTS, &op(), sip(&format!("u{}", i / 2), c, None)).await })
            })
            .collect();
        let mut created = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => created += 1,
                Err(Error::Invalid(f)) => assert_eq!(f.field, "username", "{name}"),
                Err(other) => panic!("{name}: {other:?}"),
            }
        }
        assert_eq!(created, 20, "{name}");
    }
}

#[tokio::test]
async fn call_config_reads_trunks_dids_and_limits() {
    for (name, s, _db) in stores().await {
        let c = customer(&s, "A", None).await;
        let cap = Input::default().with(&schema::CUSTOMERS, "capacity_limit", 3i64);
        s.update(&schema::CUSTOMERS, &op(), c, cap).await.unwrap();
        let a = s
            .create(&schema::SIP_ACCOUNTS, &op(), sip("phone-1", c, None).with(&schema::SIP_ACCOUNTS, "password", "pw"))
            .await
            .unwrap()
            .id();
        let did = |number: &str, enabled: bool| {
            Input::default().with(&schema::DID_NUMBERS, "number", number).with(&schema::DID_NUMBERS, "enabled", enabled).with_rel(
                &schema::DID_NUMBERS,
                "customer",
                RelInput::To("customers", c),
            )
        };
        s.create(
            &schema::DID_NUMBERS,
            &op(),
            did("15550001", true).with_rel(&schema::DID_NUMBERS, "destination", RelInput::To("sip_device_routes", a)),
        )
        .await
        .unwrap();
        s.create(&schema::DID_NUMBERS, &op(), did("15550002", false)).await.unwrap();
        let cfg = s.call_config().await.unwrap();
        assert_eq!(cfg.trunks.len(), 1, "{name}: the default trunk");
        let t = &cfg.trunks[0];
        assert_eq!(
            (t.customer_id, t.destination_field.as_str(), t.codecs.as_str()),
            (c, "RURI_USERPART", "PCMA,PCMU,telephone-event"),
            "{name}"
        );
        assert_eq!(t.domain.as_deref(), Some(format!("{}.in.switchboard.local", t.id).as_str()), "{name}");
        let mut dids: Vec<_> =
            cfg.dids.iter().map(|d| (d.number.as_str(), d.enabled, d.destination_type.as_deref(), d.destination_id)).collect();
        dids.sort();
        assert_eq!(dids, vec![("15550001", true, Some("sip_device_routes"), Some(a)), ("15550002", false, None, None)], "{name}");
        assert_eq!(cfg.customers.iter().find(|x| x.id == c).and_then(|x| x.capacity_limit), Some(3), "{name}");
        assert_eq!((cfg.capacity_reject_code, cfg.sip_domain.as_str()), (480, "switchboard.local"), "{name}");
    }
}

/// Issue 14, point 8: a second node on a shared PostgreSQL database must
/// start, whether it comes after the first or races it through migration.
/// Earlier nodes stay open throughout, so a migration lock one of them
/// failed to release would block the next connect (caught by the timeout).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_start_together_on_one_postgres_database() {
    use std::time::Duration;
    async fn start(url: &str, node: &str) -> Store {
        match tokio::time::timeout(Duration::from_secs(30), Store::connect(url)).await {
            Err(_) => panic!("{node} hangs at start: is the migration lock still held?"),
            Ok(r) => r.unwrap_or_else(|e| panic!("{node} fails to start: {e}")),
        }
    }

    let Some(db) = crate::testing::postgres_database().await else { return crate::testing::postgres_missing() };
    let first = start(&db.url, "first node").await;
    let second = start(&db.url, "second node").await;

    let Some(db2) = crate::testing::postgres_database().await else { unreachable!() };
    let (a, b) = tokio::join!(start(&db2.url, "racing node a"), start(&db2.url, "racing node b"));
    let third = start(&db2.url, "third node").await;
    let row = sqlx::query("SELECT COUNT(*) AS n FROM domain_settings").fetch_one(third.pool()).await.unwrap();
    assert_eq!(sqlx::Row::try_get::<i64, _>(&row, "n").unwrap(), 1);
    for s in [first, second, a, b, third] {
        s.close().await;
    }
}

#[tokio::test]
async fn fraud_limits_are_stored_and_reach_the_call_configuration() {
    for (name, s, _db) in stores().await {
        let c = customer(&s, "Acme", None).await;
        let cfg = s.call_config().await.unwrap();
        let row = cfg.customers.iter().find(|r| r.id == c).unwrap().clone();
        assert_eq!(row, crate::directory::CustomerRow { id: c, ..Default::default() }, "{name}: unlimited, own DIDs only");
        let limits = Input::default()
            .with(&schema::CUSTOMERS, "max_cps", 3)
            .with(&schema::CUSTOMERS, "max_call_duration", 7200)
            .with(&schema::CUSTOMERS, "blocked_prefixes", "882,4990")
            .with(&schema::CUSTOMERS, "daily_minutes_limit", 0)
            .with(&schema::CUSTOMERS, "allow_any_caller_id", true);
        s.update(&schema::CUSTOMERS, &op(), c, limits).await.unwrap();
        s.update(&schema::DOMAIN_SETTINGS, &op(), 1, Input::default().with(&schema::DOMAIN_SETTINGS, "blocked_prefixes", "979"))
            .await
            .unwrap();
        let cfg = s.call_config().await.unwrap();
        let row = cfg.customers.iter().find(|r| r.id == c).unwrap().clone();
        assert_eq!(
            (row.max_cps, row.max_call_duration, row.blocked_prefixes, row.daily_minutes_limit, row.allow_any_caller_id),
            (Some(3), Some(7200), vec!["882".to_owned(), "4990".to_owned()], Some(0), true),
            "{name}"
        );
        assert_eq!(cfg.blocked_prefixes, ["979"], "{name}");
    }
}

#[tokio::test]
async fn an_external_caller_id_is_one_of_the_customers_dids() {
    for (name, s, _db) in stores().await {
        let a = customer(&s, "A", None).await;
        let b = customer(&s, "B", None).await;
        let did = |c, n: &str| {
            Input::default().with(&schema::DID_NUMBERS, "number", n).with_rel(
                &schema::DID_NUMBERS,
                "customer",
                RelInput::To("customers", c),
            )
        };
        s.create(&schema::DID_NUMBERS, &op(), did(a, "4930111")).await.unwrap();
        s.create(&schema::DID_NUMBERS, &op(), did(b, "4930999")).await.unwrap();
        let with_id = |user: &str, n: &str| sip(user, a, None).with(&schema::SIP_ACCOUNTS, "external_caller_id", n);
        // Another customer's DID, from either scope: refused, nothing stored.
        for actor in [op(), as_customer(a)] {
            let e = s.create(&schema::SIP_ACCOUNTS, &actor, with_id("spoof", "4930999")).await.unwrap_err();
            assert_eq!(field_of(e), "external_caller_id", "{name}");
        }
        assert_eq!(s.count(&schema::SIP_ACCOUNTS, Scope::Operator, &ListQuery::default()).await.unwrap(), 0, "{name}");
        let own = s.create(&schema::SIP_ACCOUNTS, &as_customer(a), with_id("own", "4930111")).await.unwrap().id();
        let change = |n: &str| Input::default().with(&schema::SIP_ACCOUNTS, "external_caller_id", n);
        assert_eq!(
            field_of(s.update(&schema::SIP_ACCOUNTS, &as_customer(a), own, change("4930999")).await.unwrap_err()),
            "external_caller_id"
        );
        // Other changes to the account are not held to it; clearing it is fine.
        s.update(
            &schema::SIP_ACCOUNTS,
            &as_customer(a),
            own,
            Input::default().with(&schema::SIP_ACCOUNTS, "caller_id_name", "Beta Support"),
        )
        .await
        .unwrap();
        s.update(
            &schema::SIP_ACCOUNTS,
            &as_customer(a),
            own,
            Input::default().with(&schema::SIP_ACCOUNTS, "external_caller_id", Value::Null),
        )
        .await
        .unwrap();
        // Wholesale: any number, once the operator allows it.
        s.update(&schema::CUSTOMERS, &op(), a, Input::default().with(&schema::CUSTOMERS, "allow_any_caller_id", true)).await.unwrap();
        let r = s.update(&schema::SIP_ACCOUNTS, &as_customer(a), own, change("4930999")).await.unwrap();
        assert_eq!(r.get("external_caller_id"), &Value::Text("4930999".into()), "{name}");
    }
}

mod cdr_paging;
mod ids;
