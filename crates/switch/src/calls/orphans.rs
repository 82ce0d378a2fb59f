//! Calls a crash left up at the far ends. When a call is answered, both
//! legs' dialog state goes into the CDR journal with its connect
//! ([`journal`]); after a crash the next start reads it back with the
//! call's row and sends a BYE on each leg ([`hang_up`]), so neither the
//! caller nor the callee (phone, carrier or gateway) keeps talking to a
//! bridge that is gone.

use super::dialog::{bye, Leg};
use serde::{Deserialize, Serialize};
use sip::endpoint::{Client, Transport};
use std::net::SocketAddr;

/// What a BYE into one leg needs, as journalled.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
struct Saved {
    call_id: String,
    local: String,
    remote: String,
    target: String,
    route: Vec<String>,
    dest: SocketAddr,
    transport: String,
    contact: String,
    cseq: u32,
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
struct Legs {
    a: Saved,
    b: Saved,
}

/// In-dialog requests passed through after the journal entry (re-INVITE,
/// UPDATE, INFO) raised our CSeq on a leg; a BYE below it would be
/// refused (RFC 3261 §12.2.2), and a gap is allowed.
const CSEQ_MARGIN: u32 = 10_000;

impl From<&Leg> for Saved {
    fn from(l: &Leg) -> Self {
        Saved {
            call_id: l.call_id.clone(),
            local: l.local.clone(),
            remote: l.remote.clone(),
            target: l.target.clone(),
            route: l.route.clone(),
            dest: l.dest,
            transport: l.transport.as_str().to_owned(),
            contact: l.contact.clone(),
            cseq: l.cseq,
        }
    }
}

impl Saved {
    fn leg(self) -> Option<Leg> {
        let transport = match self.transport.as_str() {
            "udp" => Transport::Udp,
            "tcp" => Transport::Tcp,
            "tls" => Transport::Tls,
            _ => return None,
        };
        Some(Leg {
            call_id: self.call_id,
            local: self.local,
            remote: self.remote,
            target: self.target,
            route: self.route,
            dest: self.dest,
            transport,
            contact: self.contact,
            cseq: self.cseq.saturating_add(CSEQ_MARGIN),
            media: None,
        })
    }
}

/// Both legs of an answered call, for [`store::cdr::LiveCall::dialog`].
pub(super) fn journal(a: &Leg, b: &Leg) -> String {
    serde_json::to_string(&Legs { a: a.into(), b: b.into() }).expect("strings, numbers and addresses serialise")
}

/// Sends a BYE on both legs of every journalled call (best effort: each
/// BYE's transaction runs on by itself, and one that is never answered
/// times out like any other).
pub(crate) async fn hang_up(client: &Client, dialogs: &[String]) {
    for d in dialogs {
        let legs = match serde_json::from_str::<Legs>(d) {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "journalled dialog unreadable; its legs get no BYE");
                continue;
            }
        };
        for saved in [legs.a, legs.b] {
            match saved.leg() {
                Some(mut leg) => {
                    tracing::info!(call_id = %leg.call_id, dest = %leg.dest, "BYE to a leg of a call the previous run left up");
                    Box::pin(bye(client, &mut leg)).await;
                }
                None => tracing::warn!("journalled leg with an unknown transport; no BYE"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leg(call_id: &str, transport: Transport, cseq: u32) -> Leg {
        Leg {
            call_id: call_id.into(),
            local: "<sip:15550001@trunk>;tag=ours".into(),
            remote: "\"Caller\" <sip:4930111@carrier>;tag=theirs".into(),
            target: "sip:carrier@192.0.2.7:5080;transport=tcp".into(),
            route: vec!["<sip:proxy.example;lr>".into()],
            dest: "192.0.2.7:5080".parse().unwrap(),
            transport,
            contact: "<sip:switchboard@192.0.2.1:5060>".into(),
            cseq,
            media: Some("192.0.2.1:20000".parse().unwrap()),
        }
    }

    #[test]
    fn a_journalled_dialog_reads_back_as_its_legs() {
        let text = journal(&leg("a-call", Transport::Tcp, 0), &leg("b-call", Transport::Tls, 3));
        let legs: Legs = serde_json::from_str(&text).unwrap();
        let (a, b) = (legs.a.leg().unwrap(), legs.b.leg().unwrap());
        let want = leg("a-call", Transport::Tcp, 0);
        assert_eq!((a.call_id.as_str(), a.local.as_str(), a.remote.as_str()), ("a-call", want.local.as_str(), want.remote.as_str()));
        assert_eq!((a.target.as_str(), &a.route, a.dest, a.transport), (want.target.as_str(), &want.route, want.dest, Transport::Tcp));
        assert_eq!((b.call_id.as_str(), b.transport, b.contact.as_str()), ("b-call", Transport::Tls, want.contact.as_str()));
        assert_eq!((a.cseq, b.cseq), (CSEQ_MARGIN, 3 + CSEQ_MARGIN), "a BYE above any CSeq used since");
        let mut bad: Legs = serde_json::from_str(&text).unwrap();
        bad.a.transport = "sctp".into();
        assert!(bad.a.leg().is_none());
    }
}
