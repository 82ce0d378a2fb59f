//! SIP over TLS (RFC 3261 §26.2, RFC 5922): our listener for carriers and
//! phones that connect with TLS, and the connections we open to
//! termination gateways whose transport is TLS.
//!
//! The handshakes and the record layer are rustls' (through tokio-rustls);
//! the SIP connection on top is rsipstack's `TlsConnection`, whose framing
//! reader feeds us parsed messages. Unlike our TCP reader it cannot answer
//! a malformed message with 400: it closes the connection instead, which a
//! TLS peer (a carrier or gateway, never a fuzzer on the open Internet
//! without a handshake) should not provoke.

use std::net::SocketAddr;
use std::sync::Arc;

use rsipstack::sip::SipMessage;
use rsipstack::transport::tls::{TlsConfig, TlsConnection};
use rsipstack::transport::{SipAddr, SipConnection, TransportEvent};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tracing::debug;

use super::limits::{Admission, Idle};
use super::{client::Connections, feeder::Feeder, Transport};

/// TLS settings of the server.
#[derive(Clone, Default)]
pub struct TlsOptions {
    /// Trust anchors (PEM) for the certificates of peers we connect to.
    /// Without any, every TLS gateway fails its handshake.
    pub ca_pem: Option<Vec<u8>>,
    /// Where to accept TLS, and with which identity; `None`: no listener.
    pub listen: Option<TlsListen>,
}

impl std::fmt::Debug for TlsOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsOptions").field("ca", &self.ca_pem.is_some()).field("listen", &self.listen.as_ref().map(|l| l.addr)).finish()
    }
}

/// The TLS listener: its address and our certificate chain and key (PEM).
#[derive(Clone)]
pub struct TlsListen {
    pub addr: SocketAddr,
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
}

/// Why the TLS settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("the TLS certificate file holds no PEM certificate")]
    NoCertificate,
    #[error("the TLS key file holds no usable PEM private key: {0}")]
    Key(String),
    #[error("the TLS CA file holds no PEM certificate")]
    NoAnchors,
    #[error("TLS setup: {0}")]
    Rustls(#[from] rustls::Error),
}

impl TlsOptions {
    /// Checks the PEM now, so a bad file stops `serve` at start rather
    /// than failing every call later.
    pub fn validate(&self) -> Result<(), TlsError> {
        if let Some(ca) = &self.ca_pem {
            if CertificateDer::pem_slice_iter(ca).filter_map(Result::ok).next().is_none() {
                return Err(TlsError::NoAnchors);
            }
        }
        if let Some(l) = &self.listen {
            acceptor(l)?;
        }
        Ok(())
    }
}

pub(crate) fn acceptor(listen: &TlsListen) -> Result<TlsAcceptor, TlsError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&listen.cert_pem).filter_map(Result::ok).collect();
    if certs.is_empty() {
        return Err(TlsError::NoCertificate);
    }
    let key = PrivateKeyDer::from_pem_slice(&listen.key_pem).map_err(|e| TlsError::Key(e.to_string()))?;
    let config = rustls::ServerConfig::builder().with_no_client_auth().with_single_cert(certs, key)?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Accepts TLS connections until cancelled; each one is read like a TCP
/// connection and kept for requests to its peer.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    local: SocketAddr,
    feeder: Arc<Feeder>,
    registry: Connections,
    admission: Admission,
    cancel: CancellationToken,
) {
    let limits = admission.limits().clone();
    super::sockets::accept_connections(listener, Transport::Tls, admission, cancel.clone(), move |stream, peer| {
        let (acceptor, feeder, registry, cancel) = (acceptor.clone(), feeder.clone(), registry.clone(), cancel.clone());
        let idle = Idle::new(&limits);
        async move {
            // The handshake counts against the time to the first message:
            // one that never completes must not hold a descriptor for long.
            let handshake = tokio::time::timeout_at(idle.deadline(), acceptor.accept(stream)).await;
            let stream = match handshake {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => return debug!(error = %e, %peer, "TLS handshake failed"),
                Err(_) => return debug!(%peer, "TLS handshake timed out"),
            };
            let conn = match TlsConnection::from_server_stream(stream, sip_addr(local), sip_addr(peer), Some(cancel.child_token())).await {
                Ok(c) => c,
                Err(e) => return debug!(error = %e, %peer, "TLS connection setup failed"),
            };
            registry.insert(Transport::Tls, peer, SipConnection::Tls(conn.clone()));
            read_loop(conn, peer, feeder, idle, cancel).await;
            registry.remove(Transport::Tls, peer);
        }
    })
    .await;
}

/// Opens a TLS connection to `dest`, verifying its certificate against
/// `ca_pem` for `server_name` (the host of the URI we send to, RFC 5922 §4).
pub(crate) async fn connect(
    dest: SocketAddr,
    server_name: &str,
    ca_pem: Option<&[u8]>,
    cancel: CancellationToken,
) -> Result<TlsConnection, String> {
    let config = TlsConfig { ca_certs: ca_pem.map(<[u8]>::to_vec), sni_hostname: Some(server_name.to_owned()), ..TlsConfig::default() };
    let addr = sip_addr(dest);
    let connect = TlsConnection::connect(&addr, Some(&config), None, Some(cancel));
    match tokio::time::timeout(std::time::Duration::from_secs(10), connect).await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(_) => Err("handshake timed out".into()),
    }
}

/// Feeds what arrives on a TLS connection to the stack until it closes
/// or falls silent (see [`Idle`]).
pub(crate) async fn read_loop(conn: TlsConnection, peer: SocketAddr, feeder: Arc<Feeder>, mut idle: Idle, cancel: CancellationToken) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let sip_conn = SipConnection::Tls(conn.clone());
    let reader = sip_conn.clone();
    // rsipstack's reader answers CRLF pings and sees every byte, so it
    // keeps the idle timeout once a message has come; the time to that
    // first message is ours to keep.
    let idle_timeout = idle.idle_timeout();
    let mut serve = tokio::spawn(async move { reader.serve_loop(tx, idle_timeout).await });
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = &mut serve => break,
            _ = tokio::time::sleep_until(idle.deadline()), if !idle.spoke() => {
                debug!(%peer, "TLS connection sent no message in time, closing");
                break;
            }
            event = rx.recv() => match event {
                Some(TransportEvent::Incoming(msg, _, _)) => {
                    idle.message();
                    feed(&feeder, msg, peer, &sip_conn).await;
                }
                Some(_) => {}
                None => break,
            },
        }
    }
    // Messages read before the connection closed still count.
    while let Ok(event) = rx.try_recv() {
        if let TransportEvent::Incoming(msg, _, _) = event {
            feed(&feeder, msg, peer, &sip_conn).await;
        }
    }
    serve.abort();
    sip_conn.close().await.ok();
}

async fn feed(feeder: &Feeder, msg: SipMessage, peer: SocketAddr, conn: &SipConnection) {
    if let Some(reply) = feeder.feed_message(msg, None, peer, conn.clone(), Transport::Tls).await {
        if let SipConnection::Tls(c) = conn {
            use rsipstack::transport::stream::StreamConnection;
            c.send_raw(&reply).await.ok();
        }
    }
}

fn sip_addr(addr: SocketAddr) -> SipAddr {
    SipAddr { r#type: Some(rsipstack::sip::Transport::Tls), addr: addr.into() }
}
