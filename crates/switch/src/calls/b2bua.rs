//! The B2BUA: an admitted call becomes two independent dialogs. Leg A is
//! the carrier's INVITE, answered by us; leg B is our own INVITE (own
//! Call-ID, tags and CSeq), forked to the bindings of the destination in
//! steps: every binding of a step rings at once for the step's time, the
//! first answer wins and the others are cancelled; when a step ends
//! unanswered the next one rings (a sequential ring group). A target may be
//! a termination gateway (an external number): it has its own numbers and
//! offer, its attempt is reported for a termination CDR, and on a failure
//! worth it the number's next route rings in its place. Progress and the
//! answer pass from B to A; CANCEL, BYE and in-dialog requests (re-INVITE,
//! UPDATE, INFO) pass between them. Nothing of one leg's Via or
//! Record-Route reaches the other.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sip::digest;
use sip::endpoint::{random_token, Client, ClientTx, Incoming, InviteEvent, Method, Outgoing, Response, ServerInvite, Transport};
use sip::message::{self, Headers};

use super::early::{Early, EarlyEnd, Provisional};
use crate::media::sdp;
use crate::media::{MediaPool, Relay};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Live dialogs by (Call-ID, our tag): in-dialog requests find their call here.
#[derive(Default)]
pub(crate) struct Dialogs {
    map: Mutex<HashMap<(String, String), mpsc::UnboundedSender<Incoming>>>,
}

impl Dialogs {
    /// Hands an in-dialog request to its call; gives it back if no call has it.
    pub fn route(&self, req: Incoming) -> Option<Incoming> {
        let key = dialog_key(req.headers());
        let tx = key.and_then(|k| self.map.lock().expect("dialogs lock").get(&k).cloned());
        match tx {
            Some(tx) => tx.send(req).err().map(|e| e.0),
            None => Some(req),
        }
    }

    fn insert(&self, call_id: &str, tag: &str, tx: mpsc::UnboundedSender<Incoming>) {
        self.map.lock().expect("dialogs lock").insert((call_id.to_owned(), tag.to_owned()), tx);
    }

    fn remove(&self, call_id: &str, tag: &str) {
        self.map.lock().expect("dialogs lock").remove(&(call_id.to_owned(), tag.to_owned()));
    }
}

/// (Call-ID, To tag) of a request inside a dialog; the To tag is ours.
fn dialog_key(h: &Headers) -> Option<(String, String)> {
    let call_id = h.get("Call-ID")?.trim().to_owned();
    let tag = message::to(h).ok()?.tag()?.to_owned();
    Some((call_id, tag))
}

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
    /// Which attempt this is, in [`Attempt`] reports and [`Ended::attempt`].
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
    /// Told the gateway attempt that answered (none for a phone) and the
    /// epoch-ms time of the answer.
    pub on_answer: Box<dyn FnOnce(Option<usize>, i64) + Send + Sync>,
    /// Told of gateway attempts (targets with a [`GatewayLeg`]).
    pub on_attempt: Box<dyn Fn(Attempt) + Send + Sync>,
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
}

/// One side of a confirmed dialog, as we send requests into it.
struct Leg {
    call_id: String,
    /// Our From (with our tag) / their To-URI view, as header values.
    local: String,
    remote: String,
    target: String,
    route: Vec<String>,
    dest: SocketAddr,
    transport: Transport,
    cseq: u32,
    /// Where this leg sends media when the relay anchors it.
    media: Option<SocketAddr>,
}

impl Leg {
    fn request(&mut self, method: Method, contact: &str, extra: &[(String, String)], body: Vec<u8>) -> Outgoing {
        self.cseq += 1;
        let mut headers = vec![
            ("From".to_owned(), self.local.clone()),
            ("To".to_owned(), self.remote.clone()),
            ("Call-ID".to_owned(), self.call_id.clone()),
            ("CSeq".to_owned(), format!("{} {}", self.cseq, method.as_str())),
            ("Contact".to_owned(), contact.to_owned()),
        ];
        headers.extend(self.route.iter().map(|r| ("Route".to_owned(), r.clone())));
        headers.extend(extra.iter().cloned());
        Outgoing { method, uri: self.target.clone(), headers, body, branch: None }
    }
}

/// Our Contact for a leg we reach from `local` (see `Client::local_addr`,
/// asked once per leg: with a wildcard listen address it costs a socket).
fn contact_at(local: SocketAddr, transport: Transport) -> String {
    match transport {
        Transport::Udp => format!("<sip:switchboard@{local}>"),
        Transport::Tcp => format!("<sip:switchboard@{local};transport=tcp>"),
        Transport::Tls => format!("<sip:switchboard@{local};transport=tls>"),
    }
}

/// An SDP body re-pointed at the relay side `at` (unchanged without relay
/// or when it is not SDP text).
fn anchored(body: &[u8], at: Option<SocketAddr>) -> Vec<u8> {
    match (at, std::str::from_utf8(body)) {
        (Some(at), Ok(text)) if text.starts_with("v=") => sdp::anchor(text, at).into_bytes(),
        _ => body.to_vec(),
    }
}

/// The remote target of a dialog: the first Contact URI.
fn first_contact(h: &Headers) -> Option<String> {
    match message::contacts(h).ok()? {
        message::Contacts::List(l) => l.into_iter().next().map(|c| c.uri),
        _ => None,
    }
}

fn content_type(h: &Headers) -> Vec<(String, String)> {
    h.get("Content-Type").map(|v| vec![("Content-Type".to_owned(), v.to_owned())]).unwrap_or_default()
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
    // The relay, and where each leg is to send its media.
    let relay = match (&bridge.media, &bridge.sdp) {
        (Some(pool), Some(_)) => match pool.relay() {
            Some(r) => Some(r),
            None => {
                let _ = srv.respond(503, "Service Unavailable", &[], None);
                return Ended {
                    code: 503,
                    reason: "Service Unavailable".into(),
                    internal: Some("No media relay ports left".into()),
                    connected_at: None,
                    attempt: None,
                };
            }
        },
        _ => None,
    };
    let a_media = relay.as_ref().map(|r| SocketAddr::new(a_local.ip(), r.a_port()));
    if let (Some(r), Some(target)) = (&relay, bridge.sdp.as_deref().and_then(sdp::audio_target)) {
        r.set_a_peer(target);
    }
    let (in_dialog, mut requests) = mpsc::unbounded_channel();
    dialogs.insert(&a_call_id, &a_tag, in_dialog.clone());
    let _ = srv.respond(100, "Trying", &[], None);
    let mut early = Early::new(&a_headers, &a_call_id);

    // Leg B: one Call-ID and From tag for every INVITE of the fork.
    let b_call_id = format!("{}@switchboard", random_token());
    let b_tag = random_token();
    dialogs.insert(&b_call_id, &b_tag, in_dialog);
    let (events, mut b_rx) = mpsc::unbounded_channel::<(usize, Option<Response>)>();
    let from = match &bridge.caller_name {
        Some(n) => format!("\"{}\" <sip:{}@switchboard>;tag={b_tag}", n.replace(['"', '\\'], ""), bridge.caller_number),
        None => format!("<sip:{}@switchboard>;tag={b_tag}", bridge.caller_number),
    };
    let mut fork = Fork {
        client: &client,
        call_id: b_call_id.clone(),
        tag: b_tag.clone(),
        from,
        to: format!("<sip:{}@switchboard>", bridge.dialled),
        sdp: bridge.sdp.as_deref(),
        relay: relay.as_ref(),
        cseq: 0,
        branches: Vec::new(),
        events,
        on_attempt: &*bridge.on_attempt,
        a_tag: a_tag.clone(),
    };

    let media = Media { relay: relay.as_ref(), a: a_media };
    // Boxed, like the rarer steps of a call: a held call keeps only what it needs.
    let ended = Box::pin(ring(&mut srv, &mut b_rx, &mut requests, &mut early, &mut fork, &bridge, &a_contact, media, &stop)).await;
    // A 2xx can still come from a branch that lost (two callees picked up
    // at once, or one answered as its CANCEL crossed): its dialog must not
    // stay up at the callee (or be billed by a gateway).
    let winner_branch = match &ended {
        Ringing::Answered { winner, .. } => Some(*winner),
        Ringing::Failed(..) => None,
    };
    let branches = fork.branches.iter().map(|b| (b.target.clone(), b.local, b.cseq)).collect();
    tokio::spawn(hang_up_late_answers(client.clone(), b_rx, b_call_id.clone(), branches, winner_branch));
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
            Ended { code, reason, internal, connected_at: None, attempt: None }
        }
        Ringing::Answered { response, .. } => {
            let (target, b_local, b_cseq, attempt) = winner.expect("the winner is one of the fork's branches");
            let mut b = Leg {
                call_id: b_call_id.clone(),
                local: response.headers.get("From").unwrap_or_default().to_owned(),
                remote: response.headers.get("To").unwrap_or_default().to_owned(),
                target: first_contact(&response.headers).unwrap_or_else(|| target.uri.clone()),
                route: response.headers.get_all("Record-Route").map(str::to_owned).collect::<Vec<_>>().into_iter().rev().collect(),
                dest: target.source,
                transport: target.transport,
                cseq: b_cseq,
                media: relay.as_ref().map(|r| SocketAddr::new(b_local.ip(), r.b_port())),
            };
            // rsipstack's client transaction ACKs the 2xx itself.
            let b_contact = contact_at(b_local, b.transport);
            // An unusable answer, or the caller gone before its PRACKs came.
            let offer = target.gateway.as_ref().map_or(bridge.sdp.as_deref(), |g| g.sdp.as_deref());
            let refusal = match answer_fits(offer, &response.body) {
                Err(e) => Some((488, "Not Acceptable Here", format!("Callee's SDP answer is unusable: {e}"), true)),
                Ok(()) => Box::pin(early.settle(&srv, &mut requests)).await.err().map(|end| {
                    let (code, reason, internal) = end.outcome();
                    (code, reason, internal.to_owned(), end != EarlyEnd::CalleeHungUp)
                }),
            };
            if let Some((code, reason, internal, callee_up)) = refusal {
                // End the callee's dialog if it is still up, and refuse the caller.
                if callee_up {
                    Box::pin(bye(&client, &mut b, &b_contact)).await;
                }
                let _ = srv.respond(code, reason, &[], None);
                dialogs.remove(&a_call_id, &a_tag);
                dialogs.remove(&b_call_id, &b_tag);
                return Ended { code, reason: reason.into(), internal: Some(internal), connected_at: None, attempt };
            }
            let connected_at = domain::time::now_ms();
            (bridge.on_answer)(attempt, connected_at);
            let mut extra: Vec<(&str, &str)> = vec![("Contact", a_contact.as_str())];
            let ct = response.headers.get("Content-Type").unwrap_or("application/sdp").to_owned();
            if !response.body.is_empty() {
                extra.push(("Content-Type", ct.as_str()));
            }
            let _ = srv.respond(200, "OK", &extra, Some(media.b_to_a(&response.body)));
            let mut a_leg = Leg {
                call_id: a_call_id.clone(),
                local: format!("{};tag={a_tag}", a_headers.get("To").unwrap_or_default()),
                remote: a_headers.get("From").unwrap_or_default().to_owned(),
                target: first_contact(&a_headers).unwrap_or_default(),
                route: a_headers.get_all("Record-Route").map(str::to_owned).collect(),
                dest: a_source,
                transport: a_transport,
                cseq: 0,
                media: a_media,
            };
            let (code, reason, internal) = talk(&client, &mut srv, &mut requests, &mut a_leg, &mut b, &a_contact, &b_contact, &stop).await;
            Ended { code, reason, internal, connected_at: Some(connected_at), attempt }
        }
    };
    dialogs.remove(&a_call_id, &a_tag);
    dialogs.remove(&b_call_id, &b_tag);
    drop(relay); // the ports go back to the pool
    result
}

/// Whether leg B's 2xx answers our offer properly (RFC 3264 §6). With no
/// offer from us (a late offer) the 2xx carries the callee's offer instead.
fn answer_fits(offer: Option<&str>, body: &[u8]) -> Result<(), sdp::SdpError> {
    let Some(offer) = offer else { return Ok(()) };
    if body.is_empty() {
        return Err(sdp::SdpError::BadAnswer("no SDP"));
    }
    let answer = std::str::from_utf8(body).map_err(|_| sdp::SdpError::Malformed("not UTF-8"))?;
    sdp::check_answer(offer, answer)
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

enum Ringing {
    Failed(u16, String, Option<String>),
    Answered { winner: usize, response: Response },
}

/// The reason of an attempt whose INVITE could not be sent.
const UNREACHABLE: &str = "Service Unavailable";

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

/// The call's relay and leg A's side of it, for SDP passing B to A.
#[derive(Clone, Copy)]
struct Media<'a> {
    relay: Option<&'a Relay>,
    a: Option<SocketAddr>,
}

impl Media<'_> {
    /// An SDP from leg B as leg A must see it; learns leg B's address.
    fn b_to_a(&self, body: &[u8]) -> Vec<u8> {
        let (Some(relay), Some(at), Ok(text)) = (self.relay, self.a, std::str::from_utf8(body)) else { return body.to_vec() };
        if let Some(target) = sdp::audio_target(text) {
            relay.set_b_peer(target);
        }
        sdp::anchor(text, at).into_bytes()
    }
}

/// One INVITE of leg B.
struct Branch {
    target: Contact,
    /// Our address towards the target (for Contact and the relay side).
    local: SocketAddr,
    cseq: u32,
    /// The transaction's branch and the INVITE, while it may be cancelled.
    sent: Option<(String, Outgoing)>,
    ringing: bool,
    /// The step it belongs to.
    step: usize,
    /// Its gateway attempt while started and not reported ended.
    attempt: Option<usize>,
    /// Whether it was sent again with credentials already.
    authenticated: bool,
    /// A gateway INVITE that got no response yet is given up at this time.
    silent_until: Option<tokio::time::Instant>,
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
struct Fork<'a> {
    client: &'a Client,
    call_id: String,
    /// Our From tag on leg B.
    tag: String,
    from: String,
    to: String,
    sdp: Option<&'a str>,
    relay: Option<&'a Relay>,
    /// One CSeq per step: a phone rung again in a later step must not see
    /// a merged request (RFC 3261 §8.2.2.2).
    cseq: u32,
    branches: Vec<Branch>,
    events: mpsc::UnboundedSender<(usize, Option<Response>)>,
    on_attempt: &'a (dyn Fn(Attempt) + Send + Sync),
    /// Our tag toward the caller (for the termination CDRs).
    a_tag: String,
}

impl Fork<'_> {
    /// Sends the INVITEs of one step. Gateway attempts that could not
    /// even be sent, with no route left to try, give what the caller
    /// would get from them.
    async fn start(&mut self, index: usize, step: &Step) -> Vec<(u16, String)> {
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
    fn close(&mut self, i: usize, code: u16, reason: &str) {
        if let Some(a) = self.branches[i].attempt.take() {
            (self.on_attempt)(Attempt::Failed(a, code, reason.to_owned()));
        }
    }

    /// Closes every open attempt but branch `keep`'s.
    fn close_all_but(&mut self, keep: usize, code: u16, reason: &str) {
        for i in (0..self.branches.len()).filter(|&i| i != keep) {
            self.close(i, code, reason);
        }
    }

    /// Branch `i` failed in a way that hunts: the same number's next
    /// route rings in its place (while the step's time lasts); what it
    /// gives if it cannot even be sent.
    async fn fail_over(&mut self, i: usize) -> Option<(u16, String)> {
        let mut rest = std::mem::take(&mut self.branches[i].target.fallback).into_iter();
        let next = rest.next()?;
        self.cseq += 1;
        let step = self.branches[i].step;
        Box::pin(self.start_target(step, Contact { fallback: rest.collect(), ..next })).await
    }

    /// Sends one INVITE of branch `i`; its responses come as events.
    async fn send_to(&self, i: usize, invite: Outgoing, dest: SocketAddr, transport: Transport) -> Option<(String, Outgoing)> {
        match Box::pin(self.client.request(invite.clone(), dest, transport)).await {
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
    async fn authenticate(&mut self, i: usize, r: &Response, (user, password): &(String, String)) -> bool {
        let (challenge_header, answer_header) =
            if r.status == 407 { ("Proxy-Authenticate", "Proxy-Authorization") } else { ("WWW-Authenticate", "Authorization") };
        let Some(challenge) = r.headers.get_all(challenge_header).find_map(|v| digest::Challenge::parse(v).ok()) else { return false };
        let Some((_, mut invite)) = self.branches[i].sent.clone() else { return false };
        let Ok(auth) = digest::respond(&challenge, "INVITE", &invite.uri, user, password, &random_token(), 1) else { return false };
        self.cseq += 1;
        let cseq = self.cseq;
        invite.headers.retain(|(n, _)| !n.eq_ignore_ascii_case("CSeq") && !n.eq_ignore_ascii_case(answer_header));
        invite.headers.push(("CSeq".to_owned(), format!("{cseq} INVITE")));
        invite.headers.push((answer_header.to_owned(), auth.to_header()));
        let (dest, transport) = (self.branches[i].target.source, self.branches[i].target.transport);
        let sent = self.send_to(i, invite, dest, transport).await;
        let b = &mut self.branches[i];
        b.authenticated = true;
        b.cseq = cseq;
        b.ringing = sent.is_some();
        b.silent_until = silence_deadline(&b.target, b.ringing);
        b.sent = sent;
        b.ringing
    }

    fn ringing(&self) -> bool {
        self.branches.iter().any(|b| b.ringing)
    }

    /// CANCELs every branch still ringing (RFC 3261 §9.1: same Request-URI,
    /// Call-ID, From, To, CSeq number and branch as the INVITE).
    async fn cancel_ringing(&mut self) {
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

/// Keeps the failure the caller should get of those seen (see [`rank`]).
fn note(best: &mut Option<(u16, String)>, code: u16, reason: String) {
    if best.as_ref().is_none_or(|(c, _)| rank(code) < rank(*c)) {
        *best = Some((code, reason));
    }
}

/// Rings the steps in turn until an answer, the caller's CANCEL (or BYE),
/// a 6xx, or the last step's end.
#[allow(clippy::too_many_arguments)]
async fn ring(
    srv: &mut ServerInvite,
    b_rx: &mut mpsc::UnboundedReceiver<(usize, Option<Response>)>,
    requests: &mut mpsc::UnboundedReceiver<Incoming>,
    early: &mut Early,
    fork: &mut Fork<'_>,
    bridge: &Bridge,
    a_contact: &str,
    media: Media<'_>,
    stop: &CancellationToken,
) -> Ringing {
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
                Some(InviteEvent::Acked) => Ok(()),
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
                        hang_up(fork.client, &fork.call_id, (&b.target, b.local, b.cseq), &r).await;
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

/// The confirmed call: passes in-dialog requests across until a BYE.
/// Returns the CDR's (code, reason, internal reason).
#[allow(clippy::too_many_arguments)]
async fn talk(
    client: &Client,
    srv: &mut ServerInvite,
    requests: &mut mpsc::UnboundedReceiver<Incoming>,
    a: &mut Leg,
    b: &mut Leg,
    a_contact: &str,
    b_contact: &str,
    stop: &CancellationToken,
) -> (u16, String, Option<String>) {
    let mut invite_open = true;
    loop {
        let mut req = tokio::select! {
            r = requests.recv() => match r {
                Some(r) => r,
                None => return (200, "OK".into(), Some("Dialog lost".into())),
            },
            // The ACK of our 2xx, then the transaction's end: nothing to do.
            ev = srv.event(), if invite_open => {
                invite_open = ev.is_some();
                continue;
            }
            _ = stop.cancelled() => {
                Box::pin(bye(client, a, a_contact)).await;
                Box::pin(bye(client, b, b_contact)).await;
                return (200, "OK".into(), Some("Switch shutting down".into()));
            }
        };
        let from_a = req.headers().get("Call-ID").map(str::trim) == Some(a.call_id.as_str());
        let (a_media, b_media) = (a.media, b.media);
        let (other, other_contact) = if from_a { (&mut *b, b_contact) } else { (&mut *a, a_contact) };
        match req.method() {
            Method::Bye => {
                let _ = Box::pin(req.reply(200, "OK", &[])).await;
                Box::pin(bye(client, other, other_contact)).await;
                // From the carrier's view: 200 BYE when it hung up, 200 OK when the callee did.
                return if from_a {
                    (200, "BYE".into(), Some("Caller hung up".into()))
                } else {
                    (200, "OK".into(), Some("Callee hung up".into()))
                };
            }
            Method::Ack => {}
            // A PRACK retransmitted across the answer: its response was lost.
            Method::Prack => {
                let _ = Box::pin(req.reply(200, "OK", &[])).await;
            }
            Method::Invite | Method::Update | Method::Info => {
                let requester_media = if from_a { a_media } else { b_media };
                Box::pin(pass_through(client, req, other, other_contact, requester_media)).await
            }
            _ => {
                let _ = Box::pin(req.reply(501, "Not Implemented", &[])).await;
            }
        }
    }
}

/// Ends the dialog of every 2xx that comes from a branch other than
/// `winner` (RFC 3261 §15: the stack has ACKed it; we send BYE), until
/// the fork's transactions are over.
async fn hang_up_late_answers(
    client: Client,
    mut b_rx: mpsc::UnboundedReceiver<(usize, Option<Response>)>,
    call_id: String,
    branches: Vec<(Contact, SocketAddr, u32)>,
    winner: Option<usize>,
) {
    while let Some((i, r)) = b_rx.recv().await {
        let (Some(r), Some((target, local, cseq))) = (r, branches.get(i)) else { continue };
        if !(200..300).contains(&r.status) || Some(i) == winner {
            continue;
        }
        hang_up(&client, &call_id, (target, *local, *cseq), &r).await;
    }
}

/// Ends the dialog a 2xx to a branch's INVITE (target, our address, its
/// CSeq) set up, when the call is not to be that callee's.
async fn hang_up(client: &Client, call_id: &str, (target, local, cseq): (&Contact, SocketAddr, u32), r: &Response) {
    tracing::info!(target = %target.uri, "a callee answered after the call was decided: hanging up on it");
    let mut leg = Leg {
        call_id: call_id.to_owned(),
        local: r.headers.get("From").unwrap_or_default().to_owned(),
        remote: r.headers.get("To").unwrap_or_default().to_owned(),
        target: first_contact(&r.headers).unwrap_or_else(|| target.uri.clone()),
        route: r.headers.get_all("Record-Route").map(str::to_owned).collect::<Vec<_>>().into_iter().rev().collect(),
        dest: target.source,
        transport: target.transport,
        cseq,
        media: None,
    };
    bye(client, &mut leg, &contact_at(local, target.transport)).await;
}

/// Sends BYE; its transaction runs on without the call (which is over).
async fn bye(client: &Client, leg: &mut Leg, contact: &str) {
    let req = leg.request(Method::Bye, contact, &[], Vec::new());
    match client.request(req, leg.dest, leg.transport).await {
        Ok(mut tx) => {
            tokio::spawn(async move { while tx.next().await.is_some() {} });
        }
        Err(e) => tracing::debug!(error = %e, "could not send BYE"),
    }
}

/// Relays an in-dialog request to the other leg and its final response
/// back. A re-INVITE's 2xx is acknowledged on the far leg by the stack's
/// client transaction; the requester's ACK ends at its own transaction.
async fn pass_through(client: &Client, req: Incoming, other: &mut Leg, other_contact: &str, requester_media: Option<SocketAddr>) {
    let method = req.method();
    let extra = content_type(req.headers());
    let out = other.request(method, other_contact, &extra, anchored(req.body(), other.media));
    let response = match client.request(out, other.dest, other.transport).await {
        Ok(mut tx) => {
            let mut last = None;
            while let Some(r) = tx.next().await {
                if r.status >= 200 {
                    last = Some(r);
                    break;
                }
            }
            last
        }
        Err(_) => None,
    };
    let (status, reason, body, ct) = match &response {
        Some(r) => (
            r.status,
            r.reason.clone(),
            (!r.body.is_empty()).then(|| anchored(&r.body, requester_media)),
            r.headers.get("Content-Type").map(str::to_owned),
        ),
        None => (408, "Request Timeout".to_owned(), None, None),
    };
    let mut extra: Vec<(&str, &str)> = Vec::new();
    if let (Some(ct), Some(_)) = (&ct, &body) {
        extra.push(("Content-Type", ct.as_str()));
    }
    if method == Method::Invite {
        let srv = req.into_server_invite();
        let _ = srv.respond(status, &reason, &extra, body);
        // The transaction stays until its ACK arrives; nothing else to do.
        tokio::spawn(async move {
            let mut srv = srv;
            let _ = tokio::time::timeout(Duration::from_secs(32), srv.event()).await;
        });
    } else {
        let mut req = req;
        let _ = req.reply_with_body(status, &reason, &extra, body).await;
    }
}
