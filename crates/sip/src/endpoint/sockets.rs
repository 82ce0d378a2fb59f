//! The sockets we read ourselves: UDP and TCP bound on one port, the UDP
//! receive loop, and the TCP listener and connection reader (also used
//! for TCP connections we open). TLS has its own reader in [`super::tls`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rsipstack::transport::tcp::TcpConnection;
use rsipstack::transport::udp::UdpConnection;
use rsipstack::transport::{SipAddr, SipConnection};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::feeder::Feeder;
use super::limits::{pauses, Admission, Backoff, Idle, Refusal, Throttle};
use super::{client, wire, BindError, Transport};

/// Binds UDP then TCP on the same port; with port 0 the UDP port may be
/// taken for TCP, so try a few times.
pub(super) async fn bind_pair(listen: SocketAddr) -> Result<(UdpSocket, TcpListener), BindError> {
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

pub(super) async fn udp_loop(socket: Arc<UdpSocket>, conn: UdpConnection, feeder: Arc<Feeder>, cancel: CancellationToken) {
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

pub(super) async fn tcp_accept_loop(
    listener: TcpListener,
    local: SocketAddr,
    feeder: Arc<Feeder>,
    registry: client::Connections,
    admission: Admission,
    cancel: CancellationToken,
) {
    let local = SipAddr { r#type: Some(rsipstack::sip::Transport::Tcp), addr: local.into() };
    let limits = admission.limits().clone();
    accept_connections(listener, Transport::Tcp, admission, cancel.clone(), move |stream, peer| {
        let (local, feeder, registry, cancel) = (local.clone(), feeder.clone(), registry.clone(), cancel.clone());
        let idle = Idle::new(&limits);
        async move {
            let conn = match TcpConnection::from_stream(stream, local, Some(cancel.child_token())) {
                Ok(conn) => conn,
                Err(e) => return debug!(error = %e, %peer, "TCP connection setup failed"),
            };
            registry.insert(Transport::Tcp, peer, SipConnection::Tcp(conn.clone()));
            tcp_conn_loop(conn, peer, feeder, idle, cancel).await;
            registry.remove(Transport::Tcp, peer);
        }
    })
    .await;
}

/// Accepts connections until cancelled and serves each admitted one in
/// its own task (TCP's and TLS's listeners alike); one over the limits is
/// closed at once, without a reply.
pub(crate) async fn accept_connections<F, Fut>(
    listener: TcpListener,
    transport: Transport,
    admission: Admission,
    cancel: CancellationToken,
    serve: F,
) where
    F: Fn(tokio::net::TcpStream, SocketAddr) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let mut conns = JoinSet::new();
    let (mut backoff, mut failures, mut refusals) = (Backoff::default(), Throttle::default(), Throttle::default());
    let mut paused_until: Option<tokio::time::Instant> = None;
    loop {
        let (stream, peer) = tokio::select! {
            _ = cancel.cancelled() => break,
            // Reap finished connections so the set does not grow.
            Some(_) = conns.join_next(), if !conns.is_empty() => continue,
            _ = tokio::time::sleep_until(paused_until.unwrap_or_else(tokio::time::Instant::now)), if paused_until.is_some() => {
                paused_until = None;
                continue;
            }
            r = listener.accept(), if paused_until.is_none() => match r {
                Ok(r) => {
                    backoff.succeeded();
                    r
                }
                Err(e) => {
                    // EMFILE and the like leave the connection in the
                    // backlog, the listener readable: retrying at once spins.
                    let pause = if pauses(&e) { backoff.failed() } else { Duration::ZERO };
                    if !pause.is_zero() {
                        paused_until = Some(tokio::time::Instant::now() + pause);
                    }
                    if let Some(held_back) = failures.ready() {
                        warn!(error = %e, transport = transport.as_str(), held_back, pause_ms = pause.as_millis() as u64, "accept failed");
                    }
                    continue;
                }
            },
        };
        match admission.admit(peer.ip()) {
            Ok(permit) => {
                let served = serve(stream, peer);
                conns.spawn(async move {
                    served.await;
                    drop(permit);
                });
            }
            Err(refusal) => {
                drop(stream);
                if let Some(held_back) = refusals.ready() {
                    let limit = match refusal {
                        Refusal::Source => "per-source connection limit",
                        Refusal::Total => "connection limit",
                    };
                    warn!(%peer, transport = transport.as_str(), held_back, max = admission.max(), "{limit} reached, connection closed");
                }
            }
        }
    }
    conns.shutdown().await;
}

/// Reads a TCP connection (accepted, or opened by us) and feeds its
/// messages to the stack until it closes or falls silent (see [`Idle`]).
pub(super) async fn tcp_conn_loop(conn: TcpConnection, peer: SocketAddr, feeder: Arc<Feeder>, mut idle: Idle, cancel: CancellationToken) {
    // We read; rsipstack only writes (responses go out on this connection).
    let Some(mut reader) = conn.inner.read_half.lock().await.take() else {
        return;
    };
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 8192];
    let silence = tokio::time::sleep_until(idle.deadline());
    tokio::pin!(silence);
    loop {
        let n = tokio::select! {
            _ = cancel.cancelled() => break,
            _ = &mut silence => {
                debug!(%peer, spoke = idle.spoke(), "silent TCP connection, closing");
                break;
            }
            r = reader.read(&mut chunk) => match r {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            },
        };
        idle.bytes();
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
                    idle.message();
                    let answer = feeder.feed(&msg, peer, SipConnection::Tcp(conn.clone()), Transport::Tcp).await;
                    if let Some(bytes) = answer {
                        if conn.inner.send_raw(&bytes).await.is_err() {
                            return;
                        }
                    }
                }
            }
        }
        silence.as_mut().reset(idle.deadline());
    }
    conn.inner.close().await.ok();
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
