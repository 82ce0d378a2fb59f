//! SIPp as people run it out of the box: credentials on the command line
//! (`-au`/`-ap`), `[authentication]` with no `auth_uri`, and Request-URIs
//! without our port. SIPp then computes its digest over a uri that is not
//! the Request-URI (`sip:HOST:PORT` for `sip:HOST`, or the reverse); such a
//! uri still names this server, so the phone registers and calls.

mod common;

use common::calls::{part, register_phone, report, run_sipp, write_filled, write_scenario};
use common::{extension, sipp_available};
use switch::{Switch, SwitchConfig};

#[tokio::test(flavor = "multi_thread")]
async fn a_phone_registers_and_calls_with_sipps_command_line_credentials() {
    if !sipp_available() {
        return;
    }
    let (store, _db) = store::testing::sqlite().await;
    let seed = common::account(&store, "seed-stock", "Seed-Pass-S").await;
    let c = common::customer_of(&store, seed).await;
    let caller = extension(&store, c, "stock-1", "Stock-Pass-1", "301").await;
    let callee = extension(&store, c, "stock-2", "Stock-Pass-2", "302").await;
    let sw = Switch::start(store.clone(), "127.0.0.1:0".parse().unwrap(), SwitchConfig::default()).await.unwrap();
    // register.xml: REGISTER sip:[remote_ip], [authentication], -au/-ap.
    register_phone(&store, &sw, caller, "stock-1", "Stock-Pass-1").await;
    let callee_port = register_phone(&store, &sw, callee, "stock-2", "Stock-Pass-2").await;

    let dir = std::env::temp_dir().join(format!("sb-stock-sipp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let answer_dir = dir.join("callee");
    std::fs::create_dir_all(&answer_dir).unwrap();
    let answer = write_scenario(&answer_dir, "phone-answer.xml", &part("hangup-recv-bye.part"));
    let port = callee_port.to_string();
    let d = answer_dir.clone();
    let callee_run = tokio::task::spawn_blocking(move || {
        let out = run_sipp(&d, &["-sf", &answer, "-p", &port, "-rtp_echo"]);
        report("callee", &d, &out)
    });
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let call = write_filled(
        &dir,
        "phone-call.xml",
        &[("[authentication username=USERNAME password=PASSWORD]", "[authentication]"), ("USERNAME", "stock-1")],
    );
    // The Request-URI has no port; SIPp's digest uri does.
    std::fs::write(dir.join("call.csv"), "SEQUENTIAL\n302@127.0.0.1;\n").unwrap();
    let server = sw.udp_addr().to_string();
    let d = dir.clone();
    let caller_run = tokio::task::spawn_blocking(move || {
        let args = [server.as_str(), "-sf", &call, "-inf", "call.csv", "-au", "stock-1", "-ap", "Stock-Pass-1"];
        let out = run_sipp(&d, &[&args[..], &["-p", &common::free_udp_port().to_string()]].concat());
        report("caller", &d, &out)
    });
    assert!(caller_run.await.unwrap(), "the caller's INVITE was taken with SIPp's own digest uri");
    assert!(callee_run.await.unwrap(), "the callee answered");
    sw.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}
