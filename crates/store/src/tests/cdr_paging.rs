//! Issue 16, points 3 and 6: CDR lists page by keyset in both directions
//! (also where many rows share a time_start across page boundaries), and
//! the totals above them, read from the `cdr_hourly` rollup, equal a count
//! of the CDRs themselves, on SQLite and PostgreSQL.

use crate::cdr::{Cdr, CdrOp, IncomingCdr, TerminationCdr};
use crate::testing::stores;
use crate::{Backend, Cond, Cursor, ListQuery, Op, Scope, Store};
use domain::schema::{self, Storage};
use domain::Value;
use sqlx::Row as _;

const HOUR: i64 = 3_600_000;
const T0: i64 = 1_780_000_000_000 / HOUR * HOUR;

fn cond(column: &'static str, op: Op, v: impl Into<Value>) -> Cond {
    let v = v.into();
    let st = match v {
        Value::Bool(_) => Storage::Bool,
        Value::Text(_) => Storage::Text,
        _ => Storage::Int,
    };
    Cond { column, st, op, values: vec![v] }
}

fn key(r: &crate::Record) -> (i64, i64) {
    (r.get("time_start").as_i64().unwrap(), r.id())
}

#[tokio::test]
async fn keyset_pages_both_ways_across_equal_times() {
    for (name, s, _db) in stores().await {
        // 23 rows, four to a time_start: every page boundary of 3 splits a group.
        let rows: Vec<_> = (0..23).map(|i| IncomingCdr { time_start: T0 + (i / 4) * 1000, ..IncomingCdr::default() }).collect();
        s.append_cdrs(&rows).await.unwrap();
        for desc in [true, false] {
            let base = ListQuery {
                conds: vec![cond("time_start", Op::Gte, T0)],
                sort: vec![("time_start", Storage::Int, desc)],
                limit: 3,
                ..ListQuery::default()
            };
            let mut pages = Vec::new();
            let mut q = base.clone();
            loop {
                let page = s.list(&schema::INCOMING_CDRS, Scope::Operator, &q).await.unwrap();
                assert_eq!(page.has_before, !pages.is_empty(), "{name}: has_before of page {}", pages.len());
                pages.push(page.records.iter().map(key).collect::<Vec<_>>());
                if !page.has_more {
                    break;
                }
                let (v, id) = key(page.records.last().unwrap());
                q.after = Some(Cursor { value: Value::Int(v), id });
            }
            let seen: Vec<_> = pages.concat();
            let mut want = seen.clone();
            want.sort();
            if desc {
                want.reverse();
            }
            want.dedup();
            assert_eq!(seen, want, "{name} desc={desc}: each row once, in order");
            assert_eq!(seen.len(), 23, "{name}");

            // Back from the last page by `before`: the same pages, each in the list's order.
            let mut back = vec![pages.last().unwrap().clone()];
            let mut q = base.clone();
            loop {
                let (v, id) = back.last().unwrap()[0];
                q.before = Some(Cursor { value: Value::Int(v), id });
                let page = s.list(&schema::INCOMING_CDRS, Scope::Operator, &q).await.unwrap();
                assert!(page.has_more, "{name}: a before page has rows after it");
                back.push(page.records.iter().map(key).collect());
                if !page.has_before {
                    break;
                }
            }
            back.reverse();
            assert_eq!(back, pages, "{name} desc={desc}: Previous walks back over the same pages");
        }
    }
}

/// Totals counted by SQL straight from the CDRs.
async fn counted(s: &Store, table: &str, filter: &str) -> (u64, u64, i64) {
    let sql = format!(
        "SELECT CAST(COUNT(*) AS BIGINT) AS n, CAST(COALESCE(SUM(CASE WHEN time_connect IS NULL THEN 0 ELSE 1 END), 0) AS BIGINT) AS a, \
         CAST(COALESCE(SUM(duration), 0) AS BIGINT) AS d FROM {table} WHERE {filter}"
    );
    let r = sqlx::query(&sql).fetch_one(s.pool()).await.unwrap();
    (r.try_get::<i64, _>("n").unwrap() as u64, r.try_get::<i64, _>("a").unwrap() as u64, r.try_get("d").unwrap())
}

fn term(i: i64) -> TerminationCdr {
    let answered = i % 3 != 0;
    TerminationCdr {
        customer_id: (i % 5 != 0).then_some(1 + i % 2),
        sip_account_id: Some(10 + i % 4),
        gateway_id: Some(20 + i % 3),
        route_id: (i % 7 != 0).then_some(30),
        // Spread over five hours, seven minutes apart, not on the hour.
        time_start: T0 + 61_000 + i * 7 * 60_000 % (5 * HOUR),
        time_connect: answered.then_some(T0 + i),
        duration: if answered { i % 90 } else { 0 },
        dst_number_in: Some(format!("3706{i:04}")),
        success: answered,
        ..TerminationCdr::default()
    }
}

#[tokio::test]
async fn totals_match_a_count_of_the_cdrs() {
    for (name, s, _db) in stores().await {
        let rows: Vec<_> = (0..120).map(term).collect();
        s.append_cdrs(&rows[..60]).await.unwrap();
        // The SIP plane's path keeps the rollup too.
        let ops: Vec<_> = rows[60..].iter().map(|c| CdrOp::Close { live_id: None, cdr: Box::new(Cdr::Termination(c.clone())) }).collect();
        s.apply_cdr_ops(&ops).await.unwrap();
        let inc =
            IncomingCdr { customer_id: Some(1), time_start: T0 + 5, time_connect: Some(T0 + 6), duration: 9, ..IncomingCdr::default() };
        s.apply_cdr_ops(&[CdrOp::Close { live_id: None, cdr: Box::new(Cdr::Incoming(inc)) }]).await.unwrap();

        let res = &schema::TERMINATION_CDRS;
        let cases: Vec<(Vec<Cond>, String)> = vec![
            (vec![cond("time_start", Op::Gte, T0)], format!("time_start >= {T0}")),
            (
                vec![cond("time_start", Op::Gte, T0 + 30 * 60_000), cond("time_start", Op::Lte, T0 + 3 * HOUR + 10 * 60_000)],
                format!("time_start >= {} AND time_start <= {}", T0 + 30 * 60_000, T0 + 3 * HOUR + 10 * 60_000),
            ),
            (
                vec![cond("time_start", Op::Gte, T0 + HOUR), cond("time_start", Op::Lt, T0 + 3 * HOUR), cond("customer_id", Op::Eq, 2)],
                format!("time_start >= {} AND time_start < {} AND customer_id = 2", T0 + HOUR, T0 + 3 * HOUR),
            ),
            (
                vec![
                    cond("time_start", Op::Gte, T0 + 5 * 60_000),
                    Cond { column: "gateway_id", st: Storage::Int, op: Op::In, values: vec![Value::Int(20), Value::Int(22)] },
                    cond("success", Op::Eq, true),
                ],
                format!("time_start >= {} AND gateway_id IN (20, 22) AND success = {}", T0 + 5 * 60_000, sql_true(&s)),
            ),
            (vec![cond("time_start", Op::Gte, T0), cond("route_id", Op::Eq, 30)], format!("time_start >= {T0} AND route_id = 30")),
            // Not in the rollup: counted from the CDRs, exact under the cap.
            (
                vec![cond("time_start", Op::Gte, T0), cond("dst_number_in", Op::Contains, "1")],
                format!("time_start >= {T0} AND dst_number_in LIKE '%1%'"),
            ),
            // A window within an hour.
            (
                vec![cond("time_start", Op::Gte, T0 + HOUR + 60_000), cond("time_start", Op::Lt, T0 + HOUR + 50 * 60_000)],
                format!("time_start >= {} AND time_start < {}", T0 + HOUR + 60_000, T0 + HOUR + 50 * 60_000),
            ),
        ];
        for (conds, filter) in &cases {
            let t = s.cdr_totals(res, Scope::Operator, conds, 1000).await.unwrap();
            assert_eq!((t.calls, t.answered, t.seconds), counted(&s, "termination_cdrs", filter).await, "{name}: {filter}");
            assert!(!t.capped, "{name}: {filter}");
            assert!(t.calls > 0, "{name}: {filter} matches something");
        }
        // A customer sees its own only.
        let t = s.cdr_totals(res, Scope::Customer(1), &cases[0].0, 1000).await.unwrap();
        assert_eq!((t.calls, t.answered, t.seconds), counted(&s, "termination_cdrs", &format!("{} AND customer_id = 1", cases[0].1)).await);
        // Over the cap: a lower bound, said so.
        let t = s.cdr_totals(res, Scope::Operator, &cases[5].0, 10).await.unwrap();
        assert!(t.capped && t.calls <= 10, "{name}: {t:?}");
        let t = s.cdr_totals(&schema::INCOMING_CDRS, Scope::Operator, &[cond("time_start", Op::Gte, 0)], 10).await.unwrap();
        assert_eq!((t.calls, t.answered, t.seconds, t.capped), (1, 1, 9, false), "{name}: incoming has its own rows");

        // The rollup itself equals a GROUP BY of the CDRs.
        let rollup = "SELECT hour, CAST(SUM(calls) AS BIGINT) AS n FROM cdr_hourly WHERE kind = 'termination' AND success >= 0 GROUP BY hour ORDER BY hour";
        let grouped = "SELECT (time_start / 3600000) * 3600000 AS hour, CAST(COUNT(*) AS BIGINT) AS n FROM termination_cdrs GROUP BY (time_start / 3600000) * 3600000 ORDER BY hour";
        let read = |sql: &'static str| {
            let s = s.clone();
            async move {
                let rows = sqlx::query(sql).fetch_all(s.pool()).await.unwrap();
                rows.iter().map(|r| (r.try_get::<i64, _>("hour").unwrap(), r.try_get::<i64, _>("n").unwrap())).collect::<Vec<_>>()
            }
        };
        assert_eq!(read(rollup).await, read(grouped).await, "{name}");
    }
}

fn sql_true(s: &Store) -> &'static str {
    if s.backend() == Backend::Postgres {
        "TRUE"
    } else {
        "1"
    }
}

/// A database with CDRs from before migration 0019: the migration fills the
/// rollup from them.
#[tokio::test]
async fn migration_0019_backfills_the_rollup() {
    sqlx::any::install_default_drivers();
    for (backend, url, _guard) in super::ids::bare_databases().await {
        let pool = sqlx::AnyPool::connect(&url).await.unwrap();
        crate::migrate::apply_until(&pool, backend, 18).await;
        let t = T0 + HOUR + 5;
        for sql in [
            format!("INSERT INTO termination_cdrs (customer_id, gateway_id, time_start, time_connect, duration) VALUES (4, 2, {t}, {t}, 30), (4, NULL, {T0}, NULL, 0), (NULL, 2, {t}, {t}, 12)"),
            format!("INSERT INTO incoming_trunk_cdrs (customer_id, time_start) VALUES (4, {T0})"),
        ] {
            sqlx::query(&sql).execute(&pool).await.unwrap_or_else(|e| panic!("{backend:?}: {sql}: {e}"));
        }
        pool.close().await;
        let s = Store::connect(&url).await.unwrap();
        let all = [cond("time_start", Op::Gte, T0)];
        let t = s.cdr_totals(&schema::TERMINATION_CDRS, Scope::Operator, &all, 100).await.unwrap();
        assert_eq!((t.calls, t.answered, t.seconds), (3, 2, 42), "{backend:?}");
        let t = s.cdr_totals(&schema::TERMINATION_CDRS, Scope::Customer(4), &all, 100).await.unwrap();
        assert_eq!((t.calls, t.answered, t.seconds), (2, 1, 30), "{backend:?}");
        let n: i64 = sqlx::query("SELECT CAST(SUM(calls) AS BIGINT) AS n FROM cdr_hourly WHERE success >= 0")
            .fetch_one(s.pool())
            .await
            .unwrap()
            .try_get("n")
            .unwrap();
        assert_eq!(n, 4, "{backend:?}: every CDR counted once");
    }
}
