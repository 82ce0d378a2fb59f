//! A crash mid-call, for real: `switchboard serve` bridges a SIPp
//! carrier's DID call to a SIPp phone, is killed with SIGKILL while they
//! talk, and is started again a few seconds later on the same database and
//! SIP port. Both SIPp peers must then get a BYE, the incoming CDR must end
//! at the last heartbeat before the kill (not at the restart), say that a
//! crash ended it, and no live call may be left. On SQLite, and on
//! PostgreSQL where the test server is configured.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use store::Store;

mod common;
use common::{free_port, part, sipp};

const USER: &str = "ops";
const PASS: &str = "Given-Pass-1";
/// The heartbeat the servers run with (`SWITCHBOARD_HEARTBEAT_INTERVAL`), ms.
const BEAT_MS: i64 = 1_000;
/// How long the server stays dead: several beats, so that ending at the
/// restart and ending at the last heartbeat cannot be mistaken.
const DOWN: Duration = Duration::from_secs(4);

/// A port free for both UDP and TCP (SIP listens on both).
fn free_sip_port() -> u16 {
    loop {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A port for SIPp's media (`-mp` binds it and the three above), below the
/// kernel's ephemeral range and the relay's, as the switch tests pick them.
fn media_port() -> u16 {
    static NEXT: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(0);
    let base = 12_000 + (std::process::id() % 50) as u16 * 100;
    loop {
        let p = base + NEXT.fetch_add(4, std::sync::atomic::Ordering::Relaxed) % 100;
        if (p..p + 4).all(|q| std::net::UdpSocket::bind(("127.0.0.1", q)).is_ok()) {
            return p;
        }
    }
}

/// Starts `switchboard serve` and waits until it answers HTTP.
fn start(db: &str, http: u16, sip: u16) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("serve")
        .env("SWITCHBOARD_DATABASE_URL", db)
        .env("SWITCHBOARD_HTTP_LISTEN", format!("127.0.0.1:{http}"))
        .env("SWITCHBOARD_SIP_LISTEN", format!("127.0.0.1:{sip}"))
        .env("SWITCHBOARD_HEARTBEAT_INTERVAL", (BEAT_MS / 1000).to_string())
        .env("SWITCHBOARD_OPERATOR_USER", USER)
        .env("SWITCHBOARD_OPERATOR_PASSWORD", PASS)
        .env_remove("SWITCHBOARD_NODE_ID")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start switchboard");
    let out = child.stdout.take().unwrap();
    let started = BufReader::new(out).lines().map_while(Result::ok).any(|l| l.contains("Press Ctrl-C to stop"));
    assert!(started, "switchboard did not start on {db}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", http)).is_err() {
        assert!(Instant::now() < deadline, "server did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

/// A customer with a phone account and a DID ringing it, made through the
/// API; the DID's trunk domain.
async fn provision(http: u16) -> String {
    let base = format!("http://127.0.0.1:{http}/api/rest/public/operator");
    let client = reqwest::Client::new();
    let post = |path: &str, body: serde_json::Value| {
        let r = client
            .post(format!("{base}/{path}"))
            .basic_auth(USER, Some(PASS))
            .header("content-type", "application/vnd.api+json")
            .body(body.to_string());
        async move { r.send().await.unwrap().json::<serde_json::Value>().await.unwrap() }
    };
    let c = post("customers", serde_json::json!({ "data": { "type": "customers", "attributes": { "name": "Acme" } } })).await;
    let cust = serde_json::json!({ "data": { "type": "customers", "id": c["data"]["id"] } });
    let phone = post(
        "sip_device_routes",
        serde_json::json!({ "data": { "type": "sip_device_routes", "attributes": { "username": "desk-7", "password": "Phone-Pass-7" },
            "relationships": { "customer": cust } } }),
    )
    .await;
    let did = post(
        "available_did_numbers",
        serde_json::json!({ "data": { "type": "available_did_numbers", "attributes": { "number": "15550007" },
            "relationships": { "customer": cust, "destination": { "data": { "type": "sip_device_routes", "id": phone["data"]["id"] } } } } }),
    )
    .await;
    assert!(did["data"]["id"].is_string(), "{did}");
    let id = c["data"]["id"].as_str().unwrap();
    let trunks: serde_json::Value = client
        .get(format!("{base}/incoming_trunks?filter[customer.id]={id}"))
        .basic_auth(USER, Some(PASS))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    trunks["data"][0]["attributes"]["domain"].as_str().unwrap().to_owned()
}

/// Polls until the store holds an answered live call with its legs.
async fn wait_connected(store: &Store) -> store::cdr::LiveCall {
    for _ in 0..200 {
        let calls = store.live_calls().await.unwrap();
        if let Some(c) = calls.into_iter().find(|c| c.time_connect.is_some() && c.dialog.is_some()) {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the call never showed as answered in live_calls");
}

/// The server process; killed if the test fails before it is stopped, so
/// a failing run leaves no `switchboard serve` behind.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn crash_mid_call(backend: &str, db_url: &str, dir: &Path) {
    let (http, sip) = (free_port(), free_sip_port());
    let mut server = Server(start(db_url, http, sip));
    let store = Store::connect(db_url).await.unwrap();
    let domain = provision(http).await;
    let sip_addr = format!("127.0.0.1:{sip}");

    let phone_port = free_sip_port().to_string();
    std::fs::write(dir.join("phone.csv"), "SEQUENTIAL\ndesk-7;Phone-Pass-7;300;\n").unwrap();
    let reg = ["-inf", "phone.csv", "-au", "desk-7", "-ap", "Phone-Pass-7", "-p", phone_port.as_str(), sip_addr.as_str()];
    assert!(sipp(dir, "register.xml", "", &reg, 40), "{backend}: the phone registers");

    // Both peers answer the call, then wait for a BYE: only the restarted
    // server can send one.
    let recv_bye = part("hangup-recv-bye.part");
    let (d, pp, rb) = (dir.to_owned(), phone_port.clone(), recv_bye.clone());
    let phone = std::thread::spawn(move || sipp(&d, "phone-answer.xml", &rb, &["-p", &pp, "-mp", &media_port().to_string()], 40));
    std::thread::sleep(Duration::from_millis(500));
    std::fs::write(dir.join("call.csv"), format!("SEQUENTIAL\n15550007@{domain};4930777;\n")).unwrap();
    let (d, sa) = (dir.to_owned(), sip_addr.clone());
    let carrier = std::thread::spawn(move || {
        let args = ["-inf", "call.csv", "-p", &free_sip_port().to_string(), "-mp", &media_port().to_string(), sa.as_str()];
        sipp(&d, "carrier-call.xml", &recv_bye, &args, 40)
    });

    let live = wait_connected(&store).await;
    assert_eq!(live.did_number.as_deref(), Some("15550007"), "{backend}");
    assert!(live.node_id.ends_with(&format!("/127.0.0.1:{sip}")), "{backend}: the call names its node: {}", live.node_id);
    // Talk for a few heartbeats (a loaded machine may delay one), then die
    // without a word.
    tokio::time::sleep(Duration::from_millis(4_000)).await;
    server.0.kill().unwrap();
    let killed_at = domain::time::now_ms();
    server.0.wait().unwrap();
    assert_eq!(store.live_calls().await.unwrap().len(), 1, "{backend}: the crash left the call open");

    std::thread::sleep(DOWN);
    let restarted_at = domain::time::now_ms();
    let mut server = Server(start(db_url, http, sip));
    let (phone, carrier) = (phone.join().unwrap(), carrier.join().unwrap());
    assert!(carrier, "{backend}: the carrier got a BYE from the restarted server");
    assert!(phone, "{backend}: the phone got a BYE from the restarted server");

    assert!(store.live_calls().await.unwrap().is_empty(), "{backend}: no live call is left");
    let q = store::ListQuery {
        conds: vec![store::Cond {
            column: "time_start",
            st: domain::schema::Storage::Int,
            op: store::Op::Gte,
            values: vec![domain::Value::Int(0)],
        }],
        sort: vec![("id", domain::schema::Storage::Int, false)],
        ..store::ListQuery::default()
    };
    let rows = store.list(&domain::schema::INCOMING_CDRS, store::Scope::Operator, &q).await.unwrap().records;
    assert_eq!(rows.len(), 1, "{backend}: one CDR for the call");
    let cdr = &rows[0];
    let (connect, end) = (cdr.get("time_connect").as_i64().unwrap(), cdr.get("time_end").as_i64().unwrap());
    // The last beat came at most one interval (plus a write's delay) before the kill.
    assert!(
        (killed_at - BEAT_MS - 500..=killed_at).contains(&end),
        "{backend}: ended at {end}, killed at {killed_at}: the last heartbeat, not the restart at {restarted_at}"
    );
    assert!(end < restarted_at - 3_000, "{backend}");
    assert_eq!(cdr.get("duration").as_i64(), Some((end - connect) / 1000), "{backend}");
    assert!(cdr.get("duration").as_i64().unwrap() >= 2, "{backend}: billed for the talk before the crash");
    let why = cdr.get("internal_reason").as_str().unwrap_or_default().to_owned();
    assert!(why.contains("crash") && why.contains("last heartbeat"), "{backend}: {why}");
    assert_eq!((cdr.get("lega_disconnect_code").as_i64(), cdr.get("success").as_bool()), (Some(200), Some(true)), "{backend}");

    Command::new("kill").arg("-TERM").arg(server.0.id().to_string()).status().unwrap();
    server.0.wait().unwrap();
    store.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crash_mid_call_ends_it_at_the_last_heartbeat_and_hangs_up_both_peers() {
    if Command::new("sipp").arg("-v").output().is_err() {
        assert!(std::env::var_os("SWITCHBOARD_REQUIRE_TOOLS").is_none(), "sipp is required (apt-get install sip-tester)");
        return;
    }
    let dir = std::env::temp_dir().join(format!("sb-crash-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("switchboard.db");
    crash_mid_call("sqlite", &format!("sqlite://{}", file.display()), &dir).await;
    match store::testing::postgres_database().await {
        Some(db) => crash_mid_call("postgres", &db.url, &dir).await,
        None => store::testing::postgres_missing(),
    }
    std::fs::remove_dir_all(dir).unwrap();
}
