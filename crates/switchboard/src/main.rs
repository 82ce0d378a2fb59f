//! `switchboard`: a multi-tenant cloud PBX in one binary, on one store
//! (SQLite or PostgreSQL). `switchboard serve` runs the HTTP side (operator
//! and customer JSON:API, the OpenAPI document, the operator and customer
//! web UIs) and the SIP side (the registrar; the B2BUA for carriers' DID
//! calls to phones, ring groups and forwards, and for phones' calls to
//! extensions and out through termination gateways, over UDP/TCP and
//! optionally TLS; the RTP relay; the CDR journal, which first closes the
//! calls a crash left open) until SIGINT/SIGTERM stop it gracefully.
//! `switchboard seed` fills a store with demo data ([`seed`]). Options
//! come from defaults, a TOML file, `SWITCHBOARD_*` variables and flags
//! ([`config`]).

mod config;
mod seed;

/// glibc malloc spent a fifth of the registrar's CPU in free-list upkeep
/// (`unlink_chunk`) under the churn of tens of thousands of live SIP
/// transactions; mimalloc's per-thread size classes do not.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::{bail, Context, Result};
use config::Config;
use std::process::ExitCode;
use store::Store;
use tokio::net::TcpListener;

const USAGE: &str = "\
Usage: switchboard <command> [options]

Commands:
  serve    run Switchboard (HTTP API on --http-listen, SIP on --sip-listen,
           store at --database-url)
  seed     fill a store with demo data
  help     show this text

Options of every command (each also as SWITCHBOARD_<NAME> and in the
TOML file given by --config):
  --config FILE             TOML configuration file
  --database-url URL        sqlite://switchboard.db (default) or postgres://…
  --http-listen ADDR        default 127.0.0.1:8080
  --sip-listen ADDR         default 0.0.0.0:5060
  --public-url URL          public base URL used in API links and session URIs
  --operator-user NAME      first operator login on a fresh store
  --operator-password PASS  its password (random and printed when not given)
  --log FILTER              log filter, e.g. info or web=debug
  --rtp-ports RANGE         media relay UDP ports, default 20000-29999; off
                            leaves media end to end
  --no-answer-timeout SECS  how long a DID call rings, default 60
  --sip-tls-listen ADDR     accept SIP over TLS here, e.g. 0.0.0.0:5061
                            (default off); needs the next two
  --tls-cert-file FILE      PEM certificate chain of the TLS listener
  --tls-key-file FILE       PEM private key of the TLS listener
  --tls-ca-file FILE        PEM trust anchors for TLS gateways, default
                            /etc/ssl/certs/ca-certificates.crt
  --sip-public-address IP   the address peers reach this node at (1:1 NAT):
                            written in Via, Contact and the relay's SDP;
                            over the domain setting sip_public_address
  --sip-connections-per-source N
                            TCP/TLS connections accepted from one address
                            (IPv6: one /64) at once, default 32
  --sip-max-connections N   TCP/TLS connections accepted in all, default
                            auto: half the open-file limit, at most 10000
  --node-id ID              this node's id among nodes sharing one database,
                            default host name and SIP address
  --heartbeat-interval SECS how often live calls are marked up, default 10:
                            after a crash they end at the last mark

Options of seed:
  --customers N  --numbers N  --accounts N  --gateways N  --routes N
  --incoming-cdrs N  --termination-cdrs N  --days N
";

/// Splits `--key value` / `--key=value` pairs off the arguments.
fn split_flags(args: &[String]) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let Some(flag) = a.strip_prefix("--") else { bail!("unexpected argument {a:?}\n\n{USAGE}") };
        let (k, v) = match flag.split_once('=') {
            Some((k, v)) => (k.to_owned(), v.to_owned()),
            None => (flag.to_owned(), it.next().with_context(|| format!("--{flag} needs a value"))?.clone()),
        };
        out.push((k.replace('-', "_"), v));
    }
    Ok(out)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("switchboard: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Vec<String>) -> Result<()> {
    let Some((command, rest)) = args.split_first() else {
        print!("{USAGE}");
        return Ok(());
    };
    let mut flags = split_flags(rest)?;
    let config_file = flags.iter().position(|(k, _)| k == "config").map(|i| flags.remove(i).1);
    const SEED_KEYS: &[&str] = &["customers", "numbers", "accounts", "gateways", "routes", "incoming_cdrs", "termination_cdrs", "days"];
    let (seed_flags, flags): (Vec<_>, Vec<_>) = flags.into_iter().partition(|(k, _)| SEED_KEYS.contains(&k.as_str()));
    let config = Config::load(config_file.as_deref(), std::env::vars(), &flags)?;
    // rsipstack warns on every answered call that its own transport layer
    // cannot route the ACK it then sends on our socket anyway; unless asked
    // for, only its errors are shown.
    let filter = if config.log.contains("rsipstack") { config.log.clone() } else { format!("{},rsipstack=error", config.log) };
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::try_new(&filter).context("--log")?).with_target(false).init();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    match command.as_str() {
        "serve" if seed_flags.is_empty() => rt.block_on(serve(config)),
        "seed" => rt.block_on(seed(config, &seed_flags)),
        "help" | "--help" | "-h" => {
            print!("{USAGE}");
            Ok(())
        }
        "--version" | "version" => {
            println!("switchboard {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        other => bail!("unknown command or option {other:?}\n\n{USAGE}"),
    }
}

async fn open_store(config: &Config) -> Result<Store> {
    Store::connect(&config.database_url).await.with_context(|| format!("opening the store at {}", redact_url(&config.database_url)))
}

/// A database URL without its password, for messages.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

async fn serve(config: Config) -> Result<()> {
    let store = open_store(&config).await?;
    let given = match (&config.operator_user, &config.operator_password) {
        (Some(u), Some(p)) => Some((u.clone(), p.0.clone())),
        (None, None) => None,
        _ => bail!("set both SWITCHBOARD_OPERATOR_USER and SWITCHBOARD_OPERATOR_PASSWORD, or neither"),
    };
    let first_login = store.bootstrap_operator(given.clone()).await?;
    let app = web::App::new(store.clone(), web::WebConfig { public_url: config.public_url.clone() }).await?;
    let calls = switch::CallSettings {
        no_answer_timeout: std::time::Duration::from_secs(config.no_answer_timeout),
        relay_ports: config.rtp_ports.clone(),
        public_address: config.sip_public_address,
    };
    let tls = config.tls()?;
    let node = switch::NodeSettings { id: config.node_id.clone(), heartbeat: std::time::Duration::from_secs(config.heartbeat_interval) };
    let connections = switch::ConnectionLimits {
        per_source: config.sip_connections_per_source,
        max: config.sip_max_connections,
        ..switch::ConnectionLimits::default()
    };
    let sip = switch::Switch::start(
        store.clone(),
        config.sip_listen,
        switch::SwitchConfig { calls, tls, node, connections, ..switch::SwitchConfig::default() },
    )
    .await
    .with_context(|| format!("starting SIP on {}", config.sip_listen))?;
    let listener = TcpListener::bind(config.http_listen).await.with_context(|| format!("binding HTTP on {}", config.http_listen))?;
    let addr = listener.local_addr()?;
    let base = config.public_url.clone().unwrap_or_else(|| format!("http://{addr}"));
    println!("Switchboard {} is running.", env!("CARGO_PKG_VERSION"));
    println!("  Operator UI:   {base}/ui/");
    println!("  Operator API:  {base}/api/rest/public/operator/");
    println!("  Customer API:  {base}/api/rest/public/customer/");
    println!("  OpenAPI:       {base}/api/rest/public/operator/openapi.json");
    println!(
        "  SIP:           udp {} / tcp {} (phones REGISTER; carriers send DID calls to <number>@<trunk domain>)",
        sip.udp_addr(),
        sip.tcp_addr()
    );
    if let Some(tls) = sip.tls_addr() {
        println!("  SIP over TLS:  {tls}");
    }
    match &config.rtp_ports {
        Some(r) => println!("  Media relay:   UDP ports {}-{}", r.start(), r.end()),
        None => println!("  Media relay:   off (media flows end to end)"),
    }
    println!("  Store:         {}", redact_url(&config.database_url));
    match (first_login, given) {
        (Some((user, password)), None) => {
            println!("  First operator login (shown only now): user {user}  password {password}");
            println!("  (also an API credential: curl -u {user}:{password} {base}/api/rest/public/operator/customers)");
        }
        (Some((user, _)), Some(_)) => println!("  Operator login {user} created from SWITCHBOARD_OPERATOR_USER/PASSWORD."),
        (None, _) => {}
    }
    println!("Press Ctrl-C to stop.");
    tracing::info!(%addr, "HTTP listening");
    web::serve(listener, app, shutdown_signal()).await?;
    tracing::info!("HTTP stopped; stopping SIP and closing the store");
    sip.shutdown().await;
    store.close().await;
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown requested");
}

async fn seed(config: Config, flags: &[(String, String)]) -> Result<()> {
    let mut size = seed::SeedSize::small();
    for (k, v) in flags {
        let n: u64 = v.parse().with_context(|| format!("--{} must be a number, not {v:?}", k.replace('_', "-")))?;
        let small = || usize::try_from(n).context("too large");
        match k.as_str() {
            "customers" => size.customers = small()?,
            "numbers" => size.numbers_per_customer = small()?,
            "accounts" => size.accounts_per_customer = small()?,
            "gateways" => size.gateways = small()?,
            "routes" => size.routes_per_customer = small()?,
            "incoming_cdrs" => size.incoming_cdrs = n,
            "termination_cdrs" => size.termination_cdrs = n,
            "days" => size.days = u32::try_from(n).context("--days is too large")?,
            _ => unreachable!("partitioned by SEED_KEYS"),
        }
    }
    let store = open_store(&config).await?;
    let started = std::time::Instant::now();
    let mut last_print = std::time::Instant::now();
    let report = seed::seed(&store, &size, |label, done, total| {
        if done == total || last_print.elapsed().as_secs() >= 2 {
            eprintln!("  {label}: {done}/{total}");
            last_print = std::time::Instant::now();
        }
    })
    .await?;
    store.close().await;
    println!(
        "Seeded in {:.1} s: {} customers, {} numbers, {} SIP accounts, {} incoming trunks, {} gateways, {} routes, {} incoming trunk CDRs, {} termination CDRs.",
        started.elapsed().as_secs_f64(),
        report.customers,
        report.numbers,
        report.accounts,
        report.trunks,
        report.gateways,
        report.routes,
        report.incoming_cdrs,
        report.termination_cdrs
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact_url("postgres://u:pw@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
    }

    #[test]
    fn flags_take_both_forms() {
        let f = split_flags(&["--http-listen".into(), "1.2.3.4:1".into(), "--log=debug".into()]).unwrap();
        assert_eq!(f, vec![("http_listen".to_owned(), "1.2.3.4:1".to_owned()), ("log".to_owned(), "debug".to_owned())]);
        assert!(split_flags(&["--log".into()]).is_err());
        assert!(split_flags(&["stray".into()]).is_err());
    }
}
