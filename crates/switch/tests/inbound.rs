//! Inbound DID calls from a carrier (SIPp as the UAC) over an incoming
//! trunk: every refusal of the spec answers the right status, and every
//! call that reached a trunk leaves an incoming trunk CDR saying why.

use std::process::Command;
mod common;

use common::{account, cdrs, customer_of, did, free_udp_port, scenario, sipp_available, trunk_of};
use domain::schema;
use domain::Value;
use store::{Actor, Input};
use switch::{RegistrarConfig, Switch};

/// One carrier call to `target` (number@domain) offering `payloads`; true
/// when the final response was `expect`.
fn carrier_call(server: std::net::SocketAddr, target: &str, caller: &str, payloads: &str, expect: u16) -> bool {
    let dir = std::env::temp_dir().join(format!("sb-carrier-{}-{}", std::process::id(), rand::random::<u32>()));
    std::fs::create_dir_all(&dir).unwrap();
    let template = std::fs::read_to_string(scenario("carrier-refused.xml")).unwrap();
    let xml = dir.join("call.xml");
    std::fs::write(&xml, template.replace("EXPECTED_CODE", &expect.to_string())).unwrap();
    let csv = dir.join("call.csv");
    std::fs::write(&csv, format!("SEQUENTIAL\n{target};{caller};{payloads};\n")).unwrap();
    let out = Command::new("sipp")
        .current_dir(&dir)
        .arg(server.to_string())
        .args(["-sf", xml.to_str().unwrap(), "-inf", csv.to_str().unwrap()])
        .args(["-i", "127.0.0.1", "-p", &free_udp_port().to_string()])
        .args(["-m", "1", "-timeout", "10", "-nostdin", "-trace_err"])
        .output()
        .expect("run sipp");
    if !out.status.success() {
        eprintln!("sipp to {target} (expecting {expect}): {}", String::from_utf8_lossy(&out.stdout));
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            if e.path().to_string_lossy().ends_with("errors.log") {
                eprintln!("{}", std::fs::read_to_string(e.path()).unwrap_or_default());
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    out.status.success()
}

#[tokio::test(flavor = "multi_thread")]
async fn carrier_calls_are_refused_as_the_spec_says_and_leave_cdrs() {
    if !sipp_available() {
        return;
    }
    let (store, _db) = store::testing::sqlite().await;
    let op = Actor::system();
    // Everything is provisioned while the switch runs: it must see it at once.
    let sw = Switch::start(store.clone(), "127.0.0.1:0".parse().unwrap(), RegistrarConfig::default()).await.unwrap();
    let phone = account(&store, "desk-1", "Desk-Pass-1").await;
    let c = customer_of(&store, phone).await;
    let other_phone = account(&store, "desk-2", "Desk-Pass-2").await;
    let other = customer_of(&store, other_phone).await;
    for input in [
        did(c, "15550001", true, Some(phone)),
        did(c, "15550002", false, Some(phone)),
        did(c, "15550004", true, None),
        did(other, "15550003", true, Some(other_phone)),
    ] {
        store.create(&schema::DID_NUMBERS, &op, input).await.unwrap();
    }
    let (trunk, domain) = trunk_of(&store, c).await;
    let server = sw.udp_addr();
    let call = |target: String, payloads: &'static str, expect: u16| {
        tokio::task::spawn_blocking(move || carrier_call(server, &target, "4930111", payloads, expect))
    };

    // (target, offered payload types, expected status, CDR internal reason)
    let cases = [
        (format!("15550001@{domain}"), "0 8 101", 480, Some("Destination not registered")),
        (format!("15550002@{domain}"), "0 8 101", 403, Some("DID disabled")),
        (format!("15559999@{domain}"), "0 8 101", 404, Some("Unknown DID")),
        (format!("15550003@{domain}"), "0 8 101", 404, Some("DID belongs to another customer")),
        (format!("15550004@{domain}"), "0 8 101", 404, Some("DID has no destination")),
        (format!("15550001@{domain}"), "18 101", 488, Some("No allowed codec")),
        ("15550001@nowhere.example.com".to_owned(), "0 8 101", 404, None),
    ];
    for (target, payloads, expect, _) in &cases {
        assert!(call(target.clone(), payloads, *expect).await.unwrap(), "{target} with {payloads} must get {expect}");
    }

    // A customer at its capacity_limit: 480 by default, 403 when the operator chose it.
    let limit = Input::default().with(&schema::CUSTOMERS, "capacity_limit", 0i64);
    store.update(&schema::CUSTOMERS, &op, c, limit).await.unwrap();
    assert!(call(format!("15550001@{domain}"), "0 8 101", 480).await.unwrap(), "capacity reached");
    let code = Input::default().with(&schema::DOMAIN_SETTINGS, "capacity_reject_code", 403i64);
    store.update(&schema::DOMAIN_SETTINGS, &op, 1, code).await.unwrap();
    assert!(call(format!("15550001@{domain}"), "0 8 101", 403).await.unwrap(), "capacity reached, operator chose 403");
    assert_eq!(sw.active_calls(), 0, "refused calls hold no channel");

    // One CDR per call that reached a trunk (not the unknown domain).
    let expected: Vec<(u16, &str)> = cases
        .iter()
        .filter_map(|(_, _, code, why)| why.map(|w| (*code, w)))
        .chain([(480, "Insufficient channels"), (403, "Insufficient channels")])
        .collect();
    let rows = cdrs(&store, expected.len()).await;
    let got: Vec<(u16, &str)> =
        rows.iter().map(|r| (r.get("lega_disconnect_code").as_i64().unwrap() as u16, r.get("internal_reason").as_str().unwrap())).collect();
    assert_eq!(got, expected);
    let first = &rows[0];
    assert_eq!(first.get("incoming_trunk_id").as_i64(), Some(trunk));
    assert_eq!(first.get("customer_id").as_i64(), Some(c));
    assert_eq!(first.get("src_number").as_str(), Some("4930111"));
    assert_eq!(first.get("src_name").as_str(), Some("Caller 4930111"));
    assert_eq!((first.get("dst_number").as_str(), first.get("did_number").as_str()), (Some("15550001"), Some("15550001")));
    assert_eq!(first.get("lega_disconnect_reason").as_str(), Some("Temporarily Unavailable"));
    assert_eq!((first.get("duration").as_i64(), first.get("success").as_bool()), (Some(0), Some(false)));
    assert!(first.get("time_connect") == &Value::Null && first.get("time_end").as_i64() >= first.get("time_start").as_i64());
    assert!(!first.get("call_id").as_str().unwrap().is_empty());
    assert_eq!(rows[2].get("did_number"), &Value::Null, "an unknown DID matched nothing");
    sw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_extension_the_caller_requires_and_we_lack_gets_420() {
    let (store, _db) = store::testing::sqlite().await;
    let sw = Switch::start(store.clone(), "127.0.0.1:0".parse().unwrap(), RegistrarConfig::default()).await.unwrap();
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let local = sock.local_addr().unwrap();
    let invite = format!(
        "INVITE sip:15550001@1.in.switchboard.local SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK-420-1\r\nMax-Forwards: 70\r\n\
         From: <sip:4930111@{local}>;tag=a1\r\nTo: <sip:15550001@1.in.switchboard.local>\r\nCall-ID: req-420@test\r\n\
         CSeq: 1 INVITE\r\nContact: <sip:carrier@{local}>\r\nRequire: 100rel, precondition\r\nContent-Length: 0\r\n\r\n"
    );
    sock.send_to(invite.as_bytes(), sw.udp_addr()).await.unwrap();
    let mut buf = vec![0u8; 65535];
    let text = loop {
        let (n, _) = tokio::time::timeout(std::time::Duration::from_secs(5), sock.recv_from(&mut buf)).await.expect("a response").unwrap();
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        if !text.starts_with("SIP/2.0 100") {
            break text;
        }
    };
    assert!(text.starts_with("SIP/2.0 420 Bad Extension\r\n"), "{text}");
    assert!(text.lines().any(|l| l.eq_ignore_ascii_case("Unsupported: precondition")), "{text}");
    // 100rel alone is fine: the call goes on to admission (no trunk here: 404).
    let again = invite
        .replace("Require: 100rel, precondition", "Require: 100rel")
        .replace("z9hG4bK-420-1", "z9hG4bK-420-2")
        .replace("req-420", "req-404");
    sock.send_to(again.as_bytes(), sw.udp_addr()).await.unwrap();
    let text = loop {
        let (n, _) = tokio::time::timeout(std::time::Duration::from_secs(5), sock.recv_from(&mut buf)).await.expect("a response").unwrap();
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        if !text.starts_with("SIP/2.0 100") && text.contains("req-404") {
            break text;
        }
    };
    assert!(text.starts_with("SIP/2.0 404"), "{text}");
    sw.shutdown().await;
}

/// Sends one INVITE for `target` from a fresh socket on 127.0.0.1; its
/// final response, or `None` when nothing answers within `wait`.
async fn raw_invite(server: std::net::SocketAddr, target: &str, wait: std::time::Duration) -> Option<String> {
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let local = sock.local_addr().unwrap();
    let tag = rand::random::<u32>();
    let invite = format!(
        "INVITE sip:{target} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK-src-{tag}\r\nMax-Forwards: 70\r\n\
         From: <sip:4930111@{local}>;tag=a{tag}\r\nTo: <sip:{target}>\r\nCall-ID: src-{tag}@test\r\n\
         CSeq: 1 INVITE\r\nContact: <sip:carrier@{local}>\r\nContent-Length: 0\r\n\r\n"
    );
    sock.send_to(invite.as_bytes(), server).await.unwrap();
    let mut buf = vec![0u8; 65535];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let (n, _) = tokio::time::timeout_at(deadline, sock.recv_from(&mut buf)).await.ok()?.unwrap();
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        if !text.starts_with("SIP/2.0 1") {
            return Some(text);
        }
    }
}

/// A trunk with allowed sources refuses everyone else with 403 before it
/// looks at the DID (an outsider learns nothing of the numbers), leaves a
/// CDR saying why, and counts it against the source like a wrong password.
#[tokio::test(flavor = "multi_thread")]
async fn a_trunk_takes_calls_only_from_its_allowed_sources() {
    let (store, _db) = store::testing::sqlite().await;
    let op = Actor::system();
    let config = RegistrarConfig { max_auth_failures: 2, block_for: std::time::Duration::from_secs(60), ..RegistrarConfig::default() };
    let sw = Switch::start(store.clone(), "127.0.0.1:0".parse().unwrap(), config).await.unwrap();
    let phone = account(&store, "desk-9", "Desk-Pass-9").await;
    let c = customer_of(&store, phone).await;
    store.create(&schema::DID_NUMBERS, &op, did(c, "15550009", true, Some(phone))).await.unwrap();
    let (trunk, domain) = trunk_of(&store, c).await;
    let sources = |list: &str| Input::default().with(&schema::INCOMING_TRUNKS, "allowed_sources", list);
    let server = sw.udp_addr();
    let wait = std::time::Duration::from_secs(5);
    let status = |r: &Option<String>| r.as_deref().and_then(|t| t.split_whitespace().nth(1)).map(str::to_owned);

    // Allowed: the call reaches admission (its phone is not registered).
    store.update(&schema::INCOMING_TRUNKS, &op, trunk, sources("10.0.0.0/8,127.0.0.1")).await.unwrap();
    let mut answer = None;
    for _ in 0..50 {
        answer = raw_invite(server, &format!("15550009@{domain}"), wait).await;
        if status(&answer).as_deref() == Some("480") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status(&answer).as_deref(), Some("480"), "{answer:?}");

    // Not allowed: 403, a known DID and an unknown one alike.
    store.update(&schema::INCOMING_TRUNKS, &op, trunk, sources("192.0.2.0/24")).await.unwrap();
    let mut refused = None;
    for _ in 0..50 {
        refused = raw_invite(server, &format!("15550009@{domain}"), wait).await;
        if status(&refused).as_deref() == Some("403") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(refused.as_deref().is_some_and(|r| r.starts_with("SIP/2.0 403 Forbidden\r\n")), "{refused:?}");
    // That was the second failure of 127.0.0.1 at most: from now on, silence.
    let after = raw_invite(server, &format!("15559999@{domain}"), std::time::Duration::from_secs(2)).await;
    assert!(after.is_none() || status(&after).as_deref() == Some("403"), "{after:?}");
    assert!(raw_invite(server, &format!("15550009@{domain}"), std::time::Duration::from_secs(2)).await.is_none(), "a blocked source");

    // The 480, then the refusals (a reload racing the first may add a 480).
    let rows = cdrs(&store, 3).await;
    let why: Vec<(Option<&str>, Option<&str>)> =
        rows.iter().map(|r| (r.get("internal_reason").as_str(), r.get("did_number").as_str())).collect();
    assert_eq!(why[0], (Some("Destination not registered"), Some("15550009")));
    assert!(why.contains(&(Some("Source not allowed for this trunk"), None)), "the CDR names no DID: {why:?}");
    sw.shutdown().await;
}

/// A phone (not registered) rung by a DID of its customer: the phone's
/// id, and the id and domain of the customer's trunk.
async fn phone_behind_trunk(store: &store::Store, username: &str, password: &str, number: &str) -> (i64, i64, String) {
    let phone = account(store, username, password).await;
    let c = customer_of(store, phone).await;
    store.create(&schema::DID_NUMBERS, &Actor::system(), did(c, number, true, Some(phone))).await.unwrap();
    let (trunk, domain) = trunk_of(store, c).await;
    (phone, trunk, domain)
}

/// A trunk's digest credentials, both at once.
fn credentials(name: &str, password: &str) -> Input {
    Input::default().with(&schema::INCOMING_TRUNKS, "auth_name", name).with(&schema::INCOMING_TRUNKS, "auth_password", password)
}

/// A trunk with digest credentials challenges its carrier's INVITE (no
/// CDR for the challenge), takes it with the right credentials and
/// refuses a wrong password with 403 and a CDR, before any DID is looked at.
#[tokio::test(flavor = "multi_thread")]
async fn a_trunk_with_credentials_takes_only_calls_that_answer_its_challenge() {
    if !sipp_available() {
        return;
    }
    use common::calls::{call_phones, caller_hangs_up, register_phone};
    let (store, _db) = store::testing::sqlite().await;
    let op = Actor::system();
    let (phone, trunk, domain) = phone_behind_trunk(&store, "desk-10", "Desk-Pass-10", "15550010").await;
    // One without the other is refused on save.
    let half = Input::default().with(&schema::INCOMING_TRUNKS, "auth_name", "carrier-10");
    let err = store.update(&schema::INCOMING_TRUNKS, &op, trunk, half).await.unwrap_err().to_string();
    assert!(err.contains("auth_password"), "{err}");
    store.update(&schema::INCOMING_TRUNKS, &op, trunk, credentials("carrier-10", "Trunk-Pass-10")).await.unwrap();
    let sw = Switch::start(store.clone(), "127.0.0.1:0".parse().unwrap(), RegistrarConfig::default()).await.unwrap();
    let port = register_phone(&store, &sw, phone, "desk-10", "Desk-Pass-10").await;
    let server = sw.udp_addr();
    let target = format!("15550010@{domain}");

    assert!(carrier_call(server, &target, "4930111", "8 0 101", 401), "no credentials: a challenge");
    let (carrier_end, phone_end) = caller_hangs_up();
    // The BYE follows the second INVITE (CSeq 2) in the dialog.
    let carrier_end = carrier_end.replace("CSeq: 2 BYE", "CSeq: 3 BYE");
    let right = "carrier-auth-call.xml?AUTH_USER=carrier-10&AUTH_PASS=Trunk-Pass-10&OPEN_403=<!--&CLOSE_403=-->&OPEN_200=&CLOSE_200=";
    let (carrier_ok, phones_ok) = call_phones(server, &target, (right, &carrier_end), &[(port, "phone-answer.xml", &phone_end)]).await;
    assert_eq!((carrier_ok, phones_ok), (true, vec![true]), "the right credentials: the call is answered");
    let wrong = "carrier-auth-call.xml?AUTH_USER=carrier-10&AUTH_PASS=not-it&OPEN_200=<!--&CLOSE_200=-->&OPEN_403=&CLOSE_403=";
    let (carrier_ok, _) = call_phones(server, &target, (wrong, ""), &[]).await;
    assert!(carrier_ok, "a wrong password: 403");

    let rows = cdrs(&store, 2).await;
    let got: Vec<_> =
        rows.iter().map(|r| (r.get("success").as_bool(), r.get("internal_reason").as_str(), r.get("did_number").as_str())).collect();
    assert_eq!(got[0].0, Some(true), "the answered call: {got:?}");
    assert_eq!(got[1], (Some(false), Some("Wrong trunk credentials"), None), "the refusal names no DID");
    assert_eq!(cdrs(&store, 3).await.len(), 2, "a challenge leaves no CDR");
    sw.shutdown().await;
}

/// A carrier that registers: its REGISTER to the trunk's domain is taken
/// with the trunk's credentials only, and from the trunk's sources only;
/// while it lasts, the carrier's INVITEs from there need no digest; once
/// it is removed they are challenged again.
#[tokio::test(flavor = "multi_thread")]
async fn a_carrier_registers_with_its_trunks_credentials_and_then_calls_without_a_challenge() {
    if !sipp_available() {
        return;
    }
    use common::calls::write_filled;
    use common::sipp;
    let (store, _db) = store::testing::sqlite().await;
    let op = Actor::system();
    let (_, trunk, domain) = phone_behind_trunk(&store, "desk-20", "Desk-Pass-20", "15550020").await;
    let sw = Switch::start(store.clone(), "127.0.0.1:0".parse().unwrap(), RegistrarConfig::default()).await.unwrap();
    let server = sw.udp_addr();
    let dir = std::env::temp_dir().join(format!("sb-carrier-reg-{}-{}", std::process::id(), rand::random::<u32>()));
    std::fs::create_dir_all(&dir).unwrap();
    // One port, so the carrier's Contact is the same each time (Expires 0 removes it).
    let port = free_udp_port();
    let register = |fills: &[(&str, &str)], password: &str, expires: u32| {
        let mut all = vec![("TRUNK_DOMAIN", domain.as_str())];
        all.extend_from_slice(fills);
        let xml = write_filled(&dir, "carrier-register.xml", &all);
        sipp(server, port, &xml, "carrier-20", password, expires, false)
    };
    let challenged = [("OPEN_C", ""), ("CLOSE_C", ""), ("OPEN_N", "<!--"), ("CLOSE_N", "-->"), ("FINAL_CODE", "200")];
    let refused_at_once = [("OPEN_C", "<!--"), ("CLOSE_C", "-->"), ("OPEN_N", ""), ("CLOSE_N", "")];
    let wrong = [("OPEN_C", ""), ("CLOSE_C", ""), ("OPEN_N", "<!--"), ("CLOSE_N", "-->"), ("FINAL_CODE", "403")];
    let target = format!("15550020@{domain}");
    let call = |expect| carrier_call(server, &target, "4930111", "8 0 101", expect);

    assert!(register(&refused_at_once, "Trunk-Pass-20", 300), "a trunk without credentials takes no registration");
    store.update(&schema::INCOMING_TRUNKS, &op, trunk, credentials("carrier-20", "Trunk-Pass-20")).await.unwrap();
    assert!(call(401), "not registered yet: the INVITE is challenged");
    assert!(register(&wrong, "not-it", 300), "a wrong password: 403");
    assert!(call(401), "a refused registration trusts nothing");
    assert!(register(&challenged, "Trunk-Pass-20", 300), "the trunk's credentials: 200");
    // The phone is offline: a 480 shows the call passed the trunk and reached the DID.
    assert!(call(480), "registered: the INVITE needs no digest");
    assert!(register(&challenged, "Trunk-Pass-20", 0), "Expires 0 unregisters");
    assert!(call(401), "unregistered: challenged again");

    let only = Input::default().with(&schema::INCOMING_TRUNKS, "allowed_sources", "192.0.2.0/24");
    store.update(&schema::INCOMING_TRUNKS, &op, trunk, only).await.unwrap();
    assert!(register(&refused_at_once, "Trunk-Pass-20", 300), "from outside the trunk's sources: 403, no challenge");
    let _ = std::fs::remove_dir_all(&dir);
    sw.shutdown().await;
}
