//! The real binary: `switchboard serve` on a fresh SQLite file prints the
//! first operator login once, serves the API with it, keeps data across a
//! restart, and stops cleanly on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    lines: Vec<String>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
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
