//! Calls from phones, SIPp as both ends over real sockets: the caller
//! authenticates its INVITE with its SIP account's digest credentials, an
//! extension of the same customer rings, and nothing reaches another
//! customer's phones.

mod common;

use common::calls::{call_phones, part, register_phone};
use common::{account, customer_of, sipp_available};
use domain::schema;
use store::{Actor, Input, RelInput, Store};
use switch::{Switch, SwitchConfig};

/// A SIP account of `customer` with an extension.
async fn extension(store: &Store, customer: i64, username: &str, password: &str, ext: &str) -> i64 {
    let input = Input::default()
        .with(&schema::SIP_ACCOUNTS, "username", username)
        .with(&schema::SIP_ACCOUNTS, "password", password)
        .with(&schema::SIP_ACCOUNTS, "internal_caller_id", ext)
        .with_rel(&schema::SIP_ACCOUNTS, "customer", RelInput::To("customers", customer));
    store.create(&schema::SIP_ACCOUNTS, &Actor::system(), input).await.unwrap().id()
}

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
    assert_eq!(sw.active_calls(), 0, "internal calls take no channel of the capacity limit");

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
