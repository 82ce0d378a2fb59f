//! A request the server hands out, and the responses built for it (also
//! those a [`ServerInvite`] sends).

use std::net::SocketAddr;

use rsipstack::sip::headers::make_header;
use rsipstack::sip::prelude::HeadersExt;
use rsipstack::transaction::endpoint::EndpointInner;
use rsipstack::transaction::Transaction;

use super::feeder::read_headers;
use super::{Method, ReplyError, ServerInvite, Transport};
use crate::message::Headers;

/// A new request, with the server transaction that answers it.
///
/// Reply with [`Incoming::reply`]; dropping it without a final response
/// leaves the client to retransmit and time out.
pub struct Incoming {
    tx: Transaction,
    method: Method,
    uri: String,
    headers: Headers,
    source: SocketAddr,
    transport: Transport,
}

impl std::fmt::Debug for Incoming {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Incoming")
            .field("method", &self.method)
            .field("uri", &self.uri)
            .field("source", &self.source)
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

impl Incoming {
    pub(super) fn new(tx: Transaction) -> Option<Self> {
        let (headers, source) = read_headers(&tx.original);
        let (transport, source) = source?;
        Some(Incoming { method: Method::from_stack(tx.original.method), uri: tx.original.uri.to_string(), headers, source, transport, tx })
    }

    /// The request method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// The Request-URI as received.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The request's header fields (top Via already carries `received`/`rport`).
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The request body.
    pub fn body(&self) -> &[u8] {
        &self.tx.original.body
    }

    /// The address the request came from (the NAT's, for phones behind one).
    pub fn source(&self) -> SocketAddr {
        self.source
    }

    /// The transport it came on.
    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// Sends a response through the transaction: Via, From, To, Call-ID and
    /// CSeq are copied from the request, a To tag is added to final
    /// responses, and the stack retransmits it for retransmitted requests.
    /// `extra` headers are appended as given (e.g. `WWW-Authenticate`).
    pub async fn reply(&mut self, status: u16, reason: &str, extra: &[(&str, &str)]) -> Result<(), ReplyError> {
        self.reply_with_body(status, reason, extra, None).await
    }

    /// [`Incoming::reply`] with a body (its Content-Type among `extra`).
    pub async fn reply_with_body(
        &mut self,
        status: u16,
        reason: &str,
        extra: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<(), ReplyError> {
        if status >= 200 {
            let stack_err = |e: rsipstack::Error| ReplyError::Transaction(e.to_string());
            let to = self.tx.original.to_header().map_err(|e| stack_err(e.into()))?;
            if to.tag().map_err(|e| stack_err(e.into()))?.is_none() {
                let tagged = to.clone().with_tag(rsipstack::transaction::make_tag());
                self.tx.original.headers.unique_push(tagged.into());
            }
        }
        let resp = build_response(&self.tx.endpoint_inner, &self.tx.original, status, reason, extra, body)?;
        self.tx.respond(resp).await.map_err(|e| ReplyError::Transaction(e.to_string()))
    }

    /// Keeps an INVITE's transaction open for a call: provisional and
    /// final responses with bodies, then CANCEL or the ACK of our 2xx.
    pub fn into_server_invite(self) -> ServerInvite {
        ServerInvite::start(self.tx)
    }
}

/// A response to `original` (whose To already carries our tag for final
/// responses): Via, From, To, Call-ID and CSeq copied, `extra` appended.
pub(super) fn build_response(
    endpoint: &EndpointInner,
    original: &rsipstack::sip::Request,
    status: u16,
    reason: &str,
    extra: &[(&str, &str)],
    body: Option<Vec<u8>>,
) -> Result<rsipstack::sip::Response, ReplyError> {
    if !(100..=699).contains(&status) {
        return Err(ReplyError::InvalidStatus(status));
    }
    let bad = |s: &str| s.contains(['\r', '\n']);
    if bad(reason) || extra.iter().any(|(n, v)| n.trim().is_empty() || bad(n) || bad(v)) {
        return Err(ReplyError::InvalidText);
    }
    let mut code = rsipstack::sip::StatusCode::from(status);
    // The stack writes the standard phrase of a known code; ours goes
    // on the wire only as an `Other` code (`wire_reason` is never sent).
    if !reason.is_empty() && code.text() != reason {
        code = rsipstack::sip::StatusCode::Other(status, reason.to_string());
    }
    let mut resp = endpoint.make_response(original, code, body);
    for (name, value) in extra {
        resp.headers.push(make_header(name.trim(), value.to_string()));
    }
    Ok(resp)
}
