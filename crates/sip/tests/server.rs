//! Black-box tests of `SipServer` over real UDP and TCP sockets on
//! 127.0.0.1 with hand-written SIP text.

use std::net::SocketAddr;
use std::time::Duration;

use sip::{Method, ServerOptions, SipServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::timeout;

/// Starts a server whose handler answers OPTIONS 200 and the rest 403,
/// counting requests it saw.
async fn spawn_app() -> (SocketAddr, SocketAddr, tokio::sync::mpsc::UnboundedReceiver<Method>) {
    let mut server = SipServer::bind("127.0.0.1:0".parse().unwrap(), ServerOptions::default()).await.expect("bind");
    let (udp, tcp) = (server.udp_addr(), server.tcp_addr());
    assert_eq!(udp.port(), tcp.port());
    assert_ne!(udp.port(), 0);
    let (seen_tx, seen_rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(mut req) = server.accept().await {
            seen_tx.send(req.method()).ok();
            let result = match req.method() {
                Method::Options => req.reply(200, "OK", &[("Allow", "OPTIONS, REGISTER")]).await,
                _ => req.reply(403, "Forbidden", &[]).await,
            };
            result.expect("reply");
        }
    });
    (udp, tcp, seen_rx)
}

fn request(method: &str, branch: &str, via_host: &str, transport: &str) -> String {
    format!(
        "{method} sip:switchboard.test SIP/2.0\r\n\
         Via: SIP/2.0/{transport} {via_host};branch=z9hG4bK{branch};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:alice@switchboard.test>;tag=a1\r\n\
         To: <sip:switchboard.test>\r\n\
         Call-ID: {branch}@test\r\n\
         CSeq: 1 {method}\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

async fn udp_exchange(sock: &UdpSocket, server: SocketAddr, msg: &str) -> Option<String> {
    sock.send_to(msg.as_bytes(), server).await.unwrap();
    let mut buf = vec![0u8; 65535];
    let (n, _) = timeout(Duration::from_secs(2), sock.recv_from(&mut buf)).await.ok()?.ok()?;
    Some(String::from_utf8_lossy(&buf[..n]).into_owned())
}

fn status(resp: &str) -> &str {
    resp.split(' ').nth(1).unwrap_or("")
}

#[tokio::test]
async fn udp_options_unknown_method_garbage_and_retransmission() {
    let (server, _, mut seen) = spawn_app().await;
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = sock.local_addr().unwrap().port();

    // OPTIONS from a phone that claims a private address: rport/received filled.
    let options = request("OPTIONS", "opt1", "192.0.2.10:5999", "UDP");
    let first = udp_exchange(&sock, server, &options).await.expect("200");
    assert_eq!(status(&first), "200", "{first}");
    assert!(first.contains(&format!("received=127.0.0.1;rport={port}")), "{first}");
    assert!(first.contains("Call-ID: opt1@test"), "{first}");
    assert!(first.contains("CSeq: 1 OPTIONS"), "{first}");
    assert!(first.contains("Allow: OPTIONS, REGISTER"), "{first}");
    let to = first.lines().find(|l| l.starts_with("To:")).unwrap();
    assert!(to.contains(";tag="), "{first}");

    // Retransmission: the transaction layer resends the same response and
    // the handler does not see the request again.
    let again = udp_exchange(&sock, server, &options).await.expect("resend");
    assert_eq!(again, first);

    // Unknown method: 501 from us, never reaching the handler.
    let foo = udp_exchange(&sock, server, &request("FOO", "foo1", "192.0.2.10:5999", "UDP")).await.expect("501");
    assert_eq!(status(&foo), "501", "{foo}");
    assert!(foo.contains(&format!("rport={port}")), "{foo}");
    assert!(foo.contains("CSeq: 1 FOO"), "{foo}");

    // A known method with a broken header: 400.
    let broken = request("OPTIONS", "bad1", "192.0.2.10:5999", "UDP").replace("CSeq: 1 OPTIONS", "CSeq: one OPTIONS");
    let bad = udp_exchange(&sock, server, &broken).await.expect("400");
    assert_eq!(status(&bad), "400", "{bad}");

    // Noise: no answer, and the server still works afterwards.
    sock.send_to(b"\x00\xffhello\r\n\r\n", server).await.unwrap();
    sock.send_to(b"SIP/2.0 garbage", server).await.unwrap();
    let after = udp_exchange(&sock, server, &request("OPTIONS", "opt2", "127.0.0.1:1", "UDP")).await.expect("200 after garbage");
    assert_eq!(status(&after), "200", "{after}");

    // The handler saw exactly the two OPTIONS.
    assert_eq!(seen.recv().await, Some(Method::Options));
    assert_eq!(seen.recv().await, Some(Method::Options));
    assert!(seen.try_recv().is_err());
}

async fn tcp_read_response(stream: &mut TcpStream, buf: &mut Vec<u8>) -> String {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            // Our responses here have no body.
            let msg: Vec<u8> = buf.drain(..end + 4).collect();
            return String::from_utf8_lossy(&msg).into_owned();
        }
        let mut chunk = [0u8; 4096];
        let n = timeout(Duration::from_secs(2), stream.read(&mut chunk)).await.expect("TCP response in time").expect("read");
        assert_ne!(n, 0, "server closed the connection");
        buf.extend_from_slice(&chunk[..n]);
    }
}

#[tokio::test]
async fn tcp_options_unknown_method_and_bad_request_on_one_connection() {
    let (_, server, _seen) = spawn_app().await;
    let mut stream = TcpStream::connect(server).await.unwrap();
    let port = stream.local_addr().unwrap().port();
    let mut buf = Vec::new();

    // Two requests in one write: framing must split them.
    let both = format!("{}{}", request("OPTIONS", "t1", "client.invalid:5060", "TCP"), request("FOO", "t2", "client.invalid:5060", "TCP"));
    stream.write_all(both.as_bytes()).await.unwrap();
    // The 501 is stateless and may overtake the handler's 200.
    let mut two = [tcp_read_response(&mut stream, &mut buf).await, tcp_read_response(&mut stream, &mut buf).await];
    two.sort_by_key(|r| r.contains("CSeq: 1 FOO"));
    let [ok, foo] = two;
    assert_eq!(status(&ok), "200", "{ok}");
    assert!(ok.contains(&format!("received=127.0.0.1;rport={port}")), "{ok}");
    assert_eq!(status(&foo), "501", "{foo}");

    let broken = request("OPTIONS", "t3", "client.invalid:5060", "TCP")
        .replace("From: <sip:alice@switchboard.test>;tag=a1", "From: <sip:alice@switchboard.test>");
    stream.write_all(broken.as_bytes()).await.unwrap();
    let bad = tcp_read_response(&mut stream, &mut buf).await;
    assert_eq!(status(&bad), "400", "{bad}");

    // CRLF keep-alive ping gets a pong; the connection keeps working.
    stream.write_all(b"\r\n\r\n").await.unwrap();
    let mut pong = [0u8; 2];
    timeout(Duration::from_secs(2), stream.read_exact(&mut pong)).await.expect("pong in time").unwrap();
    assert_eq!(&pong, b"\r\n");
    stream.write_all(request("OPTIONS", "t4", "client.invalid:5060", "TCP").as_bytes()).await.unwrap();
    let ok = tcp_read_response(&mut stream, &mut buf).await;
    assert_eq!(status(&ok), "200", "{ok}");
}

#[tokio::test]
async fn shutdown_stops_accepting() {
    let server = SipServer::bind("127.0.0.1:0".parse().unwrap(), ServerOptions::default()).await.unwrap();
    let addr = server.udp_addr();
    timeout(Duration::from_secs(5), server.shutdown()).await.expect("shutdown in time");
    // The port is free again.
    UdpSocket::bind(addr).await.expect("port released");
}

/// Sends `msg` then a well-formed OPTIONS; returns the first reply, which
/// is the OPTIONS's 200 when `msg` got no answer (our stateless replies go
/// out before the next datagram is read, so they cannot come second).
async fn udp_reply_or_silence(sock: &UdpSocket, server: SocketAddr, msg: &str, probe: &str) -> Option<String> {
    sock.send_to(msg.as_bytes(), server).await.unwrap();
    let options = request("OPTIONS", probe, "127.0.0.1:1", "UDP");
    let first = udp_exchange(sock, server, &options).await.expect("some reply");
    if first.contains(&format!("Call-ID: {probe}@test")) && status(&first) == "200" {
        return None;
    }
    // Drain the probe's 200 so the next exchange starts clean.
    let mut buf = vec![0u8; 65535];
    timeout(Duration::from_secs(2), sock.recv_from(&mut buf)).await.expect("probe reply").unwrap();
    Some(first)
}

fn status_line(resp: &str) -> &str {
    resp.split("\r\n").next().unwrap_or("")
}

#[tokio::test]
async fn udp_unsupported_sip_version_gets_505() {
    let (server, _, mut seen) = spawn_app().await;
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let invite = request("INVITE", "v3", "127.0.0.1:1", "UDP").replace("SIP/2.0\r\n", "SIP/3.0\r\n");
    let resp = udp_exchange(&sock, server, &invite).await.expect("505");
    assert_eq!(status_line(&resp), "SIP/2.0 505 Version Not Supported", "{resp}");
    assert!(resp.contains("Call-ID: v3@test"), "{resp}");
    // Not parseable by the stack at all, and still a SIP version we lack.
    let odd = request("OPTIONS", "v4", "127.0.0.1:1", "UDP").replace("SIP/2.0\r\n", "SIP/2.x\r\n");
    let resp = udp_exchange(&sock, server, &odd).await.expect("505");
    assert_eq!(status_line(&resp), "SIP/2.0 505 Version Not Supported", "{resp}");
    assert!(seen.try_recv().is_err(), "the handler must not see them");
}

#[tokio::test]
async fn udp_bad_content_length_gets_400_and_a_short_one_truncates() {
    let (server, _, mut seen) = spawn_app().await;
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    for (n, value) in ["100", "-1", "abc", "5x"].into_iter().enumerate() {
        let msg = request("OPTIONS", &format!("cl{n}"), "127.0.0.1:1", "UDP")
            .replace("Content-Length: 0\r\n\r\n", &format!("Content-Length: {value}\r\n\r\nhello"));
        let resp = udp_exchange(&sock, server, &msg).await.unwrap_or_else(|| panic!("400 for Content-Length {value}"));
        assert_eq!(status_line(&resp), "SIP/2.0 400 Bad Content-Length", "Content-Length {value}: {resp}");
        assert!(resp.contains(&format!("Call-ID: cl{n}@test")), "{resp}");
    }
    // RFC 3261 §18.3: a smaller Content-Length cuts the body off, no error.
    let short = request("OPTIONS", "short", "127.0.0.1:1", "UDP").replace("Content-Length: 0\r\n\r\n", "l: 2\r\n\r\nhello");
    let resp = udp_exchange(&sock, server, &short).await.expect("200");
    assert_eq!(status_line(&resp), "SIP/2.0 200 OK", "{resp}");
    assert_eq!(seen.recv().await, Some(Method::Options));
    assert!(seen.try_recv().is_err());
}

#[tokio::test]
async fn udp_missing_mandatory_header_gets_400_naming_it() {
    let (server, _, mut seen) = spawn_app().await;
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let cases = [
        ("Call-ID", "Call-ID: mh0@test\r\n"),
        ("CSeq", "CSeq: 1 OPTIONS\r\n"),
        ("From", "From: <sip:alice@switchboard.test>;tag=a1\r\n"),
        ("To", "To: <sip:switchboard.test>\r\n"),
    ];
    for (n, (name, line)) in cases.into_iter().enumerate() {
        let msg = request("OPTIONS", &format!("mh{n}"), "127.0.0.1:1", "UDP").replace(line, "");
        let resp =
            udp_reply_or_silence(&sock, server, &msg, &format!("probe{n}")).await.unwrap_or_else(|| panic!("400 for missing {name}"));
        assert_eq!(status_line(&resp), format!("SIP/2.0 400 Missing {name}"), "{resp}");
        assert!(resp.contains(&format!("rport={}", sock.local_addr().unwrap().port())), "{resp}");
        assert_eq!(seen.recv().await, Some(Method::Options), "only the probe reaches the handler");
    }
    // No Via: nowhere to send an answer.
    let no_via = request("OPTIONS", "nv", "127.0.0.1:1", "UDP").replace("Via: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKnv;rport\r\n", "");
    assert!(!no_via.contains("Via"));
    assert_eq!(udp_reply_or_silence(&sock, server, &no_via, "probe-nv").await, None);
    assert_eq!(seen.recv().await, Some(Method::Options));

    // Compact forms are the same headers.
    let compact = request("OPTIONS", "cf", "127.0.0.1:1", "UDP")
        .replace("Via:", "v:")
        .replace("From:", "f:")
        .replace("To:", "t:")
        .replace("Call-ID:", "i:");
    let resp = udp_exchange(&sock, server, &compact).await.expect("200");
    assert_eq!(status_line(&resp), "SIP/2.0 200 OK", "{resp}");
    assert_eq!(seen.recv().await, Some(Method::Options));
    assert!(seen.try_recv().is_err());
}

#[tokio::test]
async fn udp_defective_responses_are_dropped() {
    let (server, _, _seen) = spawn_app().await;
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let response = "SIP/2.0 200 OK\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKresp;rport\r\n\
         From: <sip:alice@switchboard.test>;tag=a1\r\n\
         To: <sip:switchboard.test>;tag=b2\r\n\
         Call-ID: resp@test\r\n\
         CSeq: 1 OPTIONS\r\n\
         Content-Length: 0\r\n\r\n";
    let defective = [
        response.replace("SIP/2.0 200", "SIP/3.0 200"),
        response.replace("Content-Length: 0", "Content-Length: 50"),
        response.replace("Content-Length: 0", "Content-Length: -1"),
        response.replace("Content-Length: 0", "Content-Length: nope"),
        response.replace("Call-ID: resp@test\r\n", ""),
        response.replace("CSeq: 1 OPTIONS\r\n", ""),
        response.replace("Via: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKresp;rport\r\n", ""),
    ];
    for (n, msg) in defective.iter().enumerate() {
        assert_eq!(udp_reply_or_silence(&sock, server, msg, &format!("rp{n}")).await, None, "{msg}");
    }
}

#[tokio::test]
async fn tcp_bad_content_length_closes_the_stream() {
    let (_, server, _seen) = spawn_app().await;
    for value in ["-1", "abc"] {
        let mut stream = TcpStream::connect(server).await.unwrap();
        let msg = request("OPTIONS", "tcl", "client.invalid:5060", "TCP").replace("Content-Length: 0", &format!("Content-Length: {value}"));
        stream.write_all(msg.as_bytes()).await.unwrap();
        let mut buf = [0u8; 1024];
        let n = timeout(Duration::from_secs(2), stream.read(&mut buf)).await.expect("closed in time").unwrap_or(0);
        assert_eq!(n, 0, "Content-Length {value}: {}", String::from_utf8_lossy(&buf[..n]));
    }
}
