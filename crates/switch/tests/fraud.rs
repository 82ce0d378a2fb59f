//! Fraud limits on real calls, SIPp at every end over real sockets: a
//! blocked destination (the customer's list, the domain's, a forward), the
//! calls per second in a burst, the daily minutes (from today's CDRs at
//! start, then counted in memory), the longest call (both legs hung up,
//! billed exactly the limit), and a caller id that is no longer the
//! customer's. Each refusal is checked by its SIP code and CDR reason.

mod common;

use common::calls::{call_phones, call_phones_for, gateway_answer, part};
use common::{account, cdrs, customer_of, did, free_udp_port, gateway, route, sipp_available, termination_cdrs, trunk_of};
use domain::schema;
use domain::Value;
use store::{Actor, Input, RelInput, Store};
use switch::{Switch, SwitchConfig};

/// A customer whose phone `dialer` (password `Dialer-Pass-1`) may call out,
/// showing its DID 4930111; (customer, account).
async fn dialer(store: &Store, dialer: &str) -> (i64, i64) {
    let seed = account(store, &format!("{dialer}-seed"), "Seed-Pass-1").await;
    let c = customer_of(store, seed).await;
    store.create(&schema::DID_NUMBERS, &Actor::system(), did(c, "4930111", true, None)).await.unwrap();
    let input = Input::default()
        .with(&schema::SIP_ACCOUNTS, "username", dialer)
        .with(&schema::SIP_ACCOUNTS, "password", "Dialer-Pass-1")
        .with(&schema::SIP_ACCOUNTS, "allow_external_calls", true)
        .with(&schema::SIP_ACCOUNTS, "external_caller_id", "4930111")
        .with_rel(&schema::SIP_ACCOUNTS, "customer", RelInput::To("customers", c));
    (c, store.create(&schema::SIP_ACCOUNTS, &Actor::system(), input).await.unwrap().id())
}

async fn set_customer(store: &Store, c: i64, name: &str, v: impl Into<Value>) {
    store.update(&schema::CUSTOMERS, &Actor::system(), c, Input::default().with(&schema::CUSTOMERS, name, v)).await.unwrap();
}

/// One gateway (challenging with gw-user / gw-pass) on a route for every
/// number: the port its SIPp answers on.
async fn carrier(store: &Store) -> u16 {
    let port = free_udp_port();
    let gw = gateway(store, "Carrier", port, "PCMA,telephone-event", Some(("gw-user", "gw-pass"))).await;
    route(store, "All", "", gw, None).await;
    port
}

fn scenario(name: &str, user: &str) -> String {
    format!("{name}?USERNAME={user}&PASSWORD=Dialer-Pass-1")
}

/// (code, internal reason, duration) of a CDR.
fn outcome(r: &store::Record) -> (Option<i64>, Option<&str>, Option<i64>) {
    (r.get("lega_disconnect_code").as_i64(), r.get("internal_reason").as_str(), r.get("duration").as_i64())
}

#[tokio::test(flavor = "multi_thread")]
async fn blocked_prefixes_refuse_calls_out_and_forwards() {
    if !sipp_available() {
        return;
    }
    let (store, _db) = store::testing::sqlite().await;
    let (c, _) = dialer(&store, "blk-1").await;
    set_customer(&store, c, "blocked_prefixes", "882").await;
    let premium = Input::default().with(&schema::DOMAIN_SETTINGS, "blocked_prefixes", "979,4990");
    store.update(&schema::DOMAIN_SETTINGS, &Actor::system(), 1, premium).await.unwrap();
    // The route would take them: only the limits stand in the way. It
    // sends 0049... for 49...: the number as dialled is checked too.
    let gw = gateway(&store, "Carrier", free_udp_port(), "PCMA,telephone-event", None).await;
    route(&store, "All", "", gw, Some((r"^49(\d+)$", r"0049\1"))).await;
    let forward = did(c, "15550001", true, None).with(&schema::DID_NUMBERS, "forward_number", "882555");
    store.create(&schema::DID_NUMBERS, &Actor::system(), forward).await.unwrap();
    let sw = Switch::start(store.clone(), "127.0.0.1:0".parse().unwrap(), SwitchConfig::default()).await.unwrap();
    let server = sw.udp_addr();
    let refused = scenario("phone-call-refused.xml", "blk-1");
    for number in ["882123456", "+979123", "4990123456"] {
        let (ok, _) = call_phones(server, &format!("{number}@{server}"), (&refused, "403"), &[]).await;
        assert!(ok, "{number}: 403");
    }
    let rows = termination_cdrs(&store, 3).await;
    let got: Vec<_> = rows.iter().map(|r| (outcome(r), r.get("dst_number_in").as_str(), r.get("src_number_in").as_str())).collect();
    assert_eq!(
        got,
        [
            ((Some(403), Some("Blocked destination prefix (customer)"), Some(0)), Some("882123456"), Some("4930111")),
            ((Some(403), Some("Blocked destination prefix (domain)"), Some(0)), Some("979123"), Some("4930111")),
            ((Some(403), Some("Blocked destination prefix (domain)"), Some(0)), Some("4990123456"), Some("4930111")),
        ]
    );
    assert!(rows.iter().all(|r| r.get("gateway_id").is_null() && r.get("success").as_bool() == Some(false)), "no gateway was tried");

    // A DID forwarded to a blocked number: the carrier gets 403.
    let (_, domain) = trunk_of(&store, c).await;
    let (ok, _) = call_phones(server, &format!("15550001@{domain}"), ("carrier-refused.xml", "403"), &[]).await;
    assert!(ok, "the forward is refused");
    let incoming = cdrs(&store, 1).await;
    assert_eq!(outcome(&incoming[0]), (Some(403), Some("Blocked destination prefix (customer)"), Some(0)));
    assert_eq!(sw.active_calls(), 0);
    sw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_over_max_cps_is_refused_with_503() {
    if !sipp_available() {
        return;
    }
    let (store, _db) = store::testing::sqlite().await;
    let (c, _) = dialer(&store, "cps-1").await;
    set_customer(&store, c, "max_cps", 1).await;
    // No route: a call let through ends 404, one over the limit 503.
    let sw = Switch::start(store.clone(), "127.0.0.1:0".parse().unwrap(), SwitchConfig::default()).await.unwrap();
    let server = sw.udp_addr();
    let target = format!("4930123456@{server}");
    let burst = scenario("phone-call-burst.xml", "cps-1");
    let (a, b) = tokio::join!(call_phones(server, &target, (&burst, ""), &[]), call_phones(server, &target, (&burst, ""), &[]));
    assert!(a.0 && b.0, "both calls answered 404 or 503");
    let rows = termination_cdrs(&store, 1).await;
    assert_eq!(rows.len(), 1, "one of the two was over the limit");
    assert_eq!(outcome(&rows[0]), (Some(503), Some("Calls per second limit exceeded"), Some(0)));
    // A second later the rate is back.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (ok, _) = call_phones(server, &target, (&scenario("phone-call-refused.xml", "cps-1"), "404"), &[]).await;
    assert!(ok, "under the limit again: no route, 404");
    assert_eq!(termination_cdrs(&store, 2).await.len(), 1);
    sw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_is_hung_up_at_max_call_duration_and_billed_exactly_that() {
    if !sipp_available() {
        return;
    }
    let (store, _db) = store::testing::sqlite().await;
    let (c, _) = dialer(&store, "dur-1").await;
    set_customer(&store, c, "max_call_duration", 2).await;
    let port = carrier(&store).await;
    let sw = Switch::start(store.clone(), "127.0.0.1:0".parse().unwrap(), SwitchConfig::default()).await.unwrap();
    let server = sw.udp_addr();
    // Neither end hangs up: both get our BYE after 2 s.
    let answer = gateway_answer(401, "4930123456");
    let (caller_ok, gateways_ok) =
        call_phones(server, &format!("4930123456@{server}"), (&scenario("phone-call-until-bye.xml", "dur-1"), ""), &[(port, &answer, "")])
            .await;
    assert_eq!((caller_ok, gateways_ok), (true, vec![true]), "caller and gateway both got the BYE");
    let rows = termination_cdrs(&store, 1).await;
    assert_eq!(outcome(&rows[0]), (Some(200), Some("Maximum call duration reached"), Some(2)));
    let (connect, end) = (rows[0].get("time_connect").as_i64().unwrap(), rows[0].get("time_end").as_i64().unwrap());
    assert_eq!(end - connect, 2000, "billed exactly the limit");

    // A DID call of the customer is held to it too.
    let phone = common::extension(&store, c, "desk-9", "Desk-Pass-9", "109").await;
    let into = did(c, "15550009", true, Some(phone));
    store.create(&schema::DID_NUMBERS, &Actor::system(), into).await.unwrap();
    let phone_port = common::calls::register_phone(&store, &sw, phone, "desk-9", "Desk-Pass-9").await;
    let (_, domain) = trunk_of(&store, c).await;
    let wait = part("hangup-recv-bye.part");
    let (carrier_ok, phones_ok) =
        call_phones_for(server, &format!("15550009@{domain}"), ("carrier-call.xml", &wait), &[(phone_port, "phone-answer.xml", &wait)], 20)
            .await;
    assert_eq!((carrier_ok, phones_ok), (true, vec![true]), "carrier and phone both got the BYE");
    let incoming = cdrs(&store, 1).await;
    assert_eq!(outcome(&incoming[0]), (Some(200), Some("Maximum call duration reached"), Some(2)));
    assert_eq!(sw.active_calls(), 0);
    sw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daily_minutes_start_from_todays_cdrs_shorten_a_call_and_then_refuse() {
    if !sipp_available() {
        return;
    }
    let (store, _db) = store::testing::sqlite().await;
    let (c, _) = dialer(&store, "day-1").await;
    set_customer(&store, c, "daily_minutes_limit", 1).await;
    // 58 of its 60 seconds used earlier today (before this start).
    let now = domain::time::now_ms();
    let earlier = (now - 1000).max(now - now.rem_euclid(86_400_000));
    let used = store::cdr::TerminationCdr { customer_id: Some(c), time_start: earlier, duration: 58, ..Default::default() };
    store.append_cdrs(&[used]).await.unwrap();
    let port = carrier(&store).await;
    let sw = Switch::start(store.clone(), "127.0.0.1:0".parse().unwrap(), SwitchConfig::default()).await.unwrap();
    let server = sw.udp_addr();
    let target = format!("4930123456@{server}");
    let answer = gateway_answer(401, "4930123456");
    let (caller_ok, gateways_ok) =
        call_phones(server, &target, (&scenario("phone-call-until-bye.xml", "day-1"), ""), &[(port, &answer, "")]).await;
    assert_eq!((caller_ok, gateways_ok), (true, vec![true]), "hung up when the day's minutes ran out");
    let rows = termination_cdrs(&store, 2).await;
    assert_eq!(outcome(&rows[1]), (Some(200), Some("Daily minutes limit reached"), Some(2)));
    // Now used up: refused from memory.
    let (ok, _) = call_phones(server, &target, (&scenario("phone-call-refused.xml", "day-1"), "403"), &[]).await;
    assert!(ok, "403 once the day's minutes are used");
    let rows = termination_cdrs(&store, 3).await;
    assert_eq!(outcome(&rows[2]), (Some(403), Some("Daily minutes limit reached"), Some(0)));
    sw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_caller_id_that_left_the_customer_is_not_sent() {
    if !sipp_available() {
        return;
    }
    let (store, _db) = store::testing::sqlite().await;
    let (c, _) = dialer(&store, "cid-1").await;
    let port = carrier(&store).await;
    // Saved while it was the customer's; the number is taken away since.
    let ids = store.list(&schema::DID_NUMBERS, store::Scope::Customer(c), &store::ListQuery::default()).await.unwrap().records;
    store.delete(&schema::DID_NUMBERS, &Actor::system(), ids[0].id()).await.unwrap();
    let sw = Switch::start(store.clone(), "127.0.0.1:0".parse().unwrap(), SwitchConfig::default()).await.unwrap();
    let server = sw.udp_addr();
    let answer = gateway_answer(401, "4930123456");
    let (caller_ok, gateways_ok) =
        call_phones(server, &format!("4930123456@{server}"), (&scenario("phone-call.xml", "cid-1"), ""), &[(port, &answer, "")]).await;
    assert_eq!((caller_ok, gateways_ok), (true, vec![true]));
    let rows = termination_cdrs(&store, 1).await;
    assert_eq!(
        (rows[0].get("src_number_in").as_str(), rows[0].get("src_number_out").as_str()),
        (Some("cid-1"), Some("cid-1")),
        "not 4930111"
    );
    sw.shutdown().await;
}
