//! Leg B while it rings: one INVITE per target, over every step, sharing
//! one Call-ID and From tag. The fork sends them, CANCELs those still
//! ringing, answers a gateway's digest challenge, puts the number's next
//! route in the place of a gateway that failed, and ends the dialog of
//! any answer that came too late to be the call's.

use super::b2bua::Bridge;
use super::dialog::{bye, contact_at, Leg};
use super::plan::{Attempt, Contact, Step};
use super::session_timer;
use crate::media::sdp;
use crate::media::Relay;
use sip::digest;
use sip::endpoint::{random_token, Client, ClientTx, Method, Outgoing, Response, Transport};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::mpsc;

/// The reason of an attempt whose INVITE could not be sent.
const UNREACHABLE: &str = "Service Unavailable";

/// One INVITE of leg B.
pub(super) struct Branch {
    pub target: Contact,
    /// Our address towards the target (for Contact and the relay side).
    pub local: SocketAddr,
    pub cseq: u32,
    /// The transaction's branch and the INVITE, while it may be cancelled.
    sent: Option<(String, Outgoing)>,
    pub ringing: bool,
    /// The step it belongs to.
    pub step: usize,
    /// Its gateway attempt while started and not reported ended.
    pub attempt: Option<usize>,
    /// Whether it was sent again with credentials already.
    pub authenticated: bool,
    /// A gateway INVITE that got no response yet is given up at this time.
    pub silent_until: Option<tokio::time::Instant>,
}

/// How long a gateway may leave an INVITE without any response before the
/// call moves on to the next route: a dead gateway must not hold the
/// caller for Timer B (32 s). Retransmissions go out at 0.5, 1.5 and 3.5 s.
const GATEWAY_SILENCE: Duration = Duration::from_secs(5);

/// The silence deadline of an INVITE sent now to `target`, when it is a gateway.
fn silence_deadline(target: &Contact, sent: bool) -> Option<tokio::time::Instant> {
    (sent && target.gateway.is_some()).then(|| tokio::time::Instant::now() + GATEWAY_SILENCE)
}

/// Leg B while it rings: every INVITE sent so far, over all steps.
pub(super) struct Fork<'a> {
    pub client: &'a Client,
    pub call_id: String,
    /// Our From tag on leg B.
    pub tag: String,
    from: String,
    to: String,
    sdp: Option<&'a str>,
    relay: Option<&'a Relay>,
    /// One CSeq per step: a phone rung again in a later step must not see
    /// a merged request (RFC 3261 §8.2.2.2).
    cseq: u32,
    pub branches: Vec<Branch>,
    events: mpsc::UnboundedSender<(usize, Option<Response>)>,
    on_attempt: &'a (dyn Fn(Attempt) + Send + Sync),
    /// Our tag toward the caller (for the termination CDRs).
    a_tag: String,
    /// The session interval we offer (RFC 4028; 0: none).
    session_expires: u32,
}

impl<'a> Fork<'a> {
    /// Leg B of `bridge`, nothing sent yet: a new Call-ID and From tag,
    /// the caller and the number as the callees see them.
    pub fn new(
        client: &'a Client,
        bridge: &'a Bridge,
        relay: Option<&'a Relay>,
        a_tag: String,
        events: mpsc::UnboundedSender<(usize, Option<Response>)>,
    ) -> Fork<'a> {
        let call_id = format!("{}@switchboard", random_token());
        let tag = random_token();
        let from = match &bridge.caller_name {
            Some(n) => format!("\"{}\" <sip:{}@switchboard>;tag={tag}", n.replace(['"', '\\'], ""), bridge.caller_number),
            None => format!("<sip:{}@switchboard>;tag={tag}", bridge.caller_number),
        };
        Fork {
            client,
            call_id,
            tag,
            from,
            to: format!("<sip:{}@switchboard>", bridge.dialled),
            sdp: bridge.sdp.as_deref(),
            relay,
            cseq: 0,
            branches: Vec::new(),
            events,
            on_attempt: &*bridge.on_attempt,
            a_tag,
            session_expires: bridge.timers.session_expires,
        }
    }

    /// Sends the INVITEs of one step. Gateway attempts that could not
    /// even be sent, with no route left to try, give what the caller
    /// would get from them.
    pub async fn start(&mut self, index: usize, step: &Step) -> Vec<(u16, String)> {
        self.cseq += 1;
        let mut unsent = Vec::new();
        for t in &step.targets {
            unsent.extend(Box::pin(self.start_target(index, t.clone())).await);
        }
        unsent
    }

    /// Sends the INVITE of one target of step `index`; a gateway that
    /// cannot be reached (no connection, a TLS handshake refused) fails
    /// its attempt with 503, as RFC 3261 §8.1.3.1 treats transport errors,
    /// and the number's next route is tried at once.
    async fn start_target(&mut self, index: usize, mut t: Contact) -> Option<(u16, String)> {
        loop {
            let gw = t.gateway.as_ref();
            let (from, to) = match gw {
                Some(g) => (
                    match &g.caller_name {
                        Some(n) => format!("\"{}\" <sip:{}@{}>;tag={}", n.replace(['"', '\\'], ""), g.caller_number, g.host, self.tag),
                        None => format!("<sip:{}@{}>;tag={}", g.caller_number, g.host, self.tag),
                    },
                    format!("<sip:{}@{}>", g.dialled, g.host),
                ),
                None => (self.from.clone(), self.to.clone()),
            };
            let offer = gw.map_or(self.sdp, |g| g.sdp.as_deref());
            let attempt = gw.map(|g| g.attempt);
            if let Some(a) = attempt {
                (self.on_attempt)(Attempt::Started(a, self.a_tag.clone()));
            }
            let local = self.client.local_addr(t.transport, t.source);
            let mut headers = vec![
                ("From".to_owned(), from),
                ("To".to_owned(), to),
                ("Call-ID".to_owned(), self.call_id.clone()),
                ("CSeq".to_owned(), format!("{} INVITE", self.cseq)),
                ("Contact".to_owned(), contact_at(local, t.transport)),
                ("Allow".to_owned(), "INVITE, ACK, CANCEL, BYE, UPDATE, INFO, OPTIONS".to_owned()),
            ];
            headers.extend(session_timer::offer(self.session_expires, session_timer::MIN_SE));
            headers.extend(gw.iter().flat_map(|g| g.headers.iter().cloned()));
            let b_media = self.relay.map(|r| SocketAddr::new(local.ip(), r.b_port()));
            let body = match (offer, b_media) {
                (Some(offer), Some(at)) => sdp::anchor(offer, at).into_bytes(),
                (Some(offer), None) => offer.as_bytes().to_vec(),
                (None, _) => Vec::new(),
            };
            if !body.is_empty() {
                headers.push(("Content-Type".to_owned(), "application/sdp".to_owned()));
            }
            let invite = Outgoing { method: Method::Invite, uri: t.uri.clone(), headers, body, branch: None };
            let i = self.branches.len();
            let sent = self.send_to(i, invite, t.source, t.transport).await;
            let ringing = sent.is_some();
            let fallback = std::mem::take(&mut t.fallback);
            let gateway = t.gateway.is_some();
            let silent_until = silence_deadline(&t, ringing);
            self.branches.push(Branch {
                target: t,
                local,
                cseq: self.cseq,
                sent,
                ringing,
                step: index,
                attempt,
                authenticated: false,
                silent_until,
            });
            if ringing || !gateway {
                // Kept for a failure later on.
                self.branches[i].target.fallback = fallback;
                return None;
            }
            self.close(i, 503, UNREACHABLE);
            let mut rest = fallback.into_iter();
            let Some(next) = rest.next() else { return Some((503, UNREACHABLE.to_owned())) };
            t = Contact { fallback: rest.collect(), ..next };
            // Another gateway: its own request.
            self.cseq += 1;
        }
    }

    /// Reports branch `i`'s attempt ended with `code`, if it is open.
    pub fn close(&mut self, i: usize, code: u16, reason: &str) {
        if let Some(a) = self.branches[i].attempt.take() {
            (self.on_attempt)(Attempt::Failed(a, code, reason.to_owned()));
        }
    }

    /// Closes every open attempt but branch `keep`'s.
    pub fn close_all_but(&mut self, keep: usize, code: u16, reason: &str) {
        for i in (0..self.branches.len()).filter(|&i| i != keep) {
            self.close(i, code, reason);
        }
    }

    /// Branch `i` failed in a way that hunts: the same number's next
    /// route rings in its place (while the step's time lasts); what it
    /// gives if it cannot even be sent.
    pub async fn fail_over(&mut self, i: usize) -> Option<(u16, String)> {
        let mut rest = std::mem::take(&mut self.branches[i].target.fallback).into_iter();
        let next = rest.next()?;
        self.cseq += 1;
        let step = self.branches[i].step;
        Box::pin(self.start_target(step, Contact { fallback: rest.collect(), ..next })).await
    }

    /// Sends one INVITE of branch `i`; its responses come as events.
    async fn send_to(&self, i: usize, invite: Outgoing, dest: SocketAddr, transport: Transport) -> Option<(String, Outgoing)> {
        // Without an offer the 2xx brings the callee's, answered in the ACK we send.
        let sent = if invite.body.is_empty() {
            Box::pin(self.client.invite_acked_by_us(invite.clone(), dest, transport)).await
        } else {
            Box::pin(self.client.request(invite.clone(), dest, transport)).await
        };
        match sent {
            Ok(tx) => {
                let branch = tx.branch().to_owned();
                tokio::spawn(forward_responses(i, tx, self.events.clone()));
                Some((branch, invite))
            }
            Err(e) => {
                tracing::debug!(error = %e, target = %invite.uri, "could not send INVITE");
                None
            }
        }
    }

    /// Sends branch `i`'s INVITE again with digest credentials answering
    /// a 401/407 (RFC 3261 §22.2); false when it cannot.
    pub async fn authenticate(&mut self, i: usize, r: &Response, (user, password): &(String, String)) -> bool {
        let (challenge_header, answer_header) =
            if r.status == 407 { ("Proxy-Authenticate", "Proxy-Authorization") } else { ("WWW-Authenticate", "Authorization") };
        let Some(challenge) = r.headers.get_all(challenge_header).find_map(|v| digest::Challenge::parse(v).ok()) else { return false };
        let Some((_, mut invite)) = self.branches[i].sent.clone() else { return false };
        let Ok(auth) = digest::respond(&challenge, "INVITE", &invite.uri, user, password, &random_token(), 1) else { return false };
        invite.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(answer_header));
        invite.headers.push((answer_header.to_owned(), auth.to_header()));
        self.branches[i].authenticated = true;
        self.resend(i, invite).await
    }

    /// Sends branch `i`'s INVITE again with the session interval a 422
    /// asked for (RFC 4028 §7.4); false when it asked for no more than we
    /// offered, or it cannot be sent.
    pub async fn raise_interval(&mut self, i: usize, r: &Response) -> bool {
        let Some((_, mut invite)) = self.branches[i].sent.clone() else { return false };
        let offered = invite.headers.iter().find(|(n, _)| n == "Session-Expires").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
        let Some(min_se) = session_timer::asked_min_se(&r.headers, offered) else { return false };
        let ours = ["Supported", "Session-Expires", "Min-SE"];
        invite.headers.retain(|(n, _)| !ours.contains(&n.as_str()));
        invite.headers.extend(session_timer::offer(self.session_expires.max(min_se), min_se));
        self.resend(i, invite).await
    }

    /// Sends branch `i`'s INVITE `invite` again under a new CSeq.
    async fn resend(&mut self, i: usize, mut invite: Outgoing) -> bool {
        self.cseq += 1;
        let cseq = self.cseq;
        invite.headers.retain(|(n, _)| !n.eq_ignore_ascii_case("CSeq"));
        invite.headers.push(("CSeq".to_owned(), format!("{cseq} INVITE")));
        let (dest, transport) = (self.branches[i].target.source, self.branches[i].target.transport);
        let sent = self.send_to(i, invite, dest, transport).await;
        let b = &mut self.branches[i];
        b.cseq = cseq;
        b.ringing = sent.is_some();
        b.silent_until = silence_deadline(&b.target, b.ringing);
        b.sent = sent;
        b.ringing
    }

    /// Whether the INVITEs go without an offer (the caller sent none): we
    /// ACK their 2xx ourselves.
    pub fn late_offer(&self) -> bool {
        self.sdp.is_none()
    }

    pub fn ringing(&self) -> bool {
        self.branches.iter().any(|b| b.ringing)
    }

    /// CANCELs every branch still ringing (RFC 3261 §9.1: same Request-URI,
    /// Call-ID, From, To, CSeq number and branch as the INVITE).
    pub async fn cancel_ringing(&mut self) {
        for b in self.branches.iter_mut().filter(|b| b.ringing) {
            b.ringing = false;
            let Some((branch, invite)) = &b.sent else { continue };
            let keep = ["From", "To", "Call-ID"];
            let mut headers: Vec<(String, String)> = invite.headers.iter().filter(|(n, _)| keep.contains(&n.as_str())).cloned().collect();
            headers.push(("CSeq".to_owned(), format!("{} CANCEL", b.cseq)));
            let cancel =
                Outgoing { method: Method::Cancel, uri: invite.uri.clone(), headers, body: Vec::new(), branch: Some(branch.clone()) };
            if let Err(e) = self.client.request(cancel, b.target.source, b.target.transport).await {
                tracing::debug!(error = %e, "could not CANCEL a ringing binding");
            }
        }
    }
}

async fn forward_responses(i: usize, mut tx: ClientTx, out: mpsc::UnboundedSender<(usize, Option<Response>)>) {
    while let Some(r) = tx.next().await {
        let final_ = r.status >= 200;
        if out.send((i, Some(r))).is_err() || final_ {
            return;
        }
    }
    let _ = out.send((i, None));
}

/// Ends the dialog of every 2xx that comes from a branch other than
/// `winner` (RFC 3261 §15: ACKed by the stack, or by us after a `late`
/// offer; we send BYE), until the fork's transactions are over.
pub(super) async fn hang_up_late_answers(
    client: Client,
    mut b_rx: mpsc::UnboundedReceiver<(usize, Option<Response>)>,
    call_id: String,
    branches: Vec<(Contact, SocketAddr, u32)>,
    winner: Option<usize>,
    late: bool,
) {
    while let Some((i, r)) = b_rx.recv().await {
        let (Some(r), Some((target, local, cseq))) = (r, branches.get(i)) else { continue };
        if !(200..300).contains(&r.status) || Some(i) == winner {
            continue;
        }
        hang_up(&client, &call_id, (target, *local, *cseq), &r, late).await;
    }
}

/// Ends the dialog a 2xx to a branch's INVITE (target, our address, its
/// CSeq) set up, when the call is not to be that callee's; after a `late`
/// offer the 2xx gets our ACK first.
pub(super) async fn hang_up(client: &Client, call_id: &str, sent: (&Contact, SocketAddr, u32), r: &Response, late: bool) {
    tracing::info!(target = %sent.0.uri, "a callee answered after the call was decided: hanging up on it");
    let mut leg = Leg::answered(call_id.to_owned(), sent, r, None);
    if late {
        super::ack::decline(client, r, &leg).await;
    }
    bye(client, &mut leg).await;
}
