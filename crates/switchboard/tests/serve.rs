//! The real binary: `switchboard serve` on a fresh SQLite file prints the
//! first operator login once, serves the API with it, keeps data across a
//! restart, and stops cleanly on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{free_port, sipp};

struct Server {
    child: Child,
    lines: Vec<String>,
}

/// Starts the binary and reads its stdout until it says where it listens.
fn start(db: &std::path::Path, port: u16, env: &[(&str, &str)]) -> Server {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    cmd.arg("serve")
        .env("SWITCHBOARD_DATABASE_URL", db)
        .env("SWITCHBOARD_HTTP_LISTEN", format!("127.0.0.1:{port}"))
        .env("SWITCHBOARD_SIP_LISTEN", "127.0.0.1:0")
        .env_remove("SWITCHBOARD_OPERATOR_USER")
        .env_remove("SWITCHBOARD_OPERATOR_PASSWORD")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("start switchboard");
    let out = child.stdout.take().unwrap();
    let mut lines = Vec::new();
    for line in BufReader::new(out).lines() {
        let line = line.unwrap();
        let done = line.contains("Press Ctrl-C to stop");
        lines.push(line);
        if done {
            break;
        }
    }
    Server { child, lines }
}

fn wait_http(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "server did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn stop(mut s: Server) -> std::process::ExitStatus {
    Command::new("kill").arg("-TERM").arg(s.child.id().to_string()).status().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(st) = s.child.try_wait().unwrap() {
            return st;
        }
        assert!(Instant::now() < deadline, "no graceful exit on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_prints_the_first_login_and_survives_a_restart() {
    let dir = std::env::temp_dir().join(format!("sb-serve-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("switchboard.db");
    let port = free_port();
    let s = start(&db, port, &[]);
    wait_http(port);
    let login = s.lines.iter().find(|l| l.contains("password")).cloned();
    let (user, password) = match login {
        Some(l) => parse_login(&l),
        None => panic!("no login printed: {:?}", s.lines),
    };
    let base = format!("http://127.0.0.1:{port}/api/rest/public/operator");
    let client = reqwest::Client::new();
    let r = client
        .post(format!("{base}/customers"))
        .basic_auth(&user, Some(&password))
        .header("content-type", "application/vnd.api+json")
        .body(r#"{"data":{"type":"customers","attributes":{"name":"Kept"}}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert!(stop(s).success(), "exit status after SIGTERM");

    // Restart on the same file: no new login, the customer is still there.
    let s = start(&db, port, &[]);
    wait_http(port);
    assert!(!s.lines.iter().any(|l| l.contains("password")), "the login is printed only once: {:?}", s.lines);
    let body: serde_json::Value =
        client.get(format!("{base}/customers")).basic_auth(&user, Some(&password)).send().await.unwrap().json().await.unwrap();
    assert_eq!(body["data"][0]["attributes"]["name"], "Kept");
    assert!(stop(s).success());
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn operator_login_from_the_environment() {
    let dir = std::env::temp_dir().join(format!("sb-serve-env-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let s = start(&dir.join("x.db"), port, &[("SWITCHBOARD_OPERATOR_USER", "ops"), ("SWITCHBOARD_OPERATOR_PASSWORD", "Given-Pass-1")]);
    wait_http(port);
    assert!(!s.lines.iter().any(|l| l.contains("Given-Pass-1")), "a given password is never printed");
    let r = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/api/rest/public/operator/customers"))
        .basic_auth("ops", Some("Given-Pass-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(stop(s).success());
    std::fs::remove_dir_all(dir).unwrap();
}

fn parse_login(line: &str) -> (String, String) {
    let words: Vec<&str> = line.split_whitespace().collect();
    let after = |w: &str| words.iter().position(|x| *x == w).map(|i| words[i + 1].to_owned()).unwrap();
    (after("user"), after("password"))
}

/// One REGISTER over UDP; returns the final response.
async fn register(sock: &tokio::net::UdpSocket, server: std::net::SocketAddr, user: &str, cseq: u32, auth: Option<&str>) -> String {
    let local = sock.local_addr().unwrap();
    let mut msg = format!(
        "REGISTER sip:{server} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK-{cseq}-e2e;rport\r\nMax-Forwards: 70\r\n\
         From: <sip:{user}@{server}>;tag=e2e{cseq}\r\nTo: <sip:{user}@{server}>\r\nCall-ID: e2e-call@test\r\nCSeq: {cseq} REGISTER\r\n\
         Contact: <sip:{user}@{local}>\r\nExpires: 300\r\nUser-Agent: e2e-phone/2.0\r\n"
    );
    if let Some(a) = auth {
        msg.push_str(&format!("Authorization: {a}\r\n"));
    }
    msg.push_str("Content-Length: 0\r\n\r\n");
    sock.send_to(msg.as_bytes(), server).await.unwrap();
    let mut buf = vec![0u8; 65535];
    loop {
        let (n, _) = tokio::time::timeout(Duration::from_secs(5), sock.recv_from(&mut buf)).await.expect("SIP response").unwrap();
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        if !text.starts_with("SIP/2.0 1") {
            return text;
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_phone_registers_to_serve_and_the_api_shows_it_online() {
    let dir = std::env::temp_dir().join(format!("sb-serve-sip-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let s = start(&dir.join("x.db"), port, &[("SWITCHBOARD_OPERATOR_USER", "ops"), ("SWITCHBOARD_OPERATOR_PASSWORD", "Given-Pass-1")]);
    wait_http(port);
    let sip_line = s.lines.iter().find(|l| l.contains("SIP:")).cloned().expect("SIP address printed");
    let sip_addr: std::net::SocketAddr = sip_line.split_whitespace().nth(2).unwrap().parse().unwrap();
    let base = format!("http://127.0.0.1:{port}/api/rest/public/operator");
    let client = reqwest::Client::new();
    let post = |path: &str, body: serde_json::Value| {
        client
            .post(format!("{base}/{path}"))
            .basic_auth("ops", Some("Given-Pass-1"))
            .header("content-type", "application/vnd.api+json")
            .body(body.to_string())
            .send()
    };
    let c: serde_json::Value = post("customers", serde_json::json!({ "data": { "type": "customers", "attributes": { "name": "Acme" } } }))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let c = c["data"]["id"].as_str().unwrap().to_owned();
    let acc: serde_json::Value = post(
        "sip_device_routes",
        serde_json::json!({ "data": { "type": "sip_device_routes", "attributes": { "username": "desk-1", "password": "Phone-Pass-9" },
            "relationships": { "customer": { "data": { "type": "customers", "id": c } } } } }),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let acc = acc["data"]["id"].as_str().unwrap().to_owned();

    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let challenge = register(&sock, sip_addr, "desk-1", 1, None).await;
    assert!(challenge.starts_with("SIP/2.0 401"), "{challenge}");
    let header = challenge
        .lines()
        .filter_map(|l| l.strip_prefix("WWW-Authenticate:"))
        .map(|v| sip::digest::Challenge::parse(v.trim()).unwrap())
        .find(|c| c.algorithm == sip::digest::Algorithm::Md5)
        .unwrap();
    let auth = sip::digest::respond(&header, "REGISTER", &format!("sip:{sip_addr}"), "desk-1", "Phone-Pass-9", "e2ecnonce", 1).unwrap();
    let ok = register(&sock, sip_addr, "desk-1", 2, Some(&auth.to_header())).await;
    assert!(ok.starts_with("SIP/2.0 200"), "{ok}");

    // Presence is written behind the 200: poll the API for it.
    let mut shown = serde_json::Value::Null;
    for _ in 0..50 {
        shown = client
            .get(format!("{base}/sip_device_routes/{acc}"))
            .basic_auth("ops", Some("Given-Pass-1"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if shown["data"]["attributes"]["is_online"] == true {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(shown["data"]["attributes"]["is_online"], true, "{shown}");
    assert_eq!(shown["data"]["attributes"]["user_agent"], "e2e-phone/2.0");
    assert!(stop(s).success());
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_carrier_call_through_serve_leaves_its_cdr_in_the_api() {
    if Command::new("sipp").arg("-v").output().is_err() {
        assert!(std::env::var_os("SWITCHBOARD_REQUIRE_TOOLS").is_none(), "sipp is required (apt-get install sip-tester)");
        return;
    }
    let dir = std::env::temp_dir().join(format!("sb-serve-call-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let s = start(&dir.join("x.db"), port, &[("SWITCHBOARD_OPERATOR_USER", "ops"), ("SWITCHBOARD_OPERATOR_PASSWORD", "Given-Pass-1")]);
    wait_http(port);
    let sip_line = s.lines.iter().find(|l| l.contains("SIP:")).cloned().expect("SIP address printed");
    let sip_addr = sip_line.split_whitespace().nth(2).unwrap().to_owned();
    let base = format!("http://127.0.0.1:{port}/api/rest/public/operator");
    let client = reqwest::Client::new();
    let api = |method: reqwest::Method, path: String, body: Option<serde_json::Value>| {
        let mut r = client.request(method, format!("{base}/{path}")).basic_auth("ops", Some("Given-Pass-1"));
        if let Some(b) = body {
            r = r.header("content-type", "application/vnd.api+json").body(b.to_string());
        }
        async move { r.send().await.unwrap().json::<serde_json::Value>().await.unwrap() }
    };
    let c = api(
        reqwest::Method::POST,
        "customers".into(),
        Some(serde_json::json!({ "data": { "type": "customers", "attributes": { "name": "Acme" } } })),
    )
    .await["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cust = serde_json::json!({ "data": { "type": "customers", "id": c } });
    let phone = api(
        reqwest::Method::POST,
        "sip_device_routes".into(),
        Some(
            serde_json::json!({ "data": { "type": "sip_device_routes", "attributes": { "username": "desk-9", "password": "Phone-Pass-9" },
            "relationships": { "customer": cust } } }),
        ),
    )
    .await["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let did = api(
        reqwest::Method::POST,
        "available_did_numbers".into(),
        Some(serde_json::json!({ "data": { "type": "available_did_numbers", "attributes": { "number": "15550009" },
            "relationships": { "customer": cust, "destination": { "data": { "type": "sip_device_routes", "id": phone } } } } })),
    )
    .await;
    assert!(did["data"]["id"].is_string(), "{did}");
    let trunks = api(reqwest::Method::GET, format!("incoming_trunks?filter[customer.id]={c}"), None).await;
    let domain = trunks["data"][0]["attributes"]["domain"].as_str().unwrap().to_owned();

    // The phone registers from the port its SIPp answers calls on.
    let phone_port = free_port().to_string();
    std::fs::write(dir.join("phone.csv"), "SEQUENTIAL\ndesk-9;Phone-Pass-9;300;\n").unwrap();
    let reg = ["-inf", "phone.csv", "-au", "desk-9", "-ap", "Phone-Pass-9", "-p", phone_port.as_str(), sip_addr.as_str()];
    assert!(sipp(&dir, "register.xml", "", &reg, 20), "the phone registers");
    std::fs::write(dir.join("call.csv"), format!("SEQUENTIAL\n15550009@{domain};4930999;\n")).unwrap();
    let recv_bye = common::part("hangup-recv-bye.part");
    let (d, pp, rb) = (dir.clone(), phone_port.clone(), recv_bye.clone());
    let phone_media = free_port().to_string();
    let phone_run = std::thread::spawn(move || sipp(&d, "phone-answer.xml", &rb, &["-p", pp.as_str(), "-mp", phone_media.as_str()], 20));
    std::thread::sleep(std::time::Duration::from_millis(500));
    let carrier_bye = common::part("hangup-carrier-bye.part").replace(r#"<exec play_pcap_audio="/usr/share/sip-tester/g711a.pcap"/>"#, "");
    let carrier_media = free_port().to_string();
    let carrier = ["-inf", "call.csv", "-mp", carrier_media.as_str(), sip_addr.as_str()];
    assert!(sipp(&dir, "carrier-call.xml", &carrier_bye, &carrier, 20), "the carrier's call is answered and hung up");
    assert!(phone_run.join().unwrap(), "the phone rang, answered and got the BYE");

    let mut cdrs = serde_json::Value::Null;
    for _ in 0..50 {
        cdrs = api(reqwest::Method::GET, "incoming_trunk_cdrs?filter[time_start_gteq]=2000-01-01T00:00:00Z".into(), None).await;
        if cdrs["data"].as_array().is_some_and(|a| !a.is_empty()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let a = &cdrs["data"][0]["attributes"];
    assert_eq!((a["lega_disconnect_code"].as_i64(), a["lega_disconnect_reason"].as_str()), (Some(200), Some("BYE")), "{cdrs}");
    assert_eq!(
        (a["did_number"].as_str(), a["src_number"].as_str(), a["success"].as_bool()),
        (Some("15550009"), Some("4930999"), Some(true)),
        "{cdrs}"
    );
    assert!(stop(s).success());
    std::fs::remove_dir_all(dir).unwrap();
}
