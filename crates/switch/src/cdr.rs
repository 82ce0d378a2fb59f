//! CDRs leave the call path at once and reach the store in batches: a
//! writer task takes whatever is queued (one row under light load, hundreds
//! under heavy), retries a failed batch until the store takes it, and
//! drains the queue on shutdown. The same ordered journal records calls
//! as they open and connect (`live_calls`), so calls up at a crash are
//! closed with a CDR at the next start ([`recover`]).

use domain::schema;
use domain::Value;
use std::time::Duration;
use store::cdr::{CdrOp, CdrRow, LiveCall};
use store::Store;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// One incoming trunk CDR (times in epoch milliseconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingCdr {
    pub customer_id: Option<i64>,
    pub trunk_id: Option<i64>,
    pub time_start: i64,
    pub time_connect: Option<i64>,
    pub time_end: i64,
    pub src_name: Option<String>,
    pub src_number: Option<String>,
    pub dst_number: Option<String>,
    pub did_number: Option<String>,
    /// The final status the carrier got, or 200 for an answered call.
    pub code: u16,
    /// Its reason phrase, or for an answered call `OK` (callee hung up) / `BYE` (caller hung up).
    pub reason: String,
    /// Why we ended it, for the operator (e.g. "Insufficient channels").
    pub internal_reason: Option<String>,
    pub call_id: String,
}

impl IncomingCdr {
    /// The CDR that ends `call` now, answered at `time_connect` if it was.
    pub fn ending(call: &LiveCall, time_connect: Option<i64>, code: u16, reason: impl Into<String>, internal: Option<String>) -> Self {
        IncomingCdr {
            customer_id: call.customer_id,
            trunk_id: call.incoming_trunk_id,
            time_start: call.time_start,
            time_connect,
            time_end: domain::time::now_ms(),
            src_name: call.src_name.clone(),
            src_number: call.src_number.clone(),
            dst_number: call.dst_number.clone(),
            did_number: call.did_number.clone(),
            code,
            reason: reason.into(),
            internal_reason: internal,
            call_id: call.call_id.clone(),
        }
    }

    pub(crate) fn row(&self) -> CdrRow {
        let duration = self.time_connect.map(|c| (self.time_end - c).max(0) / 1000).unwrap_or(0);
        vec![
            ("customer_id", Value::from(self.customer_id)),
            ("incoming_trunk_id", Value::from(self.trunk_id)),
            ("time_start", Value::from(self.time_start)),
            ("time_connect", Value::from(self.time_connect)),
            ("time_end", Value::from(self.time_end)),
            ("duration", Value::from(duration)),
            ("src_name", Value::from(self.src_name.clone())),
            ("src_number", Value::from(self.src_number.clone())),
            ("dst_number", Value::from(self.dst_number.clone())),
            ("did_number", Value::from(self.did_number.clone())),
            ("lega_disconnect_code", Value::from(i64::from(self.code))),
            ("lega_disconnect_reason", Value::from(self.reason.as_str())),
            ("internal_reason", Value::from(self.internal_reason.clone())),
            ("success", Value::from(self.time_connect.is_some())),
            ("call_id", Value::from(self.call_id.as_str())),
        ]
    }
}

/// The queue in front of the store.
pub struct CdrWriter {
    tx: mpsc::UnboundedSender<CdrOp>,
    task: JoinHandle<()>,
}

/// A batch is at most this many rows (one transaction).
const MAX_BATCH: usize = 1000;

impl CdrWriter {
    pub fn start(store: Store) -> CdrWriter {
        let (tx, rx) = mpsc::unbounded_channel();
        CdrWriter { tx, task: tokio::spawn(write_loop(store, rx)) }
    }

    /// A handle for call tasks.
    pub fn sender(&self) -> CdrSender {
        CdrSender(self.tx.clone())
    }

    /// Waits until everything queued so far is stored. Call tasks must be
    /// gone first (their senders keep the queue open).
    pub async fn close(self) {
        drop(self.tx);
        let _ = self.task.await;
    }
}

#[derive(Clone)]
pub struct CdrSender(mpsc::UnboundedSender<CdrOp>);

impl CdrSender {
    fn queue(&self, op: CdrOp) {
        if let Err(e) = self.0.send(op) {
            // Only after close(): say what is lost rather than drop it silently.
            tracing::error!(op = ?e.0, "CDR journal written after the writer stopped");
        }
    }

    /// A call that will leave a CDR when it ends (`close` with its id).
    pub fn open(&self, call: LiveCall) {
        self.queue(CdrOp::Open(call));
    }

    pub fn connect(&self, id: &str, at: i64) {
        self.queue(CdrOp::Connect { id: id.to_owned(), at });
    }

    /// The CDR of a call; `live_id` closes what `open` recorded.
    pub fn send(&self, cdr: IncomingCdr, live_id: Option<String>) {
        self.queue(CdrOp::Close { live_id, cdr: cdr.row() });
    }
}

/// Closes the calls a previous process left open (it crashed, or was
/// killed): each gets its CDR, ended now, saying so.
pub async fn recover(store: &Store) -> Result<usize, store::Error> {
    let open = store.live_calls().await?;
    let ops: Vec<CdrOp> = open
        .iter()
        .map(|c| {
            let (code, reason) = if c.time_connect.is_some() { (200, "OK") } else { (500, "Server Internal Error") };
            let why = "Open when the switch stopped unexpectedly; ended at its restart".to_owned();
            let cdr = IncomingCdr::ending(c, c.time_connect, code, reason, Some(why));
            CdrOp::Close { live_id: Some(c.id.clone()), cdr: cdr.row() }
        })
        .collect();
    store.apply_cdr_ops(&schema::INCOMING_CDRS, &ops).await?;
    Ok(open.len())
}

async fn write_loop(store: Store, mut rx: mpsc::UnboundedReceiver<CdrOp>) {
    let mut batch: Vec<CdrOp> = Vec::new();
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(c) => batch.push(c),
                Err(_) => break,
            }
        }
        let mut wait = Duration::from_millis(100);
        while let Err(e) = store.apply_cdr_ops(&schema::INCOMING_CDRS, &batch).await {
            // Keep the batch: a slow or restarting store delays CDRs, never drops them.
            tracing::warn!(error = %e, ops = batch.len(), retry_in = ?wait, "could not store CDRs");
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(5));
        }
        batch.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(id: &str, connected: Option<i64>) -> LiveCall {
        LiveCall {
            id: id.into(),
            customer_id: None,
            incoming_trunk_id: None,
            time_start: 1_000,
            time_connect: connected,
            src_name: None,
            src_number: Some("4930111".into()),
            dst_number: Some("15550001".into()),
            did_number: Some("15550001".into()),
            call_id: format!("{id}@carrier"),
        }
    }

    #[tokio::test]
    async fn calls_open_at_a_crash_are_closed_at_the_next_start() {
        for (name, store, _db) in store::testing::stores().await {
            let ended = IncomingCdr {
                customer_id: None,
                trunk_id: None,
                time_start: 1_000,
                time_connect: None,
                time_end: 2_000,
                src_name: None,
                src_number: None,
                dst_number: None,
                did_number: None,
                code: 487,
                reason: "Request Terminated".into(),
                internal_reason: None,
                call_id: "c@carrier".into(),
            };
            let ops = [
                CdrOp::Open(live("c", None)),
                CdrOp::Open(live("talking", None)),
                CdrOp::Connect { id: "talking".into(), at: 1_500 },
                CdrOp::Open(live("ringing", None)),
                CdrOp::Close { live_id: Some("c".into()), cdr: ended.row() },
            ];
            store.apply_cdr_ops(&schema::INCOMING_CDRS, &ops).await.unwrap();
            assert_eq!(store.live_calls().await.unwrap().len(), 2, "{name}: the closed call left no live row");

            assert_eq!(recover(&store).await.unwrap(), 2, "{name}");
            assert!(store.live_calls().await.unwrap().is_empty(), "{name}");
            let q = store::ListQuery {
                conds: vec![store::Cond {
                    column: "time_start",
                    st: schema::Storage::Int,
                    op: store::Op::Gte,
                    values: vec![Value::Int(0)],
                }],
                sort: vec![("id", schema::Storage::Int, false)],
                ..store::ListQuery::default()
            };
            let rows = store.list(&schema::INCOMING_CDRS, store::Scope::Operator, &q).await.unwrap().records;
            let got: Vec<_> = rows
                .iter()
                .map(|r| {
                    (r.get("call_id").as_str().unwrap().to_owned(), r.get("lega_disconnect_code").as_i64(), r.get("time_connect").as_i64())
                })
                .collect();
            assert_eq!(
                got,
                vec![
                    ("c@carrier".into(), Some(487), None),
                    ("talking@carrier".into(), Some(200), Some(1_500)),
                    ("ringing@carrier".into(), Some(500), None)
                ],
                "{name}"
            );
            assert!(rows[1].get("internal_reason").as_str().unwrap().contains("stopped unexpectedly"), "{name}");
            assert_eq!(recover(&store).await.unwrap(), 0, "{name}: nothing twice");
        }
    }
}
