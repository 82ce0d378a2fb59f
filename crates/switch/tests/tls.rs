//! SIP over TLS with real peers: OpenSSL (socat) terminates TLS in front
//! of SIPp, which speaks SIP over the TCP behind it (Debian's SIPp has no
//! TLS of its own). A phone's call goes out to a TLS gateway whose
//! certificate we verify against our trust anchors by its host name; a
//! gateway that shows a certificate we do not trust is failed over; a
//! carrier delivers a DID call over TLS to our listener; baresip registers
//! over TLS and is called on the connection it keeps.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use common::calls::{caller_hangs_up, gateway_answer, register_phone, report, run_sipp, write_scenario};
use common::{account, cdrs, customer_of, did, free_udp_port, route, sipp_available, termination_cdrs, trunk_of};
use domain::schema;
use store::{Actor, Input, RelInput, Store};
use switch::{Switch, SwitchConfig, TlsListen, TlsOptions};

/// A process killed when the test ends, passed or not.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn tools_available() -> bool {
    let found =
        ["socat", "openssl"].iter().all(|t| Command::new(t).arg("-V").output().is_ok() || Command::new(t).arg("version").output().is_ok());
    if !found {
        assert!(std::env::var_os("SWITCHBOARD_REQUIRE_TOOLS").is_none(), "socat and openssl are required (apt-get install socat openssl)");
        eprintln!("note: socat or openssl is missing; TLS scenarios skipped");
    }
    found && sipp_available()
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").current_dir(dir).args(args).output().expect("run openssl");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A test CA, a certificate it signs for `localhost` / 127.0.0.1, and a
/// self-signed one for the same names that nobody trusts.
fn certificates(dir: &Path) {
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    openssl(
        dir,
        &[&["req", "-x509"], &ec[..], &["-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Switchboard Test CA"]].concat(),
    );
    openssl(dir, &[&["req"], &ec[..], &["-keyout", "gw.key", "-out", "gw.csr", "-subj", "/CN=localhost"]].concat());
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "gw.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "gw.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
    let san = "subjectAltName=DNS:localhost,IP:127.0.0.1";
    openssl(
        dir,
        &[
            &["req", "-x509"],
            &ec[..],
            &["-keyout", "rogue.key", "-out", "rogue.pem", "-days", "2", "-subj", "/CN=localhost", "-addext", san],
        ]
        .concat(),
    );
}

fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// socat from `listen` to `connect` (socat address specs), one child per
/// connection; returned once it accepts.
async fn socat(dir: &Path, port: u16, listen: &str, connect: &str) -> Running {
    let running = Running(
        Command::new("socat")
            .current_dir(dir)
            .args([listen, connect])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run socat"),
    );
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return running;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("socat did not listen on {port}");
}

/// TLS in front of a SIPp listening on TCP `behind`, with `cert`/`key`.
async fn tls_gateway(dir: &Path, cert: &str, key: &str, behind: u16) -> (u16, Running) {
    let port = free_tcp_port();
    let listen = format!("OPENSSL-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork,cert={cert},key={key},verify=0");
    (port, socat(dir, port, &listen, &format!("TCP:127.0.0.1:{behind}")).await)
}

async fn gateway(store: &Store, name: &str, port: u16, credentials: (&str, &str)) -> i64 {
    let input = Input::default()
        .with(&schema::GATEWAYS, "name", name)
        // A name, not an address: the certificate must be for it.
        .with(&schema::GATEWAYS, "host", "localhost")
        .with(&schema::GATEWAYS, "port", i64::from(port))
        .with(&schema::GATEWAYS, "transport_protocol", "TLS")
        .with(&schema::GATEWAYS, "codecs", "PCMA,telephone-event")
        .with(&schema::GATEWAYS, "authorization_name", credentials.0)
        .with(&schema::GATEWAYS, "authorization_password", credentials.1);
    store.create(&schema::GATEWAYS, &Actor::system(), input).await.unwrap().id()
}

fn tls_options(dir: &Path) -> TlsOptions {
    let read = |f: &str| std::fs::read(dir.join(f)).unwrap();
    TlsOptions {
        ca_pem: Some(read("ca.pem")),
        listen: Some(TlsListen { addr: "127.0.0.1:0".parse().unwrap(), cert_pem: read("gw.pem"), key_pem: read("gw.key") }),
    }
}

fn temp_dir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sb-tls-{what}-{}-{}", std::process::id(), rand::random::<u32>()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs SIPp in the background: `args` after the scenario.
fn sipp_task(dir: &Path, what: &'static str, scenario: String, args: Vec<String>) -> tokio::task::JoinHandle<bool> {
    let d = dir.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut all = vec!["-sf".to_owned(), scenario];
        all.extend(args);
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        let out = run_sipp(&d, &all);
        report(what, &d, &out)
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn calls_go_out_to_tls_gateways_whose_certificate_we_trust() {
    if !tools_available() {
        return;
    }
    let dir = temp_dir("out");
    certificates(&dir);
    let (store, _db) = store::testing::sqlite().await;
    let seed = account(&store, "seed-t", "Seed-Pass-9").await;
    let c = customer_of(&store, seed).await;
    // Its external caller id is one of its customer's DIDs.
    store.create(&schema::DID_NUMBERS, &Actor::system(), did(c, "4930111", true, None)).await.unwrap();
    let input = Input::default()
        .with(&schema::SIP_ACCOUNTS, "username", "tls-dialer")
        .with(&schema::SIP_ACCOUNTS, "password", "Dialer-Pass-9")
        .with(&schema::SIP_ACCOUNTS, "allow_external_calls", true)
        .with(&schema::SIP_ACCOUNTS, "external_caller_id", "4930111")
        .with_rel(&schema::SIP_ACCOUNTS, "customer", RelInput::To("customers", c));
    store.create(&schema::SIP_ACCOUNTS, &Actor::system(), input).await.unwrap();

    // The gateway SIPp behind OpenSSL, and an impostor with a certificate
    // for the right name that no CA of ours signed.
    let sipp_port = free_tcp_port();
    let (good_port, _good) = tls_gateway(&dir, "gw.pem", "gw.key", sipp_port).await;
    let (rogue_port, _rogue) = tls_gateway(&dir, "rogue.pem", "rogue.key", free_tcp_port()).await;
    let rogue = gateway(&store, "Impostor", rogue_port, ("gw-user", "gw-pass")).await;
    let good = gateway(&store, "Secure", good_port, ("gw-user", "gw-pass")).await;
    let first = route(&store, "Germany", "49", rogue, None).await;
    let second = route(&store, "Europe", "4", good, None).await;
    let sw =
        Switch::start(store.clone(), "127.0.0.1:0".parse().unwrap(), SwitchConfig { tls: tls_options(&dir), ..SwitchConfig::default() })
            .await
            .unwrap();

    let gw_xml = write_scenario(&dir, &gateway_answer(401, "4930123456"), "");
    let gw = sipp_task(&dir, "TLS gateway", gw_xml, vec!["-t".into(), "t1".into(), "-p".into(), sipp_port.to_string()]);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let phone_xml = write_scenario(&dir, "phone-call.xml?USERNAME=tls-dialer&PASSWORD=Dialer-Pass-9", "");
    let csv = dir.join("call.csv");
    std::fs::write(&csv, format!("SEQUENTIAL\n4930123456@{};4930111;8 0 101;\n", sw.udp_addr())).unwrap();
    let args = vec![sw.udp_addr().to_string(), "-inf".into(), csv.to_string_lossy().into_owned(), "-p".into(), free_udp_port().to_string()];
    let phone = sipp_task(&dir, "phone", phone_xml, args);
    assert!(phone.await.unwrap(), "the phone's call is answered");
    assert!(gw.await.unwrap(), "the gateway got a valid, authenticated INVITE over TLS");

    let rows = termination_cdrs(&store, 2).await;
    assert_eq!(rows.len(), 2, "one termination CDR per attempt");
    assert_eq!((rows[0].get("route_id").as_i64(), rows[0].get("gateway_id").as_i64()), (Some(first), Some(rogue)));
    assert_eq!(rows[0].get("success").as_bool(), Some(false), "the impostor's handshake fails");
    // Not sent at all: a transport error, 503 (RFC 3261 §8.1.3.1), which hunts on.
    assert_eq!(rows[0].get("lega_disconnect_code").as_i64(), Some(503));
    assert_eq!((rows[1].get("route_id").as_i64(), rows[1].get("gateway_id").as_i64()), (Some(second), Some(good)));
    assert_eq!((rows[1].get("lega_disconnect_code").as_i64(), rows[1].get("success").as_bool()), (Some(200), Some(true)));
    sw.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_carrier_delivers_a_did_call_over_tls() {
    if !tools_available() {
        return;
    }
    let dir = temp_dir("in");
    certificates(&dir);
    let (store, _db) = store::testing::sqlite().await;
    let phone = account(&store, "tls-phone", "Phone-Pass-9").await;
    let c = customer_of(&store, phone).await;
    store.create(&schema::DID_NUMBERS, &Actor::system(), did(c, "15550001", true, Some(phone))).await.unwrap();
    let (_, domain) = trunk_of(&store, c).await;
    let sw =
        Switch::start(store.clone(), "127.0.0.1:0".parse().unwrap(), SwitchConfig { tls: tls_options(&dir), ..SwitchConfig::default() })
            .await
            .unwrap();
    let tls: SocketAddr = sw.tls_addr().expect("the TLS listener is on");
    let phone_port = register_phone(&store, &sw, phone, "tls-phone", "Phone-Pass-9").await;
    // Junk instead of a handshake, and a connection that never starts one
    // (each handshake runs in its own task): the carrier still gets in.
    let mut junk = std::net::TcpStream::connect(tls).unwrap();
    std::io::Write::write_all(&mut junk, b"INVITE sip:x SIP/2.0\r\n\r\n").unwrap();
    let _silent = std::net::TcpStream::connect(tls).unwrap();

    // The carrier's SIPp speaks TCP to OpenSSL, which checks our
    // certificate against the test CA and the name localhost.
    let plain = free_tcp_port();
    let connect = format!("OPENSSL:localhost:{},cafile=ca.pem,verify=1", tls.port());
    let _carrier_tls = socat(&dir, plain, &format!("TCP-LISTEN:{plain},bind=127.0.0.1,reuseaddr,fork"), &connect).await;

    let (carrier_fill, phone_fill) = caller_hangs_up();
    let phone_xml = write_scenario(&dir, "phone-answer.xml", &phone_fill);
    let phone_run = sipp_task(&dir, "phone", phone_xml, vec!["-p".into(), phone_port.to_string(), "-rtp_echo".into()]);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let carrier_xml = write_scenario(&dir, "carrier-call.xml", &carrier_fill);
    let csv = dir.join("call.csv");
    std::fs::write(&csv, format!("SEQUENTIAL\n15550001@{domain};4930111;8 0 101;\n")).unwrap();
    let args = vec![
        format!("127.0.0.1:{plain}"),
        "-t".into(),
        "t1".into(),
        "-inf".into(),
        csv.to_string_lossy().into_owned(),
        "-p".into(),
        free_tcp_port().to_string(),
    ];
    let carrier = sipp_task(&dir, "carrier", carrier_xml, args);
    assert!(carrier.await.unwrap(), "the carrier's call over TLS is answered and hung up");
    assert!(phone_run.await.unwrap(), "the phone rings and answers");
    let rows = cdrs(&store, 1).await;
    assert_eq!((rows[0].get("lega_disconnect_code").as_i64(), rows[0].get("success").as_bool()), (Some(200), Some(true)));
    sw.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_phone_registered_over_tls_is_called_on_its_connection() {
    if !tools_available() || Command::new("baresip").arg("-h").stdout(Stdio::null()).stderr(Stdio::null()).status().is_err() {
        assert!(std::env::var_os("SWITCHBOARD_REQUIRE_TOOLS").is_none(), "baresip is required");
        return;
    }
    let dir = temp_dir("phone");
    certificates(&dir);
    let (store, _db) = store::testing::sqlite().await;
    let seed = account(&store, "seed-u", "Seed-Pass-8").await;
    let c = customer_of(&store, seed).await;
    let mut ids = Vec::new();
    for (user, pass, ext) in [("tls-caller", "Caller-Pass-8", "301"), ("tls-callee", "Callee-Pass-8", "302")] {
        ids.push(common::extension(&store, c, user, pass, ext).await);
    }
    let sw =
        Switch::start(store.clone(), "127.0.0.1:0".parse().unwrap(), SwitchConfig { tls: tls_options(&dir), ..SwitchConfig::default() })
            .await
            .unwrap();
    let tls = sw.tls_addr().expect("the TLS listener is on");

    // baresip registers over TLS (trusting the test CA) and answers by itself.
    let trust = format!("sip_cafile {}\n", dir.join("ca.pem").display());
    let aor = format!("sip:tls-callee@{tls};transport=tls");
    let callee = Running(common::baresip_phone(&dir.join("baresip"), &aor, "Callee-Pass-8", &trust, &[], 20));
    assert!(common::wait_for(&store, ids[1], |p| p.0).await.0, "baresip registered over TLS");
    let binding = switch::Location::bindings(sw.location(), ids[1], tokio::time::Instant::now());
    assert_eq!(binding.first().map(|b| b.transport), Some(sip::endpoint::Transport::Tls), "{binding:?}");

    // A SIPp phone dials 302 over UDP; the INVITE reaches baresip on its TLS connection.
    let phone_xml = write_scenario(&dir, "phone-call.xml?USERNAME=tls-caller&PASSWORD=Caller-Pass-8", "");
    let csv = dir.join("call.csv");
    std::fs::write(&csv, format!("SEQUENTIAL\n302@{};4930111;8 0 101;\n", sw.udp_addr())).unwrap();
    let args = vec![sw.udp_addr().to_string(), "-inf".into(), csv.to_string_lossy().into_owned(), "-p".into(), free_udp_port().to_string()];
    assert!(sipp_task(&dir, "caller", phone_xml, args).await.unwrap(), "302 answered over TLS");
    drop(callee);
    sw.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
