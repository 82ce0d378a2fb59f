//! Fraud limits per customer (docs/limits.md, "Fraud limits"), checked
//! from memory on every call toward the PSTN: destinations blocked by
//! prefix (the customer's list and the domain's), a daily cap of external
//! minutes (`fraud/daily.rs`), calls per second (`fraud/rate.rs`); and
//! how long an answered call may last, which the talk phase's clocks
//! enforce. External caller ids are checked here too: only the customer's
//! own DIDs leave, whatever old data says.

mod daily;
mod rate;

pub(crate) use daily::DailyUsage;

use crate::directory::Snapshot;
use std::sync::Arc;

pub(crate) const BLOCKED_BY_CUSTOMER: &str = "Blocked destination prefix (customer)";
pub(crate) const BLOCKED_BY_DOMAIN: &str = "Blocked destination prefix (domain)";
pub(crate) const DAILY_LIMIT: &str = "Daily minutes limit reached";
pub(crate) const CPS_LIMIT: &str = "Calls per second limit exceeded";
pub(crate) const MAX_DURATION: &str = "Maximum call duration reached";

/// A call toward the PSTN refused by a limit: the SIP answer and the
/// CDR's internal reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub code: u16,
    pub reason: &'static str,
    pub internal: &'static str,
    /// `Retry-After` seconds: the refusal passes soon.
    pub retry_after: Option<&'static str>,
}

impl Refusal {
    pub fn headers(&self) -> Vec<(&'static str, &'static str)> {
        self.retry_after.map(|s| vec![("Retry-After", s)]).unwrap_or_default()
    }
}

/// When an answered call is hung up at the latest, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallLimit {
    pub seconds: u32,
    pub why: &'static str,
}

/// The limits' state: calls per second and minutes used today.
pub(crate) struct Fraud {
    rates: rate::Rates,
    pub daily: Arc<DailyUsage>,
}

impl Fraud {
    pub fn new(daily: Arc<DailyUsage>) -> Fraud {
        Fraud { rates: rate::Rates::default(), daily }
    }

    /// Admits a call of `customer` toward the PSTN to `numbers` (as
    /// dialled, and as each route would send it): refused when one starts
    /// with a blocked prefix, when today's minutes are used up, or over
    /// the calls per second (checked last: only a call that may go out
    /// takes one). Admitted, the latest the call may be hung up.
    pub fn admit_out(&self, snap: &Snapshot, customer: i64, numbers: &[&str], now_ms: i64) -> Result<Option<CallLimit>, Refusal> {
        let row = snap.customers.get(&customer);
        let forbidden = |internal| Refusal { code: 403, reason: "Forbidden", internal, retry_after: None };
        let starts = |list: &[String]| numbers.iter().any(|n| list.iter().any(|p| n.trim_start_matches('+').starts_with(p.as_str())));
        if row.is_some_and(|c| starts(&c.blocked_prefixes)) {
            return Err(forbidden(BLOCKED_BY_CUSTOMER));
        }
        if starts(&snap.blocked_prefixes) {
            return Err(forbidden(BLOCKED_BY_DOMAIN));
        }
        let mut limit = call_limit(snap, customer);
        if let Some(minutes) = row.and_then(|c| c.daily_minutes_limit) {
            let left = minutes.saturating_mul(60) - self.daily.used(customer, now_ms);
            if left <= 0 {
                return Err(forbidden(DAILY_LIMIT));
            }
            let left = u32::try_from(left).unwrap_or(u32::MAX);
            if limit.is_none_or(|l| left < l.seconds) {
                limit = Some(CallLimit { seconds: left, why: DAILY_LIMIT });
            }
        }
        if let Some(cps) = row.and_then(|c| c.max_cps) {
            if !self.rates.take(customer, cps, tokio::time::Instant::now()) {
                return Err(Refusal { code: 503, reason: "Service Unavailable", internal: CPS_LIMIT, retry_after: Some("1") });
            }
        }
        Ok(limit)
    }
}

/// The customer's `max_call_duration`, for any call of it with a CDR.
pub(crate) fn call_limit(snap: &Snapshot, customer: i64) -> Option<CallLimit> {
    let seconds = snap.customers.get(&customer)?.max_call_duration?;
    Some(CallLimit { seconds: u32::try_from(seconds.max(1)).unwrap_or(u32::MAX), why: MAX_DURATION })
}

/// The external caller id a call of `customer` may show: `number` if it
/// is one of the customer's DIDs or the customer may show any; otherwise
/// none (a number that left the customer after it was saved).
pub(crate) fn caller_number<'a>(snap: &Snapshot, customer: i64, number: Option<&'a str>) -> Option<&'a str> {
    let number = number?;
    let any = snap.customers.get(&customer).is_some_and(|c| c.allow_any_caller_id);
    if any || snap.dids.get(number).is_some_and(|d| d.customer_id == customer) {
        return Some(number);
    }
    tracing::warn!(customer, number, "external caller id is not one of the customer's DIDs: not sent");
    None
}

#[cfg(test)]
mod tests;
