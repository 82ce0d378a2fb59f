//! Writing CDRs: append-only, in batches (one transaction per batch) so the
//! SIP plane and the seed command can write many rows cheaply.

use crate::sql::Sql;
use crate::{Result, Store};
use domain::schema::{Resource, Storage};
use domain::Value;
use std::collections::HashMap;

/// One CDR as (column, value) pairs of a CDR resource.
pub type CdrRow = Vec<(&'static str, Value)>;

impl Store {
    /// Appends CDRs of one resource in one transaction, in multi-row
    /// INSERTs. Every row must name the same columns in the same order.
    pub async fn append_cdrs(&self, res: &'static Resource, rows: &[CdrRow]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        append_in(&mut tx, res, rows).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Appends CDRs within `tx`, in multi-row INSERTs.
async fn append_in(tx: &mut sqlx::Transaction<'static, sqlx::Any>, res: &'static Resource, rows: &[CdrRow]) -> Result<()> {
    let Some(first) = rows.first() else {
        return Ok(());
    };
    let storage = |c: &str| res.fields.iter().find(|f| f.column == c).map(|f| f.kind.storage()).unwrap_or(domain::schema::Storage::Int);
    let cols: Vec<&str> = first.iter().map(|(c, _)| *c).collect();
    // A few hundred parameters per statement: sqlx's SQLite binding
    // slows down more than linearly with the count (30,000 parameters
    // ran at 2k rows/s, ~400 at 44k rows/s), while a statement per row
    // pays the round trip each time.
    let per_stmt = (400 / cols.len()).max(1);
    for chunk in rows.chunks(per_stmt) {
        let mut sql = Sql::new(format!("INSERT INTO {} ({}) VALUES ", res.table, cols.join(", ")));
        for (i, row) in chunk.iter().enumerate() {
            sql.push(if i == 0 { "(" } else { ", (" });
            for (j, (c, v)) in row.iter().enumerate() {
                if j > 0 {
                    sql.push(", ");
                }
                sql.arg(v.clone(), storage(c));
            }
            sql.push(")");
        }
        sql.query().execute(&mut **tx).await?;
    }
    Ok(())
}

/// A call in progress as the store keeps it (see `live_calls`): an
/// incoming trunk call, or one attempt toward a termination gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveCall {
    /// Unique per call on this platform.
    pub id: String,
    pub customer_id: Option<i64>,
    pub incoming_trunk_id: Option<i64>,
    pub time_start: i64,
    pub time_connect: Option<i64>,
    /// As received from the caller (a termination CDR's `*_in`).
    pub src_name: Option<String>,
    pub src_number: Option<String>,
    pub dst_number: Option<String>,
    pub did_number: Option<String>,
    /// The caller's Call-ID.
    pub call_id: String,
    /// The whole call's platform-wide id, shared by all its CDRs (and sent
    /// to gateways as `X-Global-Tag`).
    pub global_tag: Option<String>,
    /// Set for an attempt toward a termination gateway: its CDR is a
    /// termination CDR.
    pub termination: Option<TerminationLeg>,
}

/// What a termination CDR records about the leg toward the gateway.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TerminationLeg {
    pub sip_account_id: Option<i64>,
    pub route_id: Option<i64>,
    pub gateway_id: Option<i64>,
    /// Our tag on the leg toward the caller.
    pub local_tag: Option<String>,
    /// The numbers as sent, after rewriting.
    pub src_name_out: Option<String>,
    pub src_number_out: Option<String>,
    pub dst_number_out: Option<String>,
}

/// One step of the CDR journal, applied in order.
#[derive(Debug, Clone)]
pub enum CdrOp {
    /// A call was admitted.
    Open(Box<LiveCall>),
    /// It was answered at this epoch-ms time.
    Connect { id: String, at: i64 },
    /// It ended: its CDR (a row of `res`), and the live row it closes (if
    /// it had one).
    Close { live_id: Option<String>, res: &'static Resource, cdr: CdrRow },
}

/// A batch of journal steps reduced to what the store must do: a call
/// that opens and closes within the batch never needs its live row, and an
/// answer of a call opened in the batch goes into its row. Order between
/// the kinds of statement no longer matters after this.
#[derive(Debug, Default)]
struct Compacted<'a> {
    opened: Vec<LiveCall>,
    connected: Vec<(&'a str, i64)>,
    deleted: Vec<&'a str>,
    cdrs: Vec<(&'static Resource, Vec<CdrRow>)>,
}

impl<'a> Compacted<'a> {
    /// Linear in the batch (up to a thousand steps under load): calls are
    /// found by id through maps, and dropped entries left as `None`.
    fn of(ops: &'a [CdrOp]) -> Self {
        let mut out = Compacted::default();
        let mut opened: Vec<Option<LiveCall>> = Vec::new();
        let mut connected: Vec<Option<(&'a str, i64)>> = Vec::new();
        let (mut open_at, mut connect_at) = (HashMap::new(), HashMap::new());
        for op in ops {
            match op {
                CdrOp::Open(c) => {
                    open_at.insert(c.id.as_str(), opened.len());
                    opened.push(Some((**c).clone()));
                }
                CdrOp::Connect { id, at } => match open_at.get(id.as_str()).and_then(|&i| opened[i].as_mut()) {
                    Some(c) => c.time_connect = Some(*at),
                    None => {
                        connect_at.insert(id.as_str(), connected.len());
                        connected.push(Some((id.as_str(), *at)));
                    }
                },
                CdrOp::Close { live_id, res, cdr } => {
                    if let Some(id) = live_id {
                        match open_at.remove(id.as_str()) {
                            Some(i) => opened[i] = None,
                            None => {
                                if let Some(j) = connect_at.remove(id.as_str()) {
                                    connected[j] = None;
                                }
                                out.deleted.push(id.as_str());
                            }
                        }
                    }
                    match out.cdrs.iter_mut().find(|(r, _)| r.kind == res.kind) {
                        Some((_, rows)) => rows.push(cdr.clone()),
                        None => out.cdrs.push((res, vec![cdr.clone()])),
                    }
                }
            }
        }
        out.opened = opened.into_iter().flatten().collect();
        out.connected = connected.into_iter().flatten().collect();
        out
    }
}

const LIVE_COLUMNS: &str = "id, customer_id, incoming_trunk_id, time_start, time_connect, src_name, src_number, dst_number, did_number, \
    call_id, kind, sip_account_id, route_id, gateway_id, local_tag, global_tag, src_name_out, src_number_out, dst_number_out";

impl Store {
    /// Applies journal steps in one transaction: live rows come and go
    /// with the CDRs that close them, so a call has either a live row or a
    /// CDR, never both and never neither.
    pub async fn apply_cdr_ops(&self, ops: &[CdrOp]) -> Result<()> {
        let batch = Compacted::of(ops);
        let mut tx = self.begin_write().await?;
        let (int, text) = (Storage::Int, Storage::Text);
        let opt_int = |v: Option<i64>| v.map_or(Value::Null, Value::Int);
        let opt_text = |v: Option<&str>| v.map_or(Value::Null, |s| Value::Text(s.to_owned()));
        // 19 parameters a row: ~400 a statement, as in `append_in`.
        for chunk in batch.opened.chunks(20) {
            let mut sql = Sql::new(format!("INSERT INTO live_calls ({LIVE_COLUMNS}) VALUES "));
            for (i, c) in chunk.iter().enumerate() {
                let t = c.termination.clone().unwrap_or_default();
                let kind = if c.termination.is_some() { "termination_cdrs" } else { "incoming_trunk_cdrs" };
                sql.push(if i == 0 { "(" } else { ", (" });
                let values = [
                    (Value::Text(c.id.clone()), text),
                    (opt_int(c.customer_id), int),
                    (opt_int(c.incoming_trunk_id), int),
                    (Value::Int(c.time_start), int),
                    (opt_int(c.time_connect), int),
                    (opt_text(c.src_name.as_deref()), text),
                    (opt_text(c.src_number.as_deref()), text),
                    (opt_text(c.dst_number.as_deref()), text),
                    (opt_text(c.did_number.as_deref()), text),
                    (Value::Text(c.call_id.clone()), text),
                    (Value::Text(kind.to_owned()), text),
                    (opt_int(t.sip_account_id), int),
                    (opt_int(t.route_id), int),
                    (opt_int(t.gateway_id), int),
                    (opt_text(t.local_tag.as_deref()), text),
                    (opt_text(c.global_tag.as_deref()), text),
                    (opt_text(t.src_name_out.as_deref()), text),
                    (opt_text(t.src_number_out.as_deref()), text),
                    (opt_text(t.dst_number_out.as_deref()), text),
                ];
                for (j, (v, st)) in values.into_iter().enumerate() {
                    if j > 0 {
                        sql.push(", ");
                    }
                    sql.arg(v, st);
                }
                sql.push(")");
            }
            sql.query().execute(&mut *tx).await?;
        }
        for (id, at) in &batch.connected {
            sqlx::query("UPDATE live_calls SET time_connect = $1 WHERE id = $2").bind(at).bind(*id).execute(&mut *tx).await?;
        }
        for chunk in batch.deleted.chunks(400) {
            let mut sql = Sql::new("DELETE FROM live_calls WHERE id IN (");
            for (i, id) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.arg(Value::Text((*id).to_owned()), text);
            }
            sql.push(")");
            sql.query().execute(&mut *tx).await?;
        }
        for (res, rows) in &batch.cdrs {
            append_in(&mut tx, res, rows).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The calls left open by a process that stopped without closing them.
    pub async fn live_calls(&self) -> Result<Vec<LiveCall>> {
        use sqlx::Row as _;
        let rows = sqlx::query(&format!("SELECT {LIVE_COLUMNS} FROM live_calls ORDER BY time_start")).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                let kind: String = r.try_get(10)?;
                let termination = (kind == "termination_cdrs")
                    .then(|| -> Result<TerminationLeg> {
                        Ok(TerminationLeg {
                            sip_account_id: r.try_get(11)?,
                            route_id: r.try_get(12)?,
                            gateway_id: r.try_get(13)?,
                            local_tag: r.try_get(14)?,
                            src_name_out: r.try_get(16)?,
                            src_number_out: r.try_get(17)?,
                            dst_number_out: r.try_get(18)?,
                        })
                    })
                    .transpose()?;
                Ok(LiveCall {
                    id: r.try_get(0)?,
                    customer_id: r.try_get(1)?,
                    incoming_trunk_id: r.try_get(2)?,
                    time_start: r.try_get(3)?,
                    time_connect: r.try_get(4)?,
                    src_name: r.try_get(5)?,
                    src_number: r.try_get(6)?,
                    dst_number: r.try_get(7)?,
                    did_number: r.try_get(8)?,
                    call_id: r.try_get(9)?,
                    global_tag: r.try_get(15)?,
                    termination,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::schema;

    fn live(id: &str) -> CdrOp {
        CdrOp::Open(Box::new(LiveCall {
            id: id.into(),
            customer_id: Some(1),
            incoming_trunk_id: None,
            time_start: 1,
            time_connect: None,
            src_name: None,
            src_number: None,
            dst_number: None,
            did_number: None,
            call_id: "c".into(),
            global_tag: None,
            termination: None,
        }))
    }

    fn close(id: Option<&str>) -> CdrOp {
        CdrOp::Close { live_id: id.map(str::to_owned), res: &schema::INCOMING_CDRS, cdr: vec![("time_start", Value::Int(1))] }
    }

    #[test]
    fn a_batch_keeps_only_the_live_rows_that_outlive_it() {
        let ops = [
            live("a"),
            live("b"),
            CdrOp::Connect { id: "a".into(), at: 5 },
            CdrOp::Connect { id: "old".into(), at: 6 },
            CdrOp::Connect { id: "older".into(), at: 7 },
            close(Some("b")),
            close(Some("older")),
            close(None),
        ];
        let c = Compacted::of(&ops);
        assert_eq!(c.opened.iter().map(|l| (l.id.as_str(), l.time_connect)).collect::<Vec<_>>(), [("a", Some(5))], "b lived and died here");
        assert_eq!(c.connected, [("old", 6)], "an update of a row that is deleted anyway is dropped");
        assert_eq!(c.deleted, ["older"]);
        assert_eq!(c.cdrs.len(), 1);
        assert_eq!(c.cdrs[0].1.len(), 3, "every close writes its CDR");
    }
}
