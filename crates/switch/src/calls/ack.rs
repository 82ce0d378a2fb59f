//! The caller's ACK of our 2xx. It confirms the call; after a late offer
//! (an INVITE without SDP) it carries the caller's answer, which goes on
//! to leg B in the ACK we owe its 2xx. An ACK that never comes (64*T1,
//! RFC 3261 §13.3.1.4), or a late offer's ACK without a usable answer,
//! ends the call: it must not hold a channel.

use super::dialog::Leg;
use crate::media::{sdp, Relay};
use sip::endpoint::{Client, InviteEvent, Response, ServerInvite};
use std::time::Duration;
use tokio::time::Instant;

/// How long after leg B's 2xx the caller's answer may come: leg B waits
/// 64*T1 (32 s) for our ACK, and must get it, declining, and our BYE
/// before it gives up on its own.
pub(super) const LATE_ANSWER_WAIT: Duration = Duration::from_secs(28);

/// Leg B's 2xx to an INVITE without offer: the callee's offer, which we
/// passed to the caller as `offer`, waits for the caller's answer.
pub(super) struct LateOffer {
    pub answered: Response,
    /// The offer as leg A got it (re-pointed at the relay).
    pub offer: String,
    /// When the caller's answer is given up on (see [`LATE_ANSWER_WAIT`]).
    pub until: Instant,
}

/// What the call still expects of the caller's ACK.
pub(super) struct AwaitAck<'a> {
    late: Option<LateOffer>,
    relay: Option<&'a Relay>,
    acked: bool,
}

impl<'a> AwaitAck<'a> {
    pub fn new(late: Option<LateOffer>, relay: Option<&'a Relay>) -> Self {
        AwaitAck { late, relay, acked: false }
    }

    /// The next event of leg A's INVITE transaction; `None` when it ended,
    /// or when a late offer's answer is overdue.
    pub async fn next(&self, srv: &mut ServerInvite) -> Option<InviteEvent> {
        match self.late.as_ref().map(|l| l.until) {
            Some(until) => tokio::time::timeout_at(until, srv.event()).await.ok().flatten(),
            None => srv.event().await,
        }
    }

    /// Follows the events of leg A's INVITE transaction; `Err` has the
    /// CDR's internal reason when the call must end (both legs get BYE;
    /// leg B has had its ACK).
    pub async fn on_event(&mut self, client: &Client, ev: Option<InviteEvent>, b: &Leg) -> Result<(), String> {
        match ev {
            Some(InviteEvent::Acked(body)) if !self.acked => {
                self.acked = true;
                match self.late.take() {
                    Some(late) => self.answer(client, late, &body, b).await,
                    None => Ok(()),
                }
            }
            Some(_) => Ok(()),
            None if self.acked => Ok(()),
            None => {
                if let Some(late) = self.late.take() {
                    decline(client, &late.answered, b).await;
                }
                Err("No ACK for the 2xx".into())
            }
        }
    }

    /// Passes the caller's answer on to leg B in its ACK, re-pointed at the relay.
    async fn answer(&self, client: &Client, late: LateOffer, body: &[u8], b: &Leg) -> Result<(), String> {
        let checked = match std::str::from_utf8(body) {
            _ if body.is_empty() => Err("Caller's ACK has no SDP answer".to_owned()),
            Err(_) => Err("Caller's SDP answer is unusable: not UTF-8".to_owned()),
            Ok(answer) => {
                sdp::check_answer(&late.offer, answer).map(|()| answer).map_err(|e| format!("Caller's SDP answer is unusable: {e}"))
            }
        };
        let answer = match checked {
            Ok(answer) => answer,
            Err(why) => {
                decline(client, &late.answered, b).await;
                return Err(why);
            }
        };
        let answer = match (self.relay, b.media) {
            (Some(relay), Some(at)) => {
                if let Some(target) = sdp::audio_target(answer) {
                    relay.set_a_peer(target);
                }
                sdp::anchor(answer, at)
            }
            _ => answer.to_owned(),
        };
        if let Err(e) = client.ack(&late.answered, b.ack(answer.into_bytes()), b.dest, b.transport).await {
            tracing::debug!(error = %e, "could not send the ACK with the caller's answer");
        }
        Ok(())
    }
}

/// ACKs leg B's 2xx (with its offer) by declining every stream, before
/// the BYE that ends that dialog (RFC 3261 §13.2.2.4).
pub(super) async fn decline(client: &Client, answered: &Response, b: &Leg) {
    let offer = std::str::from_utf8(&answered.body).unwrap_or_default();
    let body = if offer.is_empty() { Vec::new() } else { sdp::decline(offer).into_bytes() };
    if let Err(e) = client.ack(answered, b.ack(body), b.dest, b.transport).await {
        tracing::debug!(error = %e, "could not ACK a callee's 2xx");
    }
}
