//! The SIP server endpoint: UDP and TCP on one address (and TLS on
//! another, see [`tls`]), rsipstack's transaction layer, and incoming
//! requests handed out as [`Incoming`].
//!
//! We read the sockets ourselves and feed parsed messages to rsipstack's
//! endpoint, because its own transports drop whatever its parser refuses —
//! unknown methods and malformed requests — without a word. Those we answer
//! statelessly (501 / 400, see [`wire`]); everything else runs through the
//! stack's transactions (retransmissions, timers, ACK, CANCEL).

use std::net::SocketAddr;
use std::sync::Arc;

use rsipstack::sip::headers::make_header;
use rsipstack::sip::prelude::HeadersExt;
use rsipstack::sip::ToTypedHeader;
use rsipstack::sip::{Header, SipMessage};
use rsipstack::transaction::endpoint::EndpointInner;
use rsipstack::transaction::key::{TransactionKey, TransactionRole};
use rsipstack::transaction::{Transaction, TransactionReceiver};
use rsipstack::transport::tcp::TcpConnection;
use rsipstack::transport::udp::UdpConnection;
use rsipstack::transport::{SipAddr, SipConnection, TransportLayer};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::message::Headers;

mod client;
mod tls;
pub(crate) mod wire;

pub use client::{random_token, Client, ClientTx, InviteEvent, Outgoing, Response, SendError, ServerInvite};
pub use tls::{TlsError, TlsListen, TlsOptions};

/// Carries the source of a request from our reader to [`Incoming`]:
/// rsipstack's UDP connection has no public way to set the peer address.
/// Responses never copy it (the stack copies only Via/From/To/Call-ID/CSeq)
/// and a copy sent by a peer is removed before ours is added.
const SOURCE_HEADER: &str = "X-Switchboard-Source";

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    /// A socket could not be bound or read back.
    #[error("cannot bind SIP listener on {addr}: {source}")]
    Io {
        /// The address we tried.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The SIP stack refused its setup.
    #[error("SIP stack setup failed: {0}")]
    Stack(String),
}

/// Why a reply could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum ReplyError {
    /// Status outside 100–699.
    #[error("invalid status code {0}")]
    InvalidStatus(u16),
    /// A reason phrase, header name or value would break the message framing.
    #[error("header or reason phrase contains CR, LF or an empty name")]
    InvalidText,
    /// The transaction refused (e.g. a second final response) or the send failed.
    #[error("transaction error: {0}")]
    Transaction(String),
}

/// SIP methods the stack understands; others never reach [`Incoming`]
/// (they are answered 501).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Ack,
    Bye,
    Cancel,
    Info,
    Invite,
    Message,
    Notify,
    Options,
    Prack,
    Publish,
    Refer,
    Register,
    Subscribe,
    Update,
}

impl Method {
    fn from_stack(m: rsipstack::sip::Method) -> Self {
        use rsipstack::sip::Method as M;
        match m {
            M::Ack => Self::Ack,
            M::Bye => Self::Bye,
            M::Cancel => Self::Cancel,
            M::Info => Self::Info,
            M::Invite => Self::Invite,
            M::Message => Self::Message,
            M::Notify => Self::Notify,
            M::Options => Self::Options,
            M::PRack => Self::Prack,
            M::Publish => Self::Publish,
            M::Refer => Self::Refer,
            M::Register => Self::Register,
            M::Subscribe => Self::Subscribe,
            M::Update => Self::Update,
        }
    }

    /// The method name as on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ack => "ACK",
            Self::Bye => "BYE",
            Self::Cancel => "CANCEL",
            Self::Info => "INFO",
            Self::Invite => "INVITE",
            Self::Message => "MESSAGE",
            Self::Notify => "NOTIFY",
            Self::Options => "OPTIONS",
            Self::Prack => "PRACK",
            Self::Publish => "PUBLISH",
            Self::Refer => "REFER",
            Self::Register => "REGISTER",
            Self::Subscribe => "SUBSCRIBE",
            Self::Update => "UPDATE",
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The transport a request arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// Datagrams; the stack retransmits responses as RFC 3261 requires.
    Udp,
    /// One connection per peer; responses go back on it.
    Tcp,
    /// TCP with TLS on top, one connection per peer like TCP.
    Tls,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Udp => "udp",
            Self::Tcp => "tcp",
            Self::Tls => "tls",
        }
    }

    pub(crate) fn stack(self) -> rsipstack::sip::Transport {
        match self {
            Self::Udp => rsipstack::sip::Transport::Udp,
            Self::Tcp => rsipstack::sip::Transport::Tcp,
            Self::Tls => rsipstack::sip::Transport::Tls,
        }
    }
}

/// Server settings.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Sent as the `User-Agent`/`Server` header of our responses.
    pub user_agent: String,
    /// Cancelling it stops the server, like [`SipServer::shutdown`].
    pub cancel: CancellationToken,
    /// The TLS listener and the trust anchors for TLS peers.
    pub tls: TlsOptions,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            user_agent: concat!("Switchboard/", env!("CARGO_PKG_VERSION")).to_string(),
            cancel: CancellationToken::new(),
            tls: TlsOptions::default(),
        }
    }
}

/// A running SIP server on UDP and TCP.
pub struct SipServer {
    udp_addr: SocketAddr,
    tcp_addr: SocketAddr,
    tls_addr: Option<SocketAddr>,
    client: Client,
    incoming: TransactionReceiver,
    cancel: CancellationToken,
    tasks: JoinSet<()>,
}

/// Shared by the socket readers.
pub(crate) struct Feeder {
    endpoint: Arc<EndpointInner>,
    user_agent: String,
}

impl SipServer {
    /// Binds UDP and TCP on `listen` (port 0 picks one free port for both),
    /// and TLS where `opts.tls` says, and starts serving.
    pub async fn bind(listen: SocketAddr, opts: ServerOptions) -> Result<SipServer, BindError> {
        // rustls needs a process-wide provider; another caller may have set one.
        let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
        let tls = match &opts.tls.listen {
            Some(l) => {
                let acceptor = tls::acceptor(l).map_err(|e| BindError::Stack(e.to_string()))?;
                let listener = TcpListener::bind(l.addr).await.map_err(|source| BindError::Io { addr: l.addr, source })?;
                Some((listener, acceptor))
            }
            None => None,
        };
        let (udp, tcp) = bind_pair(listen).await?;
        let io = |addr| move |source| BindError::Io { addr, source };
        let udp_addr = udp.local_addr().map_err(io(listen))?;
        let tcp_addr = tcp.local_addr().map_err(io(listen))?;
        let tls_addr = match &tls {
            Some((l, _)) => Some(l.local_addr().map_err(io(listen))?),
            None => None,
        };
        let cancel = opts.cancel.clone();

        let endpoint = rsipstack::EndpointBuilder::new()
            .with_user_agent(&opts.user_agent)
            .with_transport_layer(TransportLayer::new(cancel.child_token()))
            .with_cancel_token(cancel.child_token())
            .build();
        let incoming = endpoint.incoming_transactions().map_err(|e| BindError::Stack(e.to_string()))?;
        let udp = Arc::new(udp);
        let udp_conn =
            UdpConnection::from_socket(udp.clone(), None, Some(cancel.child_token())).await.map_err(|e| BindError::Stack(e.to_string()))?;
        let feeder = Arc::new(Feeder { endpoint: endpoint.inner.clone(), user_agent: opts.user_agent.clone() });
        let conns = client::Connections::default();
        let client = Client {
            endpoint: endpoint.inner.clone(),
            udp: udp_conn.clone(),
            conns: conns.clone(),
            udp_addr,
            tcp_addr,
            tls_addr,
            ca_pem: opts.tls.ca_pem.clone().map(Arc::from),
            feeder: feeder.clone(),
            cancel: cancel.child_token(),
        };

        let mut tasks = JoinSet::new();
        let inner = endpoint.inner.clone();
        tasks.spawn(async move {
            if let Err(e) = inner.serve().await {
                warn!(error = %e, "SIP endpoint stopped");
            }
        });
        tasks.spawn(udp_loop(udp, udp_conn, feeder.clone(), cancel.clone()));
        if let (Some((listener, acceptor)), Some(addr)) = (tls, tls_addr) {
            tasks.spawn(tls::accept_loop(listener, acceptor, addr, feeder.clone(), conns.clone(), cancel.clone()));
        }
        tasks.spawn(tcp_accept_loop(tcp, tcp_addr, feeder, conns, cancel.clone()));
        Ok(SipServer { udp_addr, tcp_addr, tls_addr, client, incoming, cancel, tasks })
    }

    /// The bound UDP address.
    pub fn udp_addr(&self) -> SocketAddr {
        self.udp_addr
    }

    /// The bound TCP address.
    pub fn tcp_addr(&self) -> SocketAddr {
        self.tcp_addr
    }

    /// The bound TLS address, when TLS is on.
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.tls_addr
    }

    /// Sends requests from this server's sockets.
    pub fn client(&self) -> Client {
        self.client.clone()
    }

    /// A token that stops the server when cancelled.
    pub fn cancel_token(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// The next new request; `None` once the server is shut down.
    /// Retransmissions and ACKs of non-2xx responses are absorbed by the
    /// transaction layer and never show up here.
    pub async fn accept(&mut self) -> Option<Incoming> {
        loop {
            let tx = tokio::select! {
                _ = self.cancel.cancelled() => return None,
                tx = self.incoming.recv() => tx?,
            };
            match Incoming::new(tx) {
                Some(incoming) => return Some(incoming),
                None => debug!("dropped a transaction without our source header"),
            }
        }
    }

    /// Stops reading, cancels the stack and waits for its tasks.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        while self.tasks.join_next().await.is_some() {}
    }
}

/// Binds UDP then TCP on the same port; with port 0 the UDP port may be
/// taken for TCP, so try a few times.
async fn bind_pair(listen: SocketAddr) -> Result<(UdpSocket, TcpListener), BindError> {
    let io = |addr| move |source| BindError::Io { addr, source };
    let mut last_err = None;
    for _ in 0..8 {
        let udp = bind_udp(listen).map_err(io(listen))?;
        let port = udp.local_addr().map_err(io(listen))?.port();
        let tcp_at = SocketAddr::new(listen.ip(), port);
        match TcpListener::bind(tcp_at).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(e) if listen.port() == 0 => last_err = Some((tcp_at, e)),
            Err(e) => return Err(io(tcp_at)(e)),
        }
    }
    let (addr, source) = last_err.unwrap_or_else(|| (listen, std::io::ErrorKind::AddrInUse.into()));
    Err(BindError::Io { addr, source })
}

/// The UDP receive buffer we ask for: a burst of REGISTERs or INVITEs
/// must wait in the kernel rather than be dropped (the OS default, ~200 KB,
/// overflowed at 12,000 registrations/s in bench/register.sh). The kernel
/// caps it at net.core.rmem_max.
const UDP_RECV_BUFFER: usize = 4 << 20;

fn bind_udp(listen: SocketAddr) -> std::io::Result<UdpSocket> {
    let socket = socket2::Socket::new(socket2::Domain::for_address(listen), socket2::Type::DGRAM, Some(socket2::Protocol::UDP))?;
    if let Err(e) = socket.set_recv_buffer_size(UDP_RECV_BUFFER) {
        warn!(error = %e, "could not enlarge the UDP receive buffer");
    }
    socket.set_nonblocking(true)?;
    socket.bind(&listen.into())?;
    UdpSocket::from_std(socket.into())
}

async fn udp_loop(socket: Arc<UdpSocket>, conn: UdpConnection, feeder: Arc<Feeder>, cancel: CancellationToken) {
    let mut buf = vec![0u8; wire::MAX_MESSAGE];
    loop {
        let (len, src) = tokio::select! {
            _ = cancel.cancelled() => return,
            r = socket.recv_from(&mut buf) => match r {
                Ok(r) => r,
                Err(e) => {
                    // ICMP port-unreachable from an earlier send shows up here.
                    debug!(error = %e, "UDP receive error");
                    continue;
                }
            },
        };
        let packet = &buf[..len];
        if packet == b"\r\n\r\n" {
            socket.send_to(b"\r\n", src).await.ok();
            continue;
        }
        if packet.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let answer = feeder.feed(packet, src, SipConnection::Udp(conn.clone()), Transport::Udp).await;
        if let Some(bytes) = answer {
            let target = wire::udp_reply_target(packet, src);
            if let Err(e) = socket.send_to(&bytes, target).await {
                debug!(error = %e, %target, "UDP send of stateless reply failed");
            }
        }
    }
}

async fn tcp_accept_loop(
    listener: TcpListener,
    local: SocketAddr,
    feeder: Arc<Feeder>,
    registry: client::Connections,
    cancel: CancellationToken,
) {
    let local = SipAddr { r#type: Some(rsipstack::sip::Transport::Tcp), addr: local.into() };
    accept_connections(listener, Transport::Tcp, cancel.clone(), move |stream, peer| {
        let (local, feeder, registry, cancel) = (local.clone(), feeder.clone(), registry.clone(), cancel.clone());
        async move {
            let conn = match TcpConnection::from_stream(stream, local, Some(cancel.child_token())) {
                Ok(conn) => conn,
                Err(e) => return debug!(error = %e, %peer, "TCP connection setup failed"),
            };
            registry.insert(Transport::Tcp, peer, SipConnection::Tcp(conn.clone()));
            tcp_conn_loop(conn, peer, feeder, cancel).await;
            registry.remove(Transport::Tcp, peer);
        }
    })
    .await;
}

/// Accepts connections until cancelled and serves each in its own task
/// (TCP's and TLS's listeners alike).
pub(crate) async fn accept_connections<F, Fut>(listener: TcpListener, transport: Transport, cancel: CancellationToken, serve: F)
where
    F: Fn(tokio::net::TcpStream, SocketAddr) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let mut conns = JoinSet::new();
    loop {
        let (stream, peer) = tokio::select! {
            _ = cancel.cancelled() => break,
            r = listener.accept() => match r {
                Ok(r) => r,
                Err(e) => {
                    debug!(error = %e, transport = transport.as_str(), "accept failed");
                    continue;
                }
            },
            // Reap finished connections so the set does not grow.
            Some(_) = conns.join_next(), if !conns.is_empty() => continue,
        };
        conns.spawn(serve(stream, peer));
    }
    conns.shutdown().await;
}

async fn tcp_conn_loop(conn: TcpConnection, peer: SocketAddr, feeder: Arc<Feeder>, cancel: CancellationToken) {
    // We read; rsipstack only writes (responses go out on this connection).
    let Some(mut reader) = conn.inner.read_half.lock().await.take() else {
        return;
    };
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 8192];
    loop {
        let n = tokio::select! {
            _ = cancel.cancelled() => break,
            r = reader.read(&mut chunk) => match r {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            },
        };
        buf.extend_from_slice(&chunk[..n]);
        loop {
            match wire::take_frame(&mut buf) {
                wire::Frame::Incomplete => break,
                wire::Frame::Keepalive { ping } => {
                    if ping && conn.inner.send_raw(b"\r\n").await.is_err() {
                        return;
                    }
                }
                wire::Frame::Broken => {
                    debug!(%peer, "unframeable TCP stream, closing");
                    conn.inner.close().await.ok();
                    return;
                }
                wire::Frame::Message(msg) => {
                    let answer = feeder.feed(&msg, peer, SipConnection::Tcp(conn.clone()), Transport::Tcp).await;
                    if let Some(bytes) = answer {
                        if conn.inner.send_raw(&bytes).await.is_err() {
                            return;
                        }
                    }
                }
            }
        }
    }
    conn.inner.close().await.ok();
}

impl Feeder {
    /// Hands one message to the stack; returns a stateless reply to send
    /// when we answer it ourselves (400 or 501).
    async fn feed(&self, raw: &[u8], src: SocketAddr, conn: SipConnection, transport: Transport) -> Option<Vec<u8>> {
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
    async fn feed_message(
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
    fn new(tx: Transaction) -> Option<Self> {
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
fn build_response(
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

/// A request's header fields as we hand them out, and the source our
/// reader tagged it with (the tag itself is not among the fields).
fn read_headers(req: &rsipstack::sip::Request) -> (Headers, Option<(Transport, SocketAddr)>) {
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

/// Splits a byte stream into messages as our TCP reader does; for the fuzz
/// target.
#[doc(hidden)]
pub fn frames_untrusted(stream: &[u8]) -> Vec<Vec<u8>> {
    let mut buf = stream.to_vec();
    let mut out = Vec::new();
    loop {
        match wire::take_frame(&mut buf) {
            wire::Frame::Message(m) => out.push(m),
            wire::Frame::Keepalive { .. } => {}
            wire::Frame::Incomplete | wire::Frame::Broken => return out,
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
