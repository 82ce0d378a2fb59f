//! The registrar over real UDP: a phone (a hand-written UAC on a socket)
//! registers with its SIP account's digest credentials, and the store shows
//! it online with its user agent; wrong passwords, too-short intervals,
//! unregistering and expiry.

use sip::digest::{respond, Algorithm, Challenge};
use std::net::SocketAddr;
use std::time::Duration;
mod common;

use common::{account, presence, wait_for};
use switch::{RegistrarConfig, Switch};
use tokio::net::UdpSocket;

struct Phone {
    sock: UdpSocket,
    server: SocketAddr,
    cseq: u32,
    call_id: String,
    user: String,
    /// The sent-by of its Via, when not its socket's (a phone behind NAT).
    via: Option<String>,
}

impl Phone {
    async fn new(server: SocketAddr, user: &str) -> Phone {
        let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        Phone { sock, server, cseq: 0, call_id: format!("{}@test", rand_tag()), user: user.into(), via: None }
    }

    fn contact(&self) -> String {
        format!("sip:{}@{}", self.user, self.sock.local_addr().unwrap())
    }

    /// Sends a REGISTER and returns the final response.
    async fn register(&mut self, expires: Option<&str>, contact: Option<String>, auth: Option<String>) -> String {
        self.cseq += 1;
        let local = self.via.clone().unwrap_or_else(|| self.sock.local_addr().unwrap().to_string());
        let mut msg = format!(
            "REGISTER sip:{server} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK{b};rport\r\nMax-Forwards: 70\r\n\
             From: <sip:{user}@{server}>;tag={t}\r\nTo: <sip:{user}@{server}>\r\nCall-ID: {cid}\r\nCSeq: {cseq} REGISTER\r\n\
             User-Agent: test-phone/1\r\n",
            server = self.server,
            b = rand_tag(),
            user = self.user,
            t = rand_tag(),
            cid = self.call_id,
            cseq = self.cseq
        );
        if let Some(c) = contact {
            msg.push_str(&format!("Contact: {c}\r\n"));
        }
        if let Some(e) = expires {
            msg.push_str(&format!("Expires: {e}\r\n"));
        }
        if let Some(a) = auth {
            msg.push_str(&format!("Authorization: {a}\r\n"));
        }
        msg.push_str("Content-Length: 0\r\n\r\n");
        self.sock.send_to(msg.as_bytes(), self.server).await.unwrap();
        loop {
            let mut buf = vec![0u8; 65535];
            let (n, _) = tokio::time::timeout(Duration::from_secs(5), self.sock.recv_from(&mut buf)).await.expect("a response").unwrap();
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            if status(&text) >= 200 {
                return text;
            }
        }
    }

    /// Registers with credentials, answering the challenge of `algorithm`.
    async fn login(&mut self, password: &str, algorithm: Algorithm, expires: Option<&str>, contact: Option<String>) -> String {
        let uri = format!("sip:{}", self.server);
        self.login_as(password, algorithm, expires, contact, &uri).await
    }

    /// Registers with credentials whose digest covers `uri`.
    async fn login_as(
        &mut self,
        password: &str,
        algorithm: Algorithm,
        expires: Option<&str>,
        contact: Option<String>,
        uri: &str,
    ) -> String {
        let challenge_resp = self.register(expires, contact.clone(), None).await;
        assert_eq!(status(&challenge_resp), 401, "{challenge_resp}");
        let challenge = headers(&challenge_resp, "WWW-Authenticate")
            .into_iter()
            .filter_map(|h| Challenge::parse(&h).ok())
            .find(|c| c.algorithm == algorithm)
            .expect("a challenge of that algorithm");
        let auth = respond(&challenge, "REGISTER", uri, &self.user, password, "0a4f113b", 1).unwrap();
        self.register(expires, contact, Some(auth.to_header())).await
    }
}

fn rand_tag() -> String {
    format!("{:016x}", rand::random::<u64>())
}

fn status(resp: &str) -> u16 {
    resp.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)
}

fn headers(resp: &str, name: &str) -> Vec<String> {
    resp.lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim().to_owned())
        .collect()
}

#[tokio::test]
async fn a_phone_registers_goes_online_and_unregisters() {
    let (store, _db) = store::testing::sqlite().await;
    let id = account(&store, "alice", "Secret-1").await;
    let config = RegistrarConfig { algorithms: vec![Algorithm::Md5, Algorithm::Sha256], ..RegistrarConfig::default() };
    let sw = Switch::start(store.clone(), "127.0.0.1:0".parse().unwrap(), config).await.unwrap();
    let mut phone = Phone::new(sw.udp_addr(), "alice").await;
    let contact = phone.contact();

    // Challenge: MD5 (topmost, for phones that read only the first) and SHA-256, as configured here.
    let r = phone.register(Some("600"), Some(format!("<{contact}>")), None).await;
    assert_eq!(status(&r), 401);
    let challenges = headers(&r, "WWW-Authenticate");
    assert_eq!(challenges.len(), 2, "{r}");
    assert!(challenges[0].contains("MD5") && challenges[1].contains("SHA-256"), "{challenges:?}");

    for algorithm in [Algorithm::Md5, Algorithm::Sha256] {
        let r = phone.login("Secret-1", algorithm, Some("600"), Some(format!("<{contact}>"))).await;
        assert_eq!(status(&r), 200, "{algorithm}: {r}");
        let bound = headers(&r, "Contact");
        assert_eq!(bound.len(), 1, "{r}");
        assert!(bound[0].starts_with(&format!("<{contact}>;expires=")), "{bound:?}");
    }
    assert_eq!(wait_for(&store, id, |p| p.0).await, (true, Some("test-phone/1".into())));
    assert_eq!(sw.location().online_accounts(), 1);

    // A second device of the same account; then a query without Contact lists both.
    let r = phone.login("Secret-1", Algorithm::Md5, None, Some("<sip:alice@192.0.2.9:5070>;expires=120".into())).await;
    assert_eq!(headers(&r, "Contact").len(), 2, "{r}");
    let r = phone.login("Secret-1", Algorithm::Md5, None, None).await;
    assert_eq!(headers(&r, "Contact").len(), 2, "{r}");

    // Credentials computed for another server are refused.
    let r = phone.register(None, None, None).await;
    let challenge = Challenge::parse(&headers(&r, "WWW-Authenticate")[0]).unwrap();
    let auth = respond(&challenge, "REGISTER", "sip:elsewhere.example.com", "alice", "Secret-1", "0a4f113b", 1).unwrap();
    let r = phone.register(None, None, Some(auth.to_header())).await;
    assert_eq!(status(&r), 400, "{r}");
    assert!(r.starts_with("SIP/2.0 400 Authorization uri names another server\r\n"), "our reason phrase: {r}");

    // Too short: 423 with Min-Expires.
    let r = phone.login("Secret-1", Algorithm::Md5, Some("30"), Some(format!("<{contact}>"))).await;
    assert_eq!(status(&r), 423, "{r}");
    assert_eq!(headers(&r, "Min-Expires"), vec!["60"]);

    // Unregister one, then all with *.
    let r = phone.login("Secret-1", Algorithm::Md5, Some("0"), Some(format!("<{contact}>"))).await;
    assert_eq!(headers(&r, "Contact").len(), 1, "{r}");
    assert!(presence(&store, id).await.0, "still online through the other device");
    let r = phone.login("Secret-1", Algorithm::Md5, Some("0"), Some("*".into())).await;
    assert_eq!(status(&r), 200, "{r}");
    assert!(headers(&r, "Contact").is_empty());
    assert!(!wait_for(&store, id, |p| !p.0).await.0);
    sw.shutdown().await;
}

/// As SIPp sends it: a digest uri with or without the port or the scheme
/// of the Request-URI, or naming our SIP domain, is this server's; one
/// naming another host is refused.
#[tokio::test]
async fn phones_behind_nat_are_pinged_from_the_socket_they_registered_to() {
    use domain::schema;
    let (store, _db) = store::testing::sqlite().await;
    account(&store, "natted", "Secret-N").await;
    account(&store, "direct", "Secret-D").await;
    let every_second = store::Input::default().with(&schema::DOMAIN_SETTINGS, "nat_keepalive", 1i64);
    store.update(&schema::DOMAIN_SETTINGS, &store::Actor::system(), 1, every_second).await.unwrap();
    let sw = Switch::start(store.clone(), "127.0.0.1:0".parse().unwrap(), RegistrarConfig::default()).await.unwrap();
    // Behind NAT: it names its private address, its packets come from the router's.
    let mut natted = Phone::new(sw.udp_addr(), "natted").await;
    natted.via = Some("192.168.1.20:5060".into());
    let resp = natted.login("Secret-N", Algorithm::Md5, Some("300"), Some("<sip:natted@192.168.1.20:5060>".into())).await;
    assert_eq!(status(&resp), 200, "{resp}");
    let mut direct = Phone::new(sw.udp_addr(), "direct").await;
    let contact = direct.contact();
    assert_eq!(status(&direct.login("Secret-D", Algorithm::Md5, Some("300"), Some(format!("<{contact}>"))).await), 200);

    let mut buf = vec![0u8; 4096];
    for _ in 0..2 {
        let (n, from) = tokio::time::timeout(Duration::from_secs(3), natted.sock.recv_from(&mut buf))
            .await
            .expect("a keep-alive every second")
            .unwrap();
        let ping = String::from_utf8_lossy(&buf[..n]).into_owned();
        assert!(ping.starts_with("OPTIONS sip:natted@192.168.1.20:5060 SIP/2.0\r\n"), "{ping}");
        assert_eq!(from, sw.udp_addr(), "from the socket it registered to, the only one its NAT lets in");
        let via = headers(&ping, "Via").remove(0);
        assert!(via.starts_with(&format!("SIP/2.0/UDP {};", sw.udp_addr())), "{via}");
    }
    let quiet = tokio::time::timeout(Duration::from_millis(2500), direct.sock.recv_from(&mut buf)).await;
    assert!(quiet.is_err(), "a phone reachable where it says is not pinged");
    sw.shutdown().await;
}

#[tokio::test]
async fn a_digest_uri_naming_this_server_on_any_port_is_taken() {
    let (store, _db) = store::testing::sqlite().await;
    account(&store, "carol", "Carol-Pass-1").await;
    let sw = Switch::start(store.clone(), "127.0.0.1:0".parse().unwrap(), RegistrarConfig::default()).await.unwrap();
    let server = sw.udp_addr();
    let mut phone = Phone::new(server, "carol").await;
    let contact = Some(format!("<{}>", phone.contact()));
    let ours = ["sip:127.0.0.1".to_owned(), "sip:127.0.0.1:5999".to_owned(), format!("{server}"), "sip:switchboard.local".to_owned()];
    for uri in &ours {
        let r = phone.login_as("Carol-Pass-1", Algorithm::Md5, None, contact.clone(), uri).await;
        assert_eq!(status(&r), 200, "{uri}: {r}");
    }
    for uri in ["sip:evil.example.com", "sip:10.9.9.9:5060", "sip:carol@192.0.2.1"] {
        let r = phone.login_as("Carol-Pass-1", Algorithm::Md5, None, contact.clone(), uri).await;
        assert_eq!(status(&r), 400, "{uri}: {r}");
    }
    // The response is verified over the uri the phone sent.
    let challenge = phone.register(None, contact.clone(), None).await;
    let c = headers(&challenge, "WWW-Authenticate").into_iter().find_map(|h| Challenge::parse(&h).ok()).unwrap();
    let mut auth = respond(&c, "REGISTER", "sip:127.0.0.1", "carol", "Carol-Pass-1", "0a4f113b", 1).unwrap();
    auth.uri = "sip:127.0.0.1:5998".into();
    let r = phone.register(None, contact, Some(auth.to_header())).await;
    assert_eq!(status(&r), 403, "a response computed over another uri: {r}");
    sw.shutdown().await;
}

#[tokio::test]
async fn wrong_passwords_are_refused_and_then_ignored_for_that_account_only() {
    let (store, _db) = store::testing::sqlite().await;
    account(&store, "bob", "Right-1").await;
    account(&store, "carol", "Carol-1").await;
    let config = RegistrarConfig { max_auth_failures: 3, ..RegistrarConfig::default() };
    let sw = Switch::start(store.clone(), "127.0.0.1:0".parse().unwrap(), config).await.unwrap();
    let mut phone = Phone::new(sw.udp_addr(), "bob").await;
    let contact = Some(format!("<{}>", phone.contact()));
    for _ in 0..3 {
        let r = phone.login("wrong", Algorithm::Md5, None, contact.clone()).await;
        assert_eq!(status(&r), 403, "{r}");
    }
    // An unknown user gets what a wrong password gets.
    let mut stranger = Phone::new(sw.udp_addr(), "nobody").await;
    let r = stranger.login("x", Algorithm::Md5, None, contact.clone()).await;
    assert!(r.starts_with("SIP/2.0 403 Forbidden\r\n"), "unknown users look the same as wrong passwords: {r}");
    // Now bob is ignored from this address: silence, even for the right password.
    let challenge = phone.register(None, contact.clone(), None).await;
    assert_eq!(status(&challenge), 401, "a request without credentials is still challenged: {challenge}");
    let silent = tokio::time::timeout(Duration::from_secs(2), phone.login("Right-1", Algorithm::Md5, None, contact.clone())).await;
    assert!(silent.is_err(), "a blocked (source, account) gets no answer");
    // Every test phone is on 127.0.0.1: another account registers from there.
    let mut carol = Phone::new(sw.udp_addr(), "carol").await;
    let r = carol.login("Carol-1", Algorithm::Md5, None, Some(format!("<{}>", carol.contact()))).await;
    assert_eq!(status(&r), 200, "{r}");
    sw.shutdown().await;
}

#[tokio::test]
async fn expired_bindings_go_offline() {
    let (store, _db) = store::testing::sqlite().await;
    let id = account(&store, "carol", "Pw-123456").await;
    let config = RegistrarConfig { min_expires: 1, ..RegistrarConfig::default() };
    let sw = Switch::start(store.clone(), "127.0.0.1:0".parse().unwrap(), config).await.unwrap();
    let mut phone = Phone::new(sw.udp_addr(), "carol").await;
    let r = phone.login("Pw-123456", Algorithm::Md5, Some("1"), Some(format!("<{}>", phone.contact()))).await;
    assert_eq!(status(&r), 200, "{r}");
    assert!(wait_for(&store, id, |p| p.0).await.0);
    // The expiry sweep runs every second.
    let offline = !wait_for(&store, id, |p| !p.0).await.0;
    assert!(offline, "an expired binding takes the phone offline");
    sw.shutdown().await;
}

#[tokio::test]
async fn registrations_survive_a_restart_until_they_expire() {
    let (store, _db) = store::testing::sqlite().await;
    let kept = account(&store, "dave", "Pw-dave-1").await;
    let config = RegistrarConfig { min_expires: 1, ..RegistrarConfig::default() };
    let sw = Switch::start(store.clone(), "127.0.0.1:0".parse().unwrap(), config.clone()).await.unwrap();
    let mut phone = Phone::new(sw.udp_addr(), "dave").await;
    let r = phone.login("Pw-dave-1", Algorithm::Md5, Some("600"), Some(format!("<{}>", phone.contact()))).await;
    assert_eq!(status(&r), 200, "{r}");
    let r = phone.login("Pw-dave-1", Algorithm::Md5, Some("1"), Some("<sip:dave@192.0.2.1:5060>".into())).await;
    assert_eq!(status(&r), 200, "{r}");
    sw.shutdown().await;

    // Down for longer than the short binding lives.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let sw = Switch::start(store.clone(), "127.0.0.1:0".parse().unwrap(), config).await.unwrap();
    assert_eq!(sw.location().online_accounts(), 1);
    assert_eq!(presence(&store, kept).await, (true, Some("test-phone/1".into())));
    // The phone can query its bindings from the new process: only the long one is left.
    let mut phone = Phone::new(sw.udp_addr(), "dave").await;
    let r = phone.login("Pw-dave-1", Algorithm::Md5, None, None).await;
    assert_eq!(headers(&r, "Contact").len(), 1, "{r}");
    sw.shutdown().await;
}

#[tokio::test]
async fn a_changed_password_applies_at_once() {
    let (store, _db) = store::testing::sqlite().await;
    let id = account(&store, "erin", "Old-pass-1").await;
    // The old password is tried until refused: do not let those tries block us.
    let config = RegistrarConfig { max_auth_failures: 1000, ..RegistrarConfig::default() };
    let sw = Switch::start(store.clone(), "127.0.0.1:0".parse().unwrap(), config).await.unwrap();
    let mut phone = Phone::new(sw.udp_addr(), "erin").await;
    let contact = Some(format!("<{}>", phone.contact()));
    assert_eq!(status(&phone.login("Old-pass-1", Algorithm::Md5, None, contact.clone()).await), 200);
    let change = store::Input::default().with(&domain::schema::SIP_ACCOUNTS, "password", "New-pass-2");
    store.update(&domain::schema::SIP_ACCOUNTS, &store::Actor::system(), id, change).await.unwrap();
    // The registrar caches accounts; the change reaches it through the store's change feed.
    let mut refused = false;
    for _ in 0..20 {
        if status(&phone.login("Old-pass-1", Algorithm::Md5, None, contact.clone()).await) == 403 {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(refused, "the old password stops working");
    assert_eq!(status(&phone.login("New-pass-2", Algorithm::Md5, None, contact).await), 200);
    sw.shutdown().await;
}
