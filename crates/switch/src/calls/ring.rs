//! Ringing: the plan's steps rung in turn until an answer, the caller's
//! CANCEL (or BYE), a 6xx, or the last step's end. Progress passes from
//! leg B to leg A; of the failures seen, the caller gets the one that
//! tells it most.

use super::b2bua::{Bridge, Media};
use super::early::{Early, Provisional};
use super::fork::{hang_up, Fork};
use super::plan::{GatewayLeg, Step};
use sip::endpoint::{Incoming, InviteEvent, Response, ServerInvite};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub(super) enum Ringing {
    Failed(u16, String, Option<String>),
    Answered { winner: usize, response: Response },
}

/// Rank of a final failure for the caller (RFC 3261 §16.7 in spirit):
/// 6xx, then the callee's own 4xx answers, then the rest.
fn rank(code: u16) -> u8 {
    match code {
        600..=699 => 0,
        486 => 1,
        401..=499 if code != 408 => 2,
        500..=599 => 3,
        _ => 4,
    }
}

/// Keeps the failure the caller should get of those seen (see [`rank`]).
fn note(best: &mut Option<(u16, String)>, code: u16, reason: String) {
    if best.as_ref().is_none_or(|(c, _)| rank(code) < rank(*c)) {
        *best = Some((code, reason));
    }
}

/// A gateway attempt's final failure: reported for its CDR. On a failure
/// that hunts the number's next route rings instead, if it has one. In a
/// call out to one number (a hunting step) a failure that does not hunt
/// ends the call, and the last failure is what the caller gets if no later
/// attempt does better; in a ring group the failure ends only this target
/// and counts like a phone's.
async fn gateway_failed(
    fork: &mut Fork<'_>,
    bridge: &Bridge,
    best: &mut Option<(u16, String)>,
    i: usize,
    code: u16,
    reason: String,
) -> Option<Ringing> {
    fork.close(i, code, &reason);
    let hunting = bridge.steps[fork.branches[i].step].hunting;
    if !GatewayLeg::hunts_on(code) && hunting {
        return Some(Ringing::Failed(code, reason, Some("Refused by the gateway's callee".into())));
    }
    let unsent = if GatewayLeg::hunts_on(code) { Box::pin(fork.fail_over(i)).await } else { None };
    for (code, reason) in std::iter::once((code, reason)).chain(unsent) {
        if hunting {
            *best = Some((code, reason));
        } else {
            note(best, code, reason);
        }
    }
    None
}

/// Leg A while leg B rings: what the caller is sent, and what it sends.
pub(super) struct LegA<'a> {
    /// Its INVITE, which gets progress and, after the ringing, the answer.
    pub srv: &'a mut ServerInvite,
    /// In-dialog requests of either leg (PRACK, BYE before the answer).
    pub requests: &'a mut mpsc::UnboundedReceiver<Incoming>,
    pub early: &'a mut Early,
    /// Our Contact toward the caller.
    pub contact: &'a str,
    /// How leg B's SDP reaches it.
    pub media: Media<'a>,
}

/// Rings the steps in turn until an answer, the caller's CANCEL (or BYE),
/// a 6xx, or the last step's end. `b_rx` has the responses of the fork's
/// INVITEs by branch (`None`: its transaction ended without a final one).
pub(super) async fn ring(
    a: LegA<'_>,
    fork: &mut Fork<'_>,
    b_rx: &mut mpsc::UnboundedReceiver<(usize, Option<Response>)>,
    bridge: &Bridge,
    stop: &CancellationToken,
) -> Ringing {
    let LegA { srv, requests, early, contact: a_contact, media } = a;
    let mut best: Option<(u16, String)> = None;
    let mut steps = bridge.steps.iter().enumerate();
    let mut current: Option<&Step> = None;
    let deadline = tokio::time::sleep(Duration::ZERO);
    tokio::pin!(deadline);
    loop {
        if !fork.ringing() {
            // The step is over (or was never started): ring the next one.
            let Some((index, step)) = steps.next() else {
                let (code, reason) = best.unwrap_or((480, "Temporarily Unavailable".to_owned()));
                let gateways = current.is_some_and(|s| s.targets.iter().all(|t| t.gateway.is_some()));
                let why = if gateways { "No gateway answered" } else { "No binding answered" };
                return Ringing::Failed(code, reason, Some(why.to_owned()));
            };
            current = Some(step);
            // Gateways not even sent to: as if they never answered.
            for (code, reason) in Box::pin(fork.start(index, step)).await {
                if step.hunting {
                    best = Some((code, reason));
                } else {
                    note(&mut best, code, reason);
                }
            }
            deadline.as_mut().reset(tokio::time::Instant::now() + step.ring_for);
            continue;
        }
        let retransmit_at = early.retransmit_at();
        let silent_at = fork.branches.iter().filter(|b| b.ringing).filter_map(|b| b.silent_until).min();
        let early_end = tokio::select! {
            Some(req) = requests.recv() => Box::pin(early.request(srv, req)).await,
            _ = tokio::time::sleep_until(retransmit_at.unwrap_or_else(tokio::time::Instant::now)), if retransmit_at.is_some() => {
                early.retransmit(srv)
            }
            ev = srv.event() => match ev {
                Some(InviteEvent::Cancelled) | None => {
                    Box::pin(fork.cancel_ringing()).await;
                    return Ringing::Failed(487, "Request Terminated".into(), Some("Caller cancelled".into()));
                }
                Some(InviteEvent::Acked(_)) => Ok(()),
            },
            _ = &mut deadline => {
                Box::pin(fork.cancel_ringing()).await;
                // A gateway's callee that rang unanswered must not ring again through another one.
                if steps.len() == 0 || current.is_some_and(|s| s.hunting) {
                    return Ringing::Failed(480, "Temporarily Unavailable".into(), Some("No answer".into()));
                }
                Ok(())
            }
            _ = stop.cancelled() => {
                Box::pin(fork.cancel_ringing()).await;
                return Ringing::Failed(503, "Service Unavailable".into(), Some("Switch shutting down".into()));
            }
            _ = tokio::time::sleep_until(silent_at.unwrap_or_else(tokio::time::Instant::now)), if silent_at.is_some() => {
                // Gateways that never answered at all: as no answer, which hunts.
                let now = tokio::time::Instant::now();
                let silent: Vec<usize> = (0..fork.branches.len())
                    .filter(|&i| fork.branches[i].ringing && fork.branches[i].silent_until.is_some_and(|t| t <= now))
                    .collect();
                for i in silent {
                    let b = &mut fork.branches[i];
                    (b.ringing, b.silent_until) = (false, None);
                    tracing::info!(target = %b.target.uri, "no response from the gateway, trying the next route");
                    if let Some(end) = Box::pin(gateway_failed(fork, bridge, &mut best, i, 408, "Request Timeout".into())).await {
                        Box::pin(fork.cancel_ringing()).await;
                        return end;
                    }
                }
                Ok(())
            }
            Some((i, r)) = b_rx.recv() => {
                let ringing = std::mem::replace(&mut fork.branches[i].ringing, false);
                fork.branches[i].silent_until = None;
                match r {
                    // An attempt given up and already reported (a gateway
                    // that answered too late) cannot be the call's.
                    Some(r) if (200..300).contains(&r.status) && fork.branches[i].target.gateway.is_some() && fork.branches[i].attempt.is_none() => {
                        let b = &fork.branches[i];
                        hang_up(fork.client, &fork.call_id, (&b.target, b.local, b.cseq), &r, fork.late_offer()).await;
                    }
                    // A 2xx wins even from a branch already cancelled: its
                    // callee picked up, and the call is still ringing.
                    Some(r) if (200..300).contains(&r.status) => {
                        Box::pin(fork.cancel_ringing()).await;
                        return Ringing::Answered { winner: i, response: r };
                    }
                    // Whatever else a cancelled branch says no longer
                    // matters; its end closes its attempt as cancelled.
                    r if !ringing => {
                        if r.is_none_or(|r| r.status >= 200) {
                            fork.close(i, 487, "Request Terminated");
                        }
                    }
                    None if fork.branches[i].target.gateway.is_some() => {
                        if let Some(end) = Box::pin(gateway_failed(fork, bridge, &mut best, i, 408, "Request Timeout".into())).await {
                            Box::pin(fork.cancel_ringing()).await;
                            return end;
                        }
                    }
                    None => note(&mut best, 408, "Request Timeout".into()),
                    Some(r) if r.status < 200 => {
                        fork.branches[i].ringing = true;
                        if r.status > 100 {
                            let mut headers = vec![("Contact".to_owned(), a_contact.to_owned())];
                            let body = (!r.body.is_empty()).then(|| media.b_to_a(&r.body));
                            if body.is_some() {
                                headers.push(("Content-Type".to_owned(), r.headers.get("Content-Type").unwrap_or("application/sdp").to_owned()));
                            }
                            early.send(srv, Provisional { status: r.status, reason: r.reason, headers, body });
                        }
                    }
                    Some(r) => {
                        let gateway = fork.branches[i].target.gateway.as_ref();
                        let (is_gateway, creds) = (gateway.is_some(), gateway.and_then(|g| g.credentials.clone()));
                        if r.status == 422 && Box::pin(fork.raise_interval(i, &r)).await {
                            continue;
                        }
                        if let (Some(creds), 401 | 407, false) = (creds, r.status, fork.branches[i].authenticated) {
                            if Box::pin(fork.authenticate(i, &r, &creds)).await {
                                continue;
                            }
                        }
                        if is_gateway {
                            if let Some(end) = Box::pin(gateway_failed(fork, bridge, &mut best, i, r.status, r.reason)).await {
                                Box::pin(fork.cancel_ringing()).await;
                                return end;
                            }
                            continue;
                        }
                        if r.status >= 600 {
                            Box::pin(fork.cancel_ringing()).await;
                            return Ringing::Failed(r.status, r.reason, Some("Declined by the callee".into()));
                        }
                        note(&mut best, r.status, r.reason);
                    }
                }
                Ok(())
            },
        };
        if let Err(end) = early_end {
            Box::pin(fork.cancel_ringing()).await;
            let (code, reason, internal) = end.outcome();
            return Ringing::Failed(code, reason.into(), Some(internal.into()));
        }
    }
}
