//! Login back-off, for the API's Basic credentials and both UIs' sign-in
//! forms. Failures count per (client address, login), with an exponential
//! wait after a few, and per login across addresses, which only slows every
//! attempt on that login by a small capped delay. So a guesser gets slower
//! and slower, a distributed one too, and an attacker elsewhere can never
//! keep the owner out, signing in from an address that has not failed, for
//! more than [`LOGIN_DELAY_CAP`]. Sans-IO: time is passed in.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Failures from one address on one login before it must wait (typos).
pub const PAIR_FREE: u32 = 3;
/// The first wait of an address; it doubles with each further failure.
pub const PAIR_BASE: Duration = Duration::from_secs(1);
/// The longest wait of one address on one login.
pub const PAIR_CAP: Duration = Duration::from_secs(15 * 60);
/// Failures on one login, from any address, before every attempt on it is delayed.
pub const LOGIN_FREE: u32 = 10;
/// The first delay of a login under attack; it doubles with each further failure.
pub const LOGIN_DELAY_BASE: Duration = Duration::from_millis(250);
/// The most any attempt on a login is delayed because of failures elsewhere.
pub const LOGIN_DELAY_CAP: Duration = Duration::from_secs(2);
/// Failures are forgotten this long after the last one.
pub const FORGET_AFTER: Duration = Duration::from_secs(3600);
/// Entries kept at most per table (addresses and logins are the caller's to invent).
const MAX_ENTRIES: usize = 100_000;

/// What to do with an attempt before its password is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Check it, after this delay (zero unless the login is under attack).
    Check { delay: Duration },
    /// Refuse it unchecked (429): this address must wait this long.
    Wait(Duration),
}

/// A back-off that began or grew, for the audit log and the tracing events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// `"address"`: one address must wait; `"login"`: every attempt on the login is delayed.
    pub scope: &'static str,
    pub failures: u32,
    pub wait: Duration,
}

#[derive(Debug, Clone, Copy)]
struct Tally {
    failures: u32,
    last: Instant,
}

/// The failure tallies (one per server, behind a mutex).
#[derive(Debug, Default)]
pub struct Backoff {
    pairs: HashMap<(IpAddr, String), Tally>,
    logins: HashMap<String, Tally>,
}

/// The address a back-off is kept for: IPv6 clients by their /64 (one
/// subscriber's addresses), IPv4-mapped ones as IPv4.
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
        v4 => v4,
    }
}

/// `base` doubled `steps` times, at most `cap`.
fn doubled(base: Duration, steps: u32, cap: Duration) -> Duration {
    base.checked_mul(1u32.checked_shl(steps).unwrap_or(u32::MAX)).map_or(cap, |d| d.min(cap))
}

fn pair_wait(failures: u32) -> Duration {
    if failures < PAIR_FREE {
        return Duration::ZERO;
    }
    doubled(PAIR_BASE, failures - PAIR_FREE, PAIR_CAP)
}

fn login_delay(failures: u32) -> Duration {
    if failures < LOGIN_FREE {
        return Duration::ZERO;
    }
    doubled(LOGIN_DELAY_BASE, failures - LOGIN_FREE, LOGIN_DELAY_CAP)
}

fn live(t: Option<&Tally>, now: Instant) -> Option<Tally> {
    t.copied().filter(|t| now.saturating_duration_since(t.last) < FORGET_AFTER)
}

impl Backoff {
    /// Whether an attempt on `login` from `ip` may be checked now.
    pub fn check(&self, ip: IpAddr, login: &str, now: Instant) -> Verdict {
        if let Some(p) = live(self.pairs.get(&(address_key(ip), login.to_owned())), now) {
            let until = p.last + pair_wait(p.failures);
            if until > now {
                return Verdict::Wait(until - now);
            }
        }
        let delay = live(self.logins.get(login), now).map_or(Duration::ZERO, |t| login_delay(t.failures));
        Verdict::Check { delay }
    }

    /// Counts a failed attempt; answers the back-offs that began or grew.
    pub fn failed(&mut self, ip: IpAddr, login: &str, now: Instant) -> Vec<Event> {
        self.prune(now);
        let mut events = Vec::new();
        let key = (address_key(ip), login.to_owned());
        let pair = live(self.pairs.get(&key), now).map_or(0, |t| t.failures).saturating_add(1);
        self.pairs.insert(key, Tally { failures: pair, last: now });
        if pair >= PAIR_FREE {
            events.push(Event { scope: "address", failures: pair, wait: pair_wait(pair) });
        }
        let total = live(self.logins.get(login), now).map_or(0, |t| t.failures).saturating_add(1);
        self.logins.insert(login.to_owned(), Tally { failures: total, last: now });
        // Once per doubling until the cap, not once per failure.
        if total >= LOGIN_FREE && login_delay(total) > login_delay(total - 1) {
            events.push(Event { scope: "login", failures: total, wait: login_delay(total) });
        }
        events
    }

    /// A good password from `ip`: that address starts afresh. The login's
    /// tally stays (the owner signing in does not end an attack elsewhere).
    pub fn succeeded(&mut self, ip: IpAddr, login: &str) {
        self.pairs.remove(&(address_key(ip), login.to_owned()));
    }

    /// Keeps the tables bounded: forgotten entries go first; if an attacker
    /// still fills them, the per-address tallies are dropped (the per-login
    /// ones, fewer and the ones that protect the owner, are kept longer).
    fn prune(&mut self, now: Instant) {
        if self.pairs.len() >= MAX_ENTRIES {
            self.pairs.retain(|_, t| now.saturating_duration_since(t.last) < FORGET_AFTER);
            if self.pairs.len() >= MAX_ENTRIES {
                tracing::warn!(entries = self.pairs.len(), "login back-off table full; per-address tallies dropped");
                self.pairs.clear();
            }
        }
        if self.logins.len() >= MAX_ENTRIES {
            self.logins.retain(|_, t| now.saturating_duration_since(t.last) < FORGET_AFTER);
            if self.logins.len() >= MAX_ENTRIES {
                tracing::warn!(entries = self.logins.len(), "login back-off table full; per-login tallies dropped");
                self.logins.clear();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const X: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(203, 0, 113, 7));
    const Y: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 9));

    #[test]
    fn an_address_waits_longer_with_each_failure_and_others_only_a_capped_delay() {
        let (mut b, t0) = (Backoff::default(), Instant::now());
        for i in 1..PAIR_FREE {
            b.failed(X, "op", t0);
            assert_eq!(b.check(X, "op", t0), Verdict::Check { delay: Duration::ZERO }, "failure {i} is free");
        }
        b.failed(X, "op", t0);
        assert_eq!(b.check(X, "op", t0), Verdict::Wait(PAIR_BASE));
        assert_eq!(b.check(X, "op", t0 + PAIR_BASE), Verdict::Check { delay: Duration::ZERO });
        b.failed(X, "op", t0 + PAIR_BASE);
        assert_eq!(b.check(X, "op", t0 + PAIR_BASE), Verdict::Wait(2 * PAIR_BASE));

        // Hundreds of failures from many addresses: each address waits up to
        // the cap, and a fresh address is only ever delayed, by the cap at most.
        let mut now = t0;
        for i in 0..500u32 {
            now += Duration::from_millis(10);
            b.failed(IpAddr::V4((0x0a00_0000 + i % 40).into()), "op", now);
        }
        assert!(matches!(b.check(IpAddr::V4(0x0a00_0001.into()), "op", now), Verdict::Wait(w) if w > Duration::from_secs(60)));
        assert_eq!(b.check(Y, "op", now), Verdict::Check { delay: LOGIN_DELAY_CAP });
        assert_eq!(b.check(Y, "someone-else", now), Verdict::Check { delay: Duration::ZERO });
        for _ in 0..1000 {
            b.failed(X, "op", now);
        }
        assert_eq!(b.check(X, "op", now), Verdict::Wait(PAIR_CAP), "capped, no overflow");
        assert_eq!(b.check(X, "op", now + FORGET_AFTER), Verdict::Check { delay: Duration::ZERO }, "forgotten");
    }

    #[test]
    fn a_good_password_clears_its_address_only() {
        let (mut b, t0) = (Backoff::default(), Instant::now());
        for _ in 0..LOGIN_FREE {
            b.failed(X, "op", t0);
            b.failed(Y, "op", t0);
        }
        b.succeeded(Y, "op");
        assert!(matches!(b.check(Y, "op", t0), Verdict::Check { delay } if delay > Duration::ZERO));
        assert!(matches!(b.check(X, "op", t0), Verdict::Wait(_)));
    }

    #[test]
    fn events_mark_where_back_off_begins_and_grows() {
        let (mut b, t0) = (Backoff::default(), Instant::now());
        let scopes: Vec<Vec<&str>> = (0..LOGIN_FREE + 1).map(|_| b.failed(X, "op", t0).into_iter().map(|e| e.scope).collect()).collect();
        assert!(scopes[..PAIR_FREE as usize - 1].iter().all(Vec::is_empty));
        assert_eq!(scopes[PAIR_FREE as usize - 1], ["address"]);
        assert_eq!(scopes[LOGIN_FREE as usize - 1], ["address", "login"]);
        assert_eq!(scopes[LOGIN_FREE as usize], ["address", "login"]);
    }

    #[test]
    fn ipv6_clients_are_kept_by_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        assert_eq!(address_key("::ffff:192.0.2.1".parse().unwrap()), "192.0.2.1".parse::<IpAddr>().unwrap());
    }
}
