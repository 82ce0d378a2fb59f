//! baresip (Debian's) as a real phone: it registers with its SIP account,
//! shows up online with its user agent, and goes offline when it quits
//! (it unregisters on the way out). `.ci/run` installs baresip and sets
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
