//! The media relay (RTP anchoring): each bridged call gets a pair of UDP
//! ports per leg from a configured range (RTP on the even port, RTCP on
//! the next), the SDP each leg sees points at its own pair, and packets are
//! copied across. A peer's address comes from its SDP and is replaced by
//! the source of the first packet it sends (symmetric latching), so phones
//! behind NAT are reached where their packets come from. Ports go back to
//! the pool when the call's relay is dropped. The relay notes when it last
//! heard a packet (RTP or RTCP, either leg): the talk phase hangs up a
//! call whose media has gone silent.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::UdpSocket;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The pool of relay ports, and counters over every relay it made.
pub struct MediaPool {
    /// Where relay sockets bind (may be unspecified: the B2BUA writes the
    /// address each leg reaches us at into that leg's SDP).
    ip: IpAddr,
    range: RangeInclusive<u16>,
    state: Mutex<PoolState>,
    stats: Arc<Stats>,
}

struct PoolState {
    next: u16,
    used: HashSet<u16>,
}

/// Packets relayed, both directions, all calls.
#[derive(Debug, Default)]
pub struct Stats {
    pub a_to_b: AtomicU64,
    pub b_to_a: AtomicU64,
}

/// One side of a relay: the ports a leg sends to, and where that leg is.
struct Side {
    rtp: Arc<UdpSocket>,
    rtcp: Arc<UdpSocket>,
    /// Where the leg's RTP goes (its RTCP: port + 1); `None` until known.
    peer: Arc<Mutex<Option<SocketAddr>>>,
}

/// A call's relay: leg A (caller) and leg B (callee) sides.
pub struct Relay {
    a: Side,
    b: Side,
    ports: Vec<u16>,
    pool: Arc<MediaPool>,
    stop: CancellationToken,
    heard: Arc<Heard>,
}

/// When a relay last received a packet, as milliseconds after its start
/// (an atomic, written by every pipe on every packet).
struct Heard {
    start: Instant,
    after_ms: AtomicU64,
}

impl Heard {
    fn now(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.after_ms.fetch_max(ms, Ordering::Relaxed);
    }
}

impl MediaPool {
    /// `ip` is bound and written into SDP; `range` holds the relay ports.
    pub fn new(ip: IpAddr, range: RangeInclusive<u16>) -> Arc<MediaPool> {
        let start = *range.start() + (*range.start() % 2);
        Arc::new(MediaPool { ip, range, state: Mutex::new(PoolState { next: start, used: HashSet::new() }), stats: Arc::default() })
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Ports in use now.
    pub fn in_use(&self) -> usize {
        self.state.lock().expect("media pool lock").used.len()
    }

    /// An even port whose pair is free in the pool and binds; None when
    /// the range is exhausted.
    fn take_pair(&self) -> Option<(u16, std::net::UdpSocket, std::net::UdpSocket)> {
        let (first, last) = (*self.range.start() + (*self.range.start() % 2), *self.range.end());
        let pairs = usize::from(last.saturating_sub(first) / 2 + 1);
        let mut state = self.state.lock().expect("media pool lock");
        for _ in 0..pairs {
            let port = state.next;
            state.next = if port + 2 > last.saturating_sub(1) { first } else { port + 2 };
            if state.used.contains(&port) {
                continue;
            }
            let (Ok(rtp), Ok(rtcp)) = (std::net::UdpSocket::bind((self.ip, port)), std::net::UdpSocket::bind((self.ip, port + 1))) else {
                continue; // taken by someone else on this host
            };
            state.used.insert(port);
            return Some((port, rtp, rtcp));
        }
        None
    }

    fn release(&self, ports: &[u16]) {
        let mut state = self.state.lock().expect("media pool lock");
        for p in ports {
            state.used.remove(p);
        }
    }

    /// A relay for one call; None when no ports are left.
    pub fn relay(self: &Arc<Self>) -> Option<Relay> {
        let mut ports = Vec::new();
        let mut sides = Vec::new();
        for _ in 0..2 {
            let Some((port, rtp, rtcp)) = self.take_pair() else {
                self.release(&ports);
                return None;
            };
            ports.push(port);
            let to_tokio = |s: std::net::UdpSocket| s.set_nonblocking(true).and_then(|_| UdpSocket::from_std(s));
            let (Ok(rtp), Ok(rtcp)) = (to_tokio(rtp), to_tokio(rtcp)) else {
                self.release(&ports);
                return None;
            };
            sides.push(Side { rtp: Arc::new(rtp), rtcp: Arc::new(rtcp), peer: Arc::default() });
        }
        let b = sides.pop().expect("two sides");
        let a = sides.pop().expect("two sides");
        let heard = Arc::new(Heard { start: Instant::now(), after_ms: AtomicU64::new(0) });
        let relay = Relay { a, b, ports, pool: self.clone(), stop: CancellationToken::new(), heard };
        relay.start(&self.stats);
        Some(relay)
    }
}

impl Relay {
    /// The RTP port leg A sends its media to (what leg A's SDP says).
    pub fn a_port(&self) -> u16 {
        self.ports[0]
    }

    /// The RTP port leg B sends its media to.
    pub fn b_port(&self) -> u16 {
        self.ports[1]
    }

    /// Leg A's media address as its SDP says (until its packets say otherwise).
    pub fn set_a_peer(&self, addr: SocketAddr) {
        self.a.peer.lock().expect("peer lock").get_or_insert(addr);
    }

    pub fn set_b_peer(&self, addr: SocketAddr) {
        self.b.peer.lock().expect("peer lock").get_or_insert(addr);
    }

    /// When the last packet of either leg, RTP or RTCP, arrived (the
    /// relay's start until one does).
    pub fn heard_at(&self) -> Instant {
        self.heard.start + std::time::Duration::from_millis(self.heard.after_ms.load(Ordering::Relaxed))
    }

    fn start(&self, stats: &Arc<Stats>) {
        for rtcp in [false, true] {
            let end = |s: &Side| End { socket: if rtcp { s.rtcp.clone() } else { s.rtp.clone() }, peer: s.peer.clone() };
            let pipe = |from, to, a_to_b| Pipe {
                from,
                to,
                offset: u16::from(rtcp),
                stats: stats.clone(),
                a_to_b,
                stop: self.stop.clone(),
                heard: self.heard.clone(),
            };
            // A's packets arrive on A's socket and leave from B's towards B.
            tokio::spawn(pipe(end(&self.a), end(&self.b), true).run());
            tokio::spawn(pipe(end(&self.b), end(&self.a), false).run());
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.cancel();
        self.pool.release(&self.ports);
    }
}

/// One socket of a side (its RTP or its RTCP) and where that side's leg is.
struct End {
    socket: Arc<UdpSocket>,
    peer: Arc<Mutex<Option<SocketAddr>>>,
}

/// One direction of one socket pair: packets that reach `from.socket`
/// leave `to.socket` for `to.peer`.
struct Pipe {
    /// Its peer is latched from the first RTP packet.
    from: End,
    to: End,
    /// Added to the peer's port: 1 for RTCP.
    offset: u16,
    stats: Arc<Stats>,
    /// Which counter of `stats` it adds to (RTP only).
    a_to_b: bool,
    stop: CancellationToken,
    heard: Arc<Heard>,
}

impl Pipe {
    /// Copies packets until the relay is dropped.
    async fn run(self) {
        let Pipe { from, to, offset, stats, a_to_b, stop, heard } = self;
        let mut buf = vec![0u8; 2048];
        let mut latched = false;
        loop {
            let (n, src) = tokio::select! {
                _ = stop.cancelled() => return,
                r = from.socket.recv_from(&mut buf) => match r {
                    Ok(r) => r,
                    Err(_) => continue,
                },
            };
            // Any packet is life, even one with nowhere to go yet.
            heard.now();
            if !latched && offset == 0 {
                // Symmetric latching: the leg is where its RTP comes from.
                *from.peer.lock().expect("peer lock") = Some(src);
                latched = true;
            }
            let Some(dest) = *to.peer.lock().expect("peer lock") else { continue };
            let dest = SocketAddr::new(dest.ip(), dest.port() + offset);
            if to.socket.send_to(&buf[..n], dest).await.is_ok() && offset == 0 {
                let counter = if a_to_b { &stats.a_to_b } else { &stats.b_to_a };
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    async fn recv(s: &UdpSocket) -> (Vec<u8>, SocketAddr) {
        let mut buf = [0u8; 64];
        let (n, src) = tokio::time::timeout(Duration::from_secs(2), s.recv_from(&mut buf)).await.expect("a packet").unwrap();
        (buf[..n].to_vec(), src)
    }

    #[tokio::test]
    async fn relays_both_ways_latches_and_frees_its_ports() {
        let pool = MediaPool::new("127.0.0.1".parse().unwrap(), 41000..=41019);
        let relay = pool.relay().expect("ports");
        assert_eq!(pool.in_use(), 2);
        let at = |port| SocketAddr::from(([127, 0, 0, 1], port));
        let (a_addr, b_addr) = (at(relay.a_port()), at(relay.b_port()));
        let carrier = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let phone = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        relay.set_a_peer(carrier.local_addr().unwrap());
        // The phone's SDP names an address its packets will not come from (NAT).
        relay.set_b_peer("127.0.0.1:9".parse().unwrap());

        phone.send_to(b"from-phone", b_addr).await.unwrap();
        let (got, src) = recv(&carrier).await;
        assert_eq!((got.as_slice(), src), (&b"from-phone"[..], a_addr), "B to A, sent from A's relay port");
        carrier.send_to(b"from-carrier", a_addr).await.unwrap();
        let (got, src) = recv(&phone).await;
        assert_eq!((got.as_slice(), src), (&b"from-carrier"[..], b_addr), "A to B reaches the latched phone");
        assert_eq!((pool.stats().a_to_b.load(Ordering::Relaxed), pool.stats().b_to_a.load(Ordering::Relaxed)), (1, 1));

        drop(relay);
        assert_eq!(pool.in_use(), 0);
        tokio::time::sleep(Duration::from_millis(50)).await;
        std::net::UdpSocket::bind(a_addr).expect("the port is free again");
        std::net::UdpSocket::bind(b_addr).expect("the port is free again");
        let all: Vec<_> = (0..10).map_while(|_| pool.relay()).collect();
        assert_eq!(all.len(), 5, "ten pairs in the range, two per relay");
        assert!(pool.relay().is_none(), "exhausted");
    }

    #[tokio::test(start_paused = true)]
    async fn notes_when_it_last_heard_rtp_or_rtcp_from_either_leg() {
        let pool = MediaPool::new("127.0.0.1".parse().unwrap(), 41020..=41039);
        let relay = pool.relay().expect("ports");
        let started = relay.heard_at();
        let at = |port| SocketAddr::from(([127, 0, 0, 1], port));
        let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        // Time passes in silence: nothing heard since the start.
        tokio::time::advance(Duration::from_secs(30)).await;
        assert_eq!(relay.heard_at(), started);
        // Each of the four sockets counts: A's and B's RTP and RTCP.
        for (n, port) in [relay.a_port(), relay.a_port() + 1, relay.b_port(), relay.b_port() + 1].into_iter().enumerate() {
            tokio::time::advance(Duration::from_secs(10)).await;
            let before = relay.heard_at();
            peer.send_to(b"packet", at(port)).await.unwrap();
            let mut waited = 0;
            while relay.heard_at() == before && waited < 200 {
                // Real sockets under paused time: yield to the pipe until it has read.
                tokio::task::yield_now().await;
                std::thread::sleep(Duration::from_millis(1));
                waited += 1;
            }
            let expected = started + Duration::from_secs(40 + 10 * n as u64);
            assert_eq!(relay.heard_at(), expected, "packet {n} on port {port}");
        }
    }
}
