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

/// A call in progress as the store keeps it (see `live_calls`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveCall {
    /// Unique per call on this platform.
    pub id: String,
    pub customer_id: Option<i64>,
    pub incoming_trunk_id: Option<i64>,
    pub time_start: i64,
    pub time_connect: Option<i64>,
    pub src_name: Option<String>,
    pub src_number: Option<String>,
    pub dst_number: Option<String>,
    pub did_number: Option<String>,
    pub call_id: String,
}

/// One step of the CDR journal, applied in order.
#[derive(Debug, Clone)]
pub enum CdrOp {
    /// A call was admitted.
    Open(LiveCall),
    /// It was answered at this epoch-ms time.
    Connect { id: String, at: i64 },
    /// It ended: its CDR, and the live row it closes (if it had one).
    Close { live_id: Option<String>, cdr: CdrRow },
}

impl Store {
    /// Applies journal steps in one transaction: live rows come and go
    /// with the CDRs that close them, so a call has either a live row or a
    /// CDR, never both and never neither.
    pub async fn apply_cdr_ops(&self, res: &'static Resource, ops: &[CdrOp]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let mut cdrs: Vec<CdrRow> = Vec::new();
        for op in ops {
            match op {
                CdrOp::Open(c) => {
                    sqlx::query(
                        "INSERT INTO live_calls (id, customer_id, incoming_trunk_id, time_start, time_connect, src_name, src_number, \
                         dst_number, did_number, call_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    )
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
                    .execute(&mut *tx)
                    .await?;
                }
                CdrOp::Connect { id, at } => {
                    sqlx::query("UPDATE live_calls SET time_connect = $1 WHERE id = $2").bind(at).bind(id).execute(&mut *tx).await?;
                }
                CdrOp::Close { live_id, cdr } => {
                    if let Some(id) = live_id {
                        sqlx::query("DELETE FROM live_calls WHERE id = $1").bind(id).execute(&mut *tx).await?;
                    }
                    cdrs.push(cdr.clone());
                }
            }
        }
        append_in(&mut tx, res, &cdrs).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The calls left open by a process that stopped without closing them.
    pub async fn live_calls(&self) -> Result<Vec<LiveCall>> {
        use sqlx::Row as _;
        let rows = sqlx::query(
            "SELECT id, customer_id, incoming_trunk_id, time_start, time_connect, src_name, src_number, dst_number, did_number, call_id \
             FROM live_calls ORDER BY time_start",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
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
                })
            })
            .collect()
    }
}
