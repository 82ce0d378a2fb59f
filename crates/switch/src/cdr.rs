//! CDRs leave the call path at once and reach the store in batches: a
//! writer task takes whatever is queued (one row under light load, hundreds
//! under heavy), retries a failed batch until the store takes it, and
//! drains the queue on shutdown.

use domain::schema;
use domain::Value;
use std::time::Duration;
use store::cdr::CdrRow;
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
    fn row(&self) -> CdrRow {
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
    tx: mpsc::UnboundedSender<IncomingCdr>,
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
pub struct CdrSender(mpsc::UnboundedSender<IncomingCdr>);

impl CdrSender {
    pub fn send(&self, cdr: IncomingCdr) {
        if let Err(e) = self.0.send(cdr) {
            // Only after close(): say what is lost rather than drop it silently.
            tracing::error!(cdr = ?e.0, "CDR written after the writer stopped");
        }
    }
}

async fn write_loop(store: Store, mut rx: mpsc::UnboundedReceiver<IncomingCdr>) {
    let mut batch: Vec<IncomingCdr> = Vec::new();
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(c) => batch.push(c),
                Err(_) => break,
            }
        }
        let rows: Vec<CdrRow> = batch.iter().map(IncomingCdr::row).collect();
        let mut wait = Duration::from_millis(100);
        while let Err(e) = store.append_cdrs(&schema::INCOMING_CDRS, &rows).await {
            // Keep the batch: a slow or restarting store delays CDRs, never drops them.
            tracing::warn!(error = %e, rows = rows.len(), retry_in = ?wait, "could not store CDRs");
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(5));
        }
        batch.clear();
    }
}
