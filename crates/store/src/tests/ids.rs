//! Issue 15, points 4 and 5: ids are never issued twice (a new customer
//! never inherits a deleted one's CDRs), a database from before migration
//! 0015 keeps its data and its used ids, and the operator keeps a way in.

use super::{customer, op};
use crate::cdr::{IncomingCdr, TerminationCdr};
use crate::testing::stores;
use crate::{Backend, Error, Input, ListQuery, RelInput, Scope, Store};
use domain::schema::{self, Resource};
use sqlx::Row as _;

/// A valid new record of `res` (the `n`th, for unique names), or `None`
/// for the resources nobody creates through the store's `create`.
fn new_record(res: &Resource, n: usize, c: i64, gw: i64) -> Option<Input> {
    let owned = |i: Input| i.with_rel(res_static(res), "customer", RelInput::To("customers", c));
    let r = res_static(res);
    Some(match res.kind {
        "customers" => Input::default().with(r, "name", format!("Customer {n}")),
        "sip_device_routes" => owned(Input::default().with(r, "username", format!("ids-sip-{n}"))),
        "available_did_numbers" => owned(Input::default().with(r, "number", format!("4420000{n:04}"))),
        "ring_groups" => owned(Input::default().with(r, "name", format!("group {n}"))),
        "incoming_trunks" => owned(Input::default().with(r, "name", format!("trunk {n}"))),
        "termination_gateways" => Input::default().with(r, "name", format!("gw {n}")).with(r, "host", "192.0.2.1"),
        "termination_routes" => {
            Input::default().with(r, "name", format!("route {n}")).with_rel(r, "gateway", RelInput::To("termination_gateways", gw))
        }
        "operator_users" => Input::default().with(r, "username", format!("ids-op-{n}")).with(r, "password", "pw-123456"),
        "customer_users" => owned(Input::default().with(r, "username", format!("ids-cu-{n}")).with(r, "password", "pw-123456")),
        "api_credentials" => Input::default().with(r, "username", format!("ids-api-{n}")),
        "capacity_groups" => Input::default().with(r, "name", format!("pool {n}")).with(r, "capacity", 2),
        _ => return None,
    })
}

fn res_static(res: &Resource) -> &'static Resource {
    schema::resource(res.kind).expect("a resource of the schema")
}

/// Every resource with ids of its own: delete the newest record, create
/// another, and the new id is larger (SQLite without AUTOINCREMENT would
/// hand out the deleted one again). A resource added to the schema without
/// an entry in `new_record` fails here, so it gets the same check.
#[tokio::test]
async fn no_resource_hands_out_a_deleted_id_again() {
    for (name, s, _db) in stores().await {
        // Not the last operator user and credential: those stay (point 5).
        s.bootstrap_operator(None).await.unwrap();
        let c = customer(&s, "Owner", None).await;
        let gw = s.create(&schema::GATEWAYS, &op(), new_record(&schema::GATEWAYS, 9000, c, 0).unwrap()).await.unwrap().id();
        for res in schema::RESOURCES.iter().copied() {
            if res.cdr || matches!(res.kind, "audit_log_entries" | "domain_settings") {
                continue;
            }
            let input = |n| new_record(res, n, c, gw).unwrap_or_else(|| panic!("{}: add it to new_record", res.kind));
            let first = s.create(res, &op(), input(1)).await.unwrap_or_else(|e| panic!("{name} {}: {e}", res.kind)).id();
            s.delete(res, &op(), first).await.unwrap_or_else(|e| panic!("{name} {}: {e}", res.kind));
            let second = s.create(res, &op(), input(2)).await.unwrap().id();
            assert!(second > first, "{name} {}: id {first} deleted, then {second} issued", res.kind);
        }
    }
}

/// The finding: a customer deleted with CDRs left behind, then a new
/// customer, generated or with the old id chosen, must not own them.
#[tokio::test]
async fn a_deleted_customers_id_is_never_issued_again() {
    for (name, s, _db) in stores().await {
        let old = customer(&s, "Old", None).await;
        s.append_cdrs(&[IncomingCdr { customer_id: Some(old), time_start: 1_000, ..IncomingCdr::default() }]).await.unwrap();
        s.append_cdrs(&[TerminationCdr { customer_id: Some(old), time_start: 1_000, ..TerminationCdr::default() }]).await.unwrap();
        s.delete(&schema::CUSTOMERS, &op(), old).await.unwrap();

        let new = customer(&s, "New", None).await;
        assert!(new > old, "{name}: {old} deleted, {new} issued");
        let chosen = Input { id: Some(old), ..Input::default() }.with(&schema::CUSTOMERS, "name", "Chosen");
        assert!(matches!(s.create(&schema::CUSTOMERS, &op(), chosen).await, Err(Error::IdTaken(i)) if i == old), "{name}");
        for res in [&schema::INCOMING_CDRS, &schema::TERMINATION_CDRS] {
            let seen = s.list(res, Scope::Customer(new), &ListQuery::default()).await.unwrap().records;
            assert!(seen.is_empty(), "{name}: the new customer sees {}", res.kind);
            // The operator still has them, under the id they were made with.
            assert_eq!(s.list(res, Scope::Operator, &ListQuery::default()).await.unwrap().records.len(), 1, "{name}");
        }
        // Chosen ids count as issued too: the next generated one is past them.
        let big = Input { id: Some(5_000), ..Input::default() }.with(&schema::CUSTOMERS, "name", "Big");
        s.create(&schema::CUSTOMERS, &op(), big).await.unwrap();
        s.delete(&schema::CUSTOMERS, &op(), 5_000).await.unwrap();
        assert_eq!(customer(&s, "After big", None).await, 5_001, "{name}");
        // The largest id possible: no next one, a 422, not a 500.
        let max = Input { id: Some(i64::MAX), ..Input::default() }.with(&schema::CUSTOMERS, "name", "Max");
        s.create(&schema::CUSTOMERS, &op(), max).await.unwrap();
        let next = s.create(&schema::CUSTOMERS, &op(), Input::default().with(&schema::CUSTOMERS, "name", "None left")).await;
        assert!(matches!(next, Err(Error::Refused(_))), "{name}: {next:?}");
    }
}

/// A bare database (no schema) per backend, and its URL.
pub(super) async fn bare_databases() -> Vec<(Backend, String, Box<dyn std::any::Any>)> {
    let path = std::env::temp_dir().join(format!("switchboard-migrate-{}.db", crate::auth::random_token(12)));
    struct File(std::path::PathBuf);
    impl Drop for File {
        fn drop(&mut self) {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
            }
        }
    }
    let mut out: Vec<(Backend, String, Box<dyn std::any::Any>)> =
        vec![(Backend::Sqlite, format!("sqlite://{}?mode=rwc", path.display()), Box::new(File(path)))];
    match crate::testing::postgres_database().await {
        Some(db) => out.push((Backend::Postgres, db.url.clone(), Box::new(db))),
        None => crate::testing::postgres_missing(),
    }
    out
}

/// A database left by a release at migration 0011, with customers, a SIP
/// account, and CDRs and audit entries of customers deleted since: 0015
/// keeps every row and id, and counts the deleted customers' ids as issued.
#[tokio::test]
async fn migration_0015_keeps_data_and_retires_the_ids_of_deleted_customers() {
    sqlx::any::install_default_drivers();
    for (backend, url, _guard) in bare_databases().await {
        let pool = sqlx::AnyPool::connect(&url).await.unwrap();
        crate::migrate::apply_until(&pool, backend, 11).await;
        for sql in [
            "INSERT INTO customers (id, name, language, trm_mode, created_at) VALUES (1, 'One', 'EN', 'operator_customer', 1), (3, 'Three', 'LT', 'operator_customer', 3)",
            "INSERT INTO sip_accounts (customer_id, username, password, created_at) VALUES (3, 'three-1', 'pw', 3)",
            // Customer 4 was deleted and left CDRs; 6 left only its audit entry.
            "INSERT INTO incoming_trunk_cdrs (customer_id, time_start) VALUES (4, 10), (NULL, 11)",
            "INSERT INTO termination_cdrs (customer_id, time_start) VALUES (4, 12)",
            "INSERT INTO audit_log (at, actor_type, action, resource_type, resource_id) VALUES (1, 'system', 'delete', 'customers', '6'), (1, 'system', 'update', 'sip_device_routes', 'x9')",
        ] {
            sqlx::query(sql).execute(&pool).await.unwrap_or_else(|e| panic!("{backend:?}: {sql}: {e}"));
        }
        pool.close().await;

        let s = Store::connect(&url).await.unwrap();
        let ids: Vec<i64> = sqlx::query("SELECT id FROM customer_ids ORDER BY id")
            .fetch_all(s.pool())
            .await
            .unwrap()
            .iter()
            .map(|r| r.try_get("id").unwrap())
            .collect();
        assert_eq!(ids, vec![1, 3, 4, 6], "{backend:?}");
        let names: Vec<String> = s
            .list(&schema::CUSTOMERS, Scope::Operator, &ListQuery::default())
            .await
            .unwrap()
            .records
            .iter()
            .map(|r| r.get("name").as_str().unwrap().to_owned())
            .collect();
        assert_eq!(names, ["One", "Three"], "{backend:?}");
        assert_eq!(s.count(&schema::SIP_ACCOUNTS, Scope::Customer(3), &ListQuery::default()).await.unwrap(), 1, "{backend:?}");
        assert_eq!(s.list(&schema::INCOMING_CDRS, Scope::Operator, &ListQuery::default()).await.unwrap().records.len(), 2);

        assert_eq!(customer(&s, "Seven", None).await, 7, "{backend:?}: after every id ever used");
        for taken in [3, 4, 6] {
            let chosen = Input { id: Some(taken), ..Input::default() }.with(&schema::CUSTOMERS, "name", "Again");
            assert!(matches!(s.create(&schema::CUSTOMERS, &op(), chosen).await, Err(Error::IdTaken(_))), "{backend:?}: {taken}");
        }
        let free = Input { id: Some(2), ..Input::default() }.with(&schema::CUSTOMERS, "name", "Two");
        assert_eq!(s.create(&schema::CUSTOMERS, &op(), free).await.unwrap().id(), 2, "{backend:?}: never issued, so free");
        s.close().await;
    }
}

/// Point 5: the last operator user and the last operator API credential
/// stay; customers' credentials may all go.
#[tokio::test]
async fn the_operator_keeps_a_way_in() {
    for (name, s, _db) in stores().await {
        s.bootstrap_operator(Some(("first".into(), "first-secret".into()))).await.unwrap();
        let users = s.list(&schema::OPERATOR_USERS, Scope::Operator, &ListQuery::default()).await.unwrap().records;
        let creds = s.list(&schema::API_CREDENTIALS, Scope::Operator, &ListQuery::default()).await.unwrap().records;
        let (user, cred) = (users[0].id(), creds[0].id());
        let refused = |r: crate::Result<()>, what: &str| match r {
            Err(Error::Refused(m)) => assert!(m.contains(what), "{name}: {m}"),
            other => panic!("{name}: deleting the last {what}: {other:?}"),
        };
        refused(s.delete(&schema::OPERATOR_USERS, &op(), user).await, "operator user");
        refused(s.delete(&schema::API_CREDENTIALS, &op(), cred).await, "operator API credential");

        // A customer's credential is not a way in for the operator.
        let c = customer(&s, "Cust", None).await;
        let cust_cred = new_record(&schema::API_CREDENTIALS, 1, c, 0).unwrap().with_rel(
            &schema::API_CREDENTIALS,
            "customer",
            RelInput::To("customers", c),
        );
        let cust_cred = s.create(&schema::API_CREDENTIALS, &op(), cust_cred).await.unwrap().id();
        refused(s.delete(&schema::API_CREDENTIALS, &op(), cred).await, "operator API credential");
        s.delete(&schema::API_CREDENTIALS, &op(), cust_cred).await.unwrap();

        // With a second one, the first may go; then the second is the last.
        let second = s.create(&schema::API_CREDENTIALS, &op(), new_record(&schema::API_CREDENTIALS, 2, c, 0).unwrap()).await.unwrap();
        s.delete(&schema::API_CREDENTIALS, &op(), cred).await.unwrap();
        refused(s.delete(&schema::API_CREDENTIALS, &op(), second.id()).await, "operator API credential");
        assert_eq!(s.count(&schema::API_CREDENTIALS, Scope::Operator, &ListQuery::default()).await.unwrap(), 1, "{name}");
    }
}

/// Two nodes (two stores on one PostgreSQL database, so the in-process
/// write lock does not serialise them) deleting the last two operator
/// users and credentials at once: one delete wins, one is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_cannot_delete_the_last_two_at_once() {
    let Some((a, db)) = crate::testing::postgres().await else { return crate::testing::postgres_missing() };
    let b = Store::connect(&db.url).await.unwrap();
    for res in [&schema::OPERATOR_USERS, &schema::API_CREDENTIALS] {
        let mut keep = a.create(res, &op(), new_record(res, 0, 0, 0).unwrap()).await.unwrap().id();
        for round in 1..=10 {
            let x = a.create(res, &op(), new_record(res, round, 0, 0).unwrap()).await.unwrap().id();
            let actor = op();
            let (rk, rx) = tokio::join!(a.delete(res, &actor, keep), b.delete(res, &actor, x));
            assert!(rk.is_ok() != rx.is_ok(), "round {round} {}: {rk:?} {rx:?}", res.kind);
            assert_eq!(a.count(res, Scope::Operator, &ListQuery::default()).await.unwrap(), 1, "round {round} {}", res.kind);
            if rk.is_ok() {
                keep = x;
            }
        }
    }
}
