//! Connection hygiene for TCP and TLS: how many connections we accept
//! (per source and in all), how long a quiet connection lives, and how an
//! accept loop waits out a failing `accept()` (EMFILE with the file limit
//! reached) instead of spinning on it.
//!
//! The accepted connections' descriptors come out of the same file limit
//! as the HTTP API's, the database's and the media relay's: 200 idle
//! connections from one scanner must not leave those without any.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// Limits and timeouts of TCP and TLS connections (ours to gateways too,
/// except the counts, which are of accepted connections).
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// A connection that has not sent one complete SIP message this long
    /// after it was opened (on TLS: handshake included) is closed.
    pub first_message_timeout: Duration,
    /// A connection that has sent a message is closed after this long
    /// without a byte from its peer (CRLF keep-alives count). Phones keep
    /// their registration's connection open, so it should outlast the
    /// longest registration interval: twice it by default.
    pub idle_timeout: Duration,
    /// Connections accepted from one address at once (IPv6: one /64);
    /// more are closed as soon as they are accepted, without a reply.
    pub per_source: usize,
    /// Connections accepted at once in all; `None`: half the process's
    /// file-descriptor limit, at most [`DEFAULT_MAX_CONNECTIONS`], so the
    /// rest of the process keeps descriptors to work with.
    pub max: Option<usize>,
}

/// The global cap when the file limit allows it (and `max` is not set).
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            first_message_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(2 * 3600),
            per_source: 32,
            max: None,
        }
    }
}

impl ConnectionLimits {
    /// The global cap in force: `max`, or what the file limit leaves.
    pub fn effective_max(&self) -> usize {
        self.max.unwrap_or_else(|| default_max(open_files_limit()))
    }
}

fn default_max(open_files: Option<u64>) -> usize {
    match open_files {
        Some(n) => usize::try_from(n / 2).unwrap_or(usize::MAX).clamp(1, DEFAULT_MAX_CONNECTIONS),
        None => DEFAULT_MAX_CONNECTIONS,
    }
}

/// The soft RLIMIT_NOFILE, read from procfs (no unsafe `getrlimit`);
/// `None` where there is none or it is unlimited.
fn open_files_limit() -> Option<u64> {
    parse_open_files(&std::fs::read_to_string("/proc/self/limits").ok()?)
}

fn parse_open_files(limits: &str) -> Option<u64> {
    let line = limits.lines().find_map(|l| l.strip_prefix("Max open files"))?;
    line.split_whitespace().next()?.parse().ok()
}

/// Why an accepted connection was closed at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Its source already holds `per_source` connections.
    Source,
    /// We already hold the global cap.
    Total,
}

/// Counts the accepted connections of both listeners (TCP and TLS).
#[derive(Clone)]
pub(crate) struct Admission(Arc<AdmissionInner>);

struct AdmissionInner {
    limits: ConnectionLimits,
    max: usize,
    open: Mutex<Open>,
}

#[derive(Default)]
struct Open {
    total: usize,
    by_source: HashMap<IpAddr, usize>,
}

/// One admitted connection; dropping it gives its place back.
pub(crate) struct Permit {
    admission: Admission,
    source: IpAddr,
}

impl Admission {
    pub(crate) fn new(limits: &ConnectionLimits) -> Self {
        Admission(Arc::new(AdmissionInner { limits: limits.clone(), max: limits.effective_max(), open: Mutex::new(Open::default()) }))
    }

    /// The global cap in force.
    pub(crate) fn max(&self) -> usize {
        self.0.max
    }

    /// The settings it was made from (the admitted connections' timeouts).
    pub(crate) fn limits(&self) -> &ConnectionLimits {
        &self.0.limits
    }

    pub(crate) fn admit(&self, peer: IpAddr) -> Result<Permit, Refusal> {
        let source = source_key(peer);
        let mut open = self.0.open.lock().expect("admission lock");
        if open.total >= self.0.max {
            return Err(Refusal::Total);
        }
        let from_source = open.by_source.entry(source).or_default();
        if *from_source >= self.0.limits.per_source {
            return Err(Refusal::Source);
        }
        *from_source += 1;
        open.total += 1;
        Ok(Permit { admission: self.clone(), source })
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut open = self.admission.0.open.lock().expect("admission lock");
        open.total -= 1;
        if let Some(n) = open.by_source.get_mut(&self.source) {
            *n -= 1;
            if *n == 0 {
                open.by_source.remove(&self.source);
            }
        }
    }
}

/// One IPv6 host holds a whole /64 (RFC 4291 §2.5.4): counting single
/// addresses would give it 2^64 quotas. IPv4-mapped addresses are IPv4.
fn source_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(v6.to_bits() & !u128::from(u64::MAX))),
        },
    }
}

/// How long an accept loop pauses after a failed `accept()`: the failing
/// connection stays in the backlog, so retrying at once fails at once,
/// for ever (EMFILE until a descriptor is freed).
#[derive(Debug, Default)]
pub(crate) struct Backoff {
    delay: Option<Duration>,
}

const BACKOFF_FIRST: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

impl Backoff {
    /// Another failure: the pause before the next try, doubling up to 1 s.
    pub(crate) fn failed(&mut self) -> Duration {
        let delay = self.delay.map_or(BACKOFF_FIRST, |d| (d * 2).min(BACKOFF_MAX));
        self.delay = Some(delay);
        delay
    }

    pub(crate) fn succeeded(&mut self) {
        self.delay = None;
    }
}

/// Whether a failed `accept()` calls for a pause. Errors of the one
/// connection it took off the backlog (reset or aborted before we got to
/// it, or Linux passing on its network error, see accept(2)) do not: the
/// next try is another connection, and pausing on them would let anyone
/// who sends RSTs slow our accepts. Running out of descriptors, buffers
/// or memory does: the same connection stays in the backlog.
pub(crate) fn pauses(e: &std::io::Error) -> bool {
    use std::io::ErrorKind as K;
    !matches!(
        e.kind(),
        K::ConnectionAborted | K::ConnectionReset | K::Interrupted | K::HostUnreachable | K::NetworkUnreachable | K::NetworkDown
    )
}

/// Lets a repeated complaint be logged at most once a second.
#[derive(Debug, Default)]
pub(crate) struct Throttle {
    last: Option<Instant>,
    suppressed: u64,
}

impl Throttle {
    /// `Some(n)`: log now, `n` occurrences were held back since the last
    /// line; `None`: stay quiet.
    pub(crate) fn ready(&mut self) -> Option<u64> {
        let now = Instant::now();
        if self.last.is_some_and(|t| now.duration_since(t) < Duration::from_secs(1)) {
            self.suppressed += 1;
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.suppressed))
    }
}

/// When a connection is closed for silence: `first_message_timeout`
/// after it opened until it sends a complete message (bytes alone, like
/// a slow trickle of headers, do not extend that), then `idle_timeout`
/// after the last byte.
#[derive(Debug, Clone)]
pub(crate) struct Idle {
    first_deadline: Instant,
    idle_timeout: Duration,
    last_byte: Instant,
    spoke: bool,
}

impl Idle {
    pub(crate) fn new(limits: &ConnectionLimits) -> Self {
        let now = Instant::now();
        Idle { first_deadline: now + limits.first_message_timeout, idle_timeout: limits.idle_timeout, last_byte: now, spoke: false }
    }

    pub(crate) fn deadline(&self) -> Instant {
        if self.spoke {
            self.last_byte + self.idle_timeout
        } else {
            self.first_deadline
        }
    }

    /// Whether a complete message has arrived.
    pub(crate) fn spoke(&self) -> bool {
        self.spoke
    }

    pub(crate) fn idle_timeout(&self) -> Duration {
        self.idle_timeout
    }

    pub(crate) fn bytes(&mut self) {
        self.last_byte = Instant::now();
    }

    pub(crate) fn message(&mut self) {
        self.spoke = true;
        self.last_byte = Instant::now();
    }
}

#[cfg(test)]
mod tests;
