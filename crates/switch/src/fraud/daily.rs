//! Minutes of answered calls toward the PSTN per customer and UTC day:
//! read once from today's termination CDRs at start, then counted in
//! memory as each termination CDR is written, so a call's admission costs
//! no query. A call counts on the day it started.

use std::collections::HashMap;
use std::sync::Mutex;
use store::Store;

const DAY_MS: i64 = 86_400_000;

fn day(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS)
}

/// (day, billed seconds) per customer.
#[derive(Default)]
pub(crate) struct DailyUsage {
    used: Mutex<HashMap<i64, (i64, i64)>>,
}

impl DailyUsage {
    /// Today's seconds so far, from the store.
    pub async fn load(store: &Store) -> Result<DailyUsage, store::Error> {
        let today = day(domain::time::now_ms());
        let seconds = store.termination_seconds_since(today * DAY_MS).await?;
        Ok(DailyUsage { used: Mutex::new(seconds.into_iter().map(|(c, s)| (c, (today, s))).collect()) })
    }

    /// A termination CDR of `customer` for a call started at `time_start`
    /// (epoch ms), billed `seconds`.
    pub fn add(&self, customer: i64, time_start: i64, seconds: i64) {
        if seconds <= 0 {
            return;
        }
        let d = day(time_start);
        let mut used = self.used.lock().expect("daily usage lock");
        let entry = used.entry(customer).or_insert((d, 0));
        if entry.0 < d {
            *entry = (d, 0);
        }
        // A call begun yesterday and ended today counts for yesterday.
        if entry.0 == d {
            entry.1 += seconds;
        }
    }

    /// Seconds `customer` used on the day of `now` (epoch ms).
    pub fn used(&self, customer: i64, now: i64) -> i64 {
        match self.used.lock().expect("daily usage lock").get(&customer) {
            Some(&(d, s)) if d == day(now) => s,
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_count_per_customer_and_utc_day() {
        let u = DailyUsage::default();
        let today = 20_000 * DAY_MS + 3_600_000;
        u.add(1, today, 90);
        u.add(1, today + 1000, 30);
        u.add(2, today, 5);
        u.add(1, today, 0);
        assert_eq!((u.used(1, today), u.used(2, today), u.used(3, today)), (120, 5, 0));
        assert_eq!(u.used(1, today + DAY_MS), 0, "a new day starts from nothing");
        u.add(1, today - DAY_MS, 600);
        assert_eq!(u.used(1, today), 120, "yesterday's call is not today's");
        u.add(1, today + DAY_MS, 10);
        assert_eq!((u.used(1, today + DAY_MS), u.used(1, today)), (10, 0));
    }

    #[tokio::test]
    async fn the_start_reads_todays_termination_cdrs() {
        for (backend, store, _db) in store::testing::stores().await {
            reads_today(backend, &store).await;
        }
    }

    async fn reads_today(backend: &str, store: &Store) {
        let now = domain::time::now_ms();
        let cdr = |customer, time_start, duration| store::cdr::TerminationCdr {
            customer_id: Some(customer),
            time_start,
            duration,
            ..store::cdr::TerminationCdr::default()
        };
        let midnight = day(now) * DAY_MS;
        store.append_cdrs(&[cdr(1, now, 60), cdr(1, midnight, 30), cdr(1, midnight - 1, 999), cdr(2, now, 7)]).await.unwrap();
        let u = DailyUsage::load(store).await.unwrap();
        assert_eq!((u.used(1, now), u.used(2, now)), (90, 7), "{backend}");
    }
}
