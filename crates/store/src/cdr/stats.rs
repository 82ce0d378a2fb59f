//! Totals of a filtered CDR window (calls, answered, billed seconds)
//! without scanning it: the `cdr_hourly` rollup, kept in the transaction of
//! every CDR insert, answers the whole hours; the partial hours at the
//! window's edges are counted from the CDRs themselves (under an hour each,
//! through the time index). A filter the rollup cannot answer (a number
//! substring, a disconnect code) is counted over the newest `cap` CDRs of
//! the window only, and the answer then says it is a lower bound.

use super::{IncomingCdr, TerminationCdr};
use crate::query::{and_conds, where_conds, Cond, Op};
use crate::record::tenant_cond;
use crate::sql::Sql;
use crate::{Result, Scope, Store};
use domain::schema::{Resource, Storage};
use domain::Value;
use std::collections::HashMap;

const HOUR: i64 = 3_600_000;
/// A rollup dimension summed over: besides each detail row, an hour has a
/// row per customer and one for all customers (success = -1 marks both), so
/// totals that filter by nothing finer read a row or a few per hour, not
/// one per combination of trunk, gateway and route.
const ALL: i64 = -1;

/// Totals of the CDRs matching a list's filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CdrTotals {
    pub calls: u64,
    pub answered: u64,
    /// Billed seconds.
    pub seconds: i64,
    /// Counted over the newest CDRs of the window only: the true totals
    /// are at least these.
    pub capped: bool,
}

impl CdrTotals {
    fn add(&mut self, o: CdrTotals) {
        self.calls += o.calls;
        self.answered += o.answered;
        self.seconds += o.seconds;
        self.capped |= o.capped;
    }
}

/// One rollup row's key: (hour, customer, trunk, gateway, route, success).
pub(crate) type HourKey = (i64, i64, i64, i64, i64, i64);

/// Where a CDR counts in the rollup. Termination CDRs' "trunk" is their
/// SIP account; a missing id is 0.
pub trait Hourly {
    const KIND: &'static str;
    fn hour_key(&self) -> HourKey;
    fn answered(&self) -> bool;
    fn seconds(&self) -> i64;
}

fn hour_of(ms: i64) -> i64 {
    // As the migration's SQL rounds it (toward zero).
    ms / HOUR * HOUR
}

impl Hourly for IncomingCdr {
    const KIND: &'static str = "incoming";
    fn hour_key(&self) -> HourKey {
        let id = |x: Option<i64>| x.unwrap_or(0);
        (hour_of(self.time_start), id(self.customer_id), id(self.incoming_trunk_id), 0, 0, i64::from(self.success))
    }
    fn answered(&self) -> bool {
        self.time_connect.is_some()
    }
    fn seconds(&self) -> i64 {
        self.duration
    }
}

impl Hourly for TerminationCdr {
    const KIND: &'static str = "termination";
    fn hour_key(&self) -> HourKey {
        let id = |x: Option<i64>| x.unwrap_or(0);
        let s = i64::from(self.success);
        (hour_of(self.time_start), id(self.customer_id), id(self.sip_account_id), id(self.gateway_id), id(self.route_id), s)
    }
    fn answered(&self) -> bool {
        self.time_connect.is_some()
    }
    fn seconds(&self) -> i64 {
        self.duration
    }
}

/// Adds CDRs to the rollup, inside the transaction that inserts them.
pub(crate) async fn add_to_rollup<R: Hourly>(tx: &mut sqlx::Transaction<'static, sqlx::Any>, rows: &[&R]) -> Result<()> {
    let mut sums: HashMap<HourKey, (i64, i64, i64)> = HashMap::new();
    for r in rows {
        let k = r.hour_key();
        // The detail row, and the per-customer and all-customer rows of its hour.
        for key in [k, (k.0, k.1, ALL, ALL, ALL, ALL), (k.0, ALL, ALL, ALL, ALL, ALL)] {
            let e = sums.entry(key).or_default();
            e.0 += 1;
            e.1 += i64::from(r.answered());
            e.2 += r.seconds();
        }
    }
    let sums: Vec<_> = sums.into_iter().collect();
    // 10 parameters a row; a few hundred a statement (see row::insert).
    for chunk in sums.chunks(40) {
        let mut sql = Sql::new(
            "INSERT INTO cdr_hourly (kind, hour, customer_id, trunk_id, gateway_id, route_id, success, calls, answered, seconds) VALUES ",
        );
        for (i, ((hour, c, t, g, ro, s), (calls, ans, secs))) in chunk.iter().enumerate() {
            sql.push(if i == 0 { "(" } else { ", (" });
            sql.arg(Value::Text(R::KIND.to_owned()), Storage::Text);
            for v in [hour, c, t, g, ro, s, calls, ans, secs] {
                sql.push(", ").arg(Value::Int(*v), Storage::Int);
            }
            sql.push(")");
        }
        sql.push(
            " ON CONFLICT (kind, hour, customer_id, trunk_id, gateway_id, route_id, success) DO UPDATE SET \
             calls = cdr_hourly.calls + excluded.calls, answered = cdr_hourly.answered + excluded.answered, \
             seconds = cdr_hourly.seconds + excluded.seconds",
        );
        sql.query().execute(&mut **tx).await?;
    }
    Ok(())
}

/// The rollup's column for a CDR table's column, where it has one.
fn rollup_column(table: &str, column: &str) -> Option<&'static str> {
    match (table, column) {
        (_, "customer_id") => Some("customer_id"),
        ("incoming_trunk_cdrs", "incoming_trunk_id") | ("termination_cdrs", "sip_account_id") => Some("trunk_id"),
        ("termination_cdrs", "gateway_id") => Some("gateway_id"),
        ("termination_cdrs", "route_id") => Some("route_id"),
        (_, "success") => Some("success"),
        _ => None,
    }
}

/// The window `[from, to)` of the time conditions, if they are all bounds.
fn window(conds: &[&Cond]) -> Option<(i64, i64)> {
    let (mut from, mut to) = (i64::MIN, i64::MAX);
    for c in conds {
        let v = c.values.first().and_then(Value::as_i64)?;
        match c.op {
            Op::Gte => from = from.max(v),
            Op::Gt => from = from.max(v.saturating_add(1)),
            Op::Lte => to = to.min(v.saturating_add(1)),
            Op::Lt => to = to.min(v),
            Op::Eq => {
                from = from.max(v);
                to = to.min(v.saturating_add(1));
            }
            _ => return None,
        }
    }
    Some((from, to))
}

impl Store {
    /// Totals of the CDRs of `res` (a CDR resource) that match `conds` (a
    /// list's filters) within the scope: exact unless a filter the rollup
    /// cannot answer meets a window of more than `cap` CDRs (`capped`).
    pub async fn cdr_totals(&self, res: &'static Resource, scope: Scope, conds: &[Cond], cap: u64) -> Result<CdrTotals> {
        let kind = if res.table == "incoming_trunk_cdrs" { IncomingCdr::KIND } else { TerminationCdr::KIND };
        let (times, others): (Vec<&Cond>, Vec<&Cond>) = conds.iter().partition(|c| c.column == "time_start");
        let by_rollup = others.iter().all(|c| rollup_column(res.table, c.column).is_some() && matches!(c.op, Op::Eq | Op::In));
        let win = window(&times).filter(|(from, to)| *from >= 0 && from < to);
        let Some((from, to)) = win.filter(|_| by_rollup) else {
            return self.scanned_totals(res, scope, conds, Some(cap)).await;
        };
        // Whole hours inside the window; none if it is shorter than that.
        let first = from.div_euclid(HOUR) * HOUR + if from % HOUR == 0 { 0 } else { HOUR };
        let end = if to == i64::MAX { i64::MAX } else { to.div_euclid(HOUR) * HOUR };
        if first >= end {
            return self.scanned_totals(res, scope, conds, None).await;
        }
        let mut out = self.rollup_totals(res, kind, scope, &others, first, end).await?;
        for (lo, hi) in [(from, first), (end, to)] {
            if lo < hi {
                let mut edge: Vec<Cond> = others.iter().map(|c| (*c).clone()).collect();
                edge.push(Cond { column: "time_start", st: Storage::Int, op: Op::Gte, values: vec![Value::Int(lo)] });
                edge.push(Cond { column: "time_start", st: Storage::Int, op: Op::Lt, values: vec![Value::Int(hi)] });
                out.add(self.scanned_totals(res, scope, &edge, None).await?);
            }
        }
        Ok(out)
    }

    async fn rollup_totals(
        &self,
        res: &'static Resource,
        kind: &str,
        scope: Scope,
        conds: &[&Cond],
        first: i64,
        end: i64,
    ) -> Result<CdrTotals> {
        let mut sql = Sql::new(
            "SELECT CAST(COALESCE(SUM(calls), 0) AS BIGINT) AS calls, CAST(COALESCE(SUM(answered), 0) AS BIGINT) AS answered, \
             CAST(COALESCE(SUM(seconds), 0) AS BIGINT) AS seconds FROM cdr_hourly WHERE kind = ",
        );
        sql.arg(Value::Text(kind.to_owned()), Storage::Text);
        sql.push(" AND hour >= ").arg(Value::Int(first), Storage::Int);
        if end != i64::MAX {
            sql.push(" AND hour < ").arg(Value::Int(end), Storage::Int);
        }
        // The tenant condition names customer_id, which the rollup has too.
        tenant_cond(res, scope, &mut sql);
        let finer = conds.iter().any(|c| c.column != "customer_id");
        let by_customer = conds.iter().any(|c| c.column == "customer_id") || scope.is_customer();
        sql.push(match (finer, by_customer) {
            (true, _) => " AND success >= 0",
            (false, true) => " AND success = -1 AND customer_id >= 0",
            (false, false) => " AND success = -1 AND customer_id = -1",
        });
        for c in conds {
            let col = rollup_column(res.table, c.column).expect("checked by the caller");
            sql.push(" AND ").push(col).push(" IN (");
            for (i, v) in c.values.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                let v = match v {
                    Value::Bool(b) => Value::Int(i64::from(*b)),
                    other => other.clone(),
                };
                sql.arg(v, Storage::Int);
            }
            sql.push(")");
        }
        self.totals_row(&sql, false).await
    }

    /// Totals counted from the CDRs; over the newest `cap` of them only,
    /// if given (then `capped` when the window holds more).
    async fn scanned_totals(&self, res: &'static Resource, scope: Scope, conds: &[Cond], cap: Option<u64>) -> Result<CdrTotals> {
        let Some(cap) = cap else {
            let mut sql = Sql::new(format!(
                "SELECT CAST(COUNT(*) AS BIGINT) AS calls, CAST(COALESCE(SUM(CASE WHEN time_connect IS NULL THEN 0 ELSE 1 END), 0) AS BIGINT) AS answered, \
                 CAST(COALESCE(SUM(duration), 0) AS BIGINT) AS seconds FROM {}",
                res.table
            ));
            where_conds(res, self.backend, scope, conds, &mut sql);
            return self.totals_row(&sql, false).await;
        };
        // The newest cap + 1 CDRs of the window (by the time index), then
        // the other filters over those: a bounded read whatever they are.
        let (times, others): (Vec<Cond>, Vec<Cond>) = conds.iter().cloned().partition(|c| c.column == "time_start");
        let mut sql = Sql::new(
            "SELECT CAST(COUNT(*) AS BIGINT) AS seen, \
             CAST(COALESCE(SUM(CASE WHEN m = 1 THEN 1 ELSE 0 END), 0) AS BIGINT) AS calls, \
             CAST(COALESCE(SUM(CASE WHEN m = 1 AND time_connect IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS answered, \
             CAST(COALESCE(SUM(CASE WHEN m = 1 THEN duration ELSE 0 END), 0) AS BIGINT) AS seconds FROM (SELECT time_connect, duration, \
             CASE WHEN 1 = 1",
        );
        and_conds(self.backend, &others, &mut sql);
        sql.push(" THEN 1 ELSE 0 END AS m FROM ").push(res.table);
        where_conds(res, self.backend, scope, &times, &mut sql);
        sql.push(&format!(" ORDER BY time_start DESC, id DESC LIMIT {}) AS newest", cap + 1));
        let row = sql.query().fetch_one(&self.pool).await?;
        let seen: i64 = sqlx::Row::try_get(&row, "seen")?;
        let mut out = self.decode_totals(&row)?;
        out.capped = seen as u64 > cap;
        Ok(out)
    }

    async fn totals_row(&self, sql: &Sql, capped: bool) -> Result<CdrTotals> {
        let row = sql.query().fetch_one(&self.pool).await?;
        Ok(CdrTotals { capped, ..self.decode_totals(&row)? })
    }

    fn decode_totals(&self, row: &crate::Row) -> Result<CdrTotals> {
        let get = |name: &str| sqlx::Row::try_get::<i64, _>(row, name);
        Ok(CdrTotals {
            calls: get("calls")?.max(0) as u64,
            answered: get("answered")?.max(0) as u64,
            seconds: get("seconds")?,
            capped: false,
        })
    }
}
