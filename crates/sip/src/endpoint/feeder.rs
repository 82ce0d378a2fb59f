//! Between our socket readers and rsipstack's transaction layer: each
//! message is parsed, checked and tagged with its source, or answered
//! statelessly (400, 501, 505) when the stack would drop or misread it.
//! Defective responses are dropped: a response is never answered.

use std::net::SocketAddr;
use std::sync::Arc;

use rsipstack::sip::prelude::HeadersExt;
use rsipstack::sip::ToTypedHeader;
use rsipstack::sip::{Header, Headers as StackHeaders, SipMessage, Version};
use rsipstack::transaction::endpoint::EndpointInner;
use rsipstack::transaction::key::{TransactionKey, TransactionRole};
use rsipstack::transport::{SipAddr, SipConnection};
use tracing::debug;

use super::ack::{OwnAcks, Taken};
use super::{wire, Transport};
use crate::message::Headers;

/// Carries the source of a request from our reader to [`Incoming`](super::Incoming):
/// rsipstack's UDP connection has no public way to set the peer address.
/// Responses never copy it (the stack copies only Via/From/To/Call-ID/CSeq)
/// and a copy sent by a peer is removed before ours is added.
const SOURCE_HEADER: &str = "X-Switchboard-Source";

/// Shared by the socket readers.
pub(crate) struct Feeder {
    pub(super) endpoint: Arc<EndpointInner>,
    /// The `Server` header of our stateless answers too.
    pub(super) server_header: super::ServerHeader,
    /// The 2xx responses we ACK ourselves, kept from the stack.
    pub(super) acks: OwnAcks,
}

impl Feeder {
    /// Hands one message to the stack; returns a stateless reply to send
    /// when we answer it ourselves (400, 501 or 505).
    pub(super) async fn feed(&self, raw: &[u8], src: SocketAddr, conn: SipConnection, transport: Transport) -> Option<Vec<u8>> {
        match parse_raw(raw, transport) {
            Ok(msg) => self.feed_message(msg, Some(raw), src, conn, transport).await,
            Err(Some((status, reason))) => self.stateless(raw, src, status, reason),
            Err(None) => None,
        }
    }

    /// [`Feeder::feed`] for a message already parsed (`raw` is its text
    /// when we have it, for a stateless 400).
    pub(super) async fn feed_message(
        &self,
        msg: SipMessage,
        raw: Option<&[u8]>,
        src: SocketAddr,
        conn: SipConnection,
        transport: Transport,
    ) -> Option<Vec<u8>> {
        let mut msg = msg;
        match check(&mut msg, src, transport) {
            Ok(()) => {}
            Err(None) => return None,
            Err(Some((status, reason))) => {
                // Our stateless reply echoes the request's text (a TLS reader hands us no bytes).
                let text = if raw.is_none() { msg.to_string() } else { String::new() };
                return self.stateless(raw.unwrap_or(text.as_bytes()), src, status, reason);
            }
        }
        if let SipMessage::Response(resp) = &msg {
            match self.acks.take(&self.endpoint, resp) {
                Taken::No => {}
                Taken::Yes => return None,
                Taken::Resend(ack) => {
                    let (ack, dest) = *ack;
                    if let Err(e) = conn.send(ack, Some(&dest)).await {
                        debug!(%src, error = %e, "could not resend our ACK");
                    }
                    return None;
                }
            }
        }
        let from = SipAddr { r#type: Some(transport.stack()), addr: src.into() };
        if let Err(e) = self.endpoint.on_received_message(msg, conn, &from).await {
            debug!(%src, error = %e, "SIP stack rejected message");
        }
        None
    }

    fn stateless(&self, raw: &[u8], src: SocketAddr, status: u16, reason: &str) -> Option<Vec<u8>> {
        wire::stateless_response(raw, src, status, reason, self.server_header.get().as_deref().unwrap_or(""))
    }
}

/// Why a message does not go to the stack: `Some` is the status and reason
/// phrase of the stateless reply, `None` drops it (responses, noise).
type Refusal = Option<(u16, &'static str)>;

/// Parses bytes we read ourselves. The stack's parser reads an unreadable
/// Content-Length as 0 and a too-large one as "the rest", so on UDP we
/// check it first (RFC 3261 §18.3); our TCP framing already refused those.
fn parse_raw(raw: &[u8], transport: Transport) -> Result<SipMessage, Refusal> {
    let msg = SipMessage::try_from(raw).map_err(|e| {
        debug!(error = %e, "unparseable SIP message");
        match wire::classify_rejected(raw) {
            wire::Rejected::UnknownMethod => Some((501, "Not Implemented")),
            wire::Rejected::Malformed => Some((400, "Bad Request")),
            wire::Rejected::BadVersion => Some((505, "Version Not Supported")),
            wire::Rejected::Ignore => None,
        }
    })?;
    if transport == Transport::Udp && !wire::datagram_length_ok(raw) {
        debug!("bad Content-Length in a datagram");
        return Err(matches!(msg, SipMessage::Request(_)).then_some((400, "Bad Content-Length")));
    }
    Ok(msg)
}

/// Decides whether a parsed message goes to the stack; a request that does
/// is prepared for it ([`prepare_request`]).
fn check(msg: &mut SipMessage, src: SocketAddr, transport: Transport) -> Result<(), Refusal> {
    match msg {
        SipMessage::Request(req) => {
            // RFC 3261 §8.2.2.1 is silent on versions, but the stack would
            // answer in the client's version and we speak only 2.0.
            if req.version != Version::V2 {
                return Err(Some((505, "Version Not Supported")));
            }
            prepare_request(req, src, transport).map_err(|reason| {
                debug!(%src, reason, "invalid SIP request");
                Some((400, reason))
            })
        }
        // Responses belong to client transactions; the stack matches them,
        // but only once they name one.
        SipMessage::Response(resp) => {
            if resp.version != Version::V2 || missing_header(&resp.headers).is_some() {
                debug!(%src, "defective SIP response dropped");
                return Err(None);
            }
            Ok(())
        }
    }
}

/// The first of the headers every message must carry (RFC 3261 §8.1.1)
/// that is absent or empty, as the reason phrase of our 400.
fn missing_header(headers: &StackHeaders) -> Option<&'static str> {
    let has = |wanted: fn(&Header) -> bool| headers.iter().any(|h| wanted(h) && !h.value().trim().is_empty());
    [
        ("Missing Via", has(|h| matches!(h, Header::Via(_)))),
        ("Missing From", has(|h| matches!(h, Header::From(_)))),
        ("Missing To", has(|h| matches!(h, Header::To(_)))),
        ("Missing Call-ID", has(|h| matches!(h, Header::CallId(_)))),
        ("Missing CSeq", has(|h| matches!(h, Header::CSeq(_)))),
    ]
    .into_iter()
    .find_map(|(reason, present)| (!present).then_some(reason))
}

/// Checks what the transaction layer needs (so failures get 400 instead of
/// being dropped inside the stack), fills Via `received`/`rport`, and tags
/// the request with its source. The error is our 400's reason phrase.
fn prepare_request(req: &mut rsipstack::sip::Request, src: SocketAddr, transport: Transport) -> Result<(), &'static str> {
    if let Some(reason) = missing_header(&req.headers) {
        return Err(reason);
    }
    // top_via_header(): via_header() returns a whole field, which misreads
    // two comma-separated Vias.
    req.top_via_header().map_err(|_| "Missing Via")?.typed().map_err(|_| "Bad Via")?;
    req.to_header().map_err(|_| "Missing To")?.typed().map_err(|_| "Bad To")?;
    let cseq = req.cseq_header().map_err(|_| "Missing CSeq")?;
    let cseq_method = cseq.method().map_err(|_| "Bad CSeq")?;
    if cseq_method != req.method && req.method != rsipstack::sip::Method::Ack {
        return Err("CSeq Method Mismatch");
    }
    TransactionKey::from_request(req, TransactionRole::Server).map_err(|_| "Missing From Tag")?;
    req.via_header_mut()
        .and_then(|via| via.update_first_value(|first| Ok(wire::fill_via_received(first.value(), src).into())))
        .map_err(|_| "Bad Via")?;
    req.headers.retain(|h| !matches!(h, Header::Other(name, _) if name.eq_ignore_ascii_case(SOURCE_HEADER)));
    req.headers.push(Header::Other(SOURCE_HEADER.to_string(), format!("{} {}", transport.as_str(), src)));
    Ok(())
}

/// A request's header fields as we hand them out, and the source our
/// reader tagged it with (the tag itself is not among the fields).
pub(super) fn read_headers(req: &rsipstack::sip::Request) -> (Headers, Option<(Transport, SocketAddr)>) {
    let mut headers = Headers::new();
    let mut source = None;
    for h in req.headers.iter() {
        if let Header::Other(name, value) = h {
            if name.eq_ignore_ascii_case(SOURCE_HEADER) {
                source = parse_source(value);
                continue;
            }
        }
        headers.push(h.name(), h.value());
    }
    (headers, source)
}

/// Runs untrusted bytes through every step a datagram takes before and
/// after the stack (framing aside), for the fuzz target in `fuzz/`:
/// parsing, the Content-Length, version and header checks, the Via
/// rewrite, the stateless answers, and the header fields the switch reads.
/// Returns the request's header fields when it would reach the switch.
#[doc(hidden)]
pub fn inspect_untrusted(raw: &[u8], src: SocketAddr) -> Option<Headers> {
    let _ = wire::udp_reply_target(raw, src);
    let checked = parse_raw(raw, Transport::Udp).and_then(|mut msg| check(&mut msg, src, Transport::Udp).map(|()| msg));
    match checked {
        Err(refusal) => {
            // Noise we drop still goes through the reply builder.
            let (status, reason) = refusal.unwrap_or((400, "Bad Request"));
            let _ = wire::stateless_response(raw, src, status, reason, "fuzz");
            None
        }
        Ok(SipMessage::Request(req)) => {
            let _ = req.uri.to_string();
            let (headers, source) = read_headers(&req);
            assert_eq!(source, Some((Transport::Udp, src)), "our source tag must survive any input");
            Some(headers)
        }
        Ok(SipMessage::Response(resp)) => {
            let _ = resp.to_string();
            None
        }
    }
}

fn parse_source(value: &str) -> Option<(Transport, SocketAddr)> {
    let (transport, addr) = value.split_once(' ')?;
    let transport = match transport {
        "udp" => Transport::Udp,
        "tcp" => Transport::Tcp,
        "tls" => Transport::Tls,
        _ => return None,
    };
    Some((transport, addr.parse().ok()?))
}
