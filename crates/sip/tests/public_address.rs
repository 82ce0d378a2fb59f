//! A server behind 1:1 NAT: with a public address set, the requests it
//! sends carry that address in Via (and callers build Contact and SDP from
//! the same `local_addr`), the port staying its socket's.

use sip::endpoint::Outgoing;
use sip::{Method, ServerOptions, SipServer, Transport};
use std::time::Duration;
use tokio::net::UdpSocket;

async fn top_via_of_a_request(client: &sip::endpoint::Client, peer: &UdpSocket) -> String {
    let dest = peer.local_addr().unwrap();
    let req = Outgoing {
        method: Method::Options,
        uri: format!("sip:{dest}"),
        headers: vec![
            ("From".into(), "<sip:switchboard@example.test>;tag=1".into()),
            ("To".into(), format!("<sip:{dest}>")),
            ("Call-ID".into(), format!("{}@test", rand::random::<u32>())),
            ("CSeq".into(), "1 OPTIONS".into()),
        ],
        body: Vec::new(),
        branch: None,
    };
    let _tx = client.request(req, dest, Transport::Udp).await.expect("sent");
    let mut buf = vec![0u8; 65535];
    let (n, _) = tokio::time::timeout(Duration::from_secs(2), peer.recv_from(&mut buf)).await.expect("a request").unwrap();
    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
    text.lines().find(|l| l.to_ascii_lowercase().starts_with("via:")).expect("a Via").to_owned()
}

#[tokio::test]
async fn via_carries_the_public_address_once_set_and_the_socket_address_without() {
    let server = SipServer::bind("127.0.0.1:0".parse().unwrap(), ServerOptions::default()).await.expect("bind");
    let port = server.udp_addr().port();
    let client = server.client();
    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();

    let via = top_via_of_a_request(&client, &peer).await;
    assert!(via.contains(&format!(" 127.0.0.1:{port};")), "the socket's address: {via}");

    client.set_public_ip(Some("203.0.113.9".parse().unwrap()));
    let via = top_via_of_a_request(&client, &peer).await;
    assert!(via.contains(&format!(" 203.0.113.9:{port};")), "the public address, our port: {via}");
    let dest = peer.local_addr().unwrap();
    assert_eq!(client.local_addr(Transport::Udp, dest), format!("203.0.113.9:{port}").parse().unwrap(), "what Contact and SDP use");

    client.set_public_ip(None);
    let via = top_via_of_a_request(&client, &peer).await;
    assert!(via.contains(&format!(" 127.0.0.1:{port};")), "cleared: {via}");
}
