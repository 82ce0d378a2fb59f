//! The seeder against real stores (SQLite, and PostgreSQL when configured): counts, plausibility, repeatability and CDRs
//! that hang together.

use super::*;
use domain::schema::{self, Resource, Storage};
use domain::Value;
use std::collections::{HashMap, HashSet};
use store::cdr::{IncomingCdr, TerminationCdr};
use store::row::TableRow;
use store::testing::{sqlite, stores};
use store::{Cond, ListQuery, Op, Record, Scope};

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
        // Every object went through the audited create path, and each account
        // showing a number got it by an audited update once that was a DID of its customer.
        let objects = report.customers + report.numbers + report.accounts + report.trunks + report.gateways + report.routes;
        let caller_ids = all(&s, &schema::SIP_ACCOUNTS).await.iter().filter(|a| !a.get("external_caller_id").is_null()).count();
        assert_eq!(count(&schema::AUDIT_LOG).await, (objects + caller_ids) as u64, "{name}");

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
        let did_customer: HashMap<&str, i64> = dids.iter().map(|d| (d.get("number").as_str().unwrap(), d.customer_id().unwrap())).collect();
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
                let columns = if res.kind == IncomingCdr::TABLE { IncomingCdr::COLUMNS } else { TerminationCdr::COLUMNS };
                for c in columns {
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
            let before = ListQuery { conds: vec![time_cond(Op::Lt, now - i64::from(size.days) * DAY - 61_000)], ..ListQuery::default() };
            assert_eq!(s.count(res, Scope::Operator, &before).await.unwrap(), 0, "{name}");
            let inside = ListQuery { conds: vec![time_cond(Op::Gte, now - i64::from(size.days) * DAY - 61_000)], ..ListQuery::default() };
            assert_eq!(s.count(res, Scope::Operator, &inside).await.unwrap(), total, "{name}");
        }
    }
}
