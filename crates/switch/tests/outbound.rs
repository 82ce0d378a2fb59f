//! Calls from phones, SIPp at every end over real sockets: the caller
//! authenticates its INVITE with its SIP account's digest credentials; an
//! extension of the same customer rings, and nothing reaches another
//! customer's phones; a number goes out through the routes' gateways, with
//! digest toward them, failover, and a termination CDR per attempt.

mod common;

use common::calls::{call_phones, caller_hangs_up, gateway_answer, part, register_phone};
use common::{account, cdrs, customer_of, did, extension, free_udp_port, gateway, route, sipp_available, termination_cdrs, trunk_of};
use domain::schema;
use store::{Actor, Input, RelInput};
use switch::{Switch, SwitchConfig};

#[tokio::test(flavor = "multi_thread")]
async fn an_extension_rings_only_within_the_callers_customer() {
    if !sipp_available() {
        return;
    }
    let (store, _db) = store::testing::sqlite().await;
    let first = account(&store, "seed-a", "Seed-Pass-1").await;
    let a = customer_of(&store, first).await;
    let other_seed = account(&store, "seed-b", "Seed-Pass-2").await;
    let b = customer_of(&store, other_seed).await;
    extension(&store, a, "caller-1", "Caller-Pass-1", "101").await;
    let callee = extension(&store, a, "callee-1", "Callee-Pass-1", "102").await;
    let stranger = extension(&store, b, "stranger-1", "Stranger-Pass-1", "103").await;
    let sw = Switch::start(store.clone(), "127.0.0.1:0".parse().unwrap(), SwitchConfig::default()).await.unwrap();
    let callee_port = register_phone(&store, &sw, callee, "callee-1", "Callee-Pass-1").await;
    // Registered, but never answering: ringing it would fail the test.
    register_phone(&store, &sw, stranger, "stranger-1", "Stranger-Pass-1").await;
    let server = sw.udp_addr();
    // With the port: SIPp computes its digest for `sip:<address>:<port>`.
    let host = server.to_string();
    let caller = "phone-call.xml?USERNAME=caller-1&PASSWORD=Caller-Pass-1";

    // 101 dials 102: the callee's phone rings and answers; the caller hangs up.
    let phones = [(callee_port, "phone-answer.xml", part("hangup-recv-bye.part"))];
    let phones: Vec<(u16, &str, &str)> = phones.iter().map(|(p, n, f)| (*p, *n, f.as_str())).collect();
    let (caller_ok, phones_ok) = call_phones(server, &format!("102@{host}"), (caller, ""), &phones).await;
    assert_eq!((caller_ok, phones_ok), (true, vec![true]), "the internal call: caller, callee");
    assert_eq!(sw.active_calls(), 0, "the internal call gave its channel back");

    // 103 is another customer's extension: for this caller it is just a
    // number, and it may not call out.
    let refused = "phone-call-refused.xml?USERNAME=caller-1&PASSWORD=Caller-Pass-1";
    let (caller_ok, _) = call_phones(server, &format!("103@{host}"), (refused, "403"), &[]).await;
    assert!(caller_ok, "another customer's extension is not reachable: 403");

    // A wrong password places no call.
    let wrong = "phone-call-refused.xml?USERNAME=caller-1&PASSWORD=not-the-password";
    let (caller_ok, _) = call_phones(server, &format!("102@{host}"), (wrong, "403"), &[]).await;
    assert!(caller_ok, "a wrong password gets 403");
    sw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_phone_dials_out_through_the_routes_gateways_with_failover_and_digest() {
    if !sipp_available() {
        return;
    }
    let (store, _db) = store::testing::sqlite().await;
    let seed = account(&store, "seed-c", "Seed-Pass-3").await;
    let c = customer_of(&store, seed).await;
    // Its external caller id is one of its customer's DIDs.
    store.create(&schema::DID_NUMBERS, &Actor::system(), did(c, "4930111", true, None)).await.unwrap();
    let caller = {
        let input = Input::default()
            .with(&schema::SIP_ACCOUNTS, "username", "dialer-1")
            .with(&schema::SIP_ACCOUNTS, "password", "Dialer-Pass-1")
            .with(&schema::SIP_ACCOUNTS, "allow_external_calls", true)
            .with(&schema::SIP_ACCOUNTS, "external_caller_id", "4930111")
            .with(&schema::SIP_ACCOUNTS, "caller_id_name", "Front Desk")
            .with_rel(&schema::SIP_ACCOUNTS, "customer", RelInput::To("customers", c));
        store.create(&schema::SIP_ACCOUNTS, &Actor::system(), input).await.unwrap().id()
    };
    let (port_1, port_2) = (free_udp_port(), free_udp_port());
    let failing = gateway(&store, "Failing", port_1, "PCMA,PCMU,telephone-event", None).await;
    let answering = gateway(&store, "Answering", port_2, "PCMA,telephone-event", Some(("gw-user", "gw-pass"))).await;
    // Longest dst_prefix first: the failing gateway's route is tried first.
    let first = route(&store, "Germany", "49", failing, None).await;
    let second = route(&store, "Europe", "4", answering, Some((r"^49(\d+)$", r"0049\1"))).await;
    let sw = Switch::start(store.clone(), "127.0.0.1:0".parse().unwrap(), SwitchConfig::default()).await.unwrap();
    let server = sw.udp_addr();
    let target = format!("4930123456@{server}");
    let dialer = "phone-call.xml?USERNAME=dialer-1&PASSWORD=Dialer-Pass-1";
    // 503 from the first gateway: on to the second, which challenges (401) and answers.
    let answer_401 = gateway_answer(401, "004930123456");
    let gateways = [(port_1, "gateway-refuse.xml", "503"), (port_2, answer_401.as_str(), "")];
    let (caller_ok, gateways_ok) = call_phones(server, &target, (dialer, ""), &gateways).await;
    assert_eq!((caller_ok, gateways_ok), (true, vec![true, true]), "caller; failing gateway; answering gateway");
    let rows = termination_cdrs(&store, 2).await;
    assert_eq!(rows.len(), 2, "one termination CDR per attempt");
    let (failed, answered) = (&rows[0], &rows[1]);
    assert_eq!((failed.get("route_id").as_i64(), failed.get("gateway_id").as_i64()), (Some(first), Some(failing)));
    assert_eq!((failed.get("lega_disconnect_code").as_i64(), failed.get("success").as_bool()), (Some(503), Some(false)));
    assert_eq!((answered.get("route_id").as_i64(), answered.get("gateway_id").as_i64()), (Some(second), Some(answering)));
    assert_eq!((answered.get("lega_disconnect_code").as_i64(), answered.get("success").as_bool()), (Some(200), Some(true)));
    assert_eq!(answered.get("sip_account_id").as_i64(), Some(caller));
    assert_eq!(
        (answered.get("dst_number_in").as_str(), answered.get("dst_number_out").as_str()),
        (Some("4930123456"), Some("004930123456"))
    );
    assert_eq!((answered.get("src_number_out").as_str(), answered.get("src_name_out").as_str()), (Some("4930111"), Some("Front Desk")));
    let tag = answered.get("global_tag").as_str().unwrap();
    assert!(!tag.is_empty() && failed.get("global_tag").as_str() == Some(tag), "one global tag for the whole call");
    assert!(answered.get("local_tag").as_str().is_some_and(|t| !t.is_empty()));
    assert!(answered.get("orig_call_id").as_str().is_some_and(|c| !c.is_empty()));

    // A proxy challenge (407) is answered the same way.
    let answer_407 = gateway_answer(407, "004930123456");
    let gateways = [(port_1, "gateway-refuse.xml", "503"), (port_2, answer_407.as_str(), "")];
    let (caller_ok, gateways_ok) = call_phones(server, &target, (dialer, ""), &gateways).await;
    assert_eq!((caller_ok, gateways_ok), (true, vec![true, true]), "407: caller; failing gateway; answering gateway");

    // The callee's 486 behind the first gateway ends hunting: the caller gets 486.
    let refused = "phone-call-refused.xml?USERNAME=dialer-1&PASSWORD=Dialer-Pass-1";
    let gateways = [(port_1, "gateway-refuse.xml", "486")];
    let (caller_ok, gateways_ok) = call_phones(server, &target, (refused, "486"), &gateways).await;
    assert_eq!((caller_ok, gateways_ok), (true, vec![true]), "busy: caller; first gateway");
    let rows = termination_cdrs(&store, 5).await;
    assert_eq!(rows.len(), 5, "no attempt after the 486");
    assert_eq!(rows[4].get("lega_disconnect_code").as_i64(), Some(486));

    // A DID forwarded to an external number goes out the same way; its
    // incoming CDR and the attempts' termination CDRs share a global tag.
    let forwarded = did(c, "15550001", true, None).with(&schema::DID_NUMBERS, "forward_number", "4930999888");
    store.create(&schema::DID_NUMBERS, &Actor::system(), forwarded).await.unwrap();
    let (_, domain) = trunk_of(&store, c).await;
    let answer_fwd = gateway_answer(401, "004930999888");
    let gateways = [(port_1, "gateway-refuse.xml", "503"), (port_2, answer_fwd.as_str(), "")];
    let (carrier, _) = caller_hangs_up();
    let (carrier_ok, gateways_ok) = call_phones(server, &format!("15550001@{domain}"), ("carrier-call.xml", &carrier), &gateways).await;
    assert_eq!((carrier_ok, gateways_ok), (true, vec![true, true]), "forward: carrier; failing gateway; answering gateway");
    let incoming = cdrs(&store, 1).await;
    assert_eq!((incoming[0].get("lega_disconnect_code").as_i64(), incoming[0].get("success").as_bool()), (Some(200), Some(true)));
    let tag = incoming[0].get("global_tag").as_str().expect("the incoming CDR has a global tag").to_owned();
    let rows = termination_cdrs(&store, 7).await;
    assert_eq!(rows.len(), 7, "two more attempts");
    for r in &rows[5..] {
        assert_eq!(r.get("global_tag").as_str(), Some(tag.as_str()), "linked to the incoming CDR");
        assert_eq!((r.get("sip_account_id").as_i64(), r.get("dst_number_in").as_str()), (None, Some("4930999888")));
    }
    assert_eq!((rows[6].get("success").as_bool(), rows[6].get("src_number_in").as_str()), (Some(true), Some("4930111")));
    assert_eq!(sw.active_calls(), 0);
    sw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_gateway_over_tcp_gets_its_own_connection() {
    if !sipp_available() {
        return;
    }
    let (store, _db) = store::testing::sqlite().await;
    let seed = account(&store, "seed-d", "Seed-Pass-4").await;
    let c = customer_of(&store, seed).await;
    let input = Input::default()
        .with(&schema::SIP_ACCOUNTS, "username", "dialer-2")
        .with(&schema::SIP_ACCOUNTS, "password", "Dialer-Pass-2")
        .with(&schema::SIP_ACCOUNTS, "allow_external_calls", true)
        .with_rel(&schema::SIP_ACCOUNTS, "customer", RelInput::To("customers", c));
    store.create(&schema::SIP_ACCOUNTS, &Actor::system(), input).await.unwrap();
    let port = common::free_udp_port();
    let gw = gateway(&store, "Over TCP", port, "PCMA,telephone-event", Some(("gw-user", "gw-pass"))).await;
    let tcp = Input::default().with(&schema::GATEWAYS, "transport_protocol", "TCP");
    store.update(&schema::GATEWAYS, &Actor::system(), gw, tcp).await.unwrap();
    route(&store, "All", "", gw, Some((r"^(\d+)$", r"00\1"))).await;
    let sw = Switch::start(store.clone(), "127.0.0.1:0".parse().unwrap(), SwitchConfig::default()).await.unwrap();

    // The gateway listens on TCP only; the phone calls over UDP.
    let dir = std::env::temp_dir().join(format!("sb-tcp-gw-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let gateway_xml = common::calls::write_filled(&dir, &gateway_answer(401, "004930123456"), &[]);
    let d = dir.clone();
    let gateway_run = tokio::task::spawn_blocking(move || {
        let out = common::calls::run_sipp(&d, &["-sf", &gateway_xml, "-t", "t1", "-p", &port.to_string()]);
        common::calls::report("TCP gateway", &d, &out)
    });
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let dialer = "phone-call.xml?USERNAME=dialer-2&PASSWORD=Dialer-Pass-2";
    let (caller_ok, _) = call_phones(sw.udp_addr(), &format!("4930123456@{}", sw.udp_addr()), (dialer, ""), &[]).await;
    assert!(caller_ok, "the call over UDP from the phone completed");
    assert!(gateway_run.await.unwrap(), "the gateway got the call over TCP, challenged, answered and got the BYE");
    let rows = termination_cdrs(&store, 1).await;
    assert_eq!(rows[0].get("success").as_bool(), Some(true));
    sw.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_gateway_that_never_answers_is_passed_over_within_seconds() {
    if !sipp_available() {
        return;
    }
    let (store, _db) = store::testing::sqlite().await;
    let seed = account(&store, "seed-s", "Seed-Pass-4").await;
    let c = customer_of(&store, seed).await;
    // Its external caller id is one of its customer's DIDs.
    store.create(&schema::DID_NUMBERS, &Actor::system(), did(c, "4930111", true, None)).await.unwrap();
    let input = Input::default()
        .with(&schema::SIP_ACCOUNTS, "username", "dialer-s")
        .with(&schema::SIP_ACCOUNTS, "password", "Dialer-Pass-4")
        .with(&schema::SIP_ACCOUNTS, "allow_external_calls", true)
        .with(&schema::SIP_ACCOUNTS, "external_caller_id", "4930111")
        .with_rel(&schema::SIP_ACCOUNTS, "customer", RelInput::To("customers", c));
    store.create(&schema::SIP_ACCOUNTS, &Actor::system(), input).await.unwrap();
    // A gateway that reads every INVITE and answers none.
    let black_hole = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let silent_port = black_hole.local_addr().unwrap().port();
    let answering_port = free_udp_port();
    let silent = gateway(&store, "Silent", silent_port, "PCMA,telephone-event", None).await;
    let answering = gateway(&store, "Answering", answering_port, "PCMA,telephone-event", Some(("gw-user", "gw-pass"))).await;
    let first = route(&store, "Germany", "49", silent, None).await;
    let second = route(&store, "Europe", "4", answering, None).await;
    let sw = Switch::start(store.clone(), "127.0.0.1:0".parse().unwrap(), SwitchConfig::default()).await.unwrap();
    let server = sw.udp_addr();
    let started = std::time::Instant::now();
    let answer = gateway_answer(401, "4930123456");
    let gateways = [(answering_port, answer.as_str(), "")];
    let dialer = "phone-call.xml?USERNAME=dialer-s&PASSWORD=Dialer-Pass-4";
    let (caller_ok, gateways_ok) = call_phones(server, &format!("4930123456@{server}"), (dialer, ""), &gateways).await;
    assert_eq!((caller_ok, gateways_ok), (true, vec![true]), "caller; the second route's gateway");
    // Timer B alone would have held the caller for 32 s.
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "{:?}", started.elapsed());
    let rows = termination_cdrs(&store, 2).await;
    assert_eq!(rows.len(), 2);
    assert_eq!((rows[0].get("route_id").as_i64(), rows[0].get("gateway_id").as_i64()), (Some(first), Some(silent)));
    assert_eq!((rows[0].get("lega_disconnect_code").as_i64(), rows[0].get("success").as_bool()), (Some(408), Some(false)));
    assert_eq!((rows[1].get("route_id").as_i64(), rows[1].get("lega_disconnect_code").as_i64()), (Some(second), Some(200)));
    let mut buf = [0u8; 4096];
    black_hole.set_nonblocking(true).unwrap();
    let (n, _) = black_hole.recv_from(&mut buf).expect("the silent gateway got the INVITE");
    assert!(buf[..n].starts_with(b"INVITE sip:4930123456@"), "{}", String::from_utf8_lossy(&buf[..n]));
    sw.shutdown().await;
}
