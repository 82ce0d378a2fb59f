//! Failed digest authentications, counted so that they cannot be turned
//! against real users. A failure is only ever recorded for a response to
//! a nonce this server issued to that very address (the nonce's tag binds
//! it, see `sip::digest::NonceSource`): a forged UDP source never received
//! our challenge, so a forged packet costs the attacker, never the victim.
//! Failures count three ways:
//!
//! - per (source, account): past `per_pair` failures within `window` that
//!   source gets silence for that account only, for `block_for`; it can
//!   still register others;
//! - per account across sources: past `account_free` failures the account
//!   backs off exponentially (1 s, 2 s, 4 s … up to `backoff_max`), during
//!   which requests for it are ignored, unverified, from every source but
//!   those it authenticated from lately (`trusted_for`): a guess spread
//!   over many addresses gets one try per back-off, the phones keep working;
//! - per source across accounts: a source failing for `source_accounts`
//!   distinct accounts within `window` is a scanner and gets silence for
//!   everything (no answer, no hashing) for `block_for`.
//!
//! "Account" is any name a client authenticates as: unknown usernames are
//! counted exactly like real ones, so the throttle tells no existing
//! account from a missing one. Sources are whole IPv4 addresses and IPv6
//! /64s (one host's share). Every map is bounded by `capacity`.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// The numbers of the throttle (see the module docs).
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    pub per_pair: u32,
    pub window: Duration,
    pub block_for: Duration,
    pub account_free: u32,
    pub backoff_max: Duration,
    pub source_accounts: u32,
    pub trusted_for: Duration,
    pub capacity: usize,
}

/// What authenticates: a SIP username or a trunk, by a keyed hash so an
/// entry's size does not depend on what a client sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Principal(u64);

/// A source: an IPv4 address, or an IPv6 /64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Source(u128);

impl From<IpAddr> for Source {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Source(u128::from(u32::from(v4))),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Source(u128::from(u32::from(v4))),
                None => Source((u128::from(v6) >> 64 << 64) | 1 << 32),
            },
        }
    }
}

/// What became of a failure, for the log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Failed {
    /// The source is now ignored for this account.
    pub pair_blocked: bool,
    /// The account backs off for this long (from untrusted sources).
    pub backoff: Option<Duration>,
    /// The source is now ignored for everything.
    pub source_blocked: bool,
}

#[derive(Debug, Clone, Copy)]
struct Count {
    failures: u32,
    since: Instant,
    blocked_until: Option<Instant>,
}

impl Count {
    fn blocking(&self, now: Instant) -> bool {
        self.blocked_until.is_some_and(|u| now < u)
    }
}

#[derive(Debug, Clone, Copy)]
struct Backoff {
    failures: u32,
    last: Instant,
    until: Option<Instant>,
}

#[derive(Debug, Clone)]
struct Scan {
    since: Instant,
    accounts: Vec<Principal>,
    blocked_until: Option<Instant>,
}

/// A map that holds at most `cap` entries: when full, expired ones go;
/// if it is still full, a new key is not tracked (the blocks in force
/// stay) and the next sweep waits a second, so a flood of new keys does
/// not buy a full scan per packet.
#[derive(Debug)]
struct Bounded<K, V> {
    map: HashMap<K, V>,
    swept: Option<Instant>,
}

impl<K: Eq + Hash, V> Default for Bounded<K, V> {
    fn default() -> Self {
        Bounded { map: HashMap::new(), swept: None }
    }
}

impl<K: Eq + Hash + Copy, V> Bounded<K, V> {
    fn entry(&mut self, key: K, cap: usize, now: Instant, live: impl Fn(&V) -> bool, new: impl FnOnce() -> V) -> Option<&mut V> {
        if !self.map.contains_key(&key) && self.map.len() >= cap {
            if self.swept.is_some_and(|s| now.duration_since(s) < Duration::from_secs(1)) {
                return None;
            }
            self.map.retain(|_, v| live(v));
            self.swept = Some(now);
            if self.map.len() >= cap {
                return None;
            }
        }
        Some(self.map.entry(key).or_insert_with(new))
    }
}

#[derive(Debug, Default)]
struct State {
    pairs: Bounded<(Source, Principal), Count>,
    accounts: Bounded<Principal, Backoff>,
    sources: Bounded<Source, Scan>,
    trusted: Bounded<(Principal, Source), Instant>,
}

#[derive(Debug)]
pub(crate) struct Throttle {
    limits: Limits,
    keys: std::collections::hash_map::RandomState,
    state: Mutex<State>,
}

/// The first back-off; each failure past `account_free` doubles it.
const BACKOFF_BASE: Duration = Duration::from_secs(1);

impl Throttle {
    pub fn new(limits: Limits) -> Self {
        Throttle { limits, keys: Default::default(), state: Mutex::new(State::default()) }
    }

    /// The principal of a SIP username (existing or not).
    pub fn user(&self, username: &str) -> Principal {
        Principal(self.keys.hash_one(("user", username)))
    }

    /// The principal of an incoming trunk's digest credentials.
    pub fn trunk(&self, id: i64) -> Principal {
        Principal(self.keys.hash_one(("trunk", id)))
    }

    /// The key for calls to a trunk from a source it does not take them
    /// from: counted per (source, trunk) only.
    pub fn outsider_of(&self, id: i64) -> Principal {
        Principal(self.keys.hash_one(("outsider", id)))
    }

    /// Whether `ip` is a scanner being ignored altogether right now.
    pub fn source_blocked(&self, ip: IpAddr, now: Instant) -> bool {
        let state = self.state.lock().expect("throttle lock");
        state.sources.map.get(&Source::from(ip)).is_some_and(|s| s.blocked_until.is_some_and(|u| now < u))
    }

    /// Whether a request from `ip` for `who` is ignored right now, unverified:
    /// the pair is blocked, or the account backs off and `ip` is not one it
    /// authenticated from lately.
    pub fn ignores(&self, ip: IpAddr, who: Principal, now: Instant) -> bool {
        let src = Source::from(ip);
        let state = self.state.lock().expect("throttle lock");
        if state.pairs.map.get(&(src, who)).is_some_and(|c| c.blocking(now)) {
            return true;
        }
        let backing_off = state.accounts.map.get(&who).and_then(|b| b.until).is_some_and(|u| now < u);
        backing_off && !self.trusted(&state, who, src, now)
    }

    fn trusted(&self, state: &State, who: Principal, src: Source, now: Instant) -> bool {
        state.trusted.map.get(&(who, src)).is_some_and(|&t| now.duration_since(t) < self.limits.trusted_for)
    }

    /// Counts a proven failure of `ip` as `who`.
    pub fn fail(&self, ip: IpAddr, who: Principal, now: Instant) -> Failed {
        let (src, l) = (Source::from(ip), &self.limits);
        let mut state = self.state.lock().expect("throttle lock");
        let pair_blocked = count(&mut state.pairs, (src, who), l, now);
        let live = |b: &Backoff| b.until.is_some_and(|u| now < u + l.window) || now.duration_since(b.last) < l.window;
        let backoff = state.accounts.entry(who, l.capacity, now, live, || Backoff { failures: 0, last: now, until: None }).and_then(|b| {
            // Quiet for a window past its back-off (or its last failure):
            // the account starts afresh.
            if now >= b.until.unwrap_or(b.last) + l.window {
                *b = Backoff { failures: 0, last: now, until: None };
            }
            b.failures = b.failures.saturating_add(1);
            b.last = now;
            let past = b.failures.checked_sub(l.account_free)?;
            let wait = BACKOFF_BASE.saturating_mul(1u32.checked_shl(past.min(31)).unwrap_or(u32::MAX)).min(l.backoff_max);
            b.until = Some(now + wait);
            Some(wait)
        });
        let live = |s: &Scan| s.blocked_until.is_some_and(|u| now < u) || now.duration_since(s.since) < l.window;
        let fresh = || Scan { since: now, accounts: Vec::new(), blocked_until: None };
        let source_blocked = state.sources.entry(src, l.capacity, now, live, fresh).is_some_and(|s| {
            if !live(s) {
                *s = fresh();
            }
            if !s.accounts.contains(&who) {
                s.accounts.push(who);
            }
            let starts = s.blocked_until.is_none() && s.accounts.len() >= l.source_accounts as usize;
            if starts {
                s.blocked_until = Some(now + l.block_for);
            }
            starts
        });
        Failed { pair_blocked, backoff, source_blocked }
    }

    /// Counts a request from where `who` takes none (a trunk's outsider):
    /// per (source, trunk) only, as nothing proves the source; true when
    /// this one starts a block.
    pub fn outsider(&self, ip: IpAddr, who: Principal, now: Instant) -> bool {
        let mut state = self.state.lock().expect("throttle lock");
        count(&mut state.pairs, (Source::from(ip), who), &self.limits, now)
    }

    /// A success clears the pair and makes `ip` trusted for `who`.
    pub fn succeed(&self, ip: IpAddr, who: Principal, now: Instant) {
        let src = Source::from(ip);
        let trusted_for = self.limits.trusted_for;
        let mut state = self.state.lock().expect("throttle lock");
        state.pairs.map.remove(&(src, who));
        if let Some(t) = state.trusted.entry((who, src), self.limits.capacity, now, |&t| now.duration_since(t) < trusted_for, || now) {
            *t = now;
        }
    }
}

/// One failure of a (source, account) pair; true when it starts a block.
fn count(pairs: &mut Bounded<(Source, Principal), Count>, key: (Source, Principal), l: &Limits, now: Instant) -> bool {
    let live = |c: &Count| c.blocking(now) || now.duration_since(c.since) < l.window;
    let fresh = || Count { failures: 0, since: now, blocked_until: None };
    pairs.entry(key, l.capacity, now, live, fresh).is_some_and(|c| {
        if !live(c) {
            *c = fresh();
        }
        c.failures = c.failures.saturating_add(1);
        let starts = c.blocked_until.is_none() && c.failures >= l.per_pair;
        if starts {
            c.blocked_until = Some(now + l.block_for);
        }
        starts
    })
}

#[cfg(test)]
mod tests;
