//! The real binary under a low file-descriptor limit, flooded with idle
//! TCP connections to its SIP port (issue 14, point 7): the accept loop
//! must not spin when accept() fails with EMFILE, and with the default
//! connection limits the HTTP API keeps answering.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod common;
use common::free_port;

/// The soft RLIMIT_NOFILE the server runs under.
const FILE_LIMIT: u32 = 64;
/// Idle connections the test opens: well over the limit.
const FLOOD: usize = 200;

struct Server {
    child: Child,
    http: u16,
    sip_tcp: SocketAddr,
    /// Its output (the log goes to stdout), read on by a thread.
    output: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn output(&self) -> String {
        self.output.lock().unwrap().join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `switchboard serve` under `ulimit -n FILE_LIMIT` and reads its
/// stdout until it says where it listens.
fn start(dir: &std::path::Path, env: &[(&str, &str)]) -> Server {
    let http = free_port();
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("ulimit -n {FILE_LIMIT} && exec \"$0\" serve"))
        .arg(env!("CARGO_BIN_EXE_switchboard"))
        .env("SWITCHBOARD_DATABASE_URL", dir.join("x.db"))
        .env("SWITCHBOARD_HTTP_LISTEN", format!("127.0.0.1:{http}"))
        .env("SWITCHBOARD_SIP_LISTEN", "127.0.0.1:0")
        .env("SWITCHBOARD_RTP_PORTS", "off")
        .env("SWITCHBOARD_LOG", "warn")
        .env("SWITCHBOARD_OPERATOR_USER", "ops")
        .env("SWITCHBOARD_OPERATOR_PASSWORD", "Given-Pass-1")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("start switchboard");
    let out = child.stdout.take().unwrap();
    let output = Arc::new(Mutex::new(Vec::new()));
    let (ready_tx, ready) = std::sync::mpsc::channel();
    let lines = output.clone();
    std::thread::spawn(move || {
        let mut sip_tcp = None;
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if line.contains("SIP:") {
                // "SIP:  udp ADDR / tcp ADDR (…)"
                sip_tcp = line.split_whitespace().nth(5).and_then(|a| a.parse::<SocketAddr>().ok());
            }
            if line.contains("Press Ctrl-C to stop") {
                ready_tx.send(sip_tcp).ok();
            }
            lines.lock().unwrap().push(line);
        }
    });
    let sip_tcp = ready.recv_timeout(Duration::from_secs(30)).ok().flatten();
    let sip_tcp = sip_tcp.unwrap_or_else(|| panic!("no SIP address printed: {}", output.lock().unwrap().join("\n")));
    Server { child, http, sip_tcp, output }
}

/// CPU seconds (user + system) the process has used so far.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The command name may hold spaces; the fields after it do not.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    let hz: f64 = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0);
    ticks as f64 / hz
}

/// Share of one core the process used over `window`.
fn cpu_share(pid: u32, window: Duration) -> f64 {
    let before = cpu_seconds(pid);
    std::thread::sleep(window);
    (cpu_seconds(pid) - before) / window.as_secs_f64()
}

fn flood(addr: SocketAddr) -> Vec<TcpStream> {
    // The kernel completes handshakes into the listen backlog whether or
    // not the server accepts them; once that is full (somaxconn) it drops
    // the SYNs, which is as many as a stuck server can be given.
    let mut conns = Vec::new();
    while conns.len() < FLOOD {
        match TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
            Ok(c) => conns.push(c),
            Err(_) => break,
        }
    }
    assert!(conns.len() > 2 * FILE_LIMIT as usize, "only {} connections opened", conns.len());
    conns
}

fn api_answers(http: u16, within: Duration) -> Result<u16, String> {
    let client = std::net::TcpStream::connect_timeout(&SocketAddr::from(([127, 0, 0, 1], http)), within).map_err(|e| e.to_string())?;
    use std::io::{Read, Write};
    let mut client = client;
    client.set_read_timeout(Some(within)).unwrap();
    client
        .write_all(b"GET /api/rest/public/operator/customers HTTP/1.1\r\nHost: x\r\nAuthorization: Basic b3BzOkdpdmVuLVBhc3MtMQ==\r\nConnection: close\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut head = [0u8; 12];
    client.read_exact(&mut head).map_err(|e| format!("no HTTP answer: {e}"))?;
    String::from_utf8_lossy(&head[9..12]).parse().map_err(|_| format!("not an HTTP status line: {head:?}"))
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("sb-conn-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// With the default limits, 200 idle connections from one address hold
/// at most the per-source limit of descriptors; the rest are closed at
/// once, so the HTTP API still has descriptors to accept with.
#[test]
fn a_flood_of_idle_connections_leaves_the_api_answering() {
    let dir = temp_dir("api");
    let s = start(&dir, &[]);
    assert_eq!(api_answers(s.http, Duration::from_secs(5)), Ok(200), "API before the flood");
    let conns = flood(s.sip_tcp);
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    assert_eq!(api_answers(s.http, Duration::from_secs(5)), Ok(200), "API during the flood");
    assert!(started.elapsed() < Duration::from_secs(5));
    let share = cpu_share(s.child.id(), Duration::from_secs(2));
    assert!(share < 0.4, "the server used {:.0} % of a core with idle connections", share * 100.0);
    let log = s.output();
    assert!(log.contains("connection limit reached"), "the limit, not luck, closed the rest:\n{log}");
    drop(conns);
    let _ = std::fs::remove_dir_all(dir);
}

/// With the limits raised past the file limit, accept() really fails
/// with EMFILE; the loop must back off instead of spinning, and say so
/// at most about once a second.
#[test]
fn accept_failing_with_emfile_does_not_spin() {
    let dir = temp_dir("emfile");
    let s = start(&dir, &[("SWITCHBOARD_SIP_CONNECTIONS_PER_SOURCE", "1000"), ("SWITCHBOARD_SIP_MAX_CONNECTIONS", "1000")]);
    let conns = flood(s.sip_tcp);
    std::thread::sleep(Duration::from_millis(500));
    let share = cpu_share(s.child.id(), Duration::from_secs(2));
    let log = s.output();
    assert!(share < 0.4, "the server used {:.0} % of a core while accept() failed", share * 100.0);
    let complaints = log.lines().filter(|l| l.contains("accept failed")).count();
    assert!(complaints >= 1, "EMFILE was never reported; output:\n{log}");
    assert!(complaints <= 6, "{complaints} accept failures logged in about 3 s; output:\n{log}");
    drop(conns);
    let _ = std::fs::remove_dir_all(dir);
}
