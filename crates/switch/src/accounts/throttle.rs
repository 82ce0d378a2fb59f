//! Failed-authentication throttling per source address: past the limit a
//! source gets silence (no response, no hashing, no store lookup) until the
//! block ends, so a scanner costs us almost nothing.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

#[derive(Debug)]
pub(crate) struct Throttle {
    max_failures: u32,
    window: Duration,
    block_for: Duration,
    state: Mutex<HashMap<IpAddr, Entry>>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    since: Instant,
    blocked_until: Option<Instant>,
}

impl Throttle {
    pub fn new(max_failures: u32, window: Duration, block_for: Duration) -> Self {
        Throttle { max_failures, window, block_for, state: Mutex::new(HashMap::new()) }
    }

    /// Whether requests from `ip` are ignored right now.
    pub fn blocked(&self, ip: IpAddr, now: Instant) -> bool {
        let state = self.state.lock().expect("throttle lock");
        state.get(&ip).and_then(|e| e.blocked_until).is_some_and(|until| now < until)
    }

    /// Counts a failure; true when this one starts a block.
    pub fn fail(&self, ip: IpAddr, now: Instant) -> bool {
        let mut state = self.state.lock().expect("throttle lock");
        if state.len() > 100_000 {
            state.retain(|_, e| now.duration_since(e.since) < self.window || e.blocked_until.is_some_and(|u| now < u));
        }
        let e = state.entry(ip).or_insert(Entry { failures: 0, since: now, blocked_until: None });
        if now.duration_since(e.since) >= self.window || e.blocked_until.is_some_and(|u| now >= u) {
            *e = Entry { failures: 0, since: now, blocked_until: None };
        }
        e.failures += 1;
        if e.failures >= self.max_failures && e.blocked_until.is_none() {
            e.blocked_until = Some(now + self.block_for);
            return true;
        }
        false
    }

    /// A successful login clears the source's record.
    pub fn succeed(&self, ip: IpAddr) {
        self.state.lock().expect("throttle lock").remove(&ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn blocks_after_the_limit_and_releases_later() {
        let t = Throttle::new(3, Duration::from_secs(60), Duration::from_secs(300));
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        assert!(!t.fail(ip, Instant::now()));
        assert!(!t.fail(ip, Instant::now()));
        assert!(t.fail(ip, Instant::now()), "third failure starts the block");
        assert!(t.blocked(ip, Instant::now()));
        assert!(!t.blocked("192.0.2.8".parse().unwrap(), Instant::now()), "others unaffected");
        tokio::time::advance(Duration::from_secs(301)).await;
        assert!(!t.blocked(ip, Instant::now()), "released later");
        assert!(!t.fail(ip, Instant::now()), "counting starts afresh");
    }
}
