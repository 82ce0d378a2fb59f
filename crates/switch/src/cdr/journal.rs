//! The CDR journal. CDRs leave the call path at once and reach the store
//! in batches: a writer task takes whatever is queued (one row under light
//! load, hundreds under heavy), retries a failed batch until the store
//! takes it, and drains the queue on shutdown. The same ordered journal records calls
//! as they open and connect (`live_calls`, each with this node's id and,
//! once answered, both legs' dialog state), and a heartbeat records every
//! few seconds that this node's calls are still up. So calls up at a
//! crash are closed with a CDR at the next start, ended at the last
//! heartbeat ([`recover`]), and their legs can be hung up.

use crate::fraud::DailyUsage;
use std::sync::Arc;
use std::time::Duration;
use store::cdr::{Cdr, CdrOp, IncomingCdr, LiveCall, TerminationCdr};
use store::Store;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Who this node is among those sharing the store, and how often it says
/// it is alive.
#[derive(Debug, Clone)]
pub struct Node {
    /// Stable across restarts of the same node: its calls are its own to
    /// recover.
    pub id: String,
    pub heartbeat: Duration,
}

/// The CDR that ends a call (times in epoch milliseconds): an incoming
/// trunk CDR, or a termination CDR for an attempt toward a gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallCdr {
    pub call: LiveCall,
    pub time_connect: Option<i64>,
    pub time_end: i64,
    /// The final status the caller got, or 200 for an answered call.
    pub code: u16,
    /// Its reason phrase, or for an answered call `OK` (callee hung up) / `BYE` (caller hung up).
    pub reason: String,
    /// Why we ended it, for the operator (e.g. "Insufficient channels").
    pub internal_reason: Option<String>,
}

impl CallCdr {
    /// The CDR that ends `call` now, answered at `time_connect` if it was.
    pub fn ending(call: &LiveCall, time_connect: Option<i64>, code: u16, reason: impl Into<String>, internal: Option<String>) -> Self {
        CallCdr {
            call: call.clone(),
            time_connect,
            time_end: domain::time::now_ms(),
            code,
            reason: reason.into(),
            internal_reason: internal,
        }
    }

    /// Ended at `at` (epoch ms) instead of now, when given: a call hung up
    /// at its limit is billed exactly up to it.
    pub fn ended_at(mut self, at: Option<i64>) -> Self {
        if let Some(at) = at {
            self.time_end = at;
        }
        self
    }

    /// Whole seconds from answer to end (0 if not answered).
    fn duration(&self) -> i64 {
        self.time_connect.map(|t| (self.time_end - t).max(0) / 1000).unwrap_or(0)
    }

    pub(crate) fn row(&self) -> Cdr {
        let c = &self.call;
        let duration = self.duration();
        let code = Some(i64::from(self.code));
        let success = self.time_connect.is_some();
        match &c.termination {
            None => Cdr::Incoming(IncomingCdr {
                customer_id: c.customer_id,
                incoming_trunk_id: c.incoming_trunk_id,
                time_start: c.time_start,
                time_connect: self.time_connect,
                time_end: Some(self.time_end),
                duration,
                src_name: c.src_name.clone(),
                src_number: c.src_number.clone(),
                dst_number: c.dst_number.clone(),
                did_number: c.did_number.clone(),
                lega_disconnect_code: code,
                lega_disconnect_reason: Some(self.reason.clone()),
                internal_reason: self.internal_reason.clone(),
                success,
                call_id: Some(c.call_id.clone()),
                global_tag: c.global_tag.clone(),
            }),
            Some(t) => Cdr::Termination(TerminationCdr {
                customer_id: c.customer_id,
                sip_account_id: t.sip_account_id,
                route_id: t.route_id,
                gateway_id: t.gateway_id,
                time_start: c.time_start,
                time_connect: self.time_connect,
                time_end: Some(self.time_end),
                duration,
                local_tag: t.local_tag.clone(),
                global_tag: c.global_tag.clone(),
                lega_disconnect_code: code,
                lega_disconnect_reason: Some(self.reason.clone()),
                internal_reason: self.internal_reason.clone(),
                src_name_in: c.src_name.clone(),
                src_number_in: c.src_number.clone(),
                dst_number_in: c.dst_number.clone(),
                src_name_out: t.src_name_out.clone(),
                src_number_out: t.src_number_out.clone(),
                dst_number_out: t.dst_number_out.clone(),
                orig_call_id: Some(c.call_id.clone()),
                success,
            }),
        }
    }

    fn close(&self, live_id: Option<String>) -> CdrOp {
        CdrOp::Close { live_id, cdr: Box::new(self.row()) }
    }
}

/// The queue in front of the store, and the heartbeat beside it.
pub struct CdrWriter {
    tx: mpsc::UnboundedSender<CdrOp>,
    node: Arc<str>,
    daily: Arc<DailyUsage>,
    task: JoinHandle<()>,
    heartbeat: JoinHandle<()>,
}

/// A batch is at most this many rows (one transaction).
const MAX_BATCH: usize = 1000;

impl CdrWriter {
    /// Starts the writer and the heartbeat; [`recover`] must have run
    /// first (it reads the heartbeat that this one overwrites). Every
    /// termination CDR sent is counted in `daily` (the daily minutes limit).
    pub fn start(store: Store, node: Node, daily: Arc<DailyUsage>) -> CdrWriter {
        let (tx, rx) = mpsc::unbounded_channel();
        let heartbeat = tokio::spawn(heartbeat_loop(store.clone(), node.clone()));
        CdrWriter { tx, node: node.id.into(), daily, task: tokio::spawn(write_loop(store, rx)), heartbeat }
    }

    /// A handle for call tasks.
    pub fn sender(&self) -> CdrSender {
        CdrSender { tx: self.tx.clone(), node: self.node.clone(), daily: self.daily.clone() }
    }

    /// Waits until everything queued so far is stored. Call tasks must be
    /// gone first (their senders keep the queue open).
    pub async fn close(self) {
        drop(self.tx);
        let _ = self.task.await;
        self.heartbeat.abort();
    }
}

/// Beats at once (before any call of this run opens), then every interval.
/// A beat that fails is only logged: the next one may pass, and a store
/// down for long makes the calls look dead to a node that starts meanwhile,
/// as they would be to anyone who cannot reach the store.
async fn heartbeat_loop(store: Store, node: Node) {
    let mut ticks = tokio::time::interval(node.heartbeat);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let every = i64::try_from(node.heartbeat.as_millis()).unwrap_or(i64::MAX);
    loop {
        ticks.tick().await;
        if let Err(e) = store.heartbeat(&node.id, every, domain::time::now_ms()).await {
            tracing::warn!(error = %e, node = %node.id, "could not record the heartbeat of live calls");
        }
    }
}

#[derive(Clone)]
pub struct CdrSender {
    tx: mpsc::UnboundedSender<CdrOp>,
    node: Arc<str>,
    daily: Arc<DailyUsage>,
}

impl CdrSender {
    fn queue(&self, op: CdrOp) {
        if let Err(e) = self.tx.send(op) {
            // Only after close(): say what is lost rather than drop it silently.
            tracing::error!(op = ?e.0, "CDR journal written after the writer stopped");
        }
    }

    /// A call that will leave a CDR when it ends (`close` with its id),
    /// journalled as this node's.
    pub fn open(&self, mut call: LiveCall) {
        call.node_id = self.node.to_string();
        self.queue(CdrOp::Open(Box::new(call)));
    }

    /// The call was answered at `at`; `dialog` is its legs' state for a
    /// hang-up after a crash (see `calls::orphans`).
    pub fn connect(&self, id: &str, at: i64, dialog: Option<String>) {
        self.queue(CdrOp::Connect { id: id.to_owned(), at, dialog });
    }

    /// The CDR of a call; `live_id` closes what `open` recorded.
    pub fn send(&self, cdr: CallCdr, live_id: Option<String>) {
        if let (Some(_), Some(customer)) = (&cdr.call.termination, cdr.call.customer_id) {
            self.daily.add(customer, cdr.call.time_start, cdr.duration());
        }
        self.queue(cdr.close(live_id));
    }

    /// A sender whose journal a unit test reads instead of a store.
    #[cfg(test)]
    pub(crate) fn journal() -> (CdrSender, mpsc::UnboundedReceiver<CdrOp>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (CdrSender { tx, node: "test-node".into(), daily: Arc::default() }, rx)
    }
}

/// What a crash left behind, once closed.
#[derive(Debug, Default)]
pub struct Recovered {
    /// Calls closed with their CDR.
    pub calls: usize,
    /// The dialog state of those that were answered: both legs are still
    /// up at the far ends and need a BYE.
    pub dialogs: Vec<String>,
}

/// Closes the calls that `node`'s previous run left open (it crashed, or
/// was killed), and those of nodes dead by their heartbeat: each gets its
/// CDR, ended at its node's last heartbeat, the last moment it is known to
/// have been up (never before it started or was answered), saying so.
pub async fn recover(store: &Store, node: &str) -> Result<Recovered, store::Error> {
    let now = domain::time::now_ms();
    let orphans = store.orphaned_calls(node, now).await?;
    let mut dialogs = Vec::new();
    let ops: Vec<CdrOp> = orphans
        .into_iter()
        .map(|o| {
            let c = o.call;
            let (code, reason) = if c.time_connect.is_some() { (200, "OK") } else { (500, "Server Internal Error") };
            let (at, why) = match o.last_heartbeat {
                Some(t) => (t, "Switch stopped unexpectedly (crash); ended at its last heartbeat"),
                None => (now, "Switch stopped unexpectedly (crash); no heartbeat known, ended at its restart"),
            };
            let time_end = at.max(c.time_connect.unwrap_or(c.time_start)).max(c.time_start);
            let cdr = CallCdr {
                call: c.clone(),
                time_connect: c.time_connect,
                time_end,
                code,
                reason: reason.into(),
                internal_reason: Some(why.into()),
            };
            dialogs.extend(c.dialog.clone());
            cdr.close(Some(c.id))
        })
        .collect();
    store.apply_cdr_ops(&ops).await?;
    Ok(Recovered { calls: ops.len(), dialogs })
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
        while let Err(e) = store.apply_cdr_ops(&batch).await {
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
    use domain::{schema, Value};
    use store::cdr::TerminationLeg;

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
            global_tag: None,
            termination: None,
            node_id: "n1".into(),
            dialog: None,
        }
    }

    fn window() -> store::ListQuery {
        store::ListQuery {
            conds: vec![store::Cond { column: "time_start", st: schema::Storage::Int, op: store::Op::Gte, values: vec![Value::Int(0)] }],
            sort: vec![("id", schema::Storage::Int, false)],
            ..store::ListQuery::default()
        }
    }

    #[tokio::test]
    async fn calls_open_at_a_crash_are_closed_at_the_next_start() {
        for (name, store, _db) in store::testing::stores().await {
            let ended = CallCdr::ending(&live("c", None), None, 487, "Request Terminated", None);
            let out = TerminationLeg {
                route_id: Some(7),
                gateway_id: Some(3),
                dst_number_out: Some("0049301234".into()),
                ..TerminationLeg::default()
            };
            let attempt = LiveCall { termination: Some(out), global_tag: Some("g-1".into()), ..live("out", None) };
            let ops = [
                CdrOp::Open(Box::new(live("c", None))),
                CdrOp::Open(Box::new(live("talking", None))),
                CdrOp::Connect { id: "talking".into(), at: 1_500, dialog: None },
                CdrOp::Open(Box::new(live("ringing", None))),
                CdrOp::Open(Box::new(attempt)),
                CdrOp::Connect { id: "out".into(), at: 1_200, dialog: None },
                ended.close(Some("c".into())),
            ];
            store.apply_cdr_ops(&ops).await.unwrap();
            assert_eq!(store.live_calls().await.unwrap().len(), 3, "{name}: the closed call left no live row");

            assert_eq!(recover(&store, "n1").await.unwrap().calls, 3, "{name}");
            assert!(store.live_calls().await.unwrap().is_empty(), "{name}");
            let rows = store.list(&schema::INCOMING_CDRS, store::Scope::Operator, &window()).await.unwrap().records;
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
                    ("ringing@carrier".into(), Some(500), None),
                    ("talking@carrier".into(), Some(200), Some(1_500)),
                ],
                "{name}: recovered in the order they started (then by id)"
            );
            assert!(rows[2].get("internal_reason").as_str().unwrap().contains("stopped unexpectedly"), "{name}");
            // The gateway attempt became a termination CDR with its leg's details.
            let rows = store.list(&schema::TERMINATION_CDRS, store::Scope::Operator, &window()).await.unwrap().records;
            assert_eq!(rows.len(), 1, "{name}");
            let t = &rows[0];
            assert_eq!((t.get("route_id").as_i64(), t.get("gateway_id").as_i64()), (Some(7), Some(3)), "{name}");
            assert_eq!((t.get("global_tag").as_str(), t.get("dst_number_out").as_str()), (Some("g-1"), Some("0049301234")), "{name}");
            assert_eq!(
                (t.get("dst_number_in").as_str(), t.get("orig_call_id").as_str()),
                (Some("15550001"), Some("out@carrier")),
                "{name}"
            );
            assert_eq!((t.get("lega_disconnect_code").as_i64(), t.get("time_connect").as_i64()), (Some(200), Some(1_200)), "{name}");
            assert_eq!(recover(&store, "n1").await.unwrap().calls, 0, "{name}: nothing twice");
        }
    }

    #[tokio::test]
    async fn a_crashed_nodes_calls_end_at_its_last_heartbeat() {
        for (name, store, _db) in store::testing::stores().await {
            let on = |node: &str, c: LiveCall| CdrOp::Open(Box::new(LiveCall { node_id: node.into(), ..c }));
            let ops = [
                on("n1", live("talking", None)),
                CdrOp::Connect { id: "talking".into(), at: 1_500, dialog: Some("legs of talking".into()) },
                // Answered after the last beat that got through.
                on("n1", live("late", None)),
                CdrOp::Connect { id: "late".into(), at: 12_000, dialog: Some("legs of late".into()) },
                on("n1", live("ringing", None)),
                on("n2", live("elsewhere", None)),
            ];
            store.apply_cdr_ops(&ops).await.unwrap();
            store.heartbeat("n1", 1_000, 10_000).await.unwrap();
            store.heartbeat("n2", 1_000, domain::time::now_ms()).await.unwrap();

            let got = recover(&store, "n1").await.unwrap();
            assert_eq!(got.calls, 3, "{name}");
            assert_eq!(got.dialogs, ["legs of late", "legs of talking"], "{name}: the answered calls' legs get a BYE");
            let left: Vec<_> = store.live_calls().await.unwrap().into_iter().map(|c| c.id).collect();
            assert_eq!(left, ["elsewhere"], "{name}: a node that beats keeps its calls");

            let rows = store.list(&schema::INCOMING_CDRS, store::Scope::Operator, &window()).await.unwrap().records;
            let got: Vec<_> = rows
                .iter()
                .map(|r| {
                    let (id, end, duration) = (r.get("call_id"), r.get("time_end"), r.get("duration"));
                    (id.as_str().unwrap().to_owned(), end.as_i64(), duration.as_i64(), r.get("lega_disconnect_code").as_i64())
                })
                .collect();
            assert_eq!(
                got,
                vec![
                    ("late@carrier".into(), Some(12_000), Some(0), Some(200)),
                    ("ringing@carrier".into(), Some(10_000), Some(0), Some(500)),
                    ("talking@carrier".into(), Some(10_000), Some(8), Some(200)),
                ],
                "{name}"
            );
            let why = rows[2].get("internal_reason").as_str().unwrap().to_owned();
            assert!(why.contains("stopped unexpectedly (crash)") && why.contains("last heartbeat"), "{name}: {why}");
        }
    }

    #[tokio::test]
    async fn the_writer_beats_for_its_calls_until_it_stops() {
        let (store, _db) = store::testing::sqlite().await;
        let every = Duration::from_millis(200);
        let writer = CdrWriter::start(store.clone(), Node { id: "hb".into(), heartbeat: every }, Arc::default());
        writer.sender().open(LiveCall { node_id: String::new(), ..live("up", None) });
        tokio::time::sleep(every * 3).await;
        // Fresh: another node starting now leaves the call alone.
        let now = domain::time::now_ms();
        assert!(store.orphaned_calls("other", now).await.unwrap().is_empty(), "a beating node's call is not orphaned");
        writer.close().await;
        let stopped = domain::time::now_ms();
        // Silent past three intervals: the call is orphaned, dated by the last beat.
        let later = stopped + 4 * 200;
        let got = store.orphaned_calls("other", later).await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].call.node_id, "hb", "the sender stamped its node");
        let beat = got[0].last_heartbeat.unwrap();
        assert!((now - 600..=stopped).contains(&beat), "last beat {beat}, stopped at {stopped}");
    }
}
