//! What the tests of the real binary share: free ports, and SIPp run with
//! the switch crate's scenarios.

#![allow(dead_code)] // each test binary uses its own share of these

use std::path::{Path, PathBuf};
use std::process::Command;

/// A TCP port free now on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The switch crate's SIPp scenarios and their fragments.
pub fn sipp_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../switch/tests/sipp")
}

/// A fragment (`*.part`) of the switch crate's scenarios.
pub fn part(name: &str) -> String {
    std::fs::read_to_string(sipp_dir().join(name)).unwrap()
}

/// SIPp with a scenario of the switch crate's suite, HANGUP filled with
/// `fill`, one call within SIPp's `-timeout` of `secs`; true when it
/// passed. Bounded by `timeout` too, as SIPp's own -timeout does not end a
/// call stuck in a wait.
pub fn sipp(dir: &Path, scenario: &str, fill: &str, args: &[&str], secs: u32) -> bool {
    let text = std::fs::read_to_string(sipp_dir().join(scenario)).unwrap().replace("HANGUP", fill);
    let file = dir.join(format!("{}-{scenario}", rand::random::<u32>()));
    std::fs::write(&file, text).unwrap();
    let out = Command::new("timeout")
        .current_dir(dir)
        .args(["60", "sipp", "-sf"])
        .arg(&file)
        .args(args)
        .args(["-i", "127.0.0.1", "-m", "1", "-timeout", &secs.to_string(), "-nostdin"])
        .output()
        .expect("run sipp");
    if !out.status.success() {
        eprintln!("{scenario}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    }
    out.status.success()
}
