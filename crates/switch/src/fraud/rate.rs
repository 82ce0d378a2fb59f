//! Calls per second per customer, as a token bucket: up to `max_cps`
//! calls at once, then `max_cps` a second, so a burst is cut off at once
//! and steady traffic under the limit never is.

use std::collections::HashMap;
use std::sync::Mutex;
use tokio::time::Instant;

#[derive(Default)]
pub(super) struct Rates {
    buckets: Mutex<HashMap<i64, Bucket>>,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Rates {
    /// Takes one call of `customer`'s `per_second` at `now`; false when
    /// none is left (0: no calls at all).
    pub fn take(&self, customer: i64, per_second: i64, now: Instant) -> bool {
        if per_second <= 0 {
            return false;
        }
        let full = per_second as f64;
        let mut buckets = self.buckets.lock().expect("rates lock");
        let b = buckets.entry(customer).or_insert(Bucket { tokens: full, at: now });
        // A lowered limit takes effect at once.
        b.tokens = (b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * full).min(full);
        b.at = now;
        if b.tokens < 1.0 {
            return false;
        }
        b.tokens -= 1.0;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_is_cut_at_the_limit_and_the_rate_comes_back() {
        let r = Rates::default();
        let t = Instant::now();
        assert!(r.take(1, 2, t) && r.take(1, 2, t), "two at once under max_cps 2");
        assert!(!r.take(1, 2, t), "the third in the same instant is over");
        assert!(r.take(2, 2, t), "another customer has its own bucket");
        assert!(!r.take(1, 2, t + Duration::from_millis(400)), "0.8 of a call back");
        assert!(r.take(1, 2, t + Duration::from_millis(500)), "one back after half a second");
        assert!(!r.take(1, 2, t + Duration::from_millis(500)));
        let later = t + Duration::from_secs(60);
        assert!(r.take(1, 2, later) && r.take(1, 2, later) && !r.take(1, 2, later), "idle time saves no more than one second's worth");
        assert!(!r.take(3, 0, t), "max_cps 0: no calls out");
        assert!(!r.take(1, 1, later), "a lowered limit applies at once");
    }
}
