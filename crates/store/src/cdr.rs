//! Writing CDRs: append-only, in batches (one transaction per batch) so the
//! SIP plane and the seed command can write many rows cheaply. A CDR is a
//! typed row ([`IncomingCdr`], [`TerminationCdr`]) whose field names are
//! its table's columns: adding a column is a field here plus its
//! migrations (and its schema line if the API shows it). Calls in
//! progress are journalled in `live_calls` beside them, each with its
//! node, whose heartbeats (`nodes.rs`) date a crash.

mod nodes;
mod stats;

pub use nodes::{Orphan, STALE_BEATS};
pub use stats::{CdrTotals, Hourly};

use crate::row::{self, table_row, TableRow};
use crate::sql::Sql;
use crate::{Result, Store};
use domain::schema::Storage;
use domain::Value;
use sqlx::Row as _;
use std::collections::{HashMap, HashSet};

table_row! {
    /// A row of `incoming_trunk_cdrs`: a call that arrived on an incoming
    /// trunk. Times are epoch milliseconds.
    pub struct IncomingCdr in "incoming_trunk_cdrs" {
        pub customer_id: Option<i64>,
        pub incoming_trunk_id: Option<i64>,
        pub time_start: i64,
        pub time_connect: Option<i64>,
        pub time_end: Option<i64>,
        /// Whole seconds from answer to end (0 if not answered).
        pub duration: i64,
        pub src_name: Option<String>,
        pub src_number: Option<String>,
        pub dst_number: Option<String>,
        pub did_number: Option<String>,
        pub lega_disconnect_code: Option<i64>,
        pub lega_disconnect_reason: Option<String>,
        /// Why we ended it, for the operator.
        pub internal_reason: Option<String>,
        pub success: bool,
        pub call_id: Option<String>,
        pub global_tag: Option<String>,
    }
}

table_row! {
    /// A row of `termination_cdrs`: one attempt toward a termination
    /// gateway. `*_in` are the numbers as received, `*_out` as sent.
    pub struct TerminationCdr in "termination_cdrs" {
        pub customer_id: Option<i64>,
        pub sip_account_id: Option<i64>,
        pub route_id: Option<i64>,
        pub gateway_id: Option<i64>,
        pub time_start: i64,
        pub time_connect: Option<i64>,
        pub time_end: Option<i64>,
        /// Whole seconds from answer to end (0 if not answered).
        pub duration: i64,
        pub local_tag: Option<String>,
        pub global_tag: Option<String>,
        pub lega_disconnect_code: Option<i64>,
        pub lega_disconnect_reason: Option<String>,
        /// Why we ended or refused it, for the operator (a fraud limit, say).
        pub internal_reason: Option<String>,
        pub src_name_in: Option<String>,
        pub src_number_in: Option<String>,
        pub dst_number_in: Option<String>,
        pub src_name_out: Option<String>,
        pub src_number_out: Option<String>,
        pub dst_number_out: Option<String>,
        pub orig_call_id: Option<String>,
        pub success: bool,
    }
}

/// The CDR that ends a call, of either kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cdr {
    Incoming(IncomingCdr),
    Termination(TerminationCdr),
}

/// The CDR tables' rows, which [`Store::append_cdrs`] takes.
pub trait CdrRow: TableRow + Hourly + Sync {}
impl CdrRow for IncomingCdr {}
impl CdrRow for TerminationCdr {}

impl Store {
    /// Appends CDRs of one kind in one transaction, in multi-row INSERTs.
    pub async fn append_cdrs<R: CdrRow>(&self, rows: &[R]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        row::insert::<R, _>(&mut tx, rows).await?;
        stats::add_to_rollup(&mut tx, &rows.iter().collect::<Vec<_>>()).await?;
        tx.commit().await?;
        Ok(())
    }
}

impl Store {
    /// Billed seconds of the termination CDRs that started at `since` or
    /// later, per customer: what the SIP plane's daily minutes limit starts
    /// from (one query, at start).
    pub async fn termination_seconds_since(&self, since: i64) -> Result<HashMap<i64, i64>> {
        let rows = sqlx::query(
            "SELECT customer_id, CAST(SUM(duration) AS BIGINT) AS seconds FROM termination_cdrs \
             WHERE time_start >= $1 AND customer_id IS NOT NULL GROUP BY customer_id",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok((r.try_get("customer_id")?, r.try_get::<Option<i64>, _>("seconds")?.unwrap_or(0)))).collect()
    }
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
    /// The node that runs the call (stamped by the journal as it opens).
    pub node_id: String,
    /// Both legs' dialog state once answered (JSON of the SIP plane's
    /// making), so the call can be hung up at both ends after a crash.
    pub dialog: Option<String>,
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

table_row! {
    /// A [`LiveCall`] as `live_calls` stores it: flat, with `kind` naming
    /// the CDR table it will close into.
    struct LiveCallRow in "live_calls" {
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
        pub kind: String,
        pub sip_account_id: Option<i64>,
        pub route_id: Option<i64>,
        pub gateway_id: Option<i64>,
        pub local_tag: Option<String>,
        pub global_tag: Option<String>,
        pub src_name_out: Option<String>,
        pub src_number_out: Option<String>,
        pub dst_number_out: Option<String>,
        pub node_id: String,
        pub dialog: Option<String>,
    }
}

impl From<&LiveCall> for LiveCallRow {
    fn from(c: &LiveCall) -> Self {
        let t = c.termination.as_ref();
        LiveCallRow {
            id: c.id.clone(),
            customer_id: c.customer_id,
            incoming_trunk_id: c.incoming_trunk_id,
            time_start: c.time_start,
            time_connect: c.time_connect,
            src_name: c.src_name.clone(),
            src_number: c.src_number.clone(),
            dst_number: c.dst_number.clone(),
            did_number: c.did_number.clone(),
            call_id: c.call_id.clone(),
            kind: if t.is_some() { TerminationCdr::TABLE } else { IncomingCdr::TABLE }.to_owned(),
            sip_account_id: t.and_then(|t| t.sip_account_id),
            route_id: t.and_then(|t| t.route_id),
            gateway_id: t.and_then(|t| t.gateway_id),
            local_tag: t.and_then(|t| t.local_tag.clone()),
            global_tag: c.global_tag.clone(),
            src_name_out: t.and_then(|t| t.src_name_out.clone()),
            src_number_out: t.and_then(|t| t.src_number_out.clone()),
            dst_number_out: t.and_then(|t| t.dst_number_out.clone()),
            node_id: c.node_id.clone(),
            dialog: c.dialog.clone(),
        }
    }
}

impl From<LiveCallRow> for LiveCall {
    fn from(r: LiveCallRow) -> Self {
        let termination = (r.kind == TerminationCdr::TABLE).then_some(TerminationLeg {
            sip_account_id: r.sip_account_id,
            route_id: r.route_id,
            gateway_id: r.gateway_id,
            local_tag: r.local_tag,
            src_name_out: r.src_name_out,
            src_number_out: r.src_number_out,
            dst_number_out: r.dst_number_out,
        });
        LiveCall {
            id: r.id,
            customer_id: r.customer_id,
            incoming_trunk_id: r.incoming_trunk_id,
            time_start: r.time_start,
            time_connect: r.time_connect,
            src_name: r.src_name,
            src_number: r.src_number,
            dst_number: r.dst_number,
            did_number: r.did_number,
            call_id: r.call_id,
            global_tag: r.global_tag,
            termination,
            node_id: r.node_id,
            dialog: r.dialog,
        }
    }
}

/// One step of the CDR journal, applied in order.
#[derive(Debug, Clone)]
pub enum CdrOp {
    /// A call was admitted.
    Open(Box<LiveCall>),
    /// It was answered at this epoch-ms time; `dialog` is both legs'
    /// state for a hang-up after a crash (see [`LiveCall::dialog`]).
    Connect { id: String, at: i64, dialog: Option<String> },
    /// It ended: its CDR, and the live row it closes (if it had one).
    Close { live_id: Option<String>, cdr: Box<Cdr> },
}

/// A batch of journal steps reduced to what the store must do: a call
/// that opens and closes within the batch never needs its live row, and an
/// answer of a call opened in the batch goes into its row. Order between
/// the kinds of statement no longer matters after this. A CDR that closes
/// a stored row names it: it is written only if its row is still there
/// (another node may have closed the call as crashed meanwhile).
#[derive(Debug, Default)]
struct Compacted<'a> {
    opened: Vec<LiveCallRow>,
    connected: Vec<(&'a str, i64, Option<&'a str>)>,
    deleted: Vec<&'a str>,
    incoming: Vec<(&'a IncomingCdr, Option<&'a str>)>,
    termination: Vec<(&'a TerminationCdr, Option<&'a str>)>,
}

impl<'a> Compacted<'a> {
    /// Linear in the batch (up to a thousand steps under load): calls are
    /// found by id through maps, and dropped entries left as `None`.
    fn of(ops: &'a [CdrOp]) -> Self {
        let mut out = Compacted::default();
        let mut opened: Vec<Option<LiveCallRow>> = Vec::new();
        let mut connected: Vec<Option<(&'a str, i64, Option<&'a str>)>> = Vec::new();
        let (mut open_at, mut connect_at) = (HashMap::new(), HashMap::new());
        for op in ops {
            match op {
                CdrOp::Open(c) => {
                    open_at.insert(c.id.as_str(), opened.len());
                    opened.push(Some(LiveCallRow::from(&**c)));
                }
                CdrOp::Connect { id, at, dialog } => match open_at.get(id.as_str()).and_then(|&i| opened[i].as_mut()) {
                    Some(c) => {
                        c.time_connect = Some(*at);
                        c.dialog.clone_from(dialog);
                    }
                    None => {
                        connect_at.insert(id.as_str(), connected.len());
                        connected.push(Some((id.as_str(), *at, dialog.as_deref())));
                    }
                },
                CdrOp::Close { live_id, cdr } => {
                    let mut stored = None;
                    if let Some(id) = live_id {
                        match open_at.remove(id.as_str()) {
                            Some(i) => opened[i] = None,
                            None => {
                                if let Some(j) = connect_at.remove(id.as_str()) {
                                    connected[j] = None;
                                }
                                out.deleted.push(id.as_str());
                                stored = Some(id.as_str());
                            }
                        }
                    }
                    match &**cdr {
                        Cdr::Incoming(c) => out.incoming.push((c, stored)),
                        Cdr::Termination(c) => out.termination.push((c, stored)),
                    }
                }
            }
        }
        out.opened = opened.into_iter().flatten().collect();
        out.connected = connected.into_iter().flatten().collect();
        out
    }
}

impl Store {
    /// Applies journal steps in one transaction: live rows come and go
    /// with the CDRs that close them, so a call has either a live row or a
    /// CDR, never both and never neither (also when two nodes close one
    /// call: the second finds its row gone and writes no CDR).
    pub async fn apply_cdr_ops(&self, ops: &[CdrOp]) -> Result<()> {
        let batch = Compacted::of(ops);
        let mut tx = self.begin_write().await?;
        row::insert::<LiveCallRow, _>(&mut tx, &batch.opened).await?;
        for (id, at, dialog) in &batch.connected {
            sqlx::query("UPDATE live_calls SET time_connect = $1, dialog = $2 WHERE id = $3")
                .bind(at)
                .bind(*dialog)
                .bind(*id)
                .execute(&mut *tx)
                .await?;
        }
        let mut removed = HashSet::new();
        for chunk in batch.deleted.chunks(400) {
            let mut sql = Sql::new("DELETE FROM live_calls WHERE id IN (");
            for (i, id) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.arg(Value::Text((*id).to_owned()), Storage::Text);
            }
            sql.push(") RETURNING id");
            for r in sql.query().fetch_all(&mut *tx).await? {
                removed.insert(sqlx::Row::try_get::<String, _>(&r, "id")?);
            }
        }
        let kept = |stored: &Option<&str>| stored.is_none_or(|id| removed.contains(id));
        let incoming: Vec<&IncomingCdr> = batch.incoming.iter().filter(|(_, s)| kept(s)).map(|(c, _)| *c).collect();
        let termination: Vec<&TerminationCdr> = batch.termination.iter().filter(|(_, s)| kept(s)).map(|(c, _)| *c).collect();
        let dropped = batch.incoming.len() + batch.termination.len() - incoming.len() - termination.len();
        if dropped > 0 {
            tracing::warn!(dropped, "CDRs not written: their calls were already closed (as crashed, by another node)");
        }
        row::insert::<IncomingCdr, _>(&mut tx, &incoming).await?;
        row::insert::<TerminationCdr, _>(&mut tx, &termination).await?;
        stats::add_to_rollup(&mut tx, &incoming).await?;
        stats::add_to_rollup(&mut tx, &termination).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The calls left open by a process that stopped without closing them.
    pub async fn live_calls(&self) -> Result<Vec<LiveCall>> {
        let sql = format!("SELECT {} FROM {} ORDER BY time_start", LiveCallRow::column_list(), LiveCallRow::TABLE);
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter().map(|r| Ok(LiveCallRow::from_row(r)?.into())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::row::ColumnDef;
    use domain::schema::{self, Resource};

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
            node_id: "n1".into(),
            dialog: None,
        }))
    }

    fn close(id: Option<&str>) -> CdrOp {
        let cdr = IncomingCdr { time_start: 1, ..IncomingCdr::default() };
        CdrOp::Close { live_id: id.map(str::to_owned), cdr: Box::new(Cdr::Incoming(cdr)) }
    }

    #[test]
    fn a_batch_keeps_only_the_live_rows_that_outlive_it() {
        let ops = [
            live("a"),
            live("b"),
            CdrOp::Connect { id: "a".into(), at: 5, dialog: Some("{}".into()) },
            CdrOp::Connect { id: "old".into(), at: 6, dialog: None },
            CdrOp::Connect { id: "older".into(), at: 7, dialog: None },
            close(Some("b")),
            close(Some("older")),
            close(None),
        ];
        let c = Compacted::of(&ops);
        let opened: Vec<_> = c.opened.iter().map(|l| (l.id.as_str(), l.time_connect, l.dialog.as_deref())).collect();
        assert_eq!(opened, [("a", Some(5), Some("{}"))], "b lived and died here");
        assert_eq!(c.connected, [("old", 6, None)], "an update of a row that is deleted anyway is dropped");
        assert_eq!(c.deleted, ["older"]);
        assert_eq!((c.incoming.len(), c.termination.len()), (3, 0), "every close writes its CDR");
    }

    /// The columns the API shows of a CDR resource: its attributes' and
    /// its relationships' (but `id`, which the database assigns).
    fn shown(res: &Resource) -> Vec<(&'static str, Storage)> {
        let attrs = res.fields.iter().map(|f| (f.column, f.kind.storage()));
        let rels = res.rels.iter().flat_map(|r| {
            let id = (r.column, if r.many { Storage::Text } else { Storage::Int });
            std::iter::once(id).chain(r.type_column.map(|t| (t, Storage::Text)))
        });
        attrs.chain(rels).filter(|(c, _)| *c != "id").collect()
    }

    fn sorted(mut cols: Vec<(&'static str, Storage)>) -> Vec<(&'static str, Storage)> {
        cols.sort_unstable_by_key(|(c, _)| *c);
        cols
    }

    fn written(cols: &[ColumnDef]) -> Vec<(&'static str, Storage)> {
        cols.iter().map(|c| (c.name, c.storage)).collect()
    }

    /// A CDR column the API does not show would be listed here as
    /// (table, column); none is today.
    const NOT_SHOWN: &[(&str, &str)] = &[];

    #[test]
    fn cdr_rows_write_the_columns_the_schema_shows() {
        let kinds = [
            (&schema::INCOMING_CDRS, IncomingCdr::TABLE, IncomingCdr::COLUMNS),
            (&schema::TERMINATION_CDRS, TerminationCdr::TABLE, TerminationCdr::COLUMNS),
        ];
        for (res, table, columns) in kinds {
            assert_eq!(res.table, table);
            let hidden = |c: &str| NOT_SHOWN.contains(&(table, c));
            let written = written(columns).into_iter().filter(|(c, _)| !hidden(c)).collect();
            assert_eq!(
                sorted(written),
                sorted(shown(res)),
                "{table}: the struct and domain::schema name the same columns, as the same types"
            );
        }
    }

    /// (name, storage, nullable) of every column of `table` as the
    /// database declares it.
    async fn table_columns(store: &Store, table: &str) -> Vec<(String, Storage, bool)> {
        let sql = match store.backend() {
            crate::Backend::Sqlite => "SELECT name, LOWER(type) AS type, \"notnull\" + pk AS not_null FROM pragma_table_info($1)",
            crate::Backend::Postgres => {
                "SELECT CAST(column_name AS TEXT) AS name, CAST(data_type AS TEXT) AS type, \
                 CAST(CASE WHEN is_nullable = 'NO' THEN 1 ELSE 0 END AS BIGINT) AS not_null \
                 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1"
            }
        };
        let rows = sqlx::query(sql).bind(table).fetch_all(store.pool()).await.unwrap();
        let mut out: Vec<_> = rows
            .iter()
            .map(|r| {
                let (name, ty): (String, String) = (r.try_get("name").unwrap(), r.try_get("type").unwrap());
                // SQLite keeps booleans as INTEGER: the schema's CDR `success` is the one there.
                let storage = match ty.as_str() {
                    "text" => Storage::Text,
                    "boolean" => Storage::Bool,
                    _ if name == "success" => Storage::Bool,
                    "integer" | "bigint" => Storage::Int,
                    other => panic!("{table}.{name}: unexpected type {other}"),
                };
                (name, storage, r.try_get::<i64, _>("not_null").unwrap() == 0)
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    fn declared<R: TableRow>(skip_id: bool) -> Vec<(String, Storage, bool)> {
        let mut out: Vec<_> = R::COLUMNS.iter().map(|c| (c.name.to_owned(), c.storage, c.nullable)).collect();
        if skip_id {
            out.push(("id".to_owned(), Storage::Int, false));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    async fn read<R: TableRow>(s: &Store) -> Vec<R> {
        let sql = format!("SELECT {} FROM {} ORDER BY id", R::column_list(), R::TABLE);
        sqlx::query(&sql).fetch_all(s.pool()).await.unwrap().iter().map(|r| R::from_row(r).unwrap()).collect()
    }

    #[tokio::test]
    async fn typed_rows_match_their_tables_and_read_back_by_name() {
        for (name, s, _db) in crate::testing::stores().await {
            assert_eq!(table_columns(&s, IncomingCdr::TABLE).await, declared::<IncomingCdr>(true), "{name}");
            assert_eq!(table_columns(&s, TerminationCdr::TABLE).await, declared::<TerminationCdr>(true), "{name}");
            assert_eq!(table_columns(&s, LiveCallRow::TABLE).await, declared::<LiveCallRow>(false), "{name}");

            // Every field set to a value of its own: a field bound to
            // another's column would read back changed.
            let text = |c: &str| Some(format!("{c}-value"));
            let incoming = IncomingCdr {
                customer_id: Some(1),
                incoming_trunk_id: Some(2),
                time_start: 3,
                time_connect: Some(4),
                time_end: Some(5),
                duration: 6,
                src_name: text("src_name"),
                src_number: text("src_number"),
                dst_number: text("dst_number"),
                did_number: text("did_number"),
                lega_disconnect_code: Some(7),
                lega_disconnect_reason: text("reason"),
                internal_reason: text("internal"),
                success: true,
                call_id: text("call_id"),
                global_tag: text("global_tag"),
            };
            let termination = TerminationCdr {
                customer_id: Some(1),
                sip_account_id: Some(2),
                route_id: Some(3),
                gateway_id: Some(4),
                time_start: 5,
                time_connect: Some(6),
                time_end: Some(7),
                duration: 8,
                local_tag: text("local_tag"),
                global_tag: text("global_tag"),
                lega_disconnect_code: Some(9),
                lega_disconnect_reason: text("reason"),
                internal_reason: text("internal"),
                src_name_in: text("src_name_in"),
                src_number_in: text("src_number_in"),
                dst_number_in: text("dst_number_in"),
                src_name_out: text("src_name_out"),
                src_number_out: text("src_number_out"),
                dst_number_out: text("dst_number_out"),
                orig_call_id: text("orig_call_id"),
                success: true,
            };
            let unanswered = TerminationCdr { time_start: 10, ..TerminationCdr::default() };
            s.append_cdrs(std::slice::from_ref(&incoming)).await.unwrap();
            s.append_cdrs(&[termination.clone(), unanswered.clone()]).await.unwrap();
            assert_eq!(read::<IncomingCdr>(&s).await, [incoming], "{name}");
            assert_eq!(read::<TerminationCdr>(&s).await, [termination, unanswered], "{name}");
        }
    }
}
