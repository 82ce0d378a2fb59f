//! The B2BUA: an admitted call becomes two independent dialogs. Leg A is
//! the caller's INVITE, answered by us; leg B is our own INVITE (own
//! Call-ID, tags and CSeq), forked to the targets of the call's plan
//! (`plan.rs`, `fork.rs`) and rung in steps (`ring.rs`). The answer, once
//! it fits our offer, passes from B to A, and the call talks (`talk.rs`)
//! until a BYE. Nothing of one leg's Via or Record-Route reaches the
//! other.

use super::ack::{self, AwaitAck, LateOffer};
use super::dialog::{bye, contact_at, first_contact, Dialogs, Leg};
use super::early::{Early, EarlyEnd};
use super::fork::{hang_up_late_answers, Fork};
use super::orphans;
use super::plan::{Attempt, Step};
use super::ring::{ring, LegA, Ringing};
use super::session_timer;
use super::talk::{allows_update, talk, Timers, TimersSetup, Watch};
use crate::fraud::CallLimit;
use crate::media::sdp;
use crate::media::{MediaPool, Relay};
use sip::endpoint::{Client, Incoming, Response};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// What the B2BUA needs to place leg B.
pub struct Bridge {
    /// Rung one after another until one answers.
    pub steps: Vec<Step>,
    /// From of leg B: the caller as the callee should see it.
    pub caller_name: Option<String>,
    pub caller_number: String,
    /// To of leg B: the number dialled.
    pub dialled: String,
    /// The offer for leg B (already filtered), if the caller sent one.
    pub sdp: Option<String>,
    /// Relays RTP when set (the product default).
    pub media: Option<Arc<MediaPool>>,
    /// Told the gateway attempt that answered (none for a phone), the
    /// epoch-ms time of the answer and both legs' dialog state (to journal
    /// for a hang-up after a crash, `orphans.rs`).
    pub on_answer: Box<dyn FnOnce(Option<usize>, i64, String) + Send + Sync>,
    /// Told of gateway attempts (targets with a
    /// [`GatewayLeg`](super::plan::GatewayLeg)).
    pub on_attempt: Box<dyn Fn(Attempt) + Send + Sync>,
    pub timers: CallTimers,
}

/// The domain settings that time a confirmed call, in seconds (0: off).
#[derive(Debug, Clone, Copy)]
pub struct CallTimers {
    /// No RTP or RTCP from either leg this long hangs up.
    pub media_timeout: u32,
    /// The RFC 4028 session interval we offer leg B and lower leg A's to.
    pub session_expires: u32,
    /// The customer's limit on the answered call's length (fraud limits).
    pub limit: Option<CallLimit>,
}

impl CallTimers {
    /// The domain's timers, and the call's limit.
    pub fn of(s: &crate::directory::Snapshot, limit: Option<CallLimit>) -> Self {
        CallTimers { media_timeout: s.media_timeout, session_expires: s.session_expires, limit }
    }
}

/// How a bridged call ended, for its CDR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    /// The final status leg A got (200 once answered).
    pub code: u16,
    pub reason: String,
    pub internal: Option<String>,
    /// Epoch ms of the answer, if answered.
    pub connected_at: Option<i64>,
    /// The gateway attempt that answered (still open: its CDR is the caller's).
    pub attempt: Option<usize>,
    /// Epoch ms the call ended at when that is not now: hung up at its
    /// limit, it is billed exactly up to it.
    pub ended_at: Option<i64>,
}

/// Runs a call from admission to its end; returns how it ended. `a` has
/// had no final response yet.
pub(crate) async fn run(client: Client, dialogs: Arc<Dialogs>, a: Incoming, bridge: Bridge, stop: CancellationToken) -> Ended {
    let a_headers = a.headers().clone();
    let a_call_id = a_headers.get("Call-ID").unwrap_or_default().trim().to_owned();
    let a_source = a.source();
    let a_transport = a.transport();
    let a_local = client.local_addr(a_transport, a_source);
    let a_contact = contact_at(a_local, a_transport);
    let mut srv = a.into_server_invite();
    let a_tag = srv.local_tag().to_owned();
    // The relay, and where each leg is to send its media (also for a late
    // offer: the callee's offer in its 2xx, the caller's answer in the ACK).
    let relay = match &bridge.media {
        Some(pool) => match pool.relay() {
            Some(r) => Some(r),
            None => {
                let _ = srv.respond(503, "Service Unavailable", &[], None);
                return Ended {
                    code: 503,
                    reason: "Service Unavailable".into(),
                    internal: Some("No media relay ports left".into()),
                    connected_at: None,
                    attempt: None,
                    ended_at: None,
                };
            }
        },
        None => None,
    };
    let a_media = relay.as_ref().map(|r| SocketAddr::new(a_local.ip(), r.a_port()));
    if let (Some(r), Some(target)) = (&relay, bridge.sdp.as_deref().and_then(sdp::audio_target)) {
        r.set_a_peer(target);
    }
    let (in_dialog, mut requests) = mpsc::unbounded_channel();
    dialogs.insert(&a_call_id, &a_tag, in_dialog.clone());
    let _ = srv.respond(100, "Trying", &[], None);
    let mut early = Early::new(&a_headers, &a_call_id);

    let (events, mut b_rx) = mpsc::unbounded_channel::<(usize, Option<Response>)>();
    let mut fork = Fork::new(&client, &bridge, relay.as_ref(), a_tag.clone(), events);
    let (b_call_id, b_tag) = (fork.call_id.clone(), fork.tag.clone());
    dialogs.insert(&b_call_id, &b_tag, in_dialog);

    let media = Media { relay: relay.as_ref(), a: a_media };
    let a = LegA { srv: &mut srv, requests: &mut requests, early: &mut early, contact: &a_contact, media };
    // Boxed, like the rarer steps of a call: a held call keeps only what it needs.
    let ended = Box::pin(ring(a, &mut fork, &mut b_rx, &bridge, &stop)).await;
    // A 2xx can still come from a branch that lost (two callees picked up
    // at once, or one answered as its CANCEL crossed): its dialog must not
    // stay up at the callee (or be billed by a gateway).
    let winner_branch = match &ended {
        Ringing::Answered { winner, .. } => Some(*winner),
        Ringing::Failed(..) => None,
    };
    let branches = fork.branches.iter().map(|b| (b.target.clone(), b.local, b.cseq)).collect();
    let late = fork.late_offer();
    tokio::spawn(hang_up_late_answers(client.clone(), b_rx, b_call_id.clone(), branches, winner_branch, late));
    let winner = match &ended {
        Ringing::Answered { winner, .. } => {
            // The other attempts were cancelled for this answer.
            fork.close_all_but(*winner, 487, "Request Terminated");
            fork.branches.get(*winner).map(|b| (b.target.clone(), b.local, b.cseq, b.attempt))
        }
        Ringing::Failed(code, reason, _) => {
            // Attempts still open: a call out's ends with what the caller
            // gets; a ring group's external numbers were cancelled.
            for i in 0..fork.branches.len() {
                if bridge.steps[fork.branches[i].step].hunting {
                    fork.close(i, *code, reason);
                } else {
                    fork.close(i, 487, "Request Terminated");
                }
            }
            None
        }
    };
    drop(fork);
    let result = match ended {
        Ringing::Failed(code, reason, internal) => {
            let _ = srv.respond(code, &reason, &[], None);
            Ended { code, reason, internal, connected_at: None, attempt: None, ended_at: None }
        }
        Ringing::Answered { response, .. } => {
            let answered_at = tokio::time::Instant::now();
            let (target, b_local, b_cseq, attempt) = winner.expect("the winner is one of the fork's branches");
            let b_media = relay.as_ref().map(|r| SocketAddr::new(b_local.ip(), r.b_port()));
            // rsipstack's client transaction ACKs the 2xx itself, but for a
            // late offer: then our ACK carries the caller's answer (`ack.rs`).
            let mut b = Leg::answered(b_call_id.clone(), (&target, b_local, b_cseq), &response, b_media);
            // An unusable answer, or the caller gone before its PRACKs came.
            let offer = target.gateway.as_ref().map_or(bridge.sdp.as_deref(), |g| g.sdp.as_deref());
            let refusal = match answer_fits(offer, &response.body) {
                Err(e) => Some((488, "Not Acceptable Here", e, true)),
                Ok(()) => Box::pin(early.settle(&srv, &mut requests)).await.err().map(|end| {
                    let (code, reason, internal) = end.outcome();
                    (code, reason, internal.to_owned(), end != EarlyEnd::CalleeHungUp)
                }),
            };
            if let Some((code, reason, internal, callee_up)) = refusal {
                // End the callee's dialog if it is still up, and refuse the caller.
                if callee_up {
                    if late {
                        ack::decline(&client, &response, &b).await;
                    }
                    Box::pin(bye(&client, &mut b)).await;
                }
                let _ = srv.respond(code, reason, &[], None);
                dialogs.remove(&a_call_id, &a_tag);
                dialogs.remove(&b_call_id, &b_tag);
                return Ended { code, reason: reason.into(), internal: Some(internal), connected_at: None, attempt, ended_at: None };
            }
            let connected_at = domain::time::now_ms();
            let mut a_leg = Leg {
                call_id: a_call_id.clone(),
                local: format!("{};tag={a_tag}", a_headers.get("To").unwrap_or_default()),
                remote: a_headers.get("From").unwrap_or_default().to_owned(),
                target: first_contact(&a_headers).unwrap_or_default(),
                route: a_headers.get_all("Record-Route").map(str::to_owned).collect(),
                dest: a_source,
                transport: a_transport,
                contact: a_contact.clone(),
                cseq: 0,
                media: a_media,
            };
            (bridge.on_answer)(attempt, connected_at, orphans::journal(&a_leg, &b));
            let mut extra: Vec<(&str, &str)> = vec![("Contact", a_contact.as_str())];
            let ct = response.headers.get("Content-Type").unwrap_or("application/sdp").to_owned();
            if !response.body.is_empty() {
                extra.push(("Content-Type", ct.as_str()));
            }
            // Leg A's session timer as its INVITE asked (a 422 was sent before the call began).
            let a_session = session_timer::answer(&a_headers, bridge.timers.session_expires).ok().flatten();
            let a_session_headers = a_session.map(|s| s.headers()).unwrap_or_default();
            extra.extend(a_session_headers.iter().map(|(n, v)| (*n, v.as_str())));
            let a_sdp = media.b_to_a(&response.body);
            let late = late.then(|| LateOffer {
                offer: String::from_utf8_lossy(&a_sdp).into_owned(),
                answered: response.clone(),
                until: answered_at + ack::LATE_ANSWER_WAIT,
            });
            let _ = srv.respond(200, "OK", &extra, Some(a_sdp.clone()));
            // What leg B last got from us: our offer; for a late offer, the
            // answer is still to come in the caller's ACK.
            let b_sdp = match (offer, b.media) {
                (Some(o), Some(at)) => sdp::anchor(o, at).into_bytes(),
                (o, _) => o.unwrap_or_default().as_bytes().to_vec(),
            };
            let b_session = (bridge.timers.session_expires > 0).then(|| session_timer::from_answer(&response.headers)).flatten();
            let timers = Timers::start(TimersSetup {
                relay: relay.as_ref(),
                media_timeout: bridge.timers.media_timeout,
                session_expires: bridge.timers.session_expires,
                sessions: [a_session.map(|s| s.timer), b_session],
                update: [allows_update(&a_headers), allows_update(&response.headers)],
                sdp: [a_sdp, b_sdp],
                limit: bridge.timers.limit,
            });
            let mut watch = Watch { confirm: AwaitAck::new(late, relay.as_ref()), timers };
            let (code, reason, internal) = talk(&client, &mut srv, &mut requests, &mut a_leg, &mut b, &stop, &mut watch).await;
            let limit_ms = bridge.timers.limit.map_or(0, |l| i64::from(l.seconds) * 1000);
            let ended_at = watch.timers.limit_reached().then_some(connected_at + limit_ms);
            Ended { code, reason, internal, connected_at: Some(connected_at), attempt, ended_at }
        }
    };
    dialogs.remove(&a_call_id, &a_tag);
    dialogs.remove(&b_call_id, &b_tag);
    drop(relay); // the ports go back to the pool
    result
}

/// Whether leg B's 2xx answers our offer properly (RFC 3264 §6). With no
/// offer from us (a late offer) the 2xx must carry the callee's offer
/// (RFC 3261 §13.2.1), with an audio stream. The error is the CDR's reason.
fn answer_fits(offer: Option<&str>, body: &[u8]) -> Result<(), String> {
    let what = if offer.is_some() { "answer" } else { "offer" };
    let unusable = |e: &dyn std::fmt::Display| format!("Callee's SDP {what} is unusable: {e}");
    if body.is_empty() {
        return Err(format!("Callee's 2xx has no SDP {what}"));
    }
    let text = std::str::from_utf8(body).map_err(|_| unusable(&"not UTF-8"))?;
    match offer {
        Some(offer) => sdp::check_answer(offer, text).map_err(|e| unusable(&e)),
        None => sdp::audio_target(text).map(|_| ()).ok_or_else(|| unusable(&"no audio stream")),
    }
}

/// The call's relay and leg A's side of it, for SDP passing B to A.
#[derive(Clone, Copy)]
pub(super) struct Media<'a> {
    relay: Option<&'a Relay>,
    a: Option<SocketAddr>,
}

impl Media<'_> {
    /// An SDP from leg B as leg A must see it; learns leg B's address.
    pub fn b_to_a(&self, body: &[u8]) -> Vec<u8> {
        let (Some(relay), Some(at), Ok(text)) = (self.relay, self.a, std::str::from_utf8(body)) else { return body.to_vec() };
        if let Some(target) = sdp::audio_target(text) {
            relay.set_b_peer(target);
        }
        sdp::anchor(text, at).into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::answer_fits;

    const SDP: &str = "v=0\r\nc=IN IP4 192.0.2.1\r\nm=audio 4000 RTP/AVP 8\r\n";

    #[test]
    fn a_late_offers_2xx_must_offer_audio() {
        assert_eq!(answer_fits(None, SDP.as_bytes()), Ok(()));
        assert_eq!(answer_fits(None, b""), Err("Callee's 2xx has no SDP offer".into()));
        let declined = "v=0\r\nc=IN IP4 192.0.2.1\r\nm=audio 0 RTP/AVP 8\r\n";
        assert_eq!(answer_fits(None, declined.as_bytes()), Err("Callee's SDP offer is unusable: no audio stream".into()));
        assert_eq!(answer_fits(Some(SDP), b""), Err("Callee's 2xx has no SDP answer".into()));
        assert_eq!(answer_fits(Some(SDP), SDP.as_bytes()), Ok(()));
    }
}
