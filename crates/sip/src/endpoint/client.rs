//! Requests we originate (the B2BUA's outgoing legs, CANCEL, BYE, ACK for
//! 2xx) and the server side of an INVITE kept open until it is answered,
//! cancelled and acknowledged. We build request text ourselves and let
//! rsipstack's client transactions retransmit and time it out; responses
//! reach them through our socket readers.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use rsipstack::sip::prelude::HeadersExt;
use rsipstack::sip::{Header, SipMessage};
use rsipstack::transaction::endpoint::EndpointInner;
use rsipstack::transaction::key::{TransactionKey, TransactionRole};
use rsipstack::transaction::transaction::{Transaction, TransactionEvent};
use rsipstack::transport::tcp::TcpConnection;
use rsipstack::transport::udp::UdpConnection;
use rsipstack::transport::{SipAddr, SipConnection};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{Method, ReplyError, Transport};
use crate::message::Headers;

/// Why a request could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("the request we built does not parse: {0}")]
    Build(String),
    #[error("send failed: {0}")]
    Io(String),
}

/// A request to send; Via, Max-Forwards and Content-Length are ours to add.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub method: Method,
    pub uri: String,
    /// In order, e.g. From, To, Call-ID, CSeq, Contact, Route.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The Via branch; a fresh one when `None` (a CANCEL reuses its INVITE's).
    pub branch: Option<String>,
}

/// A response to a request we sent.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    pub headers: Headers,
    pub body: Vec<u8>,
}

/// Open TCP and TLS connections by peer, so requests reach phones that
/// registered over TCP or TLS on the connection they keep open (their NAT
/// allows no other), and gateways on the one we opened.
#[derive(Default, Clone)]
pub(crate) struct Connections(Arc<Mutex<HashMap<(Transport, SocketAddr), SipConnection>>>);

impl Connections {
    pub(crate) fn insert(&self, transport: Transport, peer: SocketAddr, conn: SipConnection) {
        self.0.lock().expect("connection registry lock").insert((transport, peer), conn);
    }

    pub(crate) fn remove(&self, transport: Transport, peer: SocketAddr) {
        self.0.lock().expect("connection registry lock").remove(&(transport, peer));
    }

    fn get(&self, transport: Transport, peer: SocketAddr) -> Option<SipConnection> {
        self.0.lock().expect("connection registry lock").get(&(transport, peer)).cloned()
    }
}

/// Sends requests from the server's own sockets. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    pub(crate) endpoint: Arc<EndpointInner>,
    pub(crate) udp: UdpConnection,
    pub(crate) conns: Connections,
    pub(crate) udp_addr: SocketAddr,
    pub(crate) tcp_addr: SocketAddr,
    pub(crate) tls_addr: Option<SocketAddr>,
    /// Trust anchors for the TLS connections we open.
    pub(crate) ca_pem: Option<Arc<[u8]>>,
    /// Reads what arrives on connections we open ourselves.
    pub(crate) feeder: Arc<super::feeder::Feeder>,
    pub(crate) cancel: CancellationToken,
    /// Connections we open fall silent and close like accepted ones.
    pub(crate) limits: super::ConnectionLimits,
    /// The address peers reach us at when it is not our sockets' (a cloud
    /// VM behind 1:1 NAT): written in every Via and Contact instead.
    pub(crate) public_ip: Arc<std::sync::RwLock<Option<IpAddr>>>,
}

/// A client transaction in flight: its responses, in order.
pub struct ClientTx {
    branch: String,
    responses: mpsc::UnboundedReceiver<Response>,
}

impl ClientTx {
    /// The Via branch (a CANCEL for this INVITE needs it).
    pub fn branch(&self) -> &str {
        &self.branch
    }

    /// The next response; `None` once the transaction is over (after a
    /// final response, or without one when the peer never answered).
    pub async fn next(&mut self) -> Option<Response> {
        self.responses.recv().await
    }
}

impl Client {
    /// Sets (or, with `None`, clears) the public address written in Via
    /// and Contact; ports stay our sockets'.
    pub fn set_public_ip(&self, ip: Option<IpAddr>) {
        // Asked on every call: the write lock only when it changes.
        if *self.public_ip.read().expect("public address lock") != ip {
            *self.public_ip.write().expect("public address lock") = ip;
        }
    }

    /// The address we put in Via and Contact for a peer at `dest` (and in
    /// SDP, for the relay's ports): the public address where one is set.
    pub fn local_addr(&self, transport: Transport, dest: SocketAddr) -> SocketAddr {
        let bound = match transport {
            Transport::Udp => self.udp_addr,
            Transport::Tcp => self.tcp_addr,
            // Connections we open come from an ephemeral port; the listener
            // (or TCP's, without one) is where the peer may reach us anew.
            Transport::Tls => self.tls_addr.unwrap_or(self.tcp_addr),
        };
        if let Some(ip) = *self.public_ip.read().expect("public address lock") {
            return SocketAddr::new(ip, bound.port());
        }
        if !bound.ip().is_unspecified() {
            return bound;
        }
        // Bound to every address: the one the kernel would route from.
        let probe = std::net::UdpSocket::bind((bound.ip(), 0)).and_then(|s| s.connect(dest).and_then(|_| s.local_addr()));
        SocketAddr::new(probe.map(|a| a.ip()).unwrap_or(bound.ip()), bound.port())
    }

    /// The connection to send on: our UDP socket, the TCP or TLS
    /// connection the peer keeps open to us (a phone behind NAT), or a new
    /// one we open (a gateway), kept for later requests and read like
    /// accepted ones. A TLS peer must prove it is the host of `uri`.
    async fn connection(&self, transport: Transport, dest: SocketAddr, uri: &str) -> Result<SipConnection, SendError> {
        if transport == Transport::Udp {
            return Ok(SipConnection::Udp(self.udp.clone()));
        }
        if let Some(conn) = self.conns.get(transport, dest) {
            return Ok(conn);
        }
        let (feeder, cancel, registry) = (self.feeder.clone(), self.cancel.clone(), self.conns.clone());
        let idle = super::limits::Idle::new(&self.limits);
        let conn = if transport == Transport::Tls {
            let name = uri_host(uri).ok_or_else(|| SendError::Build(format!("no host in {uri}")))?;
            let conn = super::tls::connect(dest, name, self.ca_pem.as_deref(), self.cancel.child_token())
                .await
                .map_err(|e| SendError::Io(format!("TLS connect to {name} at {dest}: {e}")))?;
            let reader = conn.clone();
            tokio::spawn(async move {
                super::tls::read_loop(reader, dest, feeder, idle, cancel).await;
                registry.remove(Transport::Tls, dest);
            });
            SipConnection::Tls(conn)
        } else {
            let conn = TcpConnection::connect(&sip_addr(Transport::Tcp, dest), Some(self.cancel.child_token()))
                .await
                .map_err(|e| SendError::Io(format!("TCP connect to {dest}: {e}")))?;
            let reader = conn.clone();
            tokio::spawn(async move {
                super::sockets::tcp_conn_loop(reader, dest, feeder, idle, cancel).await;
                registry.remove(Transport::Tcp, dest);
            });
            SipConnection::Tcp(conn)
        };
        self.conns.insert(transport, dest, conn.clone());
        Ok(conn)
    }

    fn build(&self, req: &Outgoing, dest: SocketAddr, transport: Transport) -> Result<(rsipstack::sip::Request, String), SendError> {
        let branch = req.branch.clone().unwrap_or_else(|| format!("z9hG4bK{}", random_token()));
        let local = self.local_addr(transport, dest);
        let mut text = format!(
            "{} {} SIP/2.0\r\nVia: SIP/2.0/{} {};branch={branch};rport\r\nMax-Forwards: 70\r\n",
            req.method.as_str(),
            req.uri,
            transport.as_str().to_ascii_uppercase(),
            local
        );
        for (name, value) in &req.headers {
            if name.contains(['\r', '\n', ':']) || value.contains(['\r', '\n']) {
                return Err(SendError::Build(format!("header {name:?} breaks the framing")));
            }
            text.push_str(&format!("{name}: {value}\r\n"));
        }
        text.push_str(&format!("Content-Length: {}\r\n\r\n", req.body.len()));
        let mut bytes = text.into_bytes();
        bytes.extend_from_slice(&req.body);
        match SipMessage::try_from(bytes.as_slice()) {
            Ok(SipMessage::Request(r)) => Ok((r, branch)),
            Ok(_) => Err(SendError::Build("not a request".into())),
            Err(e) => Err(SendError::Build(e.to_string())),
        }
    }

    /// Sends `req` to `dest` in a client transaction (retransmitted over
    /// UDP, timed out by Timer B/F).
    pub async fn request(&self, req: Outgoing, dest: SocketAddr, transport: Transport) -> Result<ClientTx, SendError> {
        self.start(req, dest, transport, false).await
    }

    /// Sends an INVITE whose 2xx we acknowledge ourselves with
    /// [`Client::ack`] (the stack does not): after an INVITE without an
    /// offer, the ACK carries our answer (RFC 3261 §13.2.2.4). The 2xx is
    /// the transaction's last response.
    pub async fn invite_acked_by_us(&self, req: Outgoing, dest: SocketAddr, transport: Transport) -> Result<ClientTx, SendError> {
        self.start(req, dest, transport, true).await
    }

    async fn start(&self, req: Outgoing, dest: SocketAddr, transport: Transport, own_ack: bool) -> Result<ClientTx, SendError> {
        let (request, branch) = self.build(&req, dest, transport)?;
        let key = TransactionKey::from_request(&request, TransactionRole::Client).map_err(|e| SendError::Build(e.to_string()))?;
        let connection = self.connection(transport, dest, &req.uri).await?;
        let mut tx = Transaction::new_client(key, request, self.endpoint.clone(), Some(connection));
        tx.destination = Some(sip_addr(transport, dest));
        let (out, responses) = mpsc::unbounded_channel();
        let acks = own_ack.then(|| self.feeder.acks.clone());
        if let Some(acks) = &acks {
            // Before the INVITE leaves: its 2xx may come back at once.
            acks.expect(&branch, out.clone());
        }
        if let Err(e) = tx.send().await {
            if let Some(acks) = &acks {
                acks.transaction_ended(&branch);
            }
            return Err(SendError::Io(e.to_string()));
        }
        let tx_branch = branch.clone();
        tokio::spawn(async move {
            while let Some(msg) = tx.receive().await {
                if let SipMessage::Response(r) = msg {
                    let final_ = r.status_code.code() >= 200;
                    if out.send(response_of(&r)).is_err() || final_ {
                        break;
                    }
                }
            }
            if let Some(acks) = acks {
                acks.transaction_ended(&tx_branch);
            }
        });
        Ok(ClientTx { branch, responses })
    }

    /// Sends the ACK of `answered`, a 2xx to an INVITE sent with
    /// [`Client::invite_acked_by_us`], outside any transaction (RFC 3261
    /// §13.2.2.4: a fresh branch, the INVITE's CSeq number); it goes again
    /// for each retransmission of that 2xx. Errors when no ACK is owed
    /// (any more) for that 2xx.
    pub async fn ack(&self, answered: &Response, ack: Outgoing, dest: SocketAddr, transport: Transport) -> Result<(), SendError> {
        let branch = top_via_branch(&answered.headers).ok_or_else(|| SendError::Build("the 2xx has no Via branch".into()))?;
        let (request, _) = self.build(&ack, dest, transport)?;
        let connection = self.connection(transport, dest, &ack.uri).await?;
        let (msg, to) = (SipMessage::Request(request), sip_addr(transport, dest));
        if !self.feeder.acks.acked(&branch, msg.clone(), to.clone()) {
            return Err(SendError::Build("no ACK is owed for this 2xx".into()));
        }
        connection.send(msg, Some(&to)).await.map_err(|e| SendError::Io(e.to_string()))
    }
}

/// The branch of the first Via in `h`.
fn top_via_branch(h: &Headers) -> Option<String> {
    let via = h.get("Via")?.split(',').next()?;
    via.split(';').skip(1).find_map(|p| {
        let (name, value) = p.split_once('=')?;
        name.trim().eq_ignore_ascii_case("branch").then(|| value.trim().to_owned())
    })
}

impl Client {
    /// Sends a phone behind NAT an OPTIONS over UDP from our listening
    /// socket, outside any transaction: its answer (or the phone's
    /// silence) does not matter, only that the NAT sees traffic between
    /// the phone and the address it registered to, and keeps the mapping
    /// open. The answer reaches the stack as a stray response and is dropped.
    pub async fn keepalive(&self, contact: &str, dest: SocketAddr) -> Result<(), SendError> {
        if contact.contains(['\r', '\n', ' ']) {
            return Err(SendError::Build(format!("contact {contact:?} breaks the framing")));
        }
        let local = self.local_addr(Transport::Udp, dest);
        let host = match local {
            SocketAddr::V4(a) => a.ip().to_string(),
            SocketAddr::V6(a) => format!("[{}]", a.ip()),
        };
        let text = format!(
            "OPTIONS {contact} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK{};rport\r\nMax-Forwards: 70\r\n\
             From: <sip:keepalive@{host}>;tag={}\r\nTo: <{contact}>\r\nCall-ID: {}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
            random_token(),
            random_token(),
            random_token(),
        );
        self.udp.send_raw(text.as_bytes(), &sip_addr(Transport::Udp, dest)).await.map_err(|e| SendError::Io(e.to_string()))
    }
}

fn sip_addr(transport: Transport, addr: SocketAddr) -> SipAddr {
    SipAddr { r#type: Some(transport.stack()), addr: addr.into() }
}

/// The host of a SIP URI (`sip:user@host:port;params`), without brackets.
fn uri_host(uri: &str) -> Option<&str> {
    let rest = uri.split_once(':')?.1;
    let rest = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    let end = rest.find([';', '?']).unwrap_or(rest.len());
    let hostport = &rest[..end];
    let host = match hostport.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => hostport.split(':').next()?,
    };
    Some(host).filter(|h| !h.is_empty())
}

pub(super) fn response_of(r: &rsipstack::sip::Response) -> Response {
    let mut headers = Headers::new();
    for h in r.headers.iter() {
        headers.push(h.name(), h.value());
    }
    Response { status: r.status_code.code(), reason: r.status_code.text().to_owned(), headers, body: r.body.clone() }
}

/// A random token for tags, branches and Call-IDs.
pub fn random_token() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..16).map(|_| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[rng.gen_range(0..36)])).collect()
}

/// What happens to an INVITE we are answering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InviteEvent {
    /// The caller sent CANCEL before our final response (answered 200 by
    /// the stack); we still owe the INVITE its 487.
    Cancelled,
    /// The caller acknowledged our 2xx; the ACK's body (a late offer's answer, or empty).
    Acked(Vec<u8>),
}

/// The server side of an INVITE, kept until it is answered and
/// acknowledged. Responses go out through its transaction.
pub struct ServerInvite {
    original: rsipstack::sip::Request,
    endpoint: Arc<EndpointInner>,
    sender: rsipstack::transaction::transaction::TransactionEventSender,
    events: mpsc::UnboundedReceiver<InviteEvent>,
    local_tag: String,
}

impl ServerInvite {
    pub(crate) fn start(mut tx: Transaction) -> ServerInvite {
        let local_tag = random_token();
        let mut original = tx.original.clone();
        if let Ok(to) = original.to_header() {
            if to.tag().ok().flatten().is_none() {
                let tagged = to.clone().with_tag(local_tag.clone().into());
                original.headers.unique_push(tagged.into());
            }
        }
        let (out, events) = mpsc::unbounded_channel();
        let sender = tx.tu_sender.clone();
        let endpoint = tx.endpoint_inner.clone();
        tokio::spawn(async move {
            while let Some(msg) = tx.receive().await {
                let event = match msg {
                    SipMessage::Request(r) if r.method == rsipstack::sip::Method::Cancel => InviteEvent::Cancelled,
                    SipMessage::Request(r) if r.method == rsipstack::sip::Method::Ack => InviteEvent::Acked(r.body),
                    _ => continue,
                };
                if out.send(event).is_err() {
                    break;
                }
            }
        });
        ServerInvite { original, endpoint, sender, events, local_tag }
    }

    /// Our To tag in this dialog.
    pub fn local_tag(&self) -> &str {
        &self.local_tag
    }

    /// Sends a response; `extra` headers are appended, `body` (with its
    /// Content-Type among `extra`) as given. Record-Route is copied into
    /// responses that can establish the dialog (RFC 3261 §12.1.1).
    pub fn respond(&self, status: u16, reason: &str, extra: &[(&str, &str)], body: Option<Vec<u8>>) -> Result<(), ReplyError> {
        let mut resp = super::incoming::build_response(&self.endpoint, &self.original, status, reason, extra, body)?;
        if (101..300).contains(&status) {
            for h in self.original.headers.iter() {
                if let Header::RecordRoute(_) = h {
                    resp.headers.push(h.clone());
                }
            }
        }
        self.sender.send(TransactionEvent::Respond(resp)).map_err(|_| ReplyError::Transaction("the INVITE transaction ended".into()))
    }

    /// The next thing the caller does; `None` once the transaction ended
    /// (after the ACK of our 2xx, or without it when none came in 64*T1).
    pub async fn event(&mut self) -> Option<InviteEvent> {
        self.events.recv().await
    }
}

#[cfg(test)]
mod tests {
    use super::uri_host;

    #[test]
    fn a_tls_peer_is_named_by_the_uri_host() {
        assert_eq!(uri_host("sip:+3706@gw.example.net:5061;transport=tls"), Some("gw.example.net"));
        assert_eq!(uri_host("sip:gw.example.net"), Some("gw.example.net"));
        assert_eq!(uri_host("sips:a@[2001:db8::1]:5061"), Some("2001:db8::1"));
        assert_eq!(uri_host("sip:a@192.0.2.1?x=y"), Some("192.0.2.1"));
        assert_eq!(uri_host("sip:a@"), None);
        assert_eq!(uri_host("garbage"), None);
    }
}
