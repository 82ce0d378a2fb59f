//! The call-handling configuration in memory: trunks by domain, DIDs by
//! number, ring groups, customers' limits and the capacity pools they draw
//! from; reloaded when any of them changes (see `reload.rs`).

use crate::capacity::{Limits, Pool};
use crate::reload::{Loaded, Reloading};
use std::collections::HashMap;
use std::sync::Arc;
use store::directory::{CallConfig, CustomerRow, DidRow, RingGroupRow, TrunkRow};
use store::Store;

/// The kinds whose changes affect call handling.
const WATCHED: &[&str] =
    &["incoming_trunks", "available_did_numbers", "ring_groups", "customers", "domain_settings", "sip_device_routes", "capacity_groups"];

/// One consistent view of the configuration.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// By lower-case domain.
    pub trunks: HashMap<String, TrunkRow>,
    pub dids: HashMap<String, DidRow>,
    pub ring_groups: HashMap<i64, RingGroupRow>,
    pub customers: HashMap<i64, CustomerRow>,
    /// Each grouped customer's group and the group's capacity.
    pub groups: HashMap<i64, (i64, i64)>,
    /// Channels of the account no group holds, shared by the customers in
    /// no group (`None`: unlimited).
    pub shared_channels: Option<i64>,
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
        let held: i64 = c.capacity_groups.iter().map(|g| g.capacity).sum();
        // The store keeps a customer in one group; should two rows ever
        // name it, the first group read counts.
        let mut groups = HashMap::new();
        for g in &c.capacity_groups {
            for &customer in &g.customers {
                groups.entry(customer).or_insert((g.id, g.capacity));
            }
        }
        Snapshot {
            groups,
            shared_channels: c.total_channels.map(|t| (t - held).max(0)),
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
    /// What caps a call of `customer`: its own limit, and its group's
    /// capacity or the account's shared channels.
    pub fn limits(&self, customer: i64) -> Limits {
        let pool = match self.groups.get(&customer) {
            Some(&(group, capacity)) => Some((Pool::Group(group), capacity)),
            None => self.shared_channels.map(|n| (Pool::Shared, n)),
        };
        Limits { customer: self.customers.get(&customer).and_then(|c| c.capacity_limit), pool }
    }

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

    #[tokio::test]
    async fn a_customer_draws_on_its_group_or_on_the_channels_no_group_holds() {
        let (store, _db) = store::testing::sqlite().await;
        let dir = Directory::load(store.clone()).await.unwrap();
        let mut ids = Vec::new();
        for name in ["In", "Out"] {
            let c = Input::default().with(&schema::CUSTOMERS, "name", name).with(&schema::CUSTOMERS, "capacity_limit", 5i64);
            ids.push(store.create(&schema::CUSTOMERS, &Actor::system(), c).await.unwrap().id());
        }
        let (grouped, alone) = (ids[0], ids[1]);
        let own = Some(5);
        assert_eq!(dir.snapshot().await.unwrap().limits(alone), Limits { customer: own, pool: None }, "no groups, no total");
        let group = Input::default().with(&schema::CAPACITY_GROUPS, "name", "G").with(&schema::CAPACITY_GROUPS, "capacity", 3i64).with_rel(
            &schema::CAPACITY_GROUPS,
            "customer",
            store::RelInput::Many(vec![grouped]),
        );
        let g = store.create(&schema::CAPACITY_GROUPS, &Actor::system(), group).await.unwrap().id();
        let snap = dir.snapshot().await.unwrap();
        assert_eq!(snap.limits(grouped), Limits { customer: own, pool: Some((Pool::Group(g), 3)) }, "reloaded on the group's change");
        assert_eq!(snap.limits(alone).pool, None, "no total_channels: the rest is unlimited");
        let total = Input::default().with(&schema::DOMAIN_SETTINGS, "total_channels", 10i64);
        store.update(&schema::DOMAIN_SETTINGS, &Actor::system(), 1, total).await.unwrap();
        let snap = dir.snapshot().await.unwrap();
        assert_eq!(snap.limits(alone).pool, Some((Pool::Shared, 7)), "10 ordered, 3 held by the group");
        assert_eq!(snap.limits(grouped).pool, Some((Pool::Group(g), 3)));
    }
}
