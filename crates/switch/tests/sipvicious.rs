//! sipvicious (PyPI `sipvicious`: svmap, svwar, svcrack), the scanner
//! kit attackers run, against a started switch: svmap learns no version,
//! svwar tells no existing account from a missing one by any method it
//! tries (nor by timing, measured here), and svcrack with 300 wrong
//! passwords gets nowhere while a phone on another address keeps
//! registering.

use sip::digest::{respond, Challenge};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
mod common;

use common::account;
use switch::{RegistrarConfig, Switch};
use tokio::net::UdpSocket;

/// Whether the sipvicious tools are installed; with
/// SWITCHBOARD_REQUIRE_TOOLS set, a missing one fails the test.
fn sipvicious_available() -> bool {
    let found = ["sipvicious_svmap", "sipvicious_svwar", "sipvicious_svcrack"]
        .iter()
        .all(|t| Command::new(t).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok());
    if !found {
        assert!(std::env::var_os("SWITCHBOARD_REQUIRE_TOOLS").is_none(), "sipvicious is required (pip install sipvicious)");
        eprintln!("note: sipvicious is not installed; scanner tests skipped");
    }
    found
}

/// Runs a sipvicious tool to its end (it gives up on silence by itself);
/// its stdout and stderr together.
async fn run(tool: &str, args: &[&str]) -> String {
    let (tool, args): (String, Vec<String>) = (tool.into(), args.iter().map(|a| a.to_string()).collect());
    let shown = format!("{tool} {args:?}");
    let out = tokio::task::spawn_blocking(move || Command::new(&tool).args(&args).stdin(Stdio::null()).output())
        .await
        .unwrap()
        .expect("the tool runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    eprintln!("--- {shown}\n{text}");
    text
}

fn status(resp: &str) -> u16 {
    resp.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// A phone registering `user` from a socket on `ip`: the final response.
async fn register(ip: &str, server: SocketAddr, user: &str, password: &str) -> Option<u16> {
    let sock = UdpSocket::bind((ip, 0)).await.unwrap();
    let local = sock.local_addr().unwrap();
    let send = |auth: Option<String>| {
        let msg = format!(
            "REGISTER sip:{server} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK{b};rport\r\nMax-Forwards: 70\r\n\
             From: <sip:{user}@{server}>;tag=1\r\nTo: <sip:{user}@{server}>\r\nCall-ID: {user}@{local}\r\nCSeq: {n} REGISTER\r\n\
             Contact: <sip:{user}@{local}>\r\n{a}Content-Length: 0\r\n\r\n",
            b = rand::random::<u64>(),
            n = if auth.is_some() { 2 } else { 1 },
            a = auth.map(|a| format!("Authorization: {a}\r\n")).unwrap_or_default(),
        );
        msg.into_bytes()
    };
    sock.send_to(&send(None), server).await.unwrap();
    let challenge = final_response(&sock).await?;
    let c = challenge.lines().find_map(|l| l.strip_prefix("WWW-Authenticate: ")).and_then(|h| Challenge::parse(h).ok())?;
    let auth = respond(&c, "REGISTER", &format!("sip:{server}"), user, password, "0a4f113b", 1).unwrap();
    sock.send_to(&send(Some(auth.to_header())), server).await.unwrap();
    final_response(&sock).await.map(|r| status(&r))
}

async fn final_response(sock: &UdpSocket) -> Option<String> {
    let mut buf = vec![0u8; 65535];
    loop {
        let (n, _) = tokio::time::timeout(Duration::from_secs(3), sock.recv_from(&mut buf)).await.ok()?.ok()?;
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        if !text.starts_with("SIP/2.0 1") {
            return Some(text);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn svmap_learns_no_version_and_svwar_no_account() {
    if !sipvicious_available() {
        return;
    }
    let (store, _db) = store::testing::sqlite().await;
    account(&store, "105", "Pass-105-x").await;
    account(&store, "112", "Pass-112-x").await;
    let sw = Switch::start(store.clone(), "127.0.0.1:0".parse().unwrap(), RegistrarConfig::default()).await.unwrap();
    let target = format!("udp://127.0.0.1:{}", sw.udp_addr().port());
    let port = sw.udp_addr().port().to_string();

    let map = run("sipvicious_svmap", &["-p", &port, "127.0.0.1"]).await;
    assert!(map.contains(&format!("127.0.0.1:{}", sw.udp_addr().port())), "svmap found the server: {map}");
    assert!(!map.contains("Switchboard") && !map.contains(env!("CARGO_PKG_VERSION")), "{map}");
    let row = map.lines().find(|l| l.contains(&format!("127.0.0.1:{port}"))).unwrap();
    assert!(row.contains("| unknown"), "svmap saw no User-Agent or Server: {row}");

    for method in ["REGISTER", "INVITE", "OPTIONS"] {
        // As it starts (it checks how a made-up name is answered), and
        // forced past that check.
        for force in [None, Some("--force")] {
            let mut args = vec!["-e100-120", "-m", method, "-t", "0.05", &target];
            args.extend(force);
            let war = run("sipvicious_svwar", &args).await;
            assert!(war.contains("found nothing"), "{method} {force:?}: {war}");
            for ext in ["105", "112"] {
                assert!(!war.contains(&format!("| {ext} ")), "{method} tells {ext} exists: {war}");
            }
        }
    }
    sw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn svcrack_gets_nowhere_while_the_phone_keeps_registering() {
    if !sipvicious_available() {
        return;
    }
    let (store, _db) = store::testing::sqlite().await;
    account(&store, "105", "Pass-105-x").await;
    let sw = Switch::start(store.clone(), "127.0.0.1:0".parse().unwrap(), RegistrarConfig::default()).await.unwrap();
    let server = sw.udp_addr();
    assert_eq!(register("127.0.0.3", server, "105", "Pass-105-x").await, Some(200));
    let dictionary = std::env::temp_dir().join(format!("svcrack-{:016x}.txt", rand::random::<u64>()));
    let mut words: Vec<String> = (0..300).map(|i| format!("wrong-{i}")).collect();
    // Should a check get through at the end, it would find this.
    words.push("Pass-105-x".into());
    std::fs::write(&dictionary, words.join("\n")).unwrap();
    let words_file = dictionary.clone();
    let target = format!("udp://127.0.0.1:{}", server.port());
    let crack =
        tokio::spawn(
            async move { run("sipvicious_svcrack", &["-u", "105", "-d", dictionary.to_str().unwrap(), "-t", "0.02", &target]).await },
        );
    // The phone on its own address, every second while svcrack runs.
    let mut registered = 0;
    while !crack.is_finished() {
        assert_eq!(register("127.0.0.3", server, "105", "Pass-105-x").await, Some(200), "the phone keeps registering");
        registered += 1;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let out = crack.await.unwrap();
    assert!(out.contains("found nothing"), "{out}");
    let _ = std::fs::remove_file(&words_file);
    assert!(registered > 0);
    assert!(!out.contains("Pass-105-x"), "svcrack found the password: {out}");
    sw.shutdown().await;
}

/// svwar does not time its answers; an attacker can. A wrong password
/// for an unknown username took ~90 µs longer (a store query) than for a
/// real one: now both take the same path, so their medians are close.
#[tokio::test(flavor = "multi_thread")]
async fn unknown_and_known_usernames_answer_alike_and_in_the_same_time() {
    let (store, _db) = store::testing::sqlite().await;
    account(&store, "alice", "Alice-Pass-1").await;
    let config =
        RegistrarConfig { max_auth_failures: 100_000, account_failures: 100_000, max_source_accounts: 100_000, ..Default::default() };
    let sw = Switch::start(store.clone(), "127.0.0.1:0".parse().unwrap(), config).await.unwrap();
    let server = sw.udp_addr();
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let local = sock.local_addr().unwrap();
    let mut buf = vec![0u8; 65535];
    let mut nonce = String::new();
    let mut timings: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
    for round in 0..400u32 {
        let user = if round % 2 == 0 { "alice" } else { "nobody-at-all" };
        let req = |cseq: u32, auth: &str| {
            format!(
                "REGISTER sip:{server} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK{b};rport\r\nMax-Forwards: 70\r\n\
                 From: <sip:{user}@{server}>;tag=1\r\nTo: <sip:{user}@{server}>\r\nCall-ID: t{round}@{local}\r\nCSeq: {cseq} REGISTER\r\n\
                 {auth}Content-Length: 0\r\n\r\n",
                b = rand::random::<u64>(),
            )
        };
        if round % 50 == 0 {
            sock.send_to(req(1, "").as_bytes(), server).await.unwrap();
            let (n, _) = sock.recv_from(&mut buf).await.unwrap();
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            let c = text.lines().find_map(|l| l.strip_prefix("WWW-Authenticate: ")).and_then(|h| Challenge::parse(h).ok()).unwrap();
            nonce = c.nonce.clone();
        }
        let c = Challenge::new("switchboard.local", nonce.clone(), sip::digest::Algorithm::Md5);
        let auth = respond(&c, "REGISTER", &format!("sip:{server}"), user, "wrong", "0a4f113b", 1).unwrap();
        let msg = req(2, &format!("Authorization: {}\r\n", auth.to_header()));
        let t = Instant::now();
        sock.send_to(msg.as_bytes(), server).await.unwrap();
        let (n, _) = sock.recv_from(&mut buf).await.unwrap();
        let took = t.elapsed();
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        assert!(text.starts_with("SIP/2.0 403 Forbidden\r\n"), "{user}: {text}");
        timings[(round % 2) as usize].push(took);
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (known, unknown) = (median(&mut timings[0]), median(&mut timings[1]));
    eprintln!("median answer: known {known:?}, unknown {unknown:?}");
    let gap = known.abs_diff(unknown);
    assert!(gap < Duration::from_micros(40) || gap < known / 5, "known {known:?} vs unknown {unknown:?}");
    sw.shutdown().await;
}
