//! baresip (Debian's) as a real phone: it registers with its SIP account,
//! shows up online with its user agent, and goes offline when it quits
//! (it unregisters on the way out); it answers a carrier's DID call and
//! talks through the media relay; two baresips call each other by
//! extension. `.ci/run` installs baresip and sets
//! SWITCHBOARD_REQUIRE_TOOLS, so CI never skips.

use std::process::{Command, Stdio};

mod common;

use common::{account, wait_for};
use switch::{RegistrarConfig, Switch};

#[tokio::test(flavor = "multi_thread")]
async fn baresip_registers_and_unregisters() {
    if Command::new("baresip").arg("-h").stdout(Stdio::null()).stderr(Stdio::null()).status().is_err() {
        assert!(std::env::var_os("SWITCHBOARD_REQUIRE_TOOLS").is_none(), "baresip is required (apt-get install baresip)");
        eprintln!("note: baresip is not installed; skipped");
        return;
    }
    let (store, _db) = store::testing::sqlite().await;
    let id = account(&store, "desk-7", "Bare-Pass-7").await;
    let sw = Switch::start(store.clone(), "127.0.0.1:0".parse().unwrap(), RegistrarConfig::default()).await.unwrap();

    let dir = std::env::temp_dir().join(format!("sb-baresip-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("config"),
        "module_path /usr/lib/baresip/modules\nsip_listen 127.0.0.1:0\nmodule g711.so\nmodule account.so\n\
         audio_player aufile,/dev/null\naudio_source aufile,/dev/null\n",
    )
    .unwrap();
    std::fs::write(dir.join("accounts"), format!("<sip:desk-7@{};transport=udp>;auth_pass=Bare-Pass-7;regint=300\n", sw.udp_addr()))
        .unwrap();
    // -t: quit after 4 s, unregistering first.
    let mut phone =
        Command::new("baresip").arg("-f").arg(&dir).args(["-t", "4"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();

    let (online, ua) = wait_for(&store, id, |p| p.0).await;
    assert!(online, "baresip registered");
    assert!(ua.as_deref().is_some_and(|u| u.starts_with("baresip")), "{ua:?}");
    let status = tokio::task::spawn_blocking(move || phone.wait()).await.unwrap().unwrap();
    assert!(status.success(), "baresip exit: {status}");
    let (online, _) = wait_for(&store, id, |p| !p.0).await;
    assert!(!online, "baresip unregistered on exit");
    sw.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn baresip_answers_a_carrier_call() {
    if Command::new("baresip").arg("-h").stdout(Stdio::null()).stderr(Stdio::null()).status().is_err() || !common::sipp_available() {
        assert!(std::env::var_os("SWITCHBOARD_REQUIRE_TOOLS").is_none(), "baresip and sipp are required");
        return;
    }
    use domain::schema;
    let (store, _db) = store::testing::sqlite().await;
    let id = account(&store, "desk-8", "Bare-Pass-8").await;
    let c = common::customer_of(&store, id).await;
    store.create(&schema::DID_NUMBERS, &store::Actor::system(), common::did(c, "15550008", true, Some(id))).await.unwrap();
    let (_, domain) = common::trunk_of(&store, c).await;
    let sw = Switch::start(store.clone(), "127.0.0.1:0".parse().unwrap(), RegistrarConfig::default()).await.unwrap();

    let dir = std::env::temp_dir().join(format!("sb-baresip-call-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A phone that answers by itself, with a tone as its microphone
    // (ausine runs only at 48 kHz stereo; baresip resamples to G.711).
    std::fs::write(
        dir.join("config"),
        "module_path /usr/lib/baresip/modules\nsip_listen 127.0.0.1:0\nmodule g711.so\nmodule account.so\nmodule menu.so\n\
         module ausine.so\nmodule aufile.so\naudio_player aufile,/dev/null\naudio_source ausine,440\nausrc_srate 48000\nauplay_srate 48000\nausrc_channels 2\nauplay_channels 2\n",
    )
    .unwrap();
    let account_line = format!("<sip:desk-8@{};transport=udp>;auth_pass=Bare-Pass-8;regint=300;answermode=auto\n", sw.udp_addr());
    std::fs::write(dir.join("accounts"), account_line).unwrap();
    let mut phone =
        Command::new("baresip").arg("-f").arg(&dir).args(["-t", "10"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    assert!(wait_for(&store, id, |p| p.0).await.0, "baresip registered");

    // The carrier calls the DID, talks for a moment (G.711 both ways) and hangs up.
    let template = std::fs::read_to_string(common::scenario("carrier-call.xml")).unwrap();
    let hangup = std::fs::read_to_string(common::scenario("hangup-carrier-bye.part")).unwrap();
    std::fs::write(dir.join("carrier.xml"), template.replace("HANGUP", &hangup)).unwrap();
    std::fs::write(dir.join("call.csv"), format!("SEQUENTIAL\n15550008@{domain};4930888;\n")).unwrap();
    let server = sw.udp_addr().to_string();
    let d = dir.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("sipp")
            .current_dir(&d)
            .args([server.as_str(), "-sf", "carrier.xml", "-inf", "call.csv", "-i", "127.0.0.1", "-m", "1", "-timeout", "20", "-nostdin"])
            .args(["-p", &common::free_udp_port().to_string(), "-mp", &common::free_udp_port().to_string()])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(out.status.success(), "baresip answered the carrier's call: {}", String::from_utf8_lossy(&out.stdout));
    let (to_phone, to_carrier, _) = sw.media_stats();
    assert!(to_phone > 0 && to_carrier > 0, "RTP both ways through the relay: {to_phone} / {to_carrier}");
    let _ = phone.kill();
    let _ = phone.wait();
    sw.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_baresips_call_each_other_by_extension() {
    if Command::new("baresip").arg("-h").stdout(Stdio::null()).stderr(Stdio::null()).status().is_err() {
        assert!(std::env::var_os("SWITCHBOARD_REQUIRE_TOOLS").is_none(), "baresip is required");
        return;
    }
    let (store, _db) = store::testing::sqlite().await;
    let seed = account(&store, "seed-9", "Seed-Pass-9").await;
    let c = common::customer_of(&store, seed).await;
    let mut ids = Vec::new();
    for (user, pass, ext) in [("ext-201", "Ext-Pass-201", "201"), ("ext-202", "Ext-Pass-202", "202")] {
        ids.push(common::extension(&store, c, user, pass, ext).await);
    }
    let sw = Switch::start(store.clone(), "127.0.0.1:0".parse().unwrap(), RegistrarConfig::default()).await.unwrap();
    let dir = std::env::temp_dir().join(format!("sb-baresip-ext-{}", std::process::id()));
    let mut callee =
        common::baresip_phone(&dir.join("callee"), &format!("sip:ext-202@{};transport=udp", sw.udp_addr()), "Ext-Pass-202", "", &[], 12);
    assert!(wait_for(&store, ids[1], |p| p.0).await.0, "the callee registered");
    // The caller dials 202 at start, talks until it quits.
    let mut caller = common::baresip_phone(
        &dir.join("caller"),
        &format!("sip:ext-201@{};transport=udp", sw.udp_addr()),
        "Ext-Pass-201",
        "",
        &["/dial 202"],
        6,
    );
    let mut talked = false;
    for _ in 0..100 {
        let (to_callee, to_caller, _) = sw.media_stats();
        if to_callee > 20 && to_caller > 20 {
            talked = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (to_callee, to_caller, _) = sw.media_stats();
    assert!(talked, "201 called 202 and RTP went both ways through the relay: {to_callee} / {to_caller}");
    assert_eq!(sw.active_calls(), 1, "an internal call takes a channel, as every call does (Operator API 5.10)");
    let _ = tokio::task::spawn_blocking(move || caller.wait()).await;
    let _ = callee.kill();
    let _ = callee.wait();
    sw.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn baresip_dials_out_through_a_gateway() {
    if Command::new("baresip").arg("-h").stdout(Stdio::null()).stderr(Stdio::null()).status().is_err() || !common::sipp_available() {
        assert!(std::env::var_os("SWITCHBOARD_REQUIRE_TOOLS").is_none(), "baresip and sipp are required");
        return;
    }
    use domain::schema;
    use store::{Actor, Input, RelInput};
    let (store, _db) = store::testing::sqlite().await;
    let seed = account(&store, "seed-10", "Seed-Pass-10").await;
    let c = common::customer_of(&store, seed).await;
    // Its external caller id is one of its customer's DIDs.
    store.create(&schema::DID_NUMBERS, &Actor::system(), common::did(c, "4930555", true, None)).await.unwrap();
    let input = Input::default()
        .with(&schema::SIP_ACCOUNTS, "username", "out-1")
        .with(&schema::SIP_ACCOUNTS, "password", "Out-Pass-1")
        .with(&schema::SIP_ACCOUNTS, "allow_external_calls", true)
        .with(&schema::SIP_ACCOUNTS, "external_caller_id", "4930555")
        .with_rel(&schema::SIP_ACCOUNTS, "customer", RelInput::To("customers", c));
    store.create(&schema::SIP_ACCOUNTS, &Actor::system(), input).await.unwrap();
    let port = common::free_udp_port();
    let gw = common::gateway(&store, "Carrier", port, "PCMA,telephone-event", Some(("gw-user", "gw-pass"))).await;
    common::route(&store, "All", "", gw, Some((r"^(\d+)$", r"00\1"))).await;
    let sw = Switch::start(store.clone(), "127.0.0.1:0".parse().unwrap(), RegistrarConfig::default()).await.unwrap();

    // The gateway: SIPp, challenging with 401 and checking the credentials.
    let dir = std::env::temp_dir().join(format!("sb-baresip-out-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let gateway_xml = common::calls::write_filled(&dir, &common::calls::gateway_answer(401, "004930123456"), &[]);
    let d = dir.clone();
    let gateway = tokio::task::spawn_blocking(move || {
        let out = common::calls::run_sipp(&d, &["-sf", &gateway_xml, "-p", &port.to_string(), "-rtp_echo"]);
        common::calls::report("gateway", &d, &out)
    });
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    // baresip dials at start and hangs up (BYE) when it quits.
    let mut phone = common::baresip_phone(
        &dir.join("phone"),
        &format!("sip:out-1@{};transport=udp", sw.udp_addr()),
        "Out-Pass-1",
        "",
        &["/dial 4930123456"],
        4,
    );
    let _ = tokio::task::spawn_blocking(move || phone.wait()).await;
    assert!(gateway.await.unwrap(), "the gateway got the call with credentials and the rewritten number, and its BYE");
    let rows = common::termination_cdrs(&store, 1).await;
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].get("success").as_bool(), rows[0].get("src_number_out").as_str()), (Some(true), Some("4930555")));
    sw.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}
