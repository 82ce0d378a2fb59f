//! Calls driven by SIPp: scenario files from `tests/sipp/` with their
//! placeholders filled, SIPp runs bounded in time, and helpers that place
//! one call while phones answer.

use super::{account, cdrs, customer_of, did, free_udp_port, media_port, scenario, sipp, trunk_of, wait_for};
use domain::schema;
use std::path::Path;
use std::process::{Command, Output};
use store::{Actor, Store};
use switch::{Switch, SwitchConfig};

/// A customer's DID 15550001 ringing its phone desk-1, registered (by
/// SIPp) from `phone_port`, where the phone's UAS scenario will listen.
pub struct DidToPhone {
    pub store: Store,
    pub sw: Switch,
    /// The customer's trunk domain.
    pub domain: String,
    pub phone_port: u16,
    pub db: store::testing::TestDb,
}

impl DidToPhone {
    /// The DID at the trunk: what the carrier dials.
    pub fn target(&self) -> String {
        format!("15550001@{}", self.domain)
    }
}

/// Sets up [`DidToPhone`] on `store`, the switch started with `config`.
pub async fn did_to_phone((store, db): (Store, store::testing::TestDb), config: SwitchConfig) -> DidToPhone {
    let phone = account(&store, "desk-1", "Desk-Pass-1").await;
    let c = customer_of(&store, phone).await;
    store.create(&schema::DID_NUMBERS, &Actor::system(), did(c, "15550001", true, Some(phone))).await.unwrap();
    let (_, domain) = trunk_of(&store, c).await;
    let sw = Switch::start(store.clone(), "127.0.0.1:0".parse().unwrap(), config).await.unwrap();
    let phone_port = free_udp_port();
    let server = sw.udp_addr();
    let registered = tokio::task::spawn_blocking(move || sipp(server, phone_port, "register.xml", "desk-1", "Desk-Pass-1", 300, false));
    assert!(registered.await.unwrap(), "the phone registers");
    assert!(wait_for(&store, phone, |p| p.0).await.0);
    DidToPhone { store, sw, domain, phone_port, db }
}

/// A scenario fragment from `tests/sipp/*.part`.
pub fn part(name: &str) -> String {
    std::fs::read_to_string(scenario(name)).unwrap()
}

/// (carrier's, phone's) end of an answered call.
pub fn caller_hangs_up() -> (String, String) {
    (part("hangup-carrier-bye.part"), part("hangup-recv-bye.part"))
}

pub fn callee_hangs_up() -> (String, String) {
    (part("hangup-recv-bye.part"), part("hangup-phone-bye.part"))
}

/// A scenario file with its placeholder (HANGUP or EXPECTED_CODE) filled.
pub fn write_scenario(dir: &Path, name: &str, fill: &str) -> String {
    write_filled(dir, name, &[("HANGUP", fill), ("EXPECTED_CODE", fill)])
}

/// A scenario file with each (placeholder, value) filled in, written to
/// `dir`; its path. A `name` of the form `<scenario>?<key>=<value>&...`
/// fills those keys too (how a caller passes credentials through
/// [`call_phones`]).
pub fn write_filled(dir: &Path, name: &str, fills: &[(&str, &str)]) -> String {
    let (file, query) = name.split_once('?').unwrap_or((name, ""));
    let mut text = std::fs::read_to_string(scenario(file)).unwrap();
    for (key, value) in fills.iter().copied().chain(query.split('&').filter_map(|kv| kv.split_once('='))) {
        text = text.replace(key, value);
    }
    let path = dir.join(file);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

pub fn run_sipp(dir: &Path, args: &[&str]) -> Output {
    run_sipp_for(dir, args, 20)
}

/// [`run_sipp`] for a scenario that may take up to `secs` seconds.
pub fn run_sipp_for(dir: &Path, args: &[&str], secs: u32) -> Output {
    // SIPp's own -timeout does not end a call stuck in a pause or a wait.
    let (outer, secs) = ((secs + 40).to_string(), secs.to_string());
    Command::new("timeout")
        .current_dir(dir)
        .args([outer.as_str(), "sipp"])
        .args(args)
        .args(["-i", "127.0.0.1", "-m", "1", "-timeout", &secs, "-nostdin", "-trace_err", "-mp", &media_port().to_string()])
        .output()
        .expect("run sipp")
}

pub fn report(what: &str, dir: &Path, out: &Output) -> bool {
    if !out.status.success() {
        eprintln!("{what} failed: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            if e.path().to_string_lossy().ends_with("errors.log") {
                eprintln!("{}", std::fs::read_to_string(e.path()).unwrap_or_default());
            }
        }
    }
    out.status.success()
}

/// One call to `target` (`number@host`) placed by the caller's scenario
/// while several phones run theirs, each (port, scenario, fill). True for
/// each that passed: (caller, phones).
pub async fn call_phones(
    server: std::net::SocketAddr,
    target: &str,
    carrier: (&str, &str),
    phones: &[(u16, &str, &str)],
) -> (bool, Vec<bool>) {
    call_phones_for(server, target, carrier, phones, 20).await
}

/// [`call_phones`] for a call that may take up to `secs` seconds.
pub async fn call_phones_for(
    server: std::net::SocketAddr,
    target: &str,
    carrier: (&str, &str),
    phones: &[(u16, &str, &str)],
    secs: u32,
) -> (bool, Vec<bool>) {
    let dir = std::env::temp_dir().join(format!("sb-b2bua-{}-{}", std::process::id(), rand::random::<u32>()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut running = Vec::new();
    for (n, (port, name, fill)) in phones.iter().enumerate() {
        let d = dir.join(format!("phone-{n}"));
        std::fs::create_dir_all(&d).unwrap();
        let phone_xml = write_scenario(&d, name, fill);
        let port = port.to_string();
        running.push(tokio::task::spawn_blocking(move || {
            // The phone echoes the RTP it gets, so media flows both ways.
            let out = run_sipp_for(&d, &["-sf", &phone_xml, "-p", &port, "-rtp_echo"], secs);
            report("phone", &d, &out)
        }));
    }
    let carrier_xml = write_scenario(&dir, carrier.0, carrier.1);
    let csv = dir.join("call.csv");
    std::fs::write(&csv, format!("SEQUENTIAL\n{target};4930111;8 0 101;\n")).unwrap();
    let server = server.to_string();
    // Let the phones' SIPp bind their ports before the call arrives.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let d = dir.clone();
    let carrier = tokio::task::spawn_blocking(move || {
        let args = [&server, "-sf", &carrier_xml, "-inf", csv.to_str().unwrap(), "-p", &free_udp_port().to_string()];
        let out = run_sipp_for(&d, &args, secs);
        report("carrier", &d, &out)
    });
    let carrier = carrier.await.unwrap();
    let mut phones = Vec::new();
    for p in running {
        phones.push(p.await.unwrap());
    }
    let _ = std::fs::remove_dir_all(&dir);
    (carrier, phones)
}

pub async fn last_cdr(store: &Store, n: usize) -> store::Record {
    let rows = cdrs(store, n).await;
    assert!(rows.len() >= n, "no CDR number {n}");
    rows[n - 1].clone()
}

/// Registers `username` (a SIP account of the store) from a fresh port; the port.
pub async fn register_phone(store: &Store, sw: &Switch, id: i64, username: &str, password: &str) -> u16 {
    let port = free_udp_port();
    let (server, user, pass) = (sw.udp_addr(), username.to_owned(), password.to_owned());
    let ok = tokio::task::spawn_blocking(move || sipp(server, port, "register.xml", &user, &pass, 300, false));
    assert!(ok.await.unwrap(), "{username} registers");
    assert!(wait_for(store, id, |p| p.0).await.0);
    port
}

/// `gateway-answer.xml` filled for a gateway that challenges with `code`
/// (401 or 407), expects gw-user / gw-pass and `dialled`: a name for
/// [`call_phones`] or [`write_filled`].
pub fn gateway_answer(code: u16, dialled: &str) -> String {
    let (header, on, off) = if code == 407 { ("Proxy-Authenticate", 407, 401) } else { ("WWW-Authenticate", 401, 407) };
    format!(
        "gateway-answer.xml?CHALLENGE_CODE={code}&CHALLENGE_HEADER={header}&GW_USER=gw-user&GW_PASS=gw-pass&DIALLED={dialled}\
         &OPEN_{on}=&CLOSE_{on}=&OPEN_{off}=<!--&CLOSE_{off}=-->"
    )
}
