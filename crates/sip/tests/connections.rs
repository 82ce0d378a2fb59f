//! TCP and TLS connection hygiene over real sockets on 127.0.0.1, with
//! paused time: a silent connection is closed after 30 s, one that has
//! spoken lives until its idle timeout (keep-alives count), ours to a
//! gateway follow the same rule, and a source over its connection limit
//! is closed at once.

use std::net::SocketAddr;
use std::time::Duration;

use sip::endpoint::{ConnectionLimits, Outgoing};
use sip::{Method, ServerOptions, SipServer, Transport};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{timeout, Instant};

const FIRST: Duration = Duration::from_secs(30);
const IDLE: Duration = Duration::from_secs(120);

/// A server answering every request 200 over the given limits.
async fn spawn_app(connections: ConnectionLimits, tls: sip::endpoint::TlsOptions) -> SipServer {
    let server = SipServer::bind("127.0.0.1:0".parse().unwrap(), ServerOptions { connections, tls, ..ServerOptions::default() })
        .await
        .expect("bind");
    server
}

fn serve(mut server: SipServer) -> sip::endpoint::Client {
    let client = server.client();
    tokio::spawn(async move {
        while let Some(mut req) = server.accept().await {
            tokio::spawn(async move { req.reply(200, "OK", &[]).await.ok() });
        }
    });
    client
}

fn limits() -> ConnectionLimits {
    ConnectionLimits { idle_timeout: IDLE, ..ConnectionLimits::default() }
}

fn request(method: &str, branch: &str) -> String {
    format!(
        "{method} sip:switchboard.test SIP/2.0\r\n\
         Via: SIP/2.0/TCP client.invalid:5060;branch=z9hG4bK{branch};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:alice@switchboard.test>;tag=a1\r\n\
         To: <sip:alice@switchboard.test>\r\n\
         Call-ID: {branch}@test\r\n\
         CSeq: 1 {method}\r\n\
         Contact: <sip:alice@client.invalid:5060;transport=tcp>\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

/// Sends a request and reads its (bodiless) response.
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S, method: &str, branch: &str) -> String {
    stream.write_all(request(method, branch).as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            return String::from_utf8_lossy(&buf[..end + 4]).into_owned();
        }
        let mut chunk = [0u8; 4096];
        let n = timeout(Duration::from_secs(2), stream.read(&mut chunk)).await.expect("response in time").expect("read");
        assert_ne!(n, 0, "the server closed the connection");
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Waits until the server closes `stream`; returns when (virtual time).
async fn closed_at<S: AsyncRead + Unpin>(stream: &mut S) -> Instant {
    let mut chunk = [0u8; 256];
    loop {
        match timeout(Duration::from_secs(24 * 3600), stream.read(&mut chunk)).await.expect("closed within a day") {
            Ok(0) | Err(_) => return Instant::now(),
            Ok(_) => {}
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_connection_that_sends_nothing_is_closed_after_30_s() {
    let server = spawn_app(limits(), Default::default()).await;
    let addr = server.tcp_addr();
    serve(server);
    let start = Instant::now();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // Keep-alives alone do not make a connection one that has spoken.
    stream.write_all(b"\r\n\r\n").await.unwrap();
    let mut pong = [0u8; 2];
    stream.read_exact(&mut pong).await.unwrap();
    assert_eq!(&pong, b"\r\n", "a CRLF ping gets one CRLF");
    let closed = closed_at(&mut stream).await - start;
    assert!(closed >= FIRST && closed < FIRST + Duration::from_secs(2), "closed after {closed:?}");
}

#[tokio::test(start_paused = true)]
async fn a_phone_that_registered_keeps_its_connection_while_it_pings() {
    let server = spawn_app(limits(), Default::default()).await;
    let addr = server.tcp_addr();
    serve(server);
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let ok = exchange(&mut stream, "REGISTER", "r1").await;
    assert!(ok.starts_with("SIP/2.0 200"), "{ok}");

    // Well past the 30 s for connections that never spoke.
    tokio::time::sleep(Duration::from_secs(100)).await;
    stream.write_all(b"\r\n\r\n").await.unwrap();
    let mut pong = [0u8; 2];
    stream.read_exact(&mut pong).await.unwrap();
    assert_eq!(&pong, b"\r\n");
    // 200 s since the REGISTER, 100 s since the ping: the ping counted.
    tokio::time::sleep(Duration::from_secs(100)).await;
    let ok = exchange(&mut stream, "OPTIONS", "o1").await;
    assert!(ok.starts_with("SIP/2.0 200"), "still open: {ok}");

    let last = Instant::now();
    let closed = closed_at(&mut stream).await - last;
    assert!(closed >= IDLE && closed < IDLE + Duration::from_secs(2), "closed {closed:?} after the last message");
}

#[tokio::test(start_paused = true)]
async fn a_source_over_its_limit_is_closed_at_once_and_a_freed_place_is_reused() {
    let server = spawn_app(ConnectionLimits { per_source: 3, ..limits() }, Default::default()).await;
    let addr = server.tcp_addr();
    serve(server);
    let mut kept = Vec::new();
    for i in 0..3 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let ok = exchange(&mut s, "OPTIONS", &format!("k{i}")).await;
        assert!(ok.starts_with("SIP/2.0 200"), "{ok}");
        kept.push(s);
    }
    let start = Instant::now();
    let mut over = TcpStream::connect(addr).await.unwrap();
    over.write_all(request("OPTIONS", "over").as_bytes()).await.ok();
    let closed = closed_at(&mut over).await - start;
    assert!(closed < Duration::from_secs(1), "the fourth is closed at once, not by the idle rule: {closed:?}");

    drop(kept.pop());
    let mut again = None;
    for i in 0..20 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(request("OPTIONS", &format!("again{i}")).as_bytes()).await.unwrap();
        let mut head = [0u8; 12];
        if timeout(Duration::from_secs(1), s.read_exact(&mut head)).await.is_ok_and(|r| r.is_ok()) {
            again = Some(head);
            break;
        }
    }
    assert_eq!(again.as_ref().map(|h| &h[..]), Some(&b"SIP/2.0 200 "[..]), "a closed connection frees its place");
    for mut s in kept {
        let ok = exchange(&mut s, "OPTIONS", "still").await;
        assert!(ok.starts_with("SIP/2.0 200"), "the admitted ones are untouched: {ok}");
    }
}

fn options_to(dest: SocketAddr, n: u32) -> Outgoing {
    Outgoing {
        method: Method::Options,
        uri: format!("sip:{dest};transport=tcp"),
        headers: vec![
            ("From".into(), "<sip:switchboard@example.test>;tag=1".into()),
            ("To".into(), format!("<sip:{dest}>")),
            ("Call-ID".into(), format!("gw{n}@test")),
            ("CSeq".into(), format!("{n} OPTIONS")),
        ],
        body: Vec::new(),
        branch: None,
    }
}

/// Reads one request off a gateway connection; returns its Via line.
async fn read_request(stream: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let mut chunk = [0u8; 4096];
        let n = timeout(Duration::from_secs(2), stream.read(&mut chunk)).await.expect("a request").unwrap();
        assert_ne!(n, 0);
        buf.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&buf).into_owned();
    text.lines().filter(|l| !l.starts_with("Content-Length")).map(|l| format!("{l}\r\n")).collect()
}

fn answer(req: &str) -> String {
    let keep = ["Via", "From", "To", "Call-ID", "CSeq"];
    let mut out = String::from("SIP/2.0 200 OK\r\n");
    for l in req.lines().filter(|l| keep.iter().any(|k| l.starts_with(&format!("{k}:")))) {
        out.push_str(l);
        out.push_str("\r\n");
    }
    out + "Content-Length: 0\r\n\r\n"
}

#[tokio::test(start_paused = true)]
async fn our_connections_to_gateways_follow_the_same_rule() {
    let server = spawn_app(limits(), Default::default()).await;
    let client = serve(server);
    let gateway = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gw = gateway.local_addr().unwrap();

    // A gateway that answers: its connection outlives the 30 s and is reused.
    let _tx = client.request(options_to(gw, 1), gw, Transport::Tcp).await.expect("sent");
    let (mut answering, _) = gateway.accept().await.unwrap();
    let req = read_request(&mut answering).await;
    answering.write_all(answer(&req).as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_secs(60)).await;
    let _tx = client.request(options_to(gw, 2), gw, Transport::Tcp).await.expect("sent");
    let req = read_request(&mut answering).await;
    answering.write_all(answer(&req).as_bytes()).await.unwrap();
    // Idle counts from the gateway's last byte, not from what we sent.
    let last = Instant::now();
    let closed = closed_at(&mut answering).await - last;
    assert!(closed >= IDLE && closed < IDLE + Duration::from_secs(2), "idle close after {closed:?}");

    // Closed means forgotten: the next request opens a new connection, and
    // one on which the gateway never says anything lasts 30 s.
    let _tx = client.request(options_to(gw, 3), gw, Transport::Tcp).await.expect("sent");
    let (mut silent, _) = timeout(Duration::from_secs(1), gateway.accept()).await.expect("a new connection").unwrap();
    let start = Instant::now();
    read_request(&mut silent).await;
    let closed = closed_at(&mut silent).await - start;
    assert!(closed >= FIRST - Duration::from_secs(1) && closed < FIRST + Duration::from_secs(2), "closed after {closed:?}");
}

#[path = "connections/tls.rs"]
mod tls;
