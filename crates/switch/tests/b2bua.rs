//! Bridged DID calls: SIPp as the carrier (UAC) and as the registered
//! phone (UAS), over real sockets. The call is answered, its RTP goes
//! through the relay both ways, it is hung up from either side, and it
//! leaves a CDR that says who hung up.

use std::process::Command;
mod common;

use common::calls::{
    call_phones, callee_hangs_up, caller_hangs_up, did_to_phone, last_cdr, part, register_phone, write_scenario, DidToPhone as Setup,
};
use common::{account, cdrs, customer_of, did, free_udp_port, media_port, sipp, sipp_available, trunk_of, wait_for};
use domain::schema;
use store::{Actor, Input, ListQuery, RelInput, Scope};
use switch::{CallSettings, Switch, SwitchConfig};

async fn setup(config: SwitchConfig) -> Setup {
    did_to_phone(store::testing::sqlite().await, config).await
}

/// Runs one call: the phone's UAS in the background, then the carrier;
/// each is (scenario file, placeholder fill). True for each that passed.
async fn call(s: &Setup, carrier: (&str, &str), phone: (&str, &str)) -> (bool, bool) {
    call_to(s.sw.udp_addr(), &s.domain, s.phone_port, carrier, phone).await
}

/// [`call`] given where the switch listens, the trunk domain and the phone's port.
async fn call_to(server: std::net::SocketAddr, domain: &str, phone_port: u16, carrier: (&str, &str), phone: (&str, &str)) -> (bool, bool) {
    let (carrier, phones) = call_phones(server, &format!("15550001@{domain}"), carrier, &[(phone_port, phone.0, phone.1)]).await;
    (carrier, phones[0])
}

#[tokio::test(flavor = "multi_thread")]
async fn a_carrier_call_rings_the_phone_is_answered_and_hung_up_from_either_side() {
    if !sipp_available() {
        return;
    }
    let s = setup(SwitchConfig::default()).await;
    let (carrier, phone) = caller_hangs_up();
    assert_eq!(call(&s, ("carrier-call.xml", &carrier), ("phone-answer.xml", &phone)).await, (true, true), "carrier and phone scenarios");
    let cdr = last_cdr(&s.store, 1).await;
    assert_eq!((cdr.get("lega_disconnect_code").as_i64(), cdr.get("lega_disconnect_reason").as_str()), (Some(200), Some("BYE")));
    assert_eq!(cdr.get("success").as_bool(), Some(true));
    let (start, connect, end) =
        (cdr.get("time_start").as_i64().unwrap(), cdr.get("time_connect").as_i64().unwrap(), cdr.get("time_end").as_i64().unwrap());
    assert!(start <= connect && connect <= end, "{start} {connect} {end}");
    assert_eq!(cdr.get("did_number").as_str(), Some("15550001"));
    assert_eq!(cdr.get("src_number").as_str(), Some("4930111"));
    let (to_phone, to_carrier, ports) = s.sw.media_stats();
    assert!(to_phone > 0 && to_carrier > 0, "RTP relayed both ways: {to_phone} to the phone, {to_carrier} back");
    assert_eq!(ports, 0, "the call's relay ports are free again");

    let (carrier, phone) = callee_hangs_up();
    let r = call(&s, ("carrier-call.xml", &carrier), ("phone-answer.xml", &phone)).await;
    assert_eq!(r, (true, true), "carrier and phone scenarios, the phone hangs up");
    let cdr = last_cdr(&s.store, 2).await;
    assert_eq!((cdr.get("lega_disconnect_code").as_i64(), cdr.get("lega_disconnect_reason").as_str()), (Some(200), Some("OK")));
    assert_eq!(cdr.get("internal_reason").as_str(), Some("Callee hung up"));
    assert_eq!(s.sw.active_calls(), 0, "every channel is given back");
    s.sw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_carrier_with_100rel_gets_reliable_ringing_and_the_answer_after_its_prack() {
    if !sipp_available() {
        return;
    }
    let s = setup(SwitchConfig::default()).await;
    // The PRACK took CSeq 2, so the carrier's BYE is 3.
    let (carrier, phone) = caller_hangs_up();
    let carrier = carrier.replace("CSeq: 2 BYE", "CSeq: 3 BYE");
    // The phone answers at once; the carrier PRACKs the 180 only after 1.2 s
    // and expects the 200 after its PRACK's own 200.
    let r = call(&s, ("carrier-100rel.xml", &carrier), ("phone-answer.xml", &phone)).await;
    assert_eq!(r, (true, true), "carrier (reliable 180, PRACK, answer) and phone");
    let cdr = last_cdr(&s.store, 1).await;
    assert_eq!(cdr.get("success").as_bool(), Some(true));
    assert_eq!(cdr.get("internal_reason").as_str(), Some("Caller hung up"));
    s.sw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cancel_busy_and_no_answer_reach_the_carrier() {
    if !sipp_available() {
        return;
    }
    let config = SwitchConfig {
        calls: CallSettings { no_answer_timeout: std::time::Duration::from_secs(1), ..CallSettings::default() },
        ..SwitchConfig::default()
    };
    let s = setup(config).await;

    let r = call(&s, ("carrier-cancel.xml", ""), ("phone-cancelled.xml", "")).await;
    assert_eq!(r, (true, true), "the caller cancels: 487 to it, CANCEL to the phone");
    let cdr = last_cdr(&s.store, 1).await;
    assert_eq!((cdr.get("lega_disconnect_code").as_i64(), cdr.get("internal_reason").as_str()), (Some(487), Some("Caller cancelled")));

    let r = call(&s, ("carrier-refused.xml", "486"), ("phone-busy.xml", "")).await;
    assert_eq!(r, (true, true), "the phone's 486 reaches the carrier");
    let cdr = last_cdr(&s.store, 2).await;
    assert_eq!((cdr.get("lega_disconnect_code").as_i64(), cdr.get("lega_disconnect_reason").as_str()), (Some(486), Some("Busy Here")));

    let r = call(&s, ("carrier-refused.xml", "488"), ("phone-bad-answer.xml", "")).await;
    assert_eq!(r, (true, true), "an answer with a codec never offered: BYE to the phone, 488 to the carrier");
    let cdr = last_cdr(&s.store, 3).await;
    assert_eq!(cdr.get("internal_reason").as_str(), Some("Callee's SDP answer is unusable: the answer has a codec the offer did not list"));
    assert_eq!(cdr.get("time_connect").as_i64(), None, "never connected");

    let r = call(&s, ("carrier-refused.xml", "480"), ("phone-cancelled.xml", "")).await;
    assert_eq!(r, (true, true), "nobody answers in time: 480 to the carrier, CANCEL to the phone");
    let cdr = last_cdr(&s.store, 4).await;
    assert_eq!((cdr.get("lega_disconnect_code").as_i64(), cdr.get("internal_reason").as_str()), (Some(480), Some("No answer")));
    assert_eq!(cdr.get("success").as_bool(), Some(false));
    assert_eq!(s.sw.active_calls(), 0);
    s.sw.shutdown().await;
}

/// Many calls at once: the phone's SIPp answers (or not) until killed, the
/// carrier's places `calls` at `rate` per second. Outcomes are read from
/// the CDRs.
async fn batch(s: &Setup, carrier: (&str, &str), phone: (&str, &str), calls: u32, rate: u32) {
    let dir = std::env::temp_dir().join(format!("sb-batch-{}-{}", std::process::id(), rand::random::<u32>()));
    std::fs::create_dir_all(&dir).unwrap();
    let phone_xml = write_scenario(&dir, phone.0, phone.1);
    let carrier_xml = write_scenario(&dir, carrier.0, carrier.1);
    let csv = dir.join("call.csv");
    std::fs::write(&csv, format!("SEQUENTIAL\n15550001@{};4930111;8 0 101;\n", s.domain)).unwrap();
    let mut phone = Command::new("sipp")
        .current_dir(&dir)
        .args(["-sf", &phone_xml, "-p", &s.phone_port.to_string(), "-i", "127.0.0.1", "-nostdin", "-timeout", "60"])
        .args(["-mp", &media_port().to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("run sipp");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let server = s.sw.udp_addr().to_string();
    let d = dir.clone();
    let (calls, rate) = (calls.to_string(), rate.to_string());
    tokio::task::spawn_blocking(move || {
        Command::new("sipp")
            .current_dir(&d)
            .args([&server, "-sf", &carrier_xml, "-inf", csv.to_str().unwrap(), "-i", "127.0.0.1", "-nostdin"])
            .args(["-m", &calls, "-r", &rate, "-timeout", "60", "-p", &free_udp_port().to_string(), "-mp", &media_port().to_string()])
            .output()
            .expect("run sipp")
    })
    .await
    .unwrap();
    let _ = phone.kill();
    let _ = phone.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn channels_are_counted_exactly_however_calls_end() {
    if !sipp_available() {
        return;
    }
    let s = setup(SwitchConfig::default()).await;
    let customer = {
        let q = ListQuery::default();
        s.store.list(&schema::CUSTOMERS, Scope::Operator, &q).await.unwrap().records[0].id()
    };
    let limit = Input::default().with(&schema::CUSTOMERS, "capacity_limit", 4i64);
    s.store.update(&schema::CUSTOMERS, &Actor::system(), customer, limit).await.unwrap();
    // Sample the channel count all along: it must never pass the limit.
    let sw = std::sync::Arc::new(s);
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let (sw, done) = (sw.clone(), done.clone());
        tokio::spawn(async move {
            let mut max = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                max = max.max(sw.sw.active_calls());
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            }
            max
        })
    };
    let short_call = r#"
  <pause milliseconds="600"/>
  <send retrans="500">
    <![CDATA[

      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      [routes]
      Max-Forwards: 70
      From: "Caller [field1]" <sip:[field1]@[local_ip]>;tag=[pid]SIPpTag[call_number]
      [last_To:]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Content-Length: 0

    ]]>
  </send>
  <recv response="200" crlf="true"/>
"#;
    // Answered and hung up by the caller, 20 calls at 20/s: about 12 at once wanted, 4 allowed.
    batch(&sw, ("carrier-call.xml", short_call), ("phone-answer.xml", &part("hangup-recv-bye.part")), 20, 20).await;
    assert_eq!(sw.sw.active_calls(), 0, "after answered calls");
    // Cancelled while ringing, and refused busy by the phone.
    batch(&sw, ("carrier-cancel.xml", ""), ("phone-cancelled.xml", ""), 10, 20).await;
    assert_eq!(sw.sw.active_calls(), 0, "after cancelled calls");
    batch(&sw, ("carrier-refused.xml", "486"), ("phone-busy.xml", ""), 10, 20).await;
    assert_eq!(sw.sw.active_calls(), 0, "after busy calls");

    let rows = cdrs(&sw.store, 40).await;
    let mut by_outcome = std::collections::BTreeMap::new();
    for r in &rows {
        let key = (r.get("lega_disconnect_code").as_i64().unwrap(), r.get("internal_reason").as_str().unwrap_or("").to_owned());
        *by_outcome.entry(key).or_insert(0) += 1;
    }
    assert_eq!(rows.len(), 40, "one CDR per call: {by_outcome:?}");
    let refused = by_outcome.get(&(480, "Insufficient channels".to_owned())).copied().unwrap_or(0);
    assert!(refused > 0, "the limit refused some calls: {by_outcome:?}");
    assert!(sw.store.live_calls().await.unwrap().is_empty(), "every call that opened was closed");
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let max = watcher.await.unwrap();
    let s = std::sync::Arc::try_unwrap(sw).ok().expect("only the test holds the setup now");
    assert!((1..=4).contains(&max), "at most the limit at once, saw {max}");
    s.sw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_hangs_up_calls_and_writes_their_cdrs() {
    if !sipp_available() {
        return;
    }
    let s = setup(SwitchConfig::default()).await;
    let (server, domain, phone_port) = (s.sw.udp_addr(), s.domain.clone(), s.phone_port);
    let recv_bye = part("hangup-recv-bye.part");
    let both_wait = tokio::spawn(async move {
        call_to(server, &domain, phone_port, ("carrier-call.xml", &recv_bye), ("phone-answer.xml", &recv_bye)).await
    });
    // Once the call is up, stop the switch: both sides get a BYE.
    let mut up = false;
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        if s.sw.active_calls() == 1 {
            up = true;
            break;
        }
    }
    assert!(up, "the call came up");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let Setup { store, sw, db: _db, .. } = s;
    sw.shutdown().await;
    assert_eq!(both_wait.await.unwrap(), (true, true), "carrier and phone each got a BYE");
    let cdr = last_cdr(&store, 1).await;
    assert_eq!(cdr.get("internal_reason").as_str(), Some("Switch shutting down"), "the CDR was written before the switch stopped");
    assert!(cdr.get("time_connect").as_i64().is_some());
    assert!(store.live_calls().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ring_group_rings_its_members_in_turn_or_all_at_once() {
    if !sipp_available() {
        return;
    }
    let (store, _db) = store::testing::sqlite().await;
    let actor = Actor::system();
    let first = account(&store, "member-1", "Member-Pass-1").await;
    let c = customer_of(&store, first).await;
    let second = {
        let input = Input::default()
            .with(&schema::SIP_ACCOUNTS, "username", "member-2")
            .with(&schema::SIP_ACCOUNTS, "password", "Member-Pass-2")
            .with_rel(&schema::SIP_ACCOUNTS, "customer", RelInput::To("customers", c));
        store.create(&schema::SIP_ACCOUNTS, &actor, input).await.unwrap().id()
    };
    let group = Input::default()
        .with(&schema::RING_GROUPS, "name", "Sales")
        .with(&schema::RING_GROUPS, "strategy", "sequential")
        .with(&schema::RING_GROUPS, "ring_timeout", 5i64)
        .with_rel(&schema::RING_GROUPS, "customer", RelInput::To("customers", c))
        .with_rel(&schema::RING_GROUPS, "members", RelInput::Many(vec![first, second]));
    let group = store.create(&schema::RING_GROUPS, &actor, group).await.unwrap().id();
    let number = did(c, "15550001", true, None).with_rel(&schema::DID_NUMBERS, "destination", RelInput::To("ring_groups", group));
    store.create(&schema::DID_NUMBERS, &actor, number).await.unwrap();
    let (_, domain) = trunk_of(&store, c).await;
    let sw = Switch::start(store.clone(), "127.0.0.1:0".parse().unwrap(), SwitchConfig::default()).await.unwrap();
    let port_1 = register_phone(&store, &sw, first, "member-1", "Member-Pass-1").await;
    let port_2 = register_phone(&store, &sw, second, "member-2", "Member-Pass-2").await;
    let target = format!("15550001@{domain}");

    // In turn: the first member rings for 5 s unanswered and is cancelled, then the second answers.
    let (carrier, callee) = callee_hangs_up();
    let started = std::time::Instant::now();
    let phones = [(port_1, "phone-cancelled.xml", ""), (port_2, "phone-answer.xml", callee.as_str())];
    let (carrier_ok, phones_ok) = call_phones(sw.udp_addr(), &target, ("carrier-call.xml", &carrier), &phones).await;
    assert_eq!((carrier_ok, phones_ok), (true, vec![true, true]), "sequential: carrier, first member, second member");
    assert!(started.elapsed() >= std::time::Duration::from_secs(5), "the first member rang its full time");
    let cdr = last_cdr(&store, 1).await;
    assert_eq!((cdr.get("lega_disconnect_code").as_i64(), cdr.get("internal_reason").as_str()), (Some(200), Some("Callee hung up")));

    // All at once: the first member answers at once, the second is cancelled.
    let all = Input::default().with(&schema::RING_GROUPS, "strategy", "simultaneous");
    store.update(&schema::RING_GROUPS, &actor, group, all).await.unwrap();
    let (carrier, callee) = caller_hangs_up();
    let started = std::time::Instant::now();
    let phones = [(port_1, "phone-answer.xml", callee.as_str()), (port_2, "phone-cancelled.xml", "")];
    let (carrier_ok, phones_ok) = call_phones(sw.udp_addr(), &target, ("carrier-call.xml", &carrier), &phones).await;
    assert_eq!((carrier_ok, phones_ok), (true, vec![true, true]), "simultaneous: carrier, answering member, cancelled member");
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "nobody waited for a step to time out");
    let cdr = last_cdr(&store, 2).await;
    assert_eq!((cdr.get("lega_disconnect_code").as_i64(), cdr.get("lega_disconnect_reason").as_str()), (Some(200), Some("BYE")));

    // A member answers just as it is cancelled (its 200 crosses our
    // CANCEL): the call is the first member's, and the late answer is
    // hung up at once with ACK and BYE.
    let (carrier, callee) = caller_hangs_up();
    let late = tokio::spawn(answer_when_cancelled(port_2));
    let first_answers = r#"phone-answer.xml?<!--ANSWER_PAUSE-->=<pause milliseconds="500"/>"#;
    let phones = [(port_1, first_answers, callee.as_str())];
    let (carrier_ok, phones_ok) = call_phones(sw.udp_addr(), &target, ("carrier-call.xml", &carrier), &phones).await;
    assert_eq!((carrier_ok, phones_ok), (true, vec![true]), "crossing answer: carrier, answering member");
    assert_eq!(late.await.unwrap(), vec!["INVITE", "CANCEL", "ACK", "BYE"], "the late answer is acknowledged and hung up");

    // Nobody answers: each member rings in turn, then 480 to the carrier.
    let seq = Input::default().with(&schema::RING_GROUPS, "strategy", "sequential");
    store.update(&schema::RING_GROUPS, &actor, group, seq).await.unwrap();
    let phones = [(port_1, "phone-cancelled.xml", ""), (port_2, "phone-cancelled.xml", "")];
    let (carrier_ok, phones_ok) = call_phones(sw.udp_addr(), &target, ("carrier-refused.xml", "480"), &phones).await;
    assert_eq!((carrier_ok, phones_ok), (true, vec![true, true]), "unanswered: carrier, both members cancelled in turn");
    let cdr = last_cdr(&store, 4).await;
    assert_eq!((cdr.get("lega_disconnect_code").as_i64(), cdr.get("internal_reason").as_str()), (Some(480), Some("No answer")));
    assert_eq!(sw.active_calls(), 0);
    sw.shutdown().await;
}

/// A phone on `port` that rings, and answers only when its INVITE is
/// cancelled (the 200 crossing the CANCEL); the requests it got, in order,
/// once BYE came (or 15 s passed).
async fn answer_when_cancelled(port: u16) -> Vec<String> {
    let socket = tokio::net::UdpSocket::bind(("127.0.0.1", port)).await.unwrap();
    let mut got = Vec::new();
    let mut invite = None;
    let mut buf = vec![0u8; 65536];
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    while let Ok(Ok((n, from))) = tokio::time::timeout_at(deadline, socket.recv_from(&mut buf)).await {
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        let method = text.split(' ').next().unwrap_or_default().to_owned();
        if got.last() != Some(&method) {
            got.push(method.clone());
        }
        let replies = match method.as_str() {
            "INVITE" => {
                invite = Some(text.clone());
                vec![response_to(&text, "180 Ringing", "")]
            }
            "CANCEL" => {
                let sdp = "v=0\r\no=late 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 8\r\n";
                vec![response_to(&text, "200 OK", ""), response_to(invite.as_deref().unwrap_or_default(), "200 OK", sdp)]
            }
            "BYE" => {
                let _ = socket.send_to(response_to(&text, "200 OK", "").as_bytes(), from).await;
                break;
            }
            _ => Vec::new(),
        };
        for r in replies {
            socket.send_to(r.as_bytes(), from).await.unwrap();
        }
    }
    got
}

/// A response to `request` with our To tag, a Contact and `sdp` as body.
fn response_to(request: &str, status: &str, sdp: &str) -> String {
    let mut out = format!("SIP/2.0 {status}\r\n");
    for line in request.lines() {
        let name = line.split(':').next().unwrap_or_default().trim().to_ascii_lowercase();
        match name.as_str() {
            "via" | "from" | "call-id" | "cseq" => out.push_str(&format!("{line}\r\n")),
            "to" if line.contains("tag=") => out.push_str(&format!("{line}\r\n")),
            "to" => out.push_str(&format!("{line};tag=late-phone\r\n")),
            _ => {}
        }
    }
    out.push_str("Contact: <sip:late@127.0.0.1>\r\n");
    if !sdp.is_empty() {
        out.push_str("Content-Type: application/sdp\r\n");
    }
    out.push_str(&format!("Content-Length: {}\r\n\r\n{sdp}", sdp.len()));
    out
}

/// Behind 1:1 NAT: with `sip_public_address` set, the INVITE to the phone
/// carries it in Via, Contact and the relay's SDP, and the answer and the
/// BYE come back through it. 127.0.0.2 plays the public address: it
/// reaches the server, which listens on every address, as a NAT would.
#[tokio::test(flavor = "multi_thread")]
async fn the_public_address_is_where_peers_reach_us() {
    if !sipp_available() {
        return;
    }
    let (store, _db) = store::testing::sqlite().await;
    let phone = account(&store, "desk-1", "Desk-Pass-1").await;
    let c = customer_of(&store, phone).await;
    store.create(&schema::DID_NUMBERS, &Actor::system(), did(c, "15550001", true, Some(phone))).await.unwrap();
    let public = Input::default().with(&schema::DOMAIN_SETTINGS, "sip_public_address", "127.0.0.2");
    store.update(&schema::DOMAIN_SETTINGS, &Actor::system(), 1, public).await.unwrap();
    let (_, domain) = trunk_of(&store, c).await;
    let sw = Switch::start(store.clone(), "0.0.0.0:0".parse().unwrap(), SwitchConfig::default()).await.unwrap();
    let server: std::net::SocketAddr = format!("127.0.0.1:{}", sw.udp_addr().port()).parse().unwrap();
    let phone_port = free_udp_port();
    let registered = tokio::task::spawn_blocking(move || sipp(server, phone_port, "register.xml", "desk-1", "Desk-Pass-1", 300, false));
    assert!(registered.await.unwrap(), "the phone registers");
    assert!(wait_for(&store, phone, |p| p.0).await.0);
    // (XML attribute values take no '<': '.' stands for it.)
    let checks = concat!(
        r#"<ereg regexp="Via: SIP/2\.0/UDP 127\.0\.0\.2:[0-9]+;" search_in="msg" check_it="true" assign_to="offer"/>"#,
        r#"<ereg regexp="Contact: .sip:[^@]*@127\.0\.0\.2:[0-9]+" search_in="msg" check_it="true" assign_to="offer"/>"#,
        r#"<ereg regexp="c=IN IP4 127\.0\.0\.2" search_in="body" check_it="true" assign_to="offer"/>"#,
        r#"<ereg regexp="o=[^ ]+ [0-9]+ [0-9]+ IN IP4 127\.0\.0\.2" search_in="body" check_it="true" assign_to="offer"/>"#,
    );
    let phone_scenario = format!("phone-answer.xml?<!--INVITE_CHECKS-->={checks}");
    let (carrier, hangup) = caller_hangs_up();
    let (carrier_ok, phones) =
        call_phones(server, &format!("15550001@{domain}"), ("carrier-call.xml", &carrier), &[(phone_port, &phone_scenario, &hangup)]).await;
    assert_eq!((carrier_ok, phones), (true, vec![true]), "carrier and phone, through the public address");
    let cdr = last_cdr(&store, 1).await;
    assert_eq!(cdr.get("lega_disconnect_code").as_i64(), Some(200));
    sw.shutdown().await;
}
