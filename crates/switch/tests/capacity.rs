//! Capacity as the Operator API defines it (§5.10), SIPp at every end over
//! real sockets: a capacity group pools channels for several customers, so
//! once its calls hold them all the next call of any member is refused
//! with 480 and a CDR that says "Insufficient channels", while a customer
//! in no group still calls; and an internal call takes a channel like
//! any other.

mod common;

use common::calls::{call_phones, caller_hangs_up, part, register_phone};
use common::{account, cdrs, customer_of, did, extension, sipp_available, trunk_of};
use domain::schema;
use std::time::{Duration, Instant};
use store::{Actor, Input, RelInput, Store};
use switch::{Switch, SwitchConfig};

/// A customer with a phone desk-N registered and DID 1555000N ringing it;
/// (customer, trunk domain, phone port).
async fn customer_with_phone(store: &Store, sw: &Switch, n: u8) -> (i64, String, u16) {
    let (user, pass) = (format!("desk-{n}"), format!("Desk-Pass-{n}"));
    let phone = account(store, &user, &pass).await;
    let c = customer_of(store, phone).await;
    store.create(&schema::DID_NUMBERS, &Actor::system(), did(c, &format!("1555000{n}"), true, Some(phone))).await.unwrap();
    let (_, domain) = trunk_of(store, c).await;
    let port = register_phone(store, sw, phone, &user, &pass).await;
    (c, domain, port)
}

/// Waits until the switch holds `n` calls.
async fn until_active(sw: &Switch, n: u32) {
    let start = Instant::now();
    while sw.active_calls() != n {
        assert!(start.elapsed() < Duration::from_secs(15), "{n} calls up, have {}", sw.active_calls());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_group_of_two_holds_two_calls_of_its_customers_and_refuses_the_third() {
    if !sipp_available() {
        return;
    }
    let (store, _db) = store::testing::sqlite().await;
    let sw = Switch::start(store.clone(), "127.0.0.1:0".parse().unwrap(), SwitchConfig::default()).await.unwrap();
    let (a, a_domain, a_port) = customer_with_phone(&store, &sw, 1).await;
    let (b, b_domain, b_port) = customer_with_phone(&store, &sw, 2).await;
    let (_, c_domain, c_port) = customer_with_phone(&store, &sw, 3).await;
    // Neither customer has a limit of its own: only the group's 2 hold.
    let group = Input::default()
        .with(&schema::CAPACITY_GROUPS, "name", "Shared office")
        .with(&schema::CAPACITY_GROUPS, "capacity", 2i64)
        .with_rel(&schema::CAPACITY_GROUPS, "customer", RelInput::Many(vec![a, b]));
    store.create(&schema::CAPACITY_GROUPS, &Actor::system(), group).await.unwrap();
    let server = sw.udp_addr();

    // A and B each hold a call, answered, for 4 s.
    let held = part("hangup-carrier-bye.part").replace(r#"<pause milliseconds="1500"/>"#, r#"<pause milliseconds="4000"/>"#);
    let answer = part("hangup-recv-bye.part");
    let hold = |domain: String, number: &'static str, port: u16| {
        let (held, answer) = (held.clone(), answer.clone());
        async move {
            let phones = [(port, "phone-answer.xml", answer.as_str())];
            call_phones(server, &format!("{number}@{domain}"), ("carrier-call.xml", &held), &phones).await
        }
    };
    let third = async {
        until_active(&sw, 2).await;
        // B's second call: the group is full, though B holds only one.
        let refused = call_phones(server, &format!("15550002@{b_domain}"), ("carrier-refused.xml", "480"), &[]).await.0;
        // C is in no group: its call goes through meanwhile.
        let (carrier, phone) = caller_hangs_up();
        let other =
            call_phones(server, &format!("15550003@{c_domain}"), ("carrier-call.xml", &carrier), &[(c_port, "phone-answer.xml", &phone)])
                .await;
        (refused, other)
    };
    let (first, second, (refused, other)) =
        tokio::join!(hold(a_domain, "15550001", a_port), hold(b_domain.clone(), "15550002", b_port), third);
    assert_eq!((first, second), ((true, vec![true]), (true, vec![true])), "A's and B's held calls");
    assert!(refused, "the third call of the group gets 480");
    assert_eq!(other, (true, vec![true]), "a customer in no group is not held up");

    let rows = cdrs(&store, 4).await;
    let mut outcomes: Vec<(i64, Option<i64>, Option<String>)> = rows
        .iter()
        .map(|r| (r.customer_id().unwrap(), r.get("lega_disconnect_code").as_i64(), r.get("internal_reason").as_str().map(str::to_owned)))
        .collect();
    outcomes.sort();
    let refusal = (b, Some(480), Some("Insufficient channels".to_owned()));
    assert!(outcomes.contains(&refusal), "{outcomes:?}");
    assert_eq!(outcomes.len(), 4, "{outcomes:?}");
    until_active(&sw, 0).await;
    sw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_internal_call_takes_a_channel() {
    if !sipp_available() {
        return;
    }
    let (store, _db) = store::testing::sqlite().await;
    let seed = account(&store, "seed-i", "Seed-Pass-i").await;
    let c = customer_of(&store, seed).await;
    let limit = Input::default().with(&schema::CUSTOMERS, "capacity_limit", 1i64);
    store.update(&schema::CUSTOMERS, &Actor::system(), c, limit).await.unwrap();
    extension(&store, c, "caller-i", "Caller-Pass-i", "101").await;
    let callee = extension(&store, c, "callee-i", "Callee-Pass-i", "102").await;
    let sw = Switch::start(store.clone(), "127.0.0.1:0".parse().unwrap(), SwitchConfig::default()).await.unwrap();
    let callee_port = register_phone(&store, &sw, callee, "callee-i", "Callee-Pass-i").await;
    let server = sw.udp_addr();
    let host = server.to_string();

    // 101 calls 102, which rings for 3 s before it answers: ringing counts.
    let slow = r#"phone-answer.xml?<!--ANSWER_PAUSE-->=<pause milliseconds="3000"/>"#;
    let answer = part("hangup-recv-bye.part");
    let (target, phones) = (format!("102@{host}"), [(callee_port, slow, answer.as_str())]);
    let first = call_phones(server, &target, ("phone-call.xml?USERNAME=caller-i&PASSWORD=Caller-Pass-i", ""), &phones);
    let second = async {
        until_active(&sw, 1).await;
        // The customer's one channel is the internal call's.
        let refused = "phone-call-refused.xml?USERNAME=caller-i&PASSWORD=Caller-Pass-i";
        call_phones(server, &format!("102@{host}"), (refused, "480"), &[]).await.0
    };
    let ((caller_ok, callee_ok), refused) = tokio::join!(first, second);
    assert_eq!((caller_ok, callee_ok), (true, vec![true]), "the internal call");
    assert!(refused, "a second call over the customer's limit of 1 gets 480");
    until_active(&sw, 0).await;
    sw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn customers_in_no_group_share_the_channels_no_group_holds() {
    if !sipp_available() {
        return;
    }
    let (store, _db) = store::testing::sqlite().await;
    let sw = Switch::start(store.clone(), "127.0.0.1:0".parse().unwrap(), SwitchConfig::default()).await.unwrap();
    let (_, domain, port) = customer_with_phone(&store, &sw, 4).await;
    // 3 channels ordered, 2 held by a group: one left for everyone else.
    let total = Input::default().with(&schema::DOMAIN_SETTINGS, "total_channels", 3i64);
    store.update(&schema::DOMAIN_SETTINGS, &Actor::system(), 1, total).await.unwrap();
    let group = Input::default().with(&schema::CAPACITY_GROUPS, "name", "Reserved").with(&schema::CAPACITY_GROUPS, "capacity", 2i64);
    store.create(&schema::CAPACITY_GROUPS, &Actor::system(), group).await.unwrap();
    let server = sw.udp_addr();
    let held = part("hangup-carrier-bye.part").replace(r#"<pause milliseconds="1500"/>"#, r#"<pause milliseconds="3000"/>"#);
    let answer = part("hangup-recv-bye.part");
    let target = format!("15550004@{domain}");
    let phones = [(port, "phone-answer.xml", answer.as_str())];
    let first = call_phones(server, &target, ("carrier-call.xml", &held), &phones);
    let second = async {
        until_active(&sw, 1).await;
        call_phones(server, &target, ("carrier-refused.xml", "480"), &[]).await.0
    };
    let (first, refused) = tokio::join!(first, second);
    assert_eq!(first, (true, vec![true]), "the held call");
    assert!(refused, "the shared channel is taken: 480");
    let rows = cdrs(&store, 2).await;
    assert!(rows.iter().any(|r| r.get("internal_reason").as_str() == Some("Insufficient channels")), "the refusal's CDR");
    until_active(&sw, 0).await;
    sw.shutdown().await;
}
