//! ACKs of 2xx responses that we send ourselves instead of the stack (RFC
//! 3261 §13.2.2.4). After an INVITE without an offer the 2xx carries the
//! callee's offer and our ACK must carry the answer, which we learn only
//! later; rsipstack's client transaction would ACK at once, with no body.
//! So the feeder takes the 2xx of such an INVITE away from the stack,
//! hands it to the caller of [`Client::invite_acked_by_us`](super::Client::invite_acked_by_us),
//! ends the stack's transaction (no more INVITE retransmissions or Timer
//! B), and answers each retransmission of the 2xx with our ACK once it
//! has been sent.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rsipstack::sip::prelude::HeadersExt;
use rsipstack::sip::{SipMessage, StatusCodeKind};
use rsipstack::transaction::endpoint::EndpointInner;
use rsipstack::transaction::key::{TransactionKey, TransactionRole};
use rsipstack::transaction::transaction::TransactionEvent;
use rsipstack::transport::SipAddr;
use tokio::sync::mpsc;

use super::client::{response_of, Response};

/// The INVITEs whose 2xx we acknowledge, by Via branch.
#[derive(Default, Clone)]
pub(crate) struct OwnAcks(Arc<Mutex<HashMap<String, Owed>>>);

enum Owed {
    /// No 2xx yet: the first goes to the TU, which waits on this channel.
    Waiting(mpsc::UnboundedSender<Response>),
    /// The TU has the 2xx; retransmissions wait for its ACK.
    Answered,
    /// Our ACK: sent again for each retransmitted 2xx.
    Acked(OurAck),
}

/// An ACK we sent, and where it went.
pub(crate) type OurAck = Box<(SipMessage, SipAddr)>;

/// What the feeder does with a response.
pub(crate) enum Taken {
    /// Not a 2xx we owe an ACK for: the stack's.
    No,
    /// Ours; nothing to send.
    Yes,
    /// A retransmitted 2xx: send our ACK again.
    Resend(OurAck),
}

impl OwnAcks {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Owed>> {
        self.0.lock().expect("own ACKs lock")
    }

    /// The 2xx of the INVITE sent with Via `branch` is to reach the TU on `tu`.
    pub(crate) fn expect(&self, branch: &str, tu: mpsc::UnboundedSender<Response>) {
        self.lock().insert(branch.to_owned(), Owed::Waiting(tu));
    }

    /// The INVITE's transaction ended: if no 2xx came, none is owed.
    pub(crate) fn transaction_ended(&self, branch: &str) {
        let mut map = self.lock();
        if matches!(map.get(branch), Some(Owed::Waiting(_))) {
            map.remove(branch);
        }
    }

    /// Records our ACK of the 2xx to the INVITE sent with `branch`; false
    /// when we owe no such 2xx an ACK (any more).
    pub(crate) fn acked(&self, branch: &str, ack: SipMessage, dest: SipAddr) -> bool {
        match self.lock().get_mut(branch) {
            Some(owed @ Owed::Answered) => {
                *owed = Owed::Acked(Box::new((ack, dest)));
                true
            }
            _ => false,
        }
    }

    /// Takes a response from the stack when it is a 2xx we owe the ACK of.
    pub(crate) fn take(&self, endpoint: &Arc<EndpointInner>, resp: &rsipstack::sip::Response) -> Taken {
        if resp.status_code.kind() != StatusCodeKind::Successful || !answers_invite(resp) {
            return Taken::No;
        }
        let Some(branch) = resp.transaction_id().ok().flatten().map(|b| b.value().to_owned()) else { return Taken::No };
        let mut map = self.lock();
        let Some(owed) = map.get_mut(&branch) else { return Taken::No };
        match std::mem::replace(owed, Owed::Answered) {
            Owed::Waiting(tu) => {
                drop(map);
                let _ = tu.send(response_of(resp));
                // The stack's transaction must not ACK; it has nothing left to do.
                if let Ok(key) = TransactionKey::from_response(resp, TransactionRole::Client) {
                    if let Some(stack) = endpoint.transactions.get(&key) {
                        let _ = stack.send(TransactionEvent::Terminate(key));
                    }
                }
                // The callee retransmits its 2xx for 64*T1 at most.
                let (acks, wait) = (self.clone(), endpoint.option.t1x64 + Duration::from_secs(1));
                tokio::spawn(async move {
                    tokio::time::sleep(wait).await;
                    acks.lock().remove(&branch);
                });
                Taken::Yes
            }
            Owed::Answered => Taken::Yes,
            Owed::Acked(ack) => {
                *owed = Owed::Acked(ack.clone());
                Taken::Resend(ack)
            }
        }
    }
}

/// Whether `resp` answers an INVITE (a CANCEL's shares its branch).
fn answers_invite(resp: &rsipstack::sip::Response) -> bool {
    resp.cseq_header().and_then(|c| c.method()).is_ok_and(|m| m == rsipstack::sip::Method::Invite)
}
