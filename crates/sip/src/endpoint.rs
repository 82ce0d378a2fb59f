//! The SIP server endpoint: UDP and TCP on one address (and TLS on
//! another, see [`tls`]), rsipstack's transaction layer, and incoming
//! requests handed out as [`Incoming`].
//!
//! We read the sockets ourselves and feed parsed messages to rsipstack's
//! endpoint, because its own transports drop whatever its parser refuses —
//! unknown methods and malformed requests — without a word. Those we answer
//! statelessly (501 / 400, see [`wire`]); everything else runs through the
//! stack's transactions (retransmissions, timers, ACK, CANCEL).
//!
//! This file holds the public types and the server's start-up. The UDP
//! and TCP sockets are read in `sockets` (TLS in `tls`), within the
//! connection limits and idle timeouts of `limits`; every message
//! passes through `feeder` on its way to the stack, a new request comes
//! out as an [`Incoming`] (`incoming`), and what we send ourselves leaves
//! through `client`.

use std::net::SocketAddr;
use std::sync::Arc;

use rsipstack::transaction::TransactionReceiver;
use rsipstack::transport::udp::UdpConnection;
use rsipstack::transport::TransportLayer;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

mod ack;
mod client;
mod feeder;
mod incoming;
mod limits;
mod signature;
mod sockets;
mod tls;
pub(crate) mod wire;

pub use client::{random_token, Client, ClientTx, InviteEvent, Outgoing, Response, SendError, ServerInvite};
#[doc(hidden)]
pub use feeder::inspect_untrusted;
pub use incoming::Incoming;
pub use limits::{ConnectionLimits, DEFAULT_MAX_CONNECTIONS};
pub use signature::ServerHeader;
#[doc(hidden)]
pub use sockets::frames_untrusted;
pub use tls::{TlsError, TlsListen, TlsOptions};

use feeder::Feeder;
use sockets::{bind_pair, tcp_accept_loop, udp_loop};

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
    /// The `Server` header of our responses and `User-Agent` of our
    /// requests: none by default; the handle changes it while we run.
    pub server_header: ServerHeader,
    /// Cancelling it stops the server, like [`SipServer::shutdown`].
    pub cancel: CancellationToken,
    /// The TLS listener and the trust anchors for TLS peers.
    pub tls: TlsOptions,
    /// How many TCP/TLS connections we accept and how long quiet ones live.
    pub connections: ConnectionLimits,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            server_header: ServerHeader::default(),
            cancel: CancellationToken::new(),
            tls: TlsOptions::default(),
            connections: ConnectionLimits::default(),
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
            // Empty: `signature::Signer` takes the stack's stamp off
            // every message and puts the operator's text, if any.
            .with_user_agent("")
            .with_inspector(Box::new(signature::Signer(opts.server_header.clone())))
            .with_transport_layer(TransportLayer::new(cancel.child_token()))
            .with_cancel_token(cancel.child_token())
            .build();
        let incoming = endpoint.incoming_transactions().map_err(|e| BindError::Stack(e.to_string()))?;
        let udp = Arc::new(udp);
        let udp_conn =
            UdpConnection::from_socket(udp.clone(), None, Some(cancel.child_token())).await.map_err(|e| BindError::Stack(e.to_string()))?;
        let feeder =
            Arc::new(Feeder { endpoint: endpoint.inner.clone(), server_header: opts.server_header.clone(), acks: Default::default() });
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
            limits: opts.connections.clone(),
            public_ip: Arc::default(),
        };
        let admission = limits::Admission::new(&opts.connections);
        debug!(per_source = opts.connections.per_source, max = admission.max(), "TCP/TLS connection limits");

        let mut tasks = JoinSet::new();
        let inner = endpoint.inner.clone();
        tasks.spawn(async move {
            if let Err(e) = inner.serve().await {
                warn!(error = %e, "SIP endpoint stopped");
            }
        });
        tasks.spawn(udp_loop(udp, udp_conn, feeder.clone(), cancel.clone()));
        if let (Some((listener, acceptor)), Some(addr)) = (tls, tls_addr) {
            tasks.spawn(tls::accept_loop(listener, acceptor, addr, feeder.clone(), conns.clone(), admission.clone(), cancel.clone()));
        }
        tasks.spawn(tcp_accept_loop(tcp, tcp_addr, feeder, conns, admission, cancel.clone()));
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
