//! The call-handling configuration in memory: trunks by domain, DIDs by
//! number, ring groups, customers' limits; reloaded when any of them
//! changes (see `reload.rs`).

use crate::reload::{Loaded, Reloading};
use std::collections::HashMap;
use std::sync::Arc;
use store::directory::{CallConfig, CustomerRow, DidRow, RingGroupRow, TrunkRow};
use store::Store;

/// The kinds whose changes affect call handling.
const WATCHED: &[&str] = &["incoming_trunks", "available_did_numbers", "ring_groups", "customers", "domain_settings", "sip_device_routes"];

/// One consistent view of the configuration.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// By lower-case domain.
    pub trunks: HashMap<String, TrunkRow>,
    pub dids: HashMap<String, DidRow>,
    pub ring_groups: HashMap<i64, RingGroupRow>,
    pub customers: HashMap<i64, CustomerRow>,
    /// The domain's `blocked_prefixes`: destinations no customer may call.
    pub blocked_prefixes: Vec<String>,
    pub capacity_reject_code: u16,
    /// The domain setting `sip_public_address`, when it is an IP address.
    pub public_ip: Option<std::net::IpAddr>,
    /// Domain settings `nat_keepalive`, `media_timeout` and
    /// `session_expires`, in seconds (0 turns one off).
    pub nat_keepalive: u32,
    pub media_timeout: u32,
    pub session_expires: u32,
}

impl From<CallConfig> for Snapshot {
    fn from(c: CallConfig) -> Self {
        Snapshot {
            trunks: c.trunks.into_iter().filter_map(|t| Some((t.domain.clone()?.to_ascii_lowercase(), t))).collect(),
            dids: c.dids.into_iter().map(|d| (d.number.clone(), d)).collect(),
            ring_groups: c.ring_groups.into_iter().map(|g| (g.id, g)).collect(),
            customers: c.customers.into_iter().map(|c| (c.id, c)).collect(),
            blocked_prefixes: c.blocked_prefixes,
            capacity_reject_code: c.capacity_reject_code,
            public_ip: c.sip_public_address.as_deref().and_then(public_ip),
            nat_keepalive: c.nat_keepalive,
            media_timeout: c.media_timeout,
            session_expires: c.session_expires,
        }
    }
}

/// The IP address of a `sip_public_address` (brackets and a port, which
/// the setting's text may carry, dropped); a host name is not one.
fn public_ip(text: &str) -> Option<std::net::IpAddr> {
    let text = text.trim();
    if let Ok(sa) = text.parse::<std::net::SocketAddr>() {
        return Some(sa.ip());
    }
    let ip = text.trim_start_matches('[').trim_end_matches(']').parse().ok();
    if ip.is_none() && !text.is_empty() {
        tracing::warn!(setting = text, "sip_public_address is not an IP address; the sockets' addresses are used");
    }
    ip
}

impl Snapshot {
    /// The answer to a call over its customer's capacity_limit: 480, or
    /// 403 if the operator chose it.
    pub fn capacity_refusal(&self) -> (u16, &'static str) {
        if self.capacity_reject_code == 403 {
            (403, "Forbidden")
        } else {
            (480, "Temporarily Unavailable")
        }
    }
}

impl Loaded for Snapshot {
    const WATCHED: &'static [&'static str] = WATCHED;
    async fn load(store: &Store) -> Result<Self, store::Error> {
        Ok(Snapshot::from(store.call_config().await?))
    }
}

pub struct Directory(Reloading<Snapshot>);

impl Directory {
    /// Subscribes to changes, then reads the configuration.
    pub async fn load(store: Store) -> Result<Directory, store::Error> {
        Ok(Directory(Reloading::new(store).await?))
    }

    /// The current configuration, reloaded first if it changed.
    pub async fn snapshot(&self) -> Result<Arc<Snapshot>, store::Error> {
        self.0.current().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::schema;
    use store::{Actor, Input};

    #[tokio::test]
    async fn a_reader_during_a_reload_gets_the_fresh_configuration() {
        let (store, _db) = store::testing::sqlite().await;
        let dir = Directory::load(store.clone()).await.unwrap();
        assert!(dir.snapshot().await.unwrap().trunks.is_empty());
        let customer = Input::default().with(&schema::CUSTOMERS, "name", "Acme");
        store.create(&schema::CUSTOMERS, &Actor::system(), customer).await.unwrap();
        // The first reader starts the reload and waits on the store; the
        // second arrives meanwhile and must wait for it, not read the old one.
        let (a, b) = tokio::join!(dir.snapshot(), dir.snapshot());
        assert_eq!((a.unwrap().trunks.len(), b.unwrap().trunks.len()), (1, 1), "the new customer's default trunk");
    }

    #[tokio::test]
    async fn the_public_address_setting_reaches_the_snapshot_as_an_ip() {
        let (store, _db) = store::testing::sqlite().await;
        let dir = Directory::load(store.clone()).await.unwrap();
        let first = dir.snapshot().await.unwrap();
        assert_eq!(first.public_ip, None);
        assert_eq!((first.nat_keepalive, first.media_timeout, first.session_expires), (30, 60, 1800), "the timers' defaults");
        for (text, ip) in [
            ("203.0.113.9", Some("203.0.113.9")),
            ("203.0.113.9:5060", Some("203.0.113.9")),
            ("[2001:db8::9]", Some("2001:db8::9")),
            ("pbx.example.com", None),
        ] {
            let input = Input::default().with(&schema::DOMAIN_SETTINGS, "sip_public_address", text);
            store.update(&schema::DOMAIN_SETTINGS, &Actor::system(), 1, input).await.unwrap();
            assert_eq!(dir.snapshot().await.unwrap().public_ip, ip.map(|i| i.parse().unwrap()), "{text}");
        }
    }
}
