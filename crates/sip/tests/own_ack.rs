//! An INVITE whose 2xx we ACK ourselves (a late offer's answer rides in
//! the ACK): over a real UDP socket, the stack sends no ACK of its own, our
//! ACK leaves with its body, its own branch and the INVITE's CSeq number,
//! and each retransmission of the 2xx gets it again.

use std::net::SocketAddr;
use std::time::Duration;

use sip::endpoint::{Outgoing, Response};
use sip::{Method, ServerOptions, SipServer, Transport};
use tokio::net::UdpSocket;
use tokio::time::timeout;

const OFFER: &str = "v=0\r\no=callee 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 8\r\n";
const ANSWER: &str = "v=0\r\no=us 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 8\r\n";

fn headers(peer: SocketAddr, to: &str, cseq: &str) -> Vec<(String, String)> {
    vec![
        ("From".into(), "<sip:caller@switchboard.test>;tag=ours".into()),
        ("To".into(), to.into()),
        ("Call-ID".into(), "own-ack-test".into()),
        ("CSeq".into(), cseq.into()),
        ("Contact".into(), format!("<sip:us@{peer}>")),
    ]
}

/// The 200 to `invite` with the callee's tag and offer.
fn ok_with_offer(invite: &str) -> String {
    let mut out = String::from("SIP/2.0 200 OK\r\n");
    for line in invite.lines() {
        let name = line.split(':').next().unwrap_or_default().to_ascii_lowercase();
        match name.as_str() {
            "via" | "from" | "call-id" | "cseq" => out.push_str(&format!("{line}\r\n")),
            "to" => out.push_str(&format!("{line};tag=callee\r\n")),
            _ => {}
        }
    }
    let contact = "Contact: <sip:callee@127.0.0.1>\r\nContent-Type: application/sdp\r\n";
    out + &format!("{contact}Content-Length: {}\r\n\r\n{OFFER}", OFFER.len())
}

/// The next datagram within `wait`, as text.
async fn next(sock: &UdpSocket, wait: Duration) -> Option<String> {
    let mut buf = vec![0u8; 65536];
    let (n, _) = timeout(wait, sock.recv_from(&mut buf)).await.ok()?.ok()?;
    Some(String::from_utf8_lossy(&buf[..n]).into_owned())
}

fn header<'a>(msg: &'a str, name: &str) -> Option<&'a str> {
    msg.lines().find_map(|l| l.split_once(':').filter(|(n, _)| n.trim().eq_ignore_ascii_case(name)).map(|(_, v)| v.trim()))
}

fn branch(msg: &str) -> String {
    header(msg, "Via").and_then(|v| v.split(";branch=").nth(1)).and_then(|b| b.split(';').next()).unwrap_or_default().to_owned()
}

#[tokio::test]
async fn the_2xx_of_an_invite_without_offer_waits_for_our_ack() {
    let server = SipServer::bind("127.0.0.1:0".parse().unwrap(), ServerOptions::default()).await.expect("bind");
    let client = server.client();
    let callee = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let (at, peer) = (callee.local_addr().unwrap(), server.udp_addr());
    let invite = Outgoing {
        method: Method::Invite,
        uri: format!("sip:callee@{at}"),
        headers: headers(peer, "<sip:callee@switchboard.test>", "7 INVITE"),
        body: Vec::new(),
        branch: None,
    };
    let mut tx = client.invite_acked_by_us(invite, at, Transport::Udp).await.expect("send INVITE");
    let invite = next(&callee, Duration::from_secs(2)).await.expect("the INVITE");
    assert!(invite.starts_with("INVITE "), "{invite}");
    let ok = ok_with_offer(&invite);
    callee.send_to(ok.as_bytes(), peer).await.unwrap();
    let answered: Response = timeout(Duration::from_secs(2), tx.next()).await.unwrap().expect("the 200 reaches us");
    assert_eq!((answered.status, answered.body.as_slice()), (200, OFFER.as_bytes()));
    assert!(timeout(Duration::from_secs(1), tx.next()).await.unwrap().is_none(), "the 200 was the transaction's last response");

    // Neither the stack's ACK nor a retransmitted INVITE, even when the 200 comes again.
    callee.send_to(ok.as_bytes(), peer).await.unwrap();
    assert_eq!(next(&callee, Duration::from_millis(800)).await, None, "nothing is sent before our ACK");

    let ack = Outgoing {
        method: Method::Ack,
        uri: "sip:callee@127.0.0.1".into(),
        headers: [
            headers(peer, "<sip:callee@switchboard.test>;tag=callee", "7 ACK"),
            vec![("Content-Type".into(), "application/sdp".into())],
        ]
        .concat(),
        body: ANSWER.as_bytes().to_vec(),
        branch: None,
    };
    client.ack(&answered, ack.clone(), at, Transport::Udp).await.expect("our ACK");
    let got = next(&callee, Duration::from_secs(2)).await.expect("our ACK arrives");
    assert!(got.starts_with("ACK sip:callee@127.0.0.1 SIP/2.0"), "{got}");
    assert_eq!(header(&got, "CSeq"), Some("7 ACK"));
    assert!(got.ends_with(ANSWER), "the ACK carries the answer: {got}");
    assert_ne!(branch(&got), branch(&invite), "a 2xx's ACK is a transaction of its own");

    // A retransmitted 200 (our ACK was lost) gets the same ACK again.
    callee.send_to(ok.as_bytes(), peer).await.unwrap();
    assert_eq!(next(&callee, Duration::from_secs(2)).await.as_deref(), Some(got.as_str()));
    assert!(client.ack(&answered, ack, at, Transport::Udp).await.is_err(), "one ACK per 2xx");
    server.shutdown().await;
}
