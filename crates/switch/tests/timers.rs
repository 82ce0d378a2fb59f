//! The clocks of a confirmed call, over real sockets with SIPp as the
//! carrier and the phone: a call whose media goes silent is hung up on
//! both legs after `media_timeout` (a call on hold is not), and RFC 4028
//! session timers are agreed on both legs, refreshed by us where we are
//! the refresher, and end the call where the peer's refresh never comes.

mod common;

use common::calls::{call_phones, did_to_phone, last_cdr, part, report, write_filled, write_scenario, DidToPhone as Setup};
use common::{free_udp_port, media_port, sipp_available};
use domain::schema;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};
use store::{Actor, Input};
use switch::SwitchConfig;

/// A DID ringing a registered phone, with the timers' domain settings.
async fn setup(media_timeout: i64, session_expires: i64) -> Setup {
    let (store, db) = store::testing::sqlite().await;
    let timers = Input::default().with(&schema::DOMAIN_SETTINGS, "media_timeout", media_timeout).with(
        &schema::DOMAIN_SETTINGS,
        "session_expires",
        session_expires,
    );
    store.update(&schema::DOMAIN_SETTINGS, &Actor::system(), 1, timers).await.unwrap();
    did_to_phone((store, db), SwitchConfig::default()).await
}

async fn call(s: &Setup, carrier: (&str, &str), phone: (&str, &str)) -> (bool, bool) {
    let (carrier, phones) = call_phones(s.sw.udp_addr(), &s.target(), carrier, &[(s.phone_port, phone.0, phone.1)]).await;
    (carrier, phones[0])
}

/// The call's length as its CDR has it.
fn talked(cdr: &store::Record) -> Duration {
    let ms = cdr.get("time_end").as_i64().unwrap() - cdr.get("time_connect").as_i64().unwrap();
    Duration::from_millis(u64::try_from(ms).unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn silent_media_hangs_up_both_legs_but_a_call_on_hold_stays_up() {
    if !sipp_available() {
        return;
    }
    let s = setup(2, 1800).await;
    // Both peers answer and then send no RTP at all: both must get our BYE.
    let wait = part("hangup-recv-bye.part");
    let r = call(&s, ("carrier-call.xml", &wait), ("phone-answer.xml", &wait)).await;
    assert_eq!(r, (true, true), "carrier and phone each get a BYE");
    let cdr = last_cdr(&s.store, 1).await;
    assert_eq!(cdr.get("internal_reason").as_str(), Some("Media timeout: no RTP for 2 s"));
    let t = talked(&cdr);
    assert!(t >= Duration::from_secs(2) && t < Duration::from_secs(5), "cut after the timeout, not before: {t:?}");

    // On hold (the carrier's re-INVITE and the phone's answer a=inactive;
    // parts without comments, as they land inside the scenario's) and
    // silent for 3x the timeout: still up when the carrier hangs up (a call
    // already cut would answer its BYE 481).
    let carrier = part("hold-carrier.part").replace("HOLD_MS", "6000");
    let phone = part("hold-phone.part") + &part("hangup-recv-bye.part");
    let r = call(&s, ("carrier-call.xml", &carrier), ("phone-answer.xml", &phone)).await;
    assert_eq!(r, (true, true), "the held call lasts until the carrier's BYE");
    let cdr = last_cdr(&s.store, 2).await;
    assert_eq!(cdr.get("internal_reason").as_str(), Some("Caller hung up"));
    assert!(talked(&cdr) >= Duration::from_secs(6), "{:?}", talked(&cdr));
    assert_eq!(s.sw.active_calls(), 0);
    s.sw.shutdown().await;
}

/// What an operator saw: both SIPp peers killed (SIGKILL) mid-call, the
/// customer's capacity limit 2. The call stayed up for 14 minutes holding a
/// channel and its CDR billed 849 s for a 2 s call. Now the silent relay
/// ends it after `media_timeout`: the channel is free and the CDR bills
/// seconds, not minutes.
#[tokio::test(flavor = "multi_thread")]
async fn a_call_whose_peers_were_killed_ends_and_frees_its_channel() {
    if !sipp_available() {
        return;
    }
    let s = setup(3, 1800).await;
    let customer = s.store.list(&schema::CUSTOMERS, store::Scope::Operator, &store::ListQuery::default()).await.unwrap().records[0].id();
    let limit = Input::default().with(&schema::CUSTOMERS, "capacity_limit", 2i64);
    s.store.update(&schema::CUSTOMERS, &Actor::system(), customer, limit).await.unwrap();
    let dir = std::env::temp_dir().join(format!("sb-killed-{}-{}", std::process::id(), rand::random::<u32>()));
    std::fs::create_dir_all(&dir).unwrap();
    // Both would wait for a BYE for a long time; they are killed first.
    let wait = part("hangup-recv-bye.part");
    let spawn = |args: &[&str]| {
        Command::new("sipp")
            .current_dir(&dir)
            .args(args)
            .args(["-i", "127.0.0.1", "-m", "1", "-timeout", "60", "-nostdin", "-mp", &media_port().to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let phone_xml = write_scenario(&dir, "phone-answer.xml", &wait);
    let mut phone = spawn(&["-sf", &phone_xml, "-p", &s.phone_port.to_string()]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let carrier_xml = write_scenario(&dir, "carrier-call.xml", &wait);
    std::fs::write(dir.join("call.csv"), format!("SEQUENTIAL\n{};4930111;\n", s.target())).unwrap();
    let server = s.sw.udp_addr().to_string();
    let mut carrier = spawn(&[&server, "-sf", &carrier_xml, "-inf", "call.csv", "-p", &free_udp_port().to_string()]);
    let up = Instant::now();
    while s.sw.active_calls() == 0 {
        assert!(up.elapsed() < Duration::from_secs(10), "the call came up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    for peer in [&mut carrier, &mut phone] {
        peer.kill().unwrap();
        peer.wait().unwrap();
    }
    let killed = Instant::now();
    while s.sw.active_calls() != 0 {
        assert!(killed.elapsed() < Duration::from_secs(15), "the dead call still holds a channel");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let cdr = last_cdr(&s.store, 1).await;
    assert_eq!(cdr.get("internal_reason").as_str(), Some("Media timeout: no RTP for 3 s"));
    let billed = cdr.get("duration").as_i64().unwrap();
    assert!((3..10).contains(&billed), "billed {billed} s for a call cut 3 s after its media stopped");
    s.sw.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_interval_below_ninety_seconds_gets_422() {
    if !sipp_available() {
        return;
    }
    let s = setup(60, 1800).await;
    let dir = std::env::temp_dir().join(format!("sb-timers-{}-{}", std::process::id(), rand::random::<u32>()));
    std::fs::create_dir_all(&dir).unwrap();
    let asks = "CSeq: 1 INVITE\n      Supported: timer\n      Session-Expires: 60;refresher=uac";
    let expects = r#"<recv response="422"><action><ereg regexp="^ *90 *$" search_in="hdr" header="Min-SE:" check_it="true" assign_to="m"/></action></recv><Reference variables="m"/>"#;
    let xml = write_filled(&dir, "carrier-refused.xml", &[("CSeq: 1 INVITE", asks), (r#"<recv response="EXPECTED_CODE"/>"#, expects)]);
    let out = run_sipp(&dir, &s, &xml, 20);
    assert!(report("carrier", &dir, &out), "422 with Min-SE: 90");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(s.sw.active_calls(), 0);
    s.sw.shutdown().await;
}

/// One SIPp run as the carrier, for up to `secs`.
fn run_sipp(dir: &Path, s: &Setup, xml: &str, secs: u32) -> Output {
    let csv = dir.join("call.csv");
    std::fs::write(&csv, format!("SEQUENTIAL\n15550001@{};4930111;8 0 101;\n", s.domain)).unwrap();
    sipp_for(dir, &[&s.sw.udp_addr().to_string(), "-sf", xml, "-inf", csv.to_str().unwrap(), "-p", &free_udp_port().to_string()], secs)
}

/// SIPp with a time limit of `secs` (`common::calls::run_sipp` allows 20).
fn sipp_for(dir: &Path, args: &[&str], secs: u32) -> Output {
    Command::new("timeout")
        .current_dir(dir)
        .args([&(secs + 10).to_string(), "sipp"])
        .args(args)
        .args(["-i", "127.0.0.1", "-m", "1", "-timeout", &secs.to_string(), "-nostdin", "-trace_err", "-mp", &media_port().to_string()])
        .output()
        .expect("run sipp")
}

/// The one slow test (RFC 4028's floor is 90 s): the carrier asks for 90 s
/// and never refreshes; the phone wants 100 s with us refreshing. We must
/// refresh the phone at 50 s and hang up both legs at 90 - 30 = 60 s.
#[tokio::test(flavor = "multi_thread")]
async fn session_timers_are_refreshed_by_us_and_expire_when_the_carrier_does_not_refresh() {
    if !sipp_available() {
        return;
    }
    // No media timeout: these peers send no RTP.
    let s = setup(0, 90).await;
    let dir = std::env::temp_dir().join(format!("sb-timers-{}-{}", std::process::id(), rand::random::<u32>()));
    let phone_dir = dir.join("phone");
    std::fs::create_dir_all(&phone_dir).unwrap();
    let phone_xml = write_scenario(&phone_dir, "phone-session-timer.xml", "");
    let port = s.phone_port.to_string();
    let phone = tokio::task::spawn_blocking(move || {
        let out = sipp_for(&phone_dir, &["-sf", &phone_xml, "-p", &port], 90);
        report("phone", &phone_dir, &out)
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let carrier_xml = write_scenario(&dir, "carrier-session-timer.xml", "");
    let started = Instant::now();
    let out = tokio::task::block_in_place(|| run_sipp(&dir, &s, &carrier_xml, 90));
    let took = started.elapsed();
    assert!(report("carrier", &dir, &out), "the carrier's 200 agrees its timer, then BYE comes");
    assert!(phone.await.unwrap(), "the phone's 422 raises our offer, our UPDATE refreshes it, then BYE comes");
    assert!(took >= Duration::from_secs(60) && took < Duration::from_secs(75), "BYE at ~60 s: {took:?}");
    let cdr = last_cdr(&s.store, 1).await;
    assert_eq!(cdr.get("internal_reason").as_str(), Some("Session timer expired"));
    let t = talked(&cdr);
    assert!(t >= Duration::from_secs(59) && t < Duration::from_secs(62), "{t:?}");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(s.sw.active_calls(), 0);
    s.sw.shutdown().await;
}
