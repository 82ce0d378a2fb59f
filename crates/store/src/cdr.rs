//! Writing CDRs: append-only, in batches (one transaction per batch) so the
//! SIP plane and the seed command can write many rows cheaply.

use crate::sql::Sql;
use crate::{Result, Store};
use domain::schema::Resource;
use domain::Value;

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

const LIVE_COLUMNS: &str = "id, customer_id, incoming_trunk_id, time_start, time_connect, src_name, src_number, dst_number, did_number, \
    call_id, kind, sip_account_id, route_id, gateway_id, local_tag, global_tag, src_name_out, src_number_out, dst_number_out";

impl Store {
    /// Applies journal steps in one transaction: live rows come and go
    /// with the CDRs that close them, so a call has either a live row or a
    /// CDR, never both and never neither.
    pub async fn apply_cdr_ops(&self, ops: &[CdrOp]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let mut cdrs: Vec<(&'static Resource, Vec<CdrRow>)> = Vec::new();
        for op in ops {
            match op {
                CdrOp::Open(c) => {
                    let t = c.termination.clone().unwrap_or_default();
                    let kind = if c.termination.is_some() { "termination_cdrs" } else { "incoming_trunk_cdrs" };
                    sqlx::query(&format!(
                        "INSERT INTO live_calls ({LIVE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, \
                         $16, $17, $18, $19)"
                    ))
                    .bind(&c.id)
                    .bind(c.customer_id)
                    .bind(c.incoming_trunk_id)
                    .bind(c.time_start)
                    .bind(c.time_connect)
                    .bind(c.src_name.as_deref())
                    .bind(c.src_number.as_deref())
                    .bind(c.dst_number.as_deref())
                    .bind(c.did_number.as_deref())
                    .bind(&c.call_id)
                    .bind(kind)
                    .bind(t.sip_account_id)
                    .bind(t.route_id)
                    .bind(t.gateway_id)
                    .bind(t.local_tag)
                    .bind(c.global_tag.as_deref())
                    .bind(t.src_name_out)
                    .bind(t.src_number_out)
                    .bind(t.dst_number_out)
                    .execute(&mut *tx)
                    .await?;
                }
                CdrOp::Connect { id, at } => {
                    sqlx::query("UPDATE live_calls SET time_connect = $1 WHERE id = $2").bind(at).bind(id).execute(&mut *tx).await?;
                }
                CdrOp::Close { live_id, res, cdr } => {
                    if let Some(id) = live_id {
                        sqlx::query("DELETE FROM live_calls WHERE id = $1").bind(id).execute(&mut *tx).await?;
                    }
                    match cdrs.iter_mut().find(|(r, _)| r.kind == res.kind) {
                        Some((_, rows)) => rows.push(cdr.clone()),
                        None => cdrs.push((res, vec![cdr.clone()])),
                    }
                }
            }
        }
        for (res, rows) in &cdrs {
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
