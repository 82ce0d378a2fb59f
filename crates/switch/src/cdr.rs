//! Call detail records as the SIP plane produces them: the journal that
//! takes each call's opening, connect and end off the call path and writes
//! them to the store in batches (`journal.rs`), and the CDR row a call
//! ends with; the node's heartbeat and the recovery of calls a crash left
//! open go with it.

mod journal;

pub use journal::{recover, CallCdr, CdrSender, CdrWriter, Node};

/// A node id stable across restarts of one node and distinct between
/// nodes: the host's name and the address SIP listens on.
pub(crate) fn default_node_id(sip: std::net::SocketAddr) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "switchboard".to_owned());
    format!("{host}/{sip}")
}
