//! The seeder's CDRs: call outcomes, start times over the window with a business-hours peak, who calls how much, and the rows of
//! incoming and termination CDRs filled field by field into one reused batch.

use super::names::{OUTSIDE, PEOPLE};
use super::objects::{Gateway, Tenant};
use super::rng::Rng;
use super::{BATCH, DAY, HOUR};
use anyhow::Result;
use std::fmt::Write as _;
use store::cdr::{CdrRow, IncomingCdr, TerminationCdr};
use store::Store;

/// How a call ended: weight (of 100), A-leg code and reason, our reason, ringing time in ms.
struct Outcome {
    weight: u64,
    code: i64,
    reason: &'static str,
    internal: &'static str,
    ring: (i64, i64),
}

const fn outcome(weight: u64, code: i64, reason: &'static str, internal: &'static str, ring: (i64, i64)) -> Outcome {
    Outcome { weight, code, reason, internal, ring }
}

const INCOMING_OUTCOMES: &[Outcome] = &[
    outcome(45, 200, "BYE", "Normal clearing", (2_000, 15_000)),
    outcome(19, 200, "OK", "Normal clearing", (1_000, 10_000)),
    outcome(12, 487, "Request Terminated", "Caller cancelled", (3_000, 30_000)),
    outcome(8, 486, "Busy Here", "Callee busy", (300, 3_000)),
    outcome(8, 480, "Temporarily Unavailable", "No answer", (30_000, 60_000)),
    outcome(3, 404, "Not Found", "Unknown destination", (50, 800)),
    outcome(3, 503, "Service Unavailable", "Capacity limit reached", (20, 300)),
    outcome(2, 603, "Decline", "Callee declined", (2_000, 12_000)),
];

const TERMINATION_OUTCOMES: &[Outcome] = &[
    outcome(42, 200, "BYE", "Normal clearing", (3_000, 20_000)),
    outcome(18, 200, "OK", "Normal clearing", (2_000, 12_000)),
    outcome(13, 487, "Request Terminated", "Caller cancelled", (3_000, 30_000)),
    outcome(9, 486, "Busy Here", "Callee busy", (500, 4_000)),
    outcome(8, 480, "Temporarily Unavailable", "No answer", (30_000, 60_000)),
    outcome(4, 404, "Not Found", "Number does not exist", (100, 1_500)),
    outcome(4, 503, "Service Unavailable", "Gateway unavailable", (20, 500)),
    outcome(2, 403, "Forbidden", "Rejected by carrier", (50, 600)),
];

const DISABLED_NUMBER: Outcome = outcome(0, 403, "Forbidden", "Number is disabled", (10, 200));
const NO_EXTERNAL_CALLS: Outcome = outcome(0, 403, "Forbidden", "External calls not allowed", (10, 200));

fn draw_outcome<'a>(rng: &mut Rng, table: &'a [Outcome]) -> &'a Outcome {
    let mut roll = rng.below(100);
    for o in table {
        if roll < o.weight {
            return o;
        }
        roll -= o.weight;
    }
    &table[0]
}

/// Sets a text column in place, reusing its buffer.
fn text(v: &mut Option<String>) -> &mut String {
    let s = v.get_or_insert_with(|| String::with_capacity(48));
    s.clear();
    s
}

/// The times of a call: start, answer, end (epoch ms) and the whole seconds talked.
struct CallTimes {
    start: i64,
    connect: Option<i64>,
    end: i64,
    duration: i64,
}

/// The times of a call started at `start` with `outcome`; ends no later than `now`.
fn call_times(rng: &mut Rng, o: &Outcome, start: i64, now: i64) -> CallTimes {
    let ring = rng.range(o.ring.0, o.ring.1);
    if o.code == 200 {
        let connect = start + ring;
        // Talk time: exponential, mean 2.5 min, capped at 3 h and at now.
        let talk = (-(1.0 - rng.unit()).ln() * 150_000.0) as i64;
        let talk = talk.clamp(400, 3 * HOUR).min(now - connect).max(0);
        CallTimes { start, connect: Some(connect), end: connect + talk, duration: talk / 1000 }
    } else {
        CallTimes { start, connect: None, end: (start + ring).min(now), duration: 0 }
    }
}

/// Call start times: `n` of them in increasing order, spread over the last `days` days with a weekday business-hours peak.
pub(super) struct Times {
    /// (start, length, weight) of each hour (the first and last may be partial).
    hours: Vec<(i64, i64, f64)>,
    total: f64,
    n: u64,
    now: i64,
    at: usize,
    before: f64,
}

impl Times {
    pub(super) fn new(now: i64, days: u32, n: u64) -> Times {
        // Calls end by `now`: the latest starts a minute before it.
        let end = now - 60_000;
        let start = end - i64::from(days.max(1)) * DAY;
        let mut hours = Vec::new();
        let mut total = 0.0;
        let mut t = start;
        while t < end {
            let next = ((t.div_euclid(HOUR) + 1) * HOUR).min(end);
            let w = Self::weight(t) * (next - t) as f64 / HOUR as f64;
            hours.push((t, next - t, w));
            total += w;
            t = next;
        }
        Times { hours, total, n: n.max(1), now, at: 0, before: 0.0 }
    }

    /// Relative call volume of the hour containing `t` (UTC; 1970-01-01 was a Thursday).
    fn weight(t: i64) -> f64 {
        let day = t.div_euclid(DAY);
        let hour = t.rem_euclid(DAY) / HOUR;
        let weekend = (day + 3).rem_euclid(7) >= 5;
        match (weekend, hour) {
            (false, 7..=16) => 10.0,
            (false, 6 | 17..=19) => 4.0,
            (true, 8..=17) => 2.5,
            _ => 1.0,
        }
    }

    /// The start of call `i` (of `n`); `i` must not decrease between calls.
    pub(super) fn at(&mut self, i: u64, jitter: f64) -> i64 {
        let q = (i as f64 + jitter) / self.n as f64 * self.total;
        while self.at + 1 < self.hours.len() && self.before + self.hours[self.at].2 <= q {
            self.before += self.hours[self.at].2;
            self.at += 1;
        }
        let (start, len, w) = self.hours[self.at];
        let off = if w > 0.0 { ((q - self.before) / w * len as f64) as i64 } else { 0 };
        start + off.clamp(0, len - 1)
    }
}

/// Who calls how much: customers weighted unevenly, as real traffic is.
pub(super) struct Traffic<'a> {
    tenants: &'a [Tenant],
    /// Cumulative weights.
    cum: Vec<u64>,
}

impl<'a> Traffic<'a> {
    pub(super) fn new(tenants: &'a [Tenant], rng: &mut Rng) -> Self {
        let mut sum = 0;
        let cum = tenants
            .iter()
            .map(|_| {
                sum += *rng.pick(&[1, 1, 2, 3, 5, 8, 13]);
                sum
            })
            .collect();
        Traffic { tenants, cum }
    }

    fn pick(&self, rng: &mut Rng) -> &'a Tenant {
        let roll = rng.below(*self.cum.last().expect("at least one customer"));
        &self.tenants[self.cum.partition_point(|&c| c <= roll)]
    }
}

fn push_outside_number(rng: &mut Rng, s: &mut String) {
    let &(prefix, digits) = rng.pick(OUTSIDE);
    s.push_str(prefix);
    rng.push_digits(s, digits);
}

pub(super) struct IncomingGen<'a> {
    pub(super) rng: Rng,
    pub(super) times: Times,
    pub(super) traffic: &'a Traffic<'a>,
    /// Calls come in from the same carriers (their hosts end the call ids).
    pub(super) gateways: &'a [Gateway],
}

impl IncomingGen<'_> {
    /// Overwrites every field of `row` with call `i`.
    pub(super) fn fill(&mut self, row: &mut IncomingCdr, i: u64) {
        let rng = &mut self.rng;
        let t = self.traffic.pick(rng);
        let start = self.times.at(i, rng.unit());
        let number = (!t.numbers.is_empty()).then(|| rng.pick(&t.numbers));
        let o = match number {
            Some(n) if !n.enabled => &DISABLED_NUMBER,
            _ => draw_outcome(rng, INCOMING_OUTCOMES),
        };
        row.customer_id = Some(t.id);
        row.incoming_trunk_id = (!t.trunks.is_empty()).then(|| *rng.pick(&t.trunks));
        let times = call_times(rng, o, start, self.times.now);
        (row.time_start, row.time_connect, row.time_end, row.duration) = (times.start, times.connect, Some(times.end), times.duration);
        // Mostly callers who speak the customer's language.
        let people = if rng.percent(70) { t.people } else { *rng.pick(PEOPLE) };
        text(&mut row.src_name).push_str(rng.pick(people).0);
        push_outside_number(rng, text(&mut row.src_number));
        let dst = text(&mut row.dst_number);
        match number {
            Some(n) => dst.push_str(&n.number),
            None => push_outside_number(rng, dst),
        }
        text(&mut row.did_number).push_str(row.dst_number.as_deref().unwrap_or_default());
        row.lega_disconnect_code = Some(o.code);
        text(&mut row.lega_disconnect_reason).push_str(o.reason);
        let internal = if o.code == 200 && number.is_some_and(|n| n.forwarded) { "Forwarded" } else { o.internal };
        text(&mut row.internal_reason).push_str(internal);
        row.success = o.code == 200;
        let call_id = text(&mut row.call_id);
        rng.push_hex(call_id, 32);
        call_id.push('@');
        call_id.push_str(self.gateways.get(i as usize % self.gateways.len().max(1)).map_or("sbc.carrier.example", |g| g.host.as_str()));
        let global = text(&mut row.global_tag);
        rng.push_hex(global, 11);
        global.push('-');
        rng.push_hex(global, 16);
    }
}

pub(super) struct TerminationGen<'a> {
    pub(super) rng: Rng,
    pub(super) times: Times,
    pub(super) traffic: &'a Traffic<'a>,
    pub(super) gateways: &'a [Gateway],
}

impl TerminationGen<'_> {
    /// Overwrites every field of `row` with call `i`.
    pub(super) fn fill(&mut self, row: &mut TerminationCdr, i: u64) {
        let rng = &mut self.rng;
        let t = self.traffic.pick(rng);
        let start = self.times.at(i, rng.unit());
        // Mostly accounts that may call out; now and then one that may not, and is refused before routing.
        let account = if !t.callers.is_empty() && !rng.percent(2) {
            Some(&t.accounts[*rng.pick(&t.callers)])
        } else {
            (!t.accounts.is_empty()).then(|| rng.pick(&t.accounts))
        };
        let refused = account.is_some_and(|a| !a.external_calls);
        let route = (!t.routes.is_empty() && !refused).then(|| rng.pick(&t.routes));
        let gateway = route.map(|r| &self.gateways[r.gateway]);
        let o = if refused { &NO_EXTERNAL_CALLS } else { draw_outcome(rng, TERMINATION_OUTCOMES) };

        row.customer_id = Some(t.id);
        row.sip_account_id = account.map(|a| a.id);
        row.route_id = route.map(|r| r.id);
        row.gateway_id = gateway.map(|g| g.id);
        let times = call_times(rng, o, start, self.times.now);
        (row.time_start, row.time_connect, row.time_end, row.duration) = (times.start, times.connect, Some(times.end), times.duration);
        let local = text(&mut row.local_tag);
        rng.push_hex(local, 8);
        local.push('-');
        rng.push_hex(local, 8);
        let global = text(&mut row.global_tag);
        for (k, n) in [8, 4, 4, 4, 12].into_iter().enumerate() {
            if k > 0 {
                global.push('-');
            }
            rng.push_hex(global, n);
        }
        row.lega_disconnect_code = Some(o.code);
        text(&mut row.lega_disconnect_reason).push_str(o.reason);
        text(&mut row.internal_reason).push_str(o.internal);

        let (name, inside, outside) = match account {
            Some(a) => (a.name, a.inside.as_str(), a.outside.as_str()),
            None => (t.name.as_str(), "100", t.numbers.first().map_or("100", |n| n.number.as_str())),
        };
        text(&mut row.src_name_in).push_str(name);
        text(&mut row.src_number_in).push_str(inside);
        // The dialled number: a route's prefix and the rest of a plausible number, or anywhere for a catch-all route.
        let dialled = text(&mut row.dst_number_in);
        match route.map(|r| r.prefix).filter(|p| !p.is_empty()) {
            Some(p) => {
                dialled.push_str(p);
                let len: usize = match p.as_bytes() {
                    [b'4', b'4' | b'9', ..] => 12,
                    _ => 11,
                };
                rng.push_digits(dialled, len.saturating_sub(p.len()).max(4));
            }
            None => push_outside_number(rng, dialled),
        }
        text(&mut row.src_name_out).push_str(name);
        let (src_prefix, dst_prefix) = gateway.map_or(("", ""), |g| (g.src_prefix, g.dst_prefix));
        let src_out = text(&mut row.src_number_out);
        src_out.push_str(src_prefix);
        src_out.push_str(outside);
        let dst_out = text(&mut row.dst_number_out);
        dst_out.push_str(dst_prefix);
        dst_out.push_str(row.dst_number_in.as_deref().unwrap_or_default());
        let call_id = text(&mut row.orig_call_id);
        rng.push_hex(call_id, 32);
        let _ = write!(call_id, "@192.168.{}.{}", rng.below(8), 2 + rng.below(250));
        row.success = o.code == 200;
    }
}

/// Writes `total` CDRs in batches of [`BATCH`], filling one reused batch of rows.
pub(super) async fn write_cdrs<R: CdrRow + Default>(
    store: &Store,
    total: u64,
    label: &str,
    progress: &mut impl FnMut(&str, u64, u64),
    mut fill: impl FnMut(&mut R, u64),
) -> Result<()> {
    let mut rows: Vec<R> = Vec::new();
    let mut done = 0u64;
    while done < total {
        let n = (total - done).min(BATCH as u64) as usize;
        rows.truncate(n);
        rows.resize_with(n, R::default);
        for (k, row) in rows.iter_mut().enumerate() {
            fill(row, done + k as u64);
        }
        store.append_cdrs(&rows).await?;
        done += n as u64;
        progress(label, done, total);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_times_rise_within_the_window_and_peak_in_office_hours() {
        let now = 1_760_000_000_000;
        let n = 50_000;
        let mut times = Times::new(now, 14, n);
        let mut rng = Rng::new(1);
        let mut last = i64::MIN;
        let (mut office, mut night) = (0, 0);
        for i in 0..n {
            let t = times.at(i, rng.unit());
            assert!(t >= last && t >= now - 14 * DAY - 60_000 && t < now - 60_000);
            last = t;
            let weekday = (t.div_euclid(DAY) + 3).rem_euclid(7) < 5;
            match t.rem_euclid(DAY) / HOUR {
                9..=14 if weekday => office += 1,
                0..=5 if weekday => night += 1,
                _ => {}
            }
        }
        assert!(office > 5 * night, "{office} vs {night}");
    }
}
