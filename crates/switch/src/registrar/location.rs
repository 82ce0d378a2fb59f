//! Where each SIP account can be reached: its registration bindings. Behind
//! a trait so several nodes can share one location service later; in
//! memory for one node today.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use tokio::time::Instant;

/// One registered contact of an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The Contact URI as the phone sent it.
    pub contact: String,
    pub expires_at: Instant,
    pub user_agent: Option<String>,
    /// Where the REGISTER came from (the NAT's address for phones behind one).
    pub source: SocketAddr,
    pub transport: sip::endpoint::Transport,
    /// The phone is behind NAT: it registered from another address than
    /// its top Via names (or, for a binding restored from the store, its
    /// Contact). We ping such bindings to keep the NAT's mapping open.
    pub behind_nat: bool,
    pub call_id: String,
    pub cseq: u32,
    /// When this binding was last refreshed; the newest gives the account's
    /// user agent.
    pub updated: Instant,
}

/// The live registration state of accounts.
pub trait Location: Send + Sync {
    /// The unexpired bindings of an account.
    fn bindings(&self, account: i64, now: Instant) -> Vec<Binding>;
    /// Adds or refreshes a binding (same contact URI).
    fn upsert(&self, account: i64, binding: Binding);
    /// Removes one contact; true if it was there.
    fn remove(&self, account: i64, contact: &str) -> bool;
    /// Removes every binding of an account.
    fn clear(&self, account: i64);
    /// Drops expired bindings; returns the accounts that lost any.
    fn expire(&self, now: Instant) -> Vec<i64>;
    /// The unexpired UDP bindings behind NAT that `pick` chooses: their
    /// contact and where they registered from.
    fn behind_nat(&self, now: Instant, pick: &dyn Fn(&Binding) -> bool) -> Vec<(String, SocketAddr)>;
}

#[derive(Debug, Default)]
pub struct MemoryLocation {
    map: Mutex<HashMap<i64, Vec<Binding>>>,
}

impl MemoryLocation {
    /// Number of accounts with at least one binding.
    pub fn online_accounts(&self) -> usize {
        self.map.lock().expect("location lock").len()
    }
}

impl Location for MemoryLocation {
    fn bindings(&self, account: i64, now: Instant) -> Vec<Binding> {
        let map = self.map.lock().expect("location lock");
        map.get(&account).map(|v| v.iter().filter(|b| b.expires_at > now).cloned().collect()).unwrap_or_default()
    }

    fn upsert(&self, account: i64, binding: Binding) {
        let mut map = self.map.lock().expect("location lock");
        let list = map.entry(account).or_default();
        match list.iter_mut().find(|b| b.contact == binding.contact) {
            Some(b) => *b = binding,
            None => list.push(binding),
        }
    }

    fn remove(&self, account: i64, contact: &str) -> bool {
        let mut map = self.map.lock().expect("location lock");
        let Some(list) = map.get_mut(&account) else { return false };
        let before = list.len();
        list.retain(|b| b.contact != contact);
        let removed = list.len() != before;
        if list.is_empty() {
            map.remove(&account);
        }
        removed
    }

    fn clear(&self, account: i64) {
        self.map.lock().expect("location lock").remove(&account);
    }

    fn expire(&self, now: Instant) -> Vec<i64> {
        let mut map = self.map.lock().expect("location lock");
        let mut changed = Vec::new();
        map.retain(|account, list| {
            let before = list.len();
            list.retain(|b| b.expires_at > now);
            if list.len() != before {
                changed.push(*account);
            }
            !list.is_empty()
        });
        changed
    }

    fn behind_nat(&self, now: Instant, pick: &dyn Fn(&Binding) -> bool) -> Vec<(String, SocketAddr)> {
        let map = self.map.lock().expect("location lock");
        map.values()
            .flatten()
            .filter(|b| b.behind_nat && b.transport == sip::endpoint::Transport::Udp && b.expires_at > now && pick(b))
            .map(|b| (b.contact.clone(), b.source))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn binding(contact: &str, now: Instant, secs: u64) -> Binding {
        Binding {
            contact: contact.into(),
            expires_at: now + Duration::from_secs(secs),
            user_agent: Some("ua".into()),
            source: "127.0.0.1:5062".parse().unwrap(),
            transport: sip::endpoint::Transport::Udp,
            behind_nat: false,
            call_id: "c".into(),
            cseq: 1,
            updated: now,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn bindings_refresh_expire_and_go() {
        let loc = MemoryLocation::default();
        let now = Instant::now();
        loc.upsert(7, binding("sip:a@1.2.3.4", now, 60));
        loc.upsert(7, binding("sip:b@1.2.3.4", now, 120));
        loc.upsert(7, binding("sip:a@1.2.3.4", now, 300));
        assert_eq!(loc.bindings(7, now).len(), 2, "same contact refreshes, no duplicate");
        tokio::time::advance(Duration::from_secs(150)).await;
        assert_eq!(loc.expire(Instant::now()), vec![7]);
        assert_eq!(loc.bindings(7, Instant::now()).len(), 1);
        assert!(loc.remove(7, "sip:a@1.2.3.4"));
        assert_eq!(loc.online_accounts(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn only_udp_bindings_behind_nat_are_pinged() {
        let loc = MemoryLocation::default();
        let now = Instant::now();
        loc.upsert(1, Binding { behind_nat: true, ..binding("sip:nat@10.0.0.5", now, 60) });
        loc.upsert(1, binding("sip:direct@1.2.3.4", now, 60));
        loc.upsert(2, Binding { behind_nat: true, transport: sip::endpoint::Transport::Tcp, ..binding("sip:tcp@10.0.0.6", now, 60) });
        loc.upsert(3, Binding { behind_nat: true, ..binding("sip:short@10.0.0.7", now, 10) });
        let all = |_: &Binding| true;
        let mut got: Vec<_> = loc.behind_nat(now, &all).into_iter().map(|(c, _)| c).collect();
        got.sort();
        assert_eq!(got, ["sip:nat@10.0.0.5", "sip:short@10.0.0.7"]);
        tokio::time::advance(Duration::from_secs(20)).await;
        assert_eq!(loc.behind_nat(Instant::now(), &all).len(), 1, "an expired binding is not pinged");
        assert!(loc.behind_nat(Instant::now(), &|_| false).is_empty(), "only what pick chooses");
    }
}
