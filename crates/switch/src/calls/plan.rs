//! What leg B rings: the plan of a call, in steps. Every target of a step
//! rings at once for the step's time, the first answer wins and the others
//! are cancelled; when a step ends unanswered the next one rings (a
//! sequential ring group). A target may be a termination gateway (an
//! external number): it has its own numbers and offer, its attempt is
//! reported for a termination CDR, and on a failure worth it the number's
//! next route rings in its place.

use sip::endpoint::Transport;
use std::net::SocketAddr;
use std::time::Duration;

/// Where a destination can be reached: one registration binding, or one
/// route's gateway for an external number.
#[derive(Debug, Clone)]
pub struct Contact {
    pub uri: String,
    pub source: SocketAddr,
    pub transport: Transport,
    /// Set when this is an attempt toward a termination gateway.
    pub gateway: Option<GatewayLeg>,
    /// The same number's next routes, in order: on a failure that hunts
    /// (see [`GatewayLeg::hunts_on`]) the first rings in this one's place,
    /// within the step's time.
    pub fallback: Vec<Contact>,
}

impl Contact {
    /// A phone's registration binding.
    pub fn binding(uri: String, source: SocketAddr, transport: Transport) -> Contact {
        Contact { uri, source, transport, gateway: None, fallback: Vec::new() }
    }
}

/// Targets that ring together, and for how long.
#[derive(Debug, Clone)]
pub struct Step {
    pub targets: Vec<Contact>,
    pub ring_for: Duration,
    /// One route of a call out to one number, the steps after it being the
    /// same number's other routes (SPEC §1): a refusal that does not hunt,
    /// or no answer in time, ends the call instead of ringing on. Inside a
    /// ring group a target's failure ends only that target.
    pub hunting: bool,
}

/// How an attempt toward a termination gateway differs from ringing
/// phones: its own numbers, offer, credentials and headers; and hunting
/// by the route rules (SPEC §1): only 408, 5xx, 6xx but 603, or no answer
/// from the gateway pass the call to the next step.
#[derive(Debug, Clone)]
pub struct GatewayLeg {
    /// From and To as the gateway must see them, after rewriting.
    pub caller_number: String,
    pub caller_name: Option<String>,
    pub dialled: String,
    pub host: String,
    /// The caller's offer filtered to the gateway's codecs.
    pub sdp: Option<String>,
    /// Digest credentials for a 401 or 407 from the gateway.
    pub credentials: Option<(String, String)>,
    /// Extra headers of the INVITE (`X-Global-Tag`).
    pub headers: Vec<(String, String)>,
    /// Which attempt this is, in [`Attempt`] reports and
    /// [`Ended::attempt`](super::b2bua::Ended::attempt).
    pub attempt: usize,
}

impl GatewayLeg {
    /// Whether a failure of this attempt is worth another gateway.
    pub fn hunts_on(code: u16) -> bool {
        code == 408 || (500..600).contains(&code) || (code >= 600 && code != 603)
    }
}

/// An attempt toward a gateway began, or ended without an answer (with
/// the final status it got, 487 when we cancelled it while the call went
/// on); reported for its termination CDR. Attempts are named by
/// [`GatewayLeg::attempt`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// (attempt, our tag toward the caller)
    Started(usize, String),
    Failed(usize, u16, String),
}
