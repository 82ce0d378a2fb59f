//! Between our socket readers and rsipstack's transaction layer: each
//! message is parsed, checked and tagged with its source, or answered
//! statelessly when the stack would drop it.

use std::net::SocketAddr;
use std::sync::Arc;

use rsipstack::sip::prelude::HeadersExt;
use rsipstack::sip::ToTypedHeader;
use rsipstack::sip::{Header, SipMessage};
use rsipstack::transaction::endpoint::EndpointInner;
use rsipstack::transaction::key::{TransactionKey, TransactionRole};
use rsipstack::transport::{SipAddr, SipConnection};
use tracing::debug;

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
    pub(super) user_agent: String,
}

impl Feeder {
    /// Hands one message to the stack; returns a stateless reply to send
    /// when we answer it ourselves (400 or 501).
    pub(super) async fn feed(&self, raw: &[u8], src: SocketAddr, conn: SipConnection, transport: Transport) -> Option<Vec<u8>> {
        match SipMessage::try_from(raw) {
            Ok(msg) => self.feed_message(msg, Some(raw), src, conn, transport).await,
            Err(e) => {
                debug!(%src, error = %e, "unparseable SIP message");
                match wire::classify_rejected(raw) {
                    wire::Rejected::UnknownMethod => self.stateless(raw, src, 501, "Not Implemented"),
                    wire::Rejected::Malformed => self.stateless(raw, src, 400, "Bad Request"),
                    wire::Rejected::Ignore => None,
                }
            }
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
        let msg = match msg {
            SipMessage::Request(mut req) => match prepare_request(&mut req, src, transport) {
                Ok(()) => SipMessage::Request(req),
                Err(reason) => {
                    debug!(%src, reason, "invalid SIP request");
                    // Our stateless 400 echoes the request's text (a TLS reader hands us no bytes).
                    let text = if raw.is_none() { req.to_string() } else { String::new() };
                    return self.stateless(raw.unwrap_or(text.as_bytes()), src, 400, "Bad Request");
                }
            },
            // Responses belong to client transactions; the stack matches them.
            response => response,
        };
        let from = SipAddr { r#type: Some(transport.stack()), addr: src.into() };
        if let Err(e) = self.endpoint.on_received_message(msg, conn, &from).await {
            debug!(%src, error = %e, "SIP stack rejected message");
        }
        None
    }

    fn stateless(&self, raw: &[u8], src: SocketAddr, status: u16, reason: &str) -> Option<Vec<u8>> {
        wire::stateless_response(raw, src, status, reason, &self.user_agent)
    }
}

/// Checks what the transaction layer needs (so failures get 400 instead of
/// being dropped inside the stack), fills Via `received`/`rport`, and tags
/// the request with its source.
fn prepare_request(req: &mut rsipstack::sip::Request, src: SocketAddr, transport: Transport) -> Result<(), &'static str> {
    // top_via_header(): via_header() returns a whole field, which misreads
    // two comma-separated Vias.
    req.top_via_header().map_err(|_| "no Via")?.typed().map_err(|_| "bad Via")?;
    req.to_header().map_err(|_| "no To")?.typed().map_err(|_| "bad To")?;
    let cseq = req.cseq_header().map_err(|_| "no CSeq")?;
    let cseq_method = cseq.method().map_err(|_| "bad CSeq")?;
    if cseq_method != req.method && req.method != rsipstack::sip::Method::Ack {
        return Err("CSeq method does not match");
    }
    if req.call_id_header().map_err(|_| "no Call-ID")?.value().trim().is_empty() {
        return Err("empty Call-ID");
    }
    TransactionKey::from_request(req, TransactionRole::Server).map_err(|_| "no From tag")?;
    req.via_header_mut()
        .and_then(|via| via.update_first_value(|first| Ok(wire::fill_via_received(first.value(), src).into())))
        .map_err(|_| "bad Via")?;
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
/// parsing, the checks and Via rewrite of `prepare_request`, the stateless
/// answers, and the header fields the switch reads. Returns the request's
/// header fields when it would reach the switch.
#[doc(hidden)]
pub fn inspect_untrusted(raw: &[u8], src: SocketAddr) -> Option<Headers> {
    let _ = wire::udp_reply_target(raw, src);
    match SipMessage::try_from(raw) {
        Err(_) => {
            let (status, reason) = match wire::classify_rejected(raw) {
                wire::Rejected::UnknownMethod => (501, "Not Implemented"),
                wire::Rejected::Malformed | wire::Rejected::Ignore => (400, "Bad Request"),
            };
            let _ = wire::stateless_response(raw, src, status, reason, "fuzz");
            None
        }
        Ok(SipMessage::Request(mut req)) => {
            let _ = req.uri.to_string();
            let Ok(()) = prepare_request(&mut req, src, Transport::Udp) else {
                let _ = wire::stateless_response(raw, src, 400, "Bad Request", "fuzz");
                return None;
            };
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
