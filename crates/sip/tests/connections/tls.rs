//! The same rules on the TLS listener: the 30 s also bound a handshake,
//! CRLF pings get a CRLF, and a connection that has spoken stays.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use sip::endpoint::{TlsListen, TlsOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::CertificateDer;

use super::{closed_at, exchange, limits, serve, spawn_app, FIRST};

fn openssl(dir: &Path, args: &[&str]) -> bool {
    match Command::new("openssl").current_dir(dir).args(args).output() {
        Ok(out) => {
            assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
            true
        }
        Err(_) => false,
    }
}

type Pems = (Vec<u8>, Vec<u8>, Vec<u8>);

/// A test CA, a certificate it signs for 127.0.0.1 and its key, made once
/// for the tests of this binary; `None` without openssl.
fn certificates() -> Option<Pems> {
    static MADE: std::sync::OnceLock<Option<Pems>> = std::sync::OnceLock::new();
    MADE.get_or_init(make_certificates).clone()
}

fn make_certificates() -> Option<Pems> {
    let dir = std::env::temp_dir().join(format!("sb-sip-conn-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    let ca = [&["req", "-x509"], &ec[..], &["-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Test CA"]].concat();
    if !openssl(&dir, &ca) {
        assert!(std::env::var_os("SWITCHBOARD_REQUIRE_TOOLS").is_none(), "openssl is required (apt-get install openssl)");
        eprintln!("note: openssl is missing; TLS connection tests skipped");
        return None;
    }
    openssl(&dir, &[&["req"], &ec[..], &["-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=localhost"]].concat());
    std::fs::write(dir.join("ext.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n").unwrap();
    openssl(
        &dir,
        &[
            "x509",
            "-req",
            "-in",
            "srv.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "srv.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
    let read = |f: &str| std::fs::read(dir.join(f)).unwrap();
    let out = (read("ca.pem"), read("srv.pem"), read("srv.key"));
    std::fs::remove_dir_all(dir).ok();
    Some(out)
}

async fn tls_server() -> Option<(std::net::SocketAddr, tokio_rustls::TlsConnector)> {
    let (ca, cert_pem, key_pem) = certificates()?;
    let tls = TlsOptions { ca_pem: None, listen: Some(TlsListen { addr: "127.0.0.1:0".parse().unwrap(), cert_pem, key_pem }) };
    let server = spawn_app(limits(), tls).await;
    let addr = server.tls_addr().expect("a TLS listener");
    serve(server);
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(&ca) {
        roots.add(c.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
    Some((addr, tokio_rustls::TlsConnector::from(Arc::new(config))))
}

async fn connect(addr: std::net::SocketAddr, connector: &tokio_rustls::TlsConnector) -> tokio_rustls::client::TlsStream<TcpStream> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    connector.connect("localhost".try_into().unwrap(), tcp).await.expect("handshake")
}

#[tokio::test(start_paused = true)]
async fn a_tls_connection_without_a_handshake_or_a_message_is_closed_after_30_s() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let Some((addr, connector)) = tls_server().await else { return };

    let start = Instant::now();
    let mut no_handshake = TcpStream::connect(addr).await.unwrap();
    let closed = closed_at(&mut no_handshake).await - start;
    assert!(closed >= FIRST && closed < FIRST + Duration::from_secs(2), "handshake never started: closed after {closed:?}");

    let start = Instant::now();
    let mut silent = connect(addr, &connector).await;
    silent.write_all(b"\r\n\r\n").await.unwrap();
    let mut pong = [0u8; 2];
    silent.read_exact(&mut pong).await.unwrap();
    assert_eq!(&pong, b"\r\n", "a CRLF ping gets one CRLF over TLS");
    let closed = closed_at(&mut silent).await - start;
    assert!(closed >= FIRST && closed < FIRST + Duration::from_secs(2), "no message: closed after {closed:?}");
}

#[tokio::test(start_paused = true)]
async fn a_tls_phone_that_registered_keeps_its_connection() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let Some((addr, connector)) = tls_server().await else { return };
    let mut phone = connect(addr, &connector).await;
    let ok = exchange(&mut phone, "REGISTER", "tr1").await;
    assert!(ok.starts_with("SIP/2.0 200"), "{ok}");
    tokio::time::sleep(Duration::from_secs(90)).await;
    let ok = exchange(&mut phone, "OPTIONS", "to1").await;
    assert!(ok.starts_with("SIP/2.0 200"), "open past 30 s: {ok}");
}
