//! Dialog state of the B2BUA: the live dialogs by (Call-ID, our tag), so
//! an in-dialog request finds its call, and one side of a confirmed
//! dialog as we send requests into it.

use super::plan::Contact;
use sip::endpoint::{Client, Incoming, Method, Outgoing, Response, Transport};
use sip::message::{self, Headers};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use tokio::sync::mpsc;

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

    pub(super) fn insert(&self, call_id: &str, tag: &str, tx: mpsc::UnboundedSender<Incoming>) {
        self.map.lock().expect("dialogs lock").insert((call_id.to_owned(), tag.to_owned()), tx);
    }

    pub(super) fn remove(&self, call_id: &str, tag: &str) {
        self.map.lock().expect("dialogs lock").remove(&(call_id.to_owned(), tag.to_owned()));
    }
}

/// (Call-ID, To tag) of a request inside a dialog; the To tag is ours.
fn dialog_key(h: &Headers) -> Option<(String, String)> {
    let call_id = h.get("Call-ID")?.trim().to_owned();
    let tag = message::to(h).ok()?.tag()?.to_owned();
    Some((call_id, tag))
}

/// One side of a confirmed dialog, as we send requests into it.
pub(super) struct Leg {
    pub call_id: String,
    /// Our From (with our tag) / their To-URI view, as header values.
    pub local: String,
    pub remote: String,
    pub target: String,
    pub route: Vec<String>,
    pub dest: SocketAddr,
    pub transport: Transport,
    /// Our Contact in requests on this leg.
    pub contact: String,
    pub cseq: u32,
    /// Where this leg sends media when the relay anchors it.
    pub media: Option<SocketAddr>,
}

impl Leg {
    /// Leg B as the 2xx `r` to one of our INVITEs set it up: the INVITE
    /// went to `target` from our address `local`, with `cseq`.
    pub fn answered(call_id: String, (target, local, cseq): (&Contact, SocketAddr, u32), r: &Response, media: Option<SocketAddr>) -> Leg {
        Leg {
            call_id,
            local: r.headers.get("From").unwrap_or_default().to_owned(),
            remote: r.headers.get("To").unwrap_or_default().to_owned(),
            target: first_contact(&r.headers).unwrap_or_else(|| target.uri.clone()),
            route: r.headers.get_all("Record-Route").map(str::to_owned).collect::<Vec<_>>().into_iter().rev().collect(),
            dest: target.source,
            transport: target.transport,
            contact: contact_at(local, target.transport),
            cseq,
            media,
        }
    }

    pub fn request(&mut self, method: Method, extra: &[(String, String)], body: Vec<u8>) -> Outgoing {
        self.cseq += 1;
        let mut headers = vec![
            ("From".to_owned(), self.local.clone()),
            ("To".to_owned(), self.remote.clone()),
            ("Call-ID".to_owned(), self.call_id.clone()),
            ("CSeq".to_owned(), format!("{} {}", self.cseq, method.as_str())),
            ("Contact".to_owned(), self.contact.clone()),
        ];
        headers.extend(self.route.iter().map(|r| ("Route".to_owned(), r.clone())));
        headers.extend(extra.iter().cloned());
        Outgoing { method, uri: self.target.clone(), headers, body, branch: None }
    }

    /// The ACK of this leg's INVITE 2xx, when we send it ourselves (a late
    /// offer's answer in `sdp`): the INVITE's CSeq number (RFC 3261 §13.2.2.4).
    pub fn ack(&self, sdp: Vec<u8>) -> Outgoing {
        let mut headers = vec![
            ("From".to_owned(), self.local.clone()),
            ("To".to_owned(), self.remote.clone()),
            ("Call-ID".to_owned(), self.call_id.clone()),
            ("CSeq".to_owned(), format!("{} ACK", self.cseq)),
        ];
        headers.extend(self.route.iter().map(|r| ("Route".to_owned(), r.clone())));
        if !sdp.is_empty() {
            headers.push(("Content-Type".to_owned(), "application/sdp".to_owned()));
        }
        Outgoing { method: Method::Ack, uri: self.target.clone(), headers, body: sdp, branch: None }
    }
}

/// Our Contact for a leg we reach from `local` (see `Client::local_addr`,
/// asked once per leg: with a wildcard listen address it costs a socket).
pub(super) fn contact_at(local: SocketAddr, transport: Transport) -> String {
    match transport {
        Transport::Udp => format!("<sip:switchboard@{local}>"),
        Transport::Tcp => format!("<sip:switchboard@{local};transport=tcp>"),
        Transport::Tls => format!("<sip:switchboard@{local};transport=tls>"),
    }
}

/// The remote target of a dialog: the first Contact URI.
pub(super) fn first_contact(h: &Headers) -> Option<String> {
    match message::contacts(h).ok()? {
        message::Contacts::List(l) => l.into_iter().next().map(|c| c.uri),
        _ => None,
    }
}

/// Sends BYE; its transaction runs on without the call (which is over).
pub(super) async fn bye(client: &Client, leg: &mut Leg) {
    let req = leg.request(Method::Bye, &[], Vec::new());
    match client.request(req, leg.dest, leg.transport).await {
        Ok(mut tx) => {
            tokio::spawn(async move { while tx.next().await.is_some() {} });
        }
        Err(e) => tracing::debug!(error = %e, "could not send BYE"),
    }
}
