//! Ring groups with external numbers, SIPp at every end over real
//! sockets: the carrier calls a DID that rings a group of a registered
//! phone and an external number; the number goes out through the
//! customer's termination routes like a forwarded DID, with a termination
//! CDR per gateway attempt sharing the incoming CDR's global tag.

mod common;

use common::calls::{call_phones, callee_hangs_up, caller_hangs_up, gateway_answer, last_cdr, register_phone};
use common::{account, customer_of, did, free_udp_port, gateway, route, sipp_available, termination_cdrs, trunk_of};
use domain::schema;
use store::{Actor, Input, Record, RelInput};
use switch::{Switch, SwitchConfig};

/// (route, gateway, code, success) of a termination CDR.
fn attempt(r: &Record) -> (Option<i64>, Option<i64>, Option<i64>, Option<bool>) {
    (r.get("route_id").as_i64(), r.get("gateway_id").as_i64(), r.get("lega_disconnect_code").as_i64(), r.get("success").as_bool())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ring_group_rings_external_numbers_through_the_routes() {
    if !sipp_available() {
        return;
    }
    let (store, _db) = store::testing::sqlite().await;
    let actor = Actor::system();
    let member = account(&store, "member-x", "Member-Pass-X").await;
    let c = customer_of(&store, member).await;
    let (port_ok, port_bad) = (free_udp_port(), free_udp_port());
    let answering = gateway(&store, "Answering", port_ok, "PCMA,telephone-event", Some(("gw-user", "gw-pass"))).await;
    let failing = gateway(&store, "Failing", port_bad, "PCMA,PCMU,telephone-event", None).await;
    let germany = route(&store, "Germany", "49", answering, Some((r"^49(\d+)$", r"0049\1"))).await;
    let uk = route(&store, "UK", "44", failing, None).await;
    // 370… tries the failing gateway first (longer prefix), then the answering one.
    let lithuania = route(&store, "Lithuania", "370", failing, None).await;
    let baltics = route(&store, "Baltics", "37", answering, None).await;
    let group = Input::default()
        .with(&schema::RING_GROUPS, "name", "Sales")
        .with(&schema::RING_GROUPS, "ring_timeout", 5i64)
        .with(&schema::RING_GROUPS, "external_numbers", "4930123456")
        .with_rel(&schema::RING_GROUPS, "customer", RelInput::To("customers", c))
        .with_rel(&schema::RING_GROUPS, "members", RelInput::Many(vec![member]));
    let group = store.create(&schema::RING_GROUPS, &actor, group).await.unwrap().id();
    let number = did(c, "15550001", true, None).with_rel(&schema::DID_NUMBERS, "destination", RelInput::To("ring_groups", group));
    store.create(&schema::DID_NUMBERS, &actor, number).await.unwrap();
    let (_, domain) = trunk_of(&store, c).await;
    let sw = Switch::start(store.clone(), "127.0.0.1:0".parse().unwrap(), SwitchConfig::default()).await.unwrap();
    let phone = register_phone(&store, &sw, member, "member-x", "Member-Pass-X").await;
    let (server, target) = (sw.udp_addr(), format!("15550001@{domain}"));
    let set = |attrs: Input| {
        let store = store.clone();
        async move { store.update(&schema::RING_GROUPS, &Actor::system(), group, attrs).await.unwrap() }
    };

    // (a) All at once: the gateway challenges and answers, the phone is cancelled.
    let (carrier, _) = caller_hangs_up();
    let answer = gateway_answer(401, "004930123456");
    let ends = [(phone, "phone-cancelled.xml", ""), (port_ok, answer.as_str(), "")];
    let (carrier_ok, ends_ok) = call_phones(server, &target, ("carrier-call.xml", &carrier), &ends).await;
    assert_eq!((carrier_ok, ends_ok), (true, vec![true, true]), "simultaneous: carrier, cancelled phone, answering gateway");
    let incoming = last_cdr(&store, 1).await;
    assert_eq!((incoming.get("lega_disconnect_code").as_i64(), incoming.get("success").as_bool()), (Some(200), Some(true)));
    let tag = incoming.get("global_tag").as_str().expect("the incoming CDR has a global tag").to_owned();
    let rows = termination_cdrs(&store, 1).await;
    assert_eq!(rows.len(), 1, "one gateway attempt");
    let t = &rows[0];
    assert_eq!(attempt(t), (Some(germany), Some(answering), Some(200), Some(true)));
    assert_eq!(t.get("global_tag").as_str(), Some(tag.as_str()), "linked to the incoming CDR");
    assert_eq!((t.get("dst_number_in").as_str(), t.get("dst_number_out").as_str()), (Some("4930123456"), Some("004930123456")));
    assert_eq!(
        (t.get("src_number_in").as_str(), t.get("src_number_out").as_str()),
        (Some("4930111"), Some("4930111")),
        "the carrier's caller"
    );
    assert_eq!((t.get("sip_account_id").as_i64(), t.get("customer_id").as_i64()), (None, Some(c)));
    assert!(t.get("time_connect").as_i64().is_some());

    // (b) In turn: the phone is busy, then the external number rings and answers.
    set(Input::default().with(&schema::RING_GROUPS, "strategy", "sequential")).await;
    let (carrier, _) = caller_hangs_up();
    let ends = [(phone, "phone-busy.xml", ""), (port_ok, answer.as_str(), "")];
    let (carrier_ok, ends_ok) = call_phones(server, &target, ("carrier-call.xml", &carrier), &ends).await;
    assert_eq!((carrier_ok, ends_ok), (true, vec![true, true]), "sequential: carrier, busy phone, answering gateway");
    let incoming = last_cdr(&store, 2).await;
    assert_eq!(incoming.get("lega_disconnect_code").as_i64(), Some(200));
    let rows = termination_cdrs(&store, 2).await;
    assert_eq!(rows.len(), 2);
    assert_eq!(attempt(&rows[1]), (Some(germany), Some(answering), Some(200), Some(true)));
    assert_eq!(rows[1].get("global_tag").as_str(), incoming.get("global_tag").as_str());

    // (c) All at once: the number's only gateway refuses (503), then the
    // phone answers; the refusal ended only that target.
    let all = Input::default().with(&schema::RING_GROUPS, "strategy", "simultaneous");
    set(all.with(&schema::RING_GROUPS, "external_numbers", "447700900123")).await;
    let (carrier, callee) = callee_hangs_up();
    let late = r#"phone-answer.xml?<!--ANSWER_PAUSE-->=<pause milliseconds="1000"/>"#;
    let ends = [(phone, late, callee.as_str()), (port_bad, "gateway-refuse.xml", "503")];
    let (carrier_ok, ends_ok) = call_phones(server, &target, ("carrier-call.xml", &carrier), &ends).await;
    assert_eq!((carrier_ok, ends_ok), (true, vec![true, true]), "refused number: carrier, answering phone, refusing gateway");
    let incoming = last_cdr(&store, 3).await;
    assert_eq!(
        (incoming.get("lega_disconnect_code").as_i64(), incoming.get("internal_reason").as_str()),
        (Some(200), Some("Callee hung up"))
    );
    let rows = termination_cdrs(&store, 3).await;
    assert_eq!(rows.len(), 3);
    assert_eq!(attempt(&rows[2]), (Some(uk), Some(failing), Some(503), Some(false)));
    assert_eq!(rows[2].get("global_tag").as_str(), incoming.get("global_tag").as_str());
    assert_eq!(rows[2].get("time_connect").as_i64(), None);

    // (d) A refusal worth hunting: the number's next route rings in the
    // same step and answers; the phone is cancelled.
    set(Input::default().with(&schema::RING_GROUPS, "external_numbers", "37060000001")).await;
    let (carrier, _) = caller_hangs_up();
    let answer = gateway_answer(401, "37060000001");
    let ends = [(phone, "phone-cancelled.xml", ""), (port_bad, "gateway-refuse.xml", "503"), (port_ok, answer.as_str(), "")];
    let (carrier_ok, ends_ok) = call_phones(server, &target, ("carrier-call.xml", &carrier), &ends).await;
    assert_eq!(
        (carrier_ok, ends_ok),
        (true, vec![true, true, true]),
        "failover: carrier, cancelled phone, refusing and answering gateways"
    );
    let incoming = last_cdr(&store, 4).await;
    let rows = termination_cdrs(&store, 5).await;
    assert_eq!(rows.len(), 5, "one CDR per gateway attempt");
    assert_eq!(attempt(&rows[3]), (Some(lithuania), Some(failing), Some(503), Some(false)));
    assert_eq!(attempt(&rows[4]), (Some(baltics), Some(answering), Some(200), Some(true)));
    for r in &rows[3..] {
        assert_eq!(r.get("global_tag").as_str(), incoming.get("global_tag").as_str());
    }

    // (e) Nobody answers: the gateway's attempt is cancelled at the group's
    // ring timeout with the phone (the scenario fits a gateway too), and
    // its CDR says so.
    let ends = [(phone, "phone-cancelled.xml", ""), (port_ok, "phone-cancelled.xml", "")];
    set(Input::default().with(&schema::RING_GROUPS, "external_numbers", "4930123456")).await;
    let (carrier_ok, ends_ok) = call_phones(server, &target, ("carrier-refused.xml", "480"), &ends).await;
    assert_eq!((carrier_ok, ends_ok), (true, vec![true, true]), "unanswered: carrier, cancelled phone, cancelled gateway");
    let rows = termination_cdrs(&store, 6).await;
    assert_eq!(rows.len(), 6);
    assert_eq!(attempt(&rows[5]), (Some(germany), Some(answering), Some(487), Some(false)));
    assert_eq!(sw.active_calls(), 0);
    sw.shutdown().await;
}
