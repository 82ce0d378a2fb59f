//! The talk phase: the confirmed call, until a BYE from either side.
//! In-dialog requests (re-INVITE, UPDATE, INFO) pass between the legs,
//! their SDP re-pointed at the relay. The call's clocks (media timeout,
//! session timers) run beside it (`talk/timers.rs`).

mod timers;

pub(super) use timers::{allows_update, Setup as TimersSetup, Timers};

use super::ack::AwaitAck;
use super::dialog::{bye, Leg};
use crate::media::sdp;
use sip::endpoint::{Client, Incoming, Method, ServerInvite};
use sip::message::Headers;
use std::net::SocketAddr;
use std::time::Duration;
use timers::Side;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// What watches a confirmed call besides its requests: the caller's ACK
/// (`ack.rs`) and the call's clocks (`talk/timers.rs`).
pub(super) struct Watch<'r> {
    pub confirm: AwaitAck<'r>,
    pub timers: Timers<'r>,
}

/// The confirmed call: passes in-dialog requests across until a BYE.
/// Returns the CDR's (code, reason, internal reason).
pub(super) async fn talk(
    client: &Client,
    srv: &mut ServerInvite,
    requests: &mut mpsc::UnboundedReceiver<Incoming>,
    a: &mut Leg,
    b: &mut Leg,
    stop: &CancellationToken,
    watch: &mut Watch<'_>,
) -> (u16, String, Option<String>) {
    let Watch { confirm, timers } = watch;
    let mut invite_open = true;
    loop {
        let mut req = tokio::select! {
            r = requests.recv() => match r {
                Some(r) => r,
                None => return (200, "OK".into(), Some("Dialog lost".into())),
            },
            // The ACK of our 2xx (with a late offer's answer), then the
            // transaction's end; or its end without an ACK.
            ev = confirm.next(srv), if invite_open => {
                invite_open = ev.is_some();
                if let Err(why) = confirm.on_event(client, ev, b).await {
                    Box::pin(bye(client, a)).await;
                    Box::pin(bye(client, b)).await;
                    return (200, "OK".into(), Some(why));
                }
                continue;
            }
            _ = stop.cancelled() => {
                Box::pin(bye(client, a)).await;
                Box::pin(bye(client, b)).await;
                return (200, "OK".into(), Some("Switch shutting down".into()));
            }
            due = timers.next() => {
                let Some(why) = Box::pin(timers.fire(due, client, a, b)).await else { continue };
                tracing::info!(call_id = %a.call_id, why, "hanging up both legs");
                Box::pin(bye(client, a)).await;
                Box::pin(bye(client, b)).await;
                return (200, "OK".into(), Some(why));
            }
        };
        let from_a = req.headers().get("Call-ID").map(str::trim) == Some(a.call_id.as_str());
        let side = if from_a { Side::A } else { Side::B };
        let (a_media, b_media) = (a.media, b.media);
        let other = if from_a { &mut *b } else { &mut *a };
        match req.method() {
            Method::Bye => {
                let _ = Box::pin(req.reply(200, "OK", &[])).await;
                Box::pin(bye(client, other)).await;
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
                let Some(req) = Box::pin(timers.answer_refresh(req, side)).await else { continue };
                let requester_media = if from_a { a_media } else { b_media };
                Box::pin(pass_through(client, req, other, requester_media, timers, side)).await
            }
            _ => {
                let _ = Box::pin(req.reply(501, "Not Implemented", &[])).await;
            }
        }
    }
}

/// Relays an in-dialog request to the other leg and its final response
/// back. A re-INVITE's 2xx is acknowledged on the far leg by the stack's
/// client transaction; the requester's ACK ends at its own transaction.
/// A 2xx to a re-INVITE or UPDATE refreshes both legs' session timers.
async fn pass_through(
    client: &Client,
    req: Incoming,
    other: &mut Leg,
    requester_media: Option<SocketAddr>,
    timers: &mut Timers<'_>,
    side: Side,
) {
    let far = if side == Side::A { Side::B } else { Side::A };
    let method = req.method();
    let refresh = matches!(method, Method::Invite | Method::Update);
    let mut extra = content_type(req.headers());
    if refresh {
        extra.extend(timers.passing_to(far));
    }
    let body = anchored(req.body(), other.media);
    let sent = body.clone();
    let out = other.request(method, &extra, body);
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
    // What each leg now says of its media, once both agreed.
    if let Some(r) = response.as_ref().filter(|r| (200..300).contains(&r.status)) {
        timers.sdp_from(side, req.body());
        timers.sdp_to(far, &sent);
        timers.sdp_from(far, &r.body);
        if let Some(b) = &body {
            timers.sdp_to(side, b);
        }
        if refresh {
            timers.passed(side, r);
        }
    }
    let refreshed = match &response {
        Some(r) if refresh && (200..300).contains(&r.status) => timers.refreshed_by(side, req.headers()),
        _ => Vec::new(),
    };
    let mut extra: Vec<(&str, &str)> = refreshed.iter().map(|(n, v)| (*n, v.as_str())).collect();
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

/// An SDP body re-pointed at the relay side `at` (unchanged without relay
/// or when it is not SDP text).
fn anchored(body: &[u8], at: Option<SocketAddr>) -> Vec<u8> {
    match (at, std::str::from_utf8(body)) {
        (Some(at), Ok(text)) if text.starts_with("v=") => sdp::anchor(text, at).into_bytes(),
        _ => body.to_vec(),
    }
}

fn content_type(h: &Headers) -> Vec<(String, String)> {
    h.get("Content-Type").map(|v| vec![("Content-Type".to_owned(), v.to_owned())]).unwrap_or_default()
}
