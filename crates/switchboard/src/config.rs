//! Layered configuration: built-in defaults, then a TOML file, then
//! `SWITCHBOARD_*` environment variables, then command-line flags. Secrets
//! are wrapped so they never print; unknown file keys are warned about.

use anyhow::{bail, Context, Result};
use std::fmt;
use std::net::SocketAddr;

/// A value that must never appear in logs or debug output.
#[derive(Clone, Default)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub http_listen: SocketAddr,
    pub sip_listen: SocketAddr,
    pub database_url: String,
    pub public_url: Option<String>,
    pub operator_user: Option<String>,
    pub operator_password: Option<Secret>,
    pub log: String,
    /// Media relay ports, `None` when the relay is off (`rtp_ports = "off"`).
    pub rtp_ports: Option<std::ops::RangeInclusive<u16>>,
    /// Seconds a DID call may ring unanswered.
    pub no_answer_timeout: u64,
    /// Where SIP over TLS is accepted; `None`: no TLS listener.
    pub sip_tls_listen: Option<SocketAddr>,
    /// PEM certificate chain and private key of the TLS listener.
    pub tls_cert_file: Option<String>,
    pub tls_key_file: Option<String>,
    /// PEM trust anchors for TLS gateways' certificates.
    pub tls_ca_file: String,
    /// This node's public IP address (1:1 NAT), over the domain setting.
    pub sip_public_address: Option<std::net::IpAddr>,
    /// TCP/TLS connections accepted at once from one address.
    pub sip_connections_per_source: usize,
    /// TCP/TLS connections accepted at once in all; `None` (`auto`): half
    /// the file-descriptor limit, at most 10,000.
    pub sip_max_connections: Option<usize>,
    /// This node's id among those sharing the store; `None`: host name and
    /// SIP address.
    pub node_id: Option<String>,
    /// Seconds between the heartbeats that date live calls for a crash.
    pub heartbeat_interval: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            http_listen: "127.0.0.1:8080".parse().expect("valid default"),
            sip_listen: "0.0.0.0:5060".parse().expect("valid default"),
            database_url: "sqlite://switchboard.db".into(),
            public_url: None,
            operator_user: None,
            operator_password: None,
            log: "info".into(),
            rtp_ports: Some(20000..=29999),
            no_answer_timeout: 60,
            sip_tls_listen: None,
            tls_cert_file: None,
            tls_key_file: None,
            tls_ca_file: DEBIAN_CA_BUNDLE.into(),
            sip_public_address: None,
            sip_connections_per_source: 32,
            sip_max_connections: None,
            node_id: None,
            heartbeat_interval: 10,
        }
    }
}

/// The keys, as written in TOML; env vars are `SWITCHBOARD_` + upper case,
/// flags are `--` + the key with `-` for `_`.
const KEYS: &[&str] = &[
    "http_listen",
    "sip_listen",
    "database_url",
    "public_url",
    "operator_user",
    "operator_password",
    "log",
    "rtp_ports",
    "no_answer_timeout",
    "sip_tls_listen",
    "tls_cert_file",
    "tls_key_file",
    "tls_ca_file",
    "sip_public_address",
    "sip_connections_per_source",
    "sip_max_connections",
    "node_id",
    "heartbeat_interval",
];

/// The system's trust store on Debian and its derivatives (ca-certificates).
const DEBIAN_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

impl Config {
    fn set(&mut self, key: &str, value: &str, origin: &str) -> Result<()> {
        let addr =
            |v: &str| v.parse::<SocketAddr>().with_context(|| format!("{origin}: {key} must be an address like 127.0.0.1:8080, not {v:?}"));
        match key {
            "http_listen" => self.http_listen = addr(value)?,
            "sip_listen" => self.sip_listen = addr(value)?,
            "database_url" => self.database_url = value.to_owned(),
            "public_url" => self.public_url = Some(value.trim_end_matches('/').to_owned()).filter(|v| !v.is_empty()),
            "operator_user" => self.operator_user = Some(value.to_owned()).filter(|v| !v.is_empty()),
            "operator_password" => self.operator_password = Some(Secret(value.to_owned())).filter(|v| !v.0.is_empty()),
            "log" => self.log = value.to_owned(),
            "rtp_ports" => {
                self.rtp_ports = ports(value).with_context(|| format!("{origin}: {key} must be like 20000-29999 or off, not {value:?}"))?
            }
            "no_answer_timeout" => {
                self.no_answer_timeout = value
                    .parse()
                    .ok()
                    .filter(|s| (1..=3600).contains(s))
                    .with_context(|| format!("{origin}: {key} must be seconds from 1 to 3600, not {value:?}"))?
            }
            "sip_tls_listen" => {
                self.sip_tls_listen = if value.eq_ignore_ascii_case("off") || value.is_empty() { None } else { Some(addr(value)?) }
            }
            "tls_cert_file" => self.tls_cert_file = Some(value.to_owned()).filter(|v| !v.is_empty()),
            "tls_key_file" => self.tls_key_file = Some(value.to_owned()).filter(|v| !v.is_empty()),
            "tls_ca_file" => self.tls_ca_file = value.to_owned(),
            "sip_public_address" => {
                self.sip_public_address = if value.is_empty() {
                    None
                } else {
                    Some(
                        value
                            .trim_start_matches('[')
                            .trim_end_matches(']')
                            .parse()
                            .with_context(|| format!("{origin}: {key} must be an IP address like 203.0.113.10, not {value:?}"))?,
                    )
                }
            }
            "sip_connections_per_source" => {
                self.sip_connections_per_source = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=1_000_000).contains(n))
                    .with_context(|| format!("{origin}: {key} must be a number from 1 to 1000000, not {value:?}"))?
            }
            "sip_max_connections" => {
                self.sip_max_connections = if value.eq_ignore_ascii_case("auto") {
                    None
                } else {
                    Some(
                        value
                            .parse()
                            .ok()
                            .filter(|n| (1..=1_000_000).contains(n))
                            .with_context(|| format!("{origin}: {key} must be auto or a number from 1 to 1000000, not {value:?}"))?,
                    )
                }
            }
            "node_id" => {
                let v = value.trim();
                if v.len() > 200 || v.chars().any(char::is_control) {
                    bail!("{origin}: {key} must be up to 200 printable characters");
                }
                self.node_id = Some(v.to_owned()).filter(|v| !v.is_empty());
            }
            "heartbeat_interval" => {
                self.heartbeat_interval = value
                    .parse()
                    .ok()
                    .filter(|s| (1..=300).contains(s))
                    .with_context(|| format!("{origin}: {key} must be seconds from 1 to 300, not {value:?}"))?
            }
            _ => bail!("{origin}: unknown setting {key}"),
        }
        Ok(())
    }

    /// Builds the configuration from all layers. `flags` are `(key, value)`
    /// pairs already split from the command line; `--config` names the file.
    pub fn load(config_file: Option<&str>, env: impl Iterator<Item = (String, String)>, flags: &[(String, String)]) -> Result<Config> {
        let mut c = Config::default();
        let env: Vec<(String, String)> = env.collect();
        let file = config_file.map(str::to_owned).or_else(|| env.iter().find(|(k, _)| k == "SWITCHBOARD_CONFIG").map(|(_, v)| v.clone()));
        if let Some(path) = file {
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading config file {path}"))?;
            let table: toml::Table = text.parse().with_context(|| format!("parsing config file {path}"))?;
            for (k, v) in &table {
                if !KEYS.contains(&k.as_str()) {
                    tracing::warn!(key = %k, file = %path, "unknown setting in config file, ignored");
                    continue;
                }
                let value = match v {
                    toml::Value::String(s) => s.clone(),
                    toml::Value::Integer(i) => i.to_string(),
                    toml::Value::Boolean(b) => b.to_string(),
                    _ => bail!("{path}: {k} must be a string"),
                };
                c.set(k, &value, &path)?;
            }
        }
        for key in KEYS {
            let var = format!("SWITCHBOARD_{}", key.to_ascii_uppercase());
            if let Some((_, v)) = env.iter().find(|(k, _)| *k == var) {
                c.set(key, v, &var)?;
            }
        }
        for (k, v) in flags {
            c.set(k, v, &format!("--{}", k.replace('_', "-")))?;
        }
        Ok(c)
    }
}

impl Config {
    /// The TLS settings, files read: the listener needs both its
    /// certificate and key; a missing CA file leaves TLS gateways
    /// unverifiable (warned, as a machine without ca-certificates may
    /// still serve UDP and TCP).
    pub fn tls(&self) -> Result<switch::TlsOptions> {
        let read = |what: &str, path: &str| std::fs::read(path).with_context(|| format!("reading {what} {path}"));
        let ca_pem = match std::fs::read(&self.tls_ca_file) {
            Ok(pem) => Some(pem),
            Err(e) => {
                tracing::warn!(file = %self.tls_ca_file, error = %e, "no TLS trust anchors: TLS gateways will fail their handshake");
                None
            }
        };
        let listen = match (self.sip_tls_listen, &self.tls_cert_file, &self.tls_key_file) {
            (None, _, _) => None,
            (Some(addr), Some(cert), Some(key)) => {
                Some(switch::TlsListen { addr, cert_pem: read("tls_cert_file", cert)?, key_pem: read("tls_key_file", key)? })
            }
            (Some(_), _, _) => bail!("sip_tls_listen needs tls_cert_file and tls_key_file"),
        };
        let tls = switch::TlsOptions { ca_pem, listen };
        tls.validate().with_context(|| format!("TLS settings ({})", self.tls_ca_file))?;
        Ok(tls)
    }
}

/// `20000-29999` (at least two pairs) or `off`.
fn ports(v: &str) -> Option<Option<std::ops::RangeInclusive<u16>>> {
    if v.eq_ignore_ascii_case("off") {
        return Some(None);
    }
    let (a, b) = v.split_once('-')?;
    let (a, b): (u16, u16) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
    (a >= 1024 && b >= a.checked_add(3)?).then_some(Some(a..=b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_override_in_order() {
        let dir = std::env::temp_dir().join(format!("sb-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("switchboard.toml");
        std::fs::write(&file, "http_listen = \"127.0.0.1:9000\"\nsip_listen = \"127.0.0.1:5070\"\nlog = \"debug\"\nbogus = 1\n").unwrap();
        let env = vec![
            ("SWITCHBOARD_SIP_LISTEN".to_owned(), "127.0.0.1:5080".to_owned()),
            ("SWITCHBOARD_OPERATOR_PASSWORD".to_owned(), "s3cret".to_owned()),
        ];
        let flags = vec![("log".to_owned(), "warn".to_owned())];
        let c = Config::load(file.to_str(), env.into_iter(), &flags).unwrap();
        assert_eq!(c.http_listen.port(), 9000);
        assert_eq!(c.sip_listen.port(), 5080);
        assert_eq!(c.log, "warn");
        assert_eq!(c.database_url, "sqlite://switchboard.db");
        assert!(!format!("{c:?}").contains("s3cret"), "secrets never print");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn bad_values_are_clear_errors() {
        let e = Config::load(None, vec![("SWITCHBOARD_HTTP_LISTEN".to_owned(), "nope".to_owned())].into_iter(), &[]).unwrap_err();
        assert!(e.to_string().contains("SWITCHBOARD_HTTP_LISTEN"), "{e}");
        let e = Config::load(None, std::iter::empty(), &[("sip_public_address".to_owned(), "pbx.example.com".to_owned())]).unwrap_err();
        assert!(e.to_string().contains("sip_public_address must be an IP address"), "{e}");
        let c = Config::load(None, vec![("SWITCHBOARD_SIP_PUBLIC_ADDRESS".to_owned(), "203.0.113.9".to_owned())].into_iter(), &[]).unwrap();
        assert_eq!(c.sip_public_address, Some("203.0.113.9".parse().unwrap()));
        for bad in ["10-20", "30000-29999", "x-y", "40000"] {
            let e = Config::load(None, std::iter::empty(), &[("rtp_ports".to_owned(), bad.to_owned())]).unwrap_err();
            assert!(e.to_string().contains("rtp_ports"), "{e}");
        }
        let c = Config::load(None, std::iter::empty(), &[("rtp_ports".to_owned(), "off".to_owned())]).unwrap();
        assert_eq!(c.rtp_ports, None);
        let c = Config::load(None, std::iter::empty(), &[("rtp_ports".to_owned(), "30000-30099".to_owned())]).unwrap();
        assert_eq!(c.rtp_ports, Some(30000..=30099));
        assert!(Config::load(None, std::iter::empty(), &[("no_answer_timeout".to_owned(), "0".to_owned())]).is_err());
        let e = Config::load(None, vec![("SWITCHBOARD_HEARTBEAT_INTERVAL".to_owned(), "0".to_owned())].into_iter(), &[]).unwrap_err();
        assert!(e.to_string().contains("SWITCHBOARD_HEARTBEAT_INTERVAL: heartbeat_interval must be seconds from 1 to 300"), "{e}");
        let env =
            vec![("SWITCHBOARD_NODE_ID".to_owned(), " pbx-2 ".to_owned()), ("SWITCHBOARD_HEARTBEAT_INTERVAL".to_owned(), "2".to_owned())];
        let c = Config::load(None, env.into_iter(), &[]).unwrap();
        assert_eq!((c.node_id.as_deref(), c.heartbeat_interval), (Some("pbx-2"), 2));
        assert!(Config::load(None, std::iter::empty(), &[("node_id".to_owned(), "a\nb".to_owned())]).is_err());
    }

    #[test]
    fn connection_limits_are_numbers_or_auto() {
        let c = Config::load(None, std::iter::empty(), &[]).unwrap();
        assert_eq!((c.sip_connections_per_source, c.sip_max_connections), (32, None));
        let env = vec![
            ("SWITCHBOARD_SIP_CONNECTIONS_PER_SOURCE".to_owned(), "200".to_owned()),
            ("SWITCHBOARD_SIP_MAX_CONNECTIONS".to_owned(), "5000".to_owned()),
        ];
        let c = Config::load(None, env.into_iter(), &[]).unwrap();
        assert_eq!((c.sip_connections_per_source, c.sip_max_connections), (200, Some(5000)));
        let c = Config::load(None, std::iter::empty(), &[("sip_max_connections".to_owned(), "auto".to_owned())]).unwrap();
        assert_eq!(c.sip_max_connections, None);
        for (key, bad) in [("sip_connections_per_source", "0"), ("sip_connections_per_source", "-1"), ("sip_max_connections", "lots")] {
            let e = Config::load(None, std::iter::empty(), &[(key.to_owned(), bad.to_owned())]).unwrap_err();
            assert!(e.to_string().contains(key), "{e}");
        }
    }

    #[test]
    fn tls_needs_a_certificate_and_a_key_that_parse() {
        let flags = |f: &[(&str, &str)]| f.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<Vec<_>>();
        let c = Config::load(None, std::iter::empty(), &flags(&[("sip_tls_listen", "127.0.0.1:5061")])).unwrap();
        let e = c.tls().unwrap_err();
        assert!(e.to_string().contains("tls_cert_file"), "{e}");
        let dir = std::env::temp_dir().join(format!("sb-tls-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let junk = dir.join("junk.pem");
        std::fs::write(&junk, "not a certificate").unwrap();
        let junk = junk.to_str().unwrap();
        let c = Config::load(
            None,
            std::iter::empty(),
            &flags(&[("sip_tls_listen", "127.0.0.1:5061"), ("tls_cert_file", junk), ("tls_key_file", junk)]),
        )
        .unwrap();
        assert!(format!("{:#}", c.tls().unwrap_err()).contains("no PEM certificate"));
        let c = Config::load(None, std::iter::empty(), &flags(&[("tls_ca_file", junk)])).unwrap();
        assert!(format!("{:#}", c.tls().unwrap_err()).contains("CA file"));
        let c = Config::load(None, std::iter::empty(), &flags(&[("tls_ca_file", "/nonexistent/ca.pem")])).unwrap();
        assert!(c.tls().unwrap().ca_pem.is_none(), "a missing CA file is only a warning");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
