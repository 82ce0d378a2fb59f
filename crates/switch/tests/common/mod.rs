//! What every switch test needs: SIP accounts, gateways, routes and DIDs in
//! a store, presence and CDRs as the API would show them once the
//! write-behinds caught up, and baresip as a phone.

// Each test crate uses a part of this.
#![allow(dead_code)]

pub mod calls;

use domain::schema;
use domain::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use store::{Actor, Cond, Input, ListQuery, Op, RelInput, Scope, Store};

/// A new customer with one SIP account; the account's id.
pub async fn account(store: &Store, username: &str, password: &str) -> i64 {
    let actor = Actor::system();
    let c = store.create(&schema::CUSTOMERS, &actor, Input::default().with(&schema::CUSTOMERS, "name", "Acme")).await.unwrap().id();
    let input = Input::default()
        .with(&schema::SIP_ACCOUNTS, "username", username)
        .with(&schema::SIP_ACCOUNTS, "password", password)
        .with_rel(&schema::SIP_ACCOUNTS, "customer", RelInput::To("customers", c));
    store.create(&schema::SIP_ACCOUNTS, &actor, input).await.unwrap().id()
}

/// (`is_online`, `user_agent`) of an account.
pub async fn presence(store: &Store, id: i64) -> (bool, Option<String>) {
    let r = store.get(&schema::SIP_ACCOUNTS, Scope::Operator, id).await.unwrap();
    (r.get("is_online").as_bool().unwrap(), r.get("user_agent").as_str().map(str::to_owned))
}

/// Presence once it satisfies `want`, polling for up to 10 s: the registrar
/// writes presence behind its answers, and phones act on their own clock.
/// Returns what it read last, for the assertion message.
pub async fn wait_for(store: &Store, id: i64, want: impl Fn(&(bool, Option<String>)) -> bool) -> (bool, Option<String>) {
    let mut last = presence(store, id).await;
    for _ in 0..100 {
        if want(&last) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        last = presence(store, id).await;
    }
    last
}

pub fn sipp_available() -> bool {
    let found = Command::new("sipp").arg("-v").output().is_ok();
    if !found {
        assert!(std::env::var_os("SWITCHBOARD_REQUIRE_TOOLS").is_none(), "sipp is required (apt-get install sip-tester)");
        eprintln!("note: sipp is not installed; SIPp scenarios skipped");
    }
    found
}

pub fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sipp").join(name)
}

pub fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A port for SIPp's media (`-mp`, which also binds the three ports above
/// it). Taken from below the kernel's ephemeral range (32768 and up) and
/// the relay's (20000 and up): a port picked by binding port 0 can be taken
/// by any other socket before SIPp binds it, and then the call never starts.
pub fn media_port() -> u16 {
    static NEXT: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(0);
    let base = 10_000 + (std::process::id() % 100) as u16 * 100;
    loop {
        let p = base + NEXT.fetch_add(4, std::sync::atomic::Ordering::Relaxed) % 100;
        if (p..p + 4).all(|q| std::net::UdpSocket::bind(("127.0.0.1", q)).is_ok()) {
            return p;
        }
    }
}

/// Runs one SIPp call of `scenario` as `user` with `password`; true when
/// SIPp reports it successful.
/// `local_port` is the phone's: its Contact, so the same port means the same binding.
pub fn sipp(
    server: std::net::SocketAddr,
    local_port: u16,
    scenario_file: &str,
    user: &str,
    password: &str,
    expires: u32,
    tcp: bool,
) -> bool {
    let dir = std::env::temp_dir().join(format!("sb-sipp-{}-{}", std::process::id(), rand::random::<u32>()));
    std::fs::create_dir_all(&dir).unwrap();
    let csv = dir.join("users.csv");
    std::fs::write(&csv, format!("SEQUENTIAL\n{user};{password};{expires};\n")).unwrap();
    let out = Command::new("sipp")
        .current_dir(&dir)
        .arg(server.to_string())
        .args(["-sf", scenario(scenario_file).to_str().unwrap()])
        .args(["-inf", csv.to_str().unwrap()])
        .args(["-au", user, "-ap", password])
        .args(["-i", "127.0.0.1", "-p", &local_port.to_string()])
        .args(["-m", "1", "-timeout", "10", "-nostdin", "-trace_err"])
        .args(["-t", if tcp { "t1" } else { "u1" }])
        .output()
        .expect("run sipp");
    let ok = out.status.success();
    if !ok {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            if entry.path().to_string_lossy().ends_with("errors.log") {
                eprintln!("{}", std::fs::read_to_string(entry.path()).unwrap_or_default());
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    ok
}

/// A DID of `customer`, ringing `account` if given.
pub fn did(customer: i64, number: &str, enabled: bool, account: Option<i64>) -> Input {
    let mut input = Input::default().with(&schema::DID_NUMBERS, "number", number).with(&schema::DID_NUMBERS, "enabled", enabled).with_rel(
        &schema::DID_NUMBERS,
        "customer",
        RelInput::To("customers", customer),
    );
    if let Some(a) = account {
        input = input.with_rel(&schema::DID_NUMBERS, "destination", RelInput::To("sip_device_routes", a));
    }
    input
}

/// The customer a SIP account belongs to.
pub async fn customer_of(store: &Store, account: i64) -> i64 {
    store.get(&schema::SIP_ACCOUNTS, Scope::Operator, account).await.unwrap().get("customer_id").as_i64().unwrap()
}

/// The default trunk of a customer: (id, domain).
pub async fn trunk_of(store: &Store, customer: i64) -> (i64, String) {
    let t = store.list(&schema::INCOMING_TRUNKS, Scope::Customer(customer), &ListQuery::default()).await.unwrap().records;
    (t[0].id(), t[0].get("domain").as_str().unwrap().to_owned())
}

/// The incoming CDRs by id, once `n` are stored (they are written behind);
/// fewer if they do not come within 5 s.
pub async fn cdrs(store: &Store, n: usize) -> Vec<store::Record> {
    cdrs_of(store, &schema::INCOMING_CDRS, n).await
}

/// The termination CDRs by id, as [`cdrs`].
pub async fn termination_cdrs(store: &Store, n: usize) -> Vec<store::Record> {
    cdrs_of(store, &schema::TERMINATION_CDRS, n).await
}

async fn cdrs_of(store: &Store, res: &'static schema::Resource, n: usize) -> Vec<store::Record> {
    let q = ListQuery {
        conds: vec![Cond { column: "time_start", st: schema::Storage::Int, op: Op::Gte, values: vec![Value::Int(0)] }],
        sort: vec![("id", schema::Storage::Int, false)],
        limit: 1000,
        ..ListQuery::default()
    };
    let mut last = Vec::new();
    for _ in 0..100 {
        last = store.list(res, Scope::Operator, &q).await.unwrap().records;
        if last.len() >= n {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    last
}

/// A termination gateway on 127.0.0.1:`port` (shared: no customer).
pub async fn gateway(store: &Store, name: &str, port: u16, codecs: &str, credentials: Option<(&str, &str)>) -> i64 {
    let mut input = Input::default()
        .with(&schema::GATEWAYS, "name", name)
        .with(&schema::GATEWAYS, "host", "127.0.0.1")
        .with(&schema::GATEWAYS, "port", i64::from(port))
        .with(&schema::GATEWAYS, "codecs", codecs);
    if let Some((user, pass)) = credentials {
        input = input.with(&schema::GATEWAYS, "authorization_name", user).with(&schema::GATEWAYS, "authorization_password", pass);
    }
    store.create(&schema::GATEWAYS, &Actor::system(), input).await.unwrap().id()
}

/// A shared termination route for numbers starting with `dst_prefix`.
pub async fn route(store: &Store, name: &str, dst_prefix: &str, gateway: i64, dst_rewrite: Option<(&str, &str)>) -> i64 {
    let mut input = Input::default().with(&schema::ROUTES, "name", name).with(&schema::ROUTES, "dst_prefix", dst_prefix).with_rel(
        &schema::ROUTES,
        "gateway",
        RelInput::To("termination_gateways", gateway),
    );
    if let Some((rule, result)) = dst_rewrite {
        input = input.with(&schema::ROUTES, "dst_rewrite_rule", rule).with(&schema::ROUTES, "dst_rewrite_result", result);
    }
    store.create(&schema::ROUTES, &Actor::system(), input).await.unwrap().id()
}

/// A SIP account of `customer` with an extension (`internal_caller_id`).
pub async fn extension(store: &Store, customer: i64, username: &str, password: &str, ext: &str) -> i64 {
    let input = Input::default()
        .with(&schema::SIP_ACCOUNTS, "username", username)
        .with(&schema::SIP_ACCOUNTS, "password", password)
        .with(&schema::SIP_ACCOUNTS, "internal_caller_id", ext)
        .with_rel(&schema::SIP_ACCOUNTS, "customer", RelInput::To("customers", customer));
    store.create(&schema::SIP_ACCOUNTS, &Actor::system(), input).await.unwrap().id()
}

/// A baresip that answers by itself, with a tone as its microphone (ausine
/// runs only at 48 kHz stereo; baresip resamples to G.711), registered as
/// `aor` (e.g. `sip:user@host;transport=udp`) with `pass`; `config` lines
/// are added to its configuration, `commands` run at start (`/dial ...`).
/// Quits after `secs`.
pub fn baresip_phone(dir: &Path, aor: &str, pass: &str, config: &str, commands: &[&str], secs: u32) -> Child {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("config"),
        format!(
            "module_path /usr/lib/baresip/modules\nsip_listen 127.0.0.1:0\nmodule g711.so\nmodule account.so\nmodule menu.so\n\
             module ausine.so\nmodule aufile.so\naudio_player aufile,/dev/null\naudio_source ausine,440\nausrc_srate 48000\n\
             auplay_srate 48000\nausrc_channels 2\nauplay_channels 2\n{config}"
        ),
    )
    .unwrap();
    std::fs::write(dir.join("accounts"), format!("<{aor}>;auth_pass={pass};regint=300;answermode=auto\n")).unwrap();
    let mut cmd = Command::new("baresip");
    cmd.arg("-f").arg(dir).args(["-t", &secs.to_string()]);
    for c in commands {
        cmd.args(["-e", c]);
    }
    cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap()
}
