//! The registrar against SIPp (Debian's `sip-tester`), a real SIP peer:
//! register with digest, a wrong password, refresh, unregister, expiry,
//! and registration over TCP. `.ci/run`
//! installs SIPp and sets SWITCHBOARD_REQUIRE_TOOLS, so CI never skips.

mod common;

use common::{account, free_udp_port, presence, sipp, sipp_available, wait_for};
use switch::Location;
use switch::{RegistrarConfig, Switch};

#[tokio::test(flavor = "multi_thread")]
async fn sipp_registers_refreshes_fails_unregisters_and_expires() {
    if !sipp_available() {
        return;
    }
    let (store, _db) = store::testing::sqlite().await;
    let id = account(&store, "sipp-1", "Sipp-Pass-1").await;
    // A 1 s minimum lets the last step watch a binding expire without a long wait.
    let config = RegistrarConfig { min_expires: 1, ..RegistrarConfig::default() };
    let sw = Switch::start(store.clone(), "127.0.0.1:0".parse().unwrap(), config).await.unwrap();
    let server = sw.udp_addr();

    let port = free_udp_port();
    let run = |file: &'static str, password: &'static str, expires: u32| {
        tokio::task::spawn_blocking(move || sipp(server, port, file, "sipp-1", password, expires, false))
    };
    assert!(run("register.xml", "Sipp-Pass-1", 300).await.unwrap(), "register with digest");
    assert_eq!(wait_for(&store, id, |p| p.0).await, (true, Some("SIPp".into())));
    assert!(run("register.xml", "Sipp-Pass-1", 600).await.unwrap(), "refresh");
    assert!(run("register-refused.xml", "not-the-password", 300).await.unwrap(), "a wrong password gets 403");
    assert!(presence(&store, id).await.0, "a failed attempt changes nothing");
    assert!(run("register.xml", "Sipp-Pass-1", 0).await.unwrap(), "unregister");
    assert!(!wait_for(&store, id, |p| !p.0).await.0);

    assert!(run("register.xml", "Sipp-Pass-1", 2).await.unwrap(), "a short registration");
    assert!(wait_for(&store, id, |p| p.0).await.0);
    assert!(!wait_for(&store, id, |p| !p.0).await.0, "the binding expires and the account goes offline");
    assert_eq!(sw.location().online_accounts(), 0);
    sw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sipp_registers_over_tcp() {
    if !sipp_available() {
        return;
    }
    let (store, _db) = store::testing::sqlite().await;
    let id = account(&store, "sipp-tcp", "Sipp-Pass-2").await;
    let sw = Switch::start(store.clone(), "127.0.0.1:0".parse().unwrap(), RegistrarConfig::default()).await.unwrap();
    let server = sw.tcp_addr();
    let port = free_udp_port();
    let run = move |password: &'static str, expires: u32| {
        tokio::task::spawn_blocking(move || sipp(server, port, "register.xml", "sipp-tcp", password, expires, true))
    };
    assert!(run("Sipp-Pass-2", 300).await.unwrap(), "register with digest over TCP");
    assert_eq!(wait_for(&store, id, |p| p.0).await, (true, Some("SIPp".into())));
    let bound = sw.location().bindings(id, tokio::time::Instant::now());
    assert_eq!(bound.iter().map(|b| b.transport).collect::<Vec<_>>(), vec![sip::Transport::Tcp], "{bound:?}");
    assert!(run("Sipp-Pass-2", 0).await.unwrap(), "unregister over TCP");
    assert!(!wait_for(&store, id, |p| !p.0).await.0);
    sw.shutdown().await;
}
