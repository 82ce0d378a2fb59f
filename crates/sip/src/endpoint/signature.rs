//! What our messages say about the software that sent them: by default
//! nothing (a version in every response tells a scanner which advisories
//! to try). The operator may set a text, sent as `Server` in responses and
//! `User-Agent` in requests; it can change while we run.
//!
//! rsipstack stamps a `User-Agent` on everything it builds (responses,
//! 100 Trying, ACKs of non-2xx, CANCEL answers), so every message the stack
//! sends passes through [`Signer`], its message inspector, on the way out.

use std::sync::{Arc, RwLock};

use rsipstack::sip::headers::{Server, UserAgent};
use rsipstack::sip::{Header, SipMessage};
use rsipstack::transaction::endpoint::MessageInspector;
use rsipstack::transport::SipAddr;

/// The text our messages carry about us, shared with the running server:
/// [`ServerHeader::set`] takes effect on the next message.
#[derive(Debug, Clone, Default)]
pub struct ServerHeader(Arc<RwLock<Option<Arc<str>>>>);

impl ServerHeader {
    /// Sets the text; empty (or only spaces) means no header at all. A
    /// text with CR or LF, which would break the framing, is refused.
    pub fn set(&self, text: &str) -> bool {
        if text.contains(['\r', '\n']) {
            return false;
        }
        let text = text.trim();
        *self.0.write().expect("server header lock") = (!text.is_empty()).then(|| Arc::from(text));
        true
    }

    /// The text, if any.
    pub fn get(&self) -> Option<Arc<str>> {
        self.0.read().expect("server header lock").clone()
    }
}

/// rsipstack's hook on every message it sends.
pub(super) struct Signer(pub(super) ServerHeader);

impl MessageInspector for Signer {
    fn before_send(&self, msg: SipMessage, _dest: Option<&SipAddr>) -> SipMessage {
        let text = self.0.get();
        match msg {
            SipMessage::Response(mut resp) => {
                // Responses copy no header of the request but Via, From,
                // To, Call-ID and CSeq: any User-Agent or Server is the stack's.
                resp.headers.retain(|h| !matches!(h, Header::UserAgent(_) | Header::Server(_)));
                if let Some(t) = text {
                    resp.headers.push(Header::Server(Server::new(t.to_string())));
                }
                SipMessage::Response(resp)
            }
            SipMessage::Request(mut req) => {
                // The stack's own is the empty one it was built with; one
                // our caller put in stays.
                req.headers.retain(|h| !matches!(h, Header::UserAgent(ua) if ua.value().trim().is_empty()));
                let has = req.headers.iter().any(|h| matches!(h, Header::UserAgent(_)));
                if let (Some(t), false) = (text, has) {
                    req.headers.push(Header::UserAgent(UserAgent::new(t.to_string())));
                }
                SipMessage::Request(req)
            }
        }
    }

    fn after_received(&self, msg: SipMessage, _from: Option<&SipAddr>) -> SipMessage {
        msg
    }
}
