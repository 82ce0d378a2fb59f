//! Demo data: fills a store with plausible customers, DID numbers, SIP accounts, trunks, shared termination gateways, routes and
//! millions of CDRs of a chosen size, the same on every run, for trying the product and for benchmarks (`switchboard seed`).
//!
//! Configuration goes through [`Store::create`] as the system actor, so every rule and the audit log apply exactly as for an
//! operator; attribute values are parsed by [`domain::validate`] as the APIs parse them. CDRs are the store's typed rows
//! ([`store::cdr::IncomingCdr`], [`store::cdr::TerminationCdr`]), written with [`Store::append_cdrs`] in batches, in time order
//! (as a live switch appends them), reusing one batch of rows so that ten million CDRs cost no more memory than five thousand.
//!
//! The pseudo-random generator is a SplitMix64 with a fixed seed: names, numbers, limits and the shape of the traffic are
//! reproducible. Only the CDR times move with the clock (they end just before now), and the ids the store assigns.
//!
//! `rng` is the generator, `names` the word lists and number ranges, `objects` creates the configuration and `traffic` the CDRs.

mod names;
mod objects;
mod rng;
mod traffic;

use anyhow::Result;
use objects::{create_customer, create_gateway, Taken};
use rng::Rng;
use store::{Actor, Store};
use traffic::{write_cdrs, IncomingGen, TerminationGen, Times, Traffic};

/// How much to create. Per-customer counts apply to every customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedSize {
    pub customers: usize,
    pub numbers_per_customer: usize,
    pub accounts_per_customer: usize,
    /// Shared (operator) termination gateways; routes need at least one.
    pub gateways: usize,
    pub routes_per_customer: usize,
    pub incoming_cdrs: u64,
    pub termination_cdrs: u64,
    /// CDR `time_start` is spread over the last N days (0 counts as 1).
    pub days: u32,
}

impl SeedSize {
    /// A store to click through: 10 customers, 20,000 CDRs over 30 days.
    pub fn small() -> Self {
        SeedSize {
            customers: 10,
            numbers_per_customer: 5,
            accounts_per_customer: 5,
            gateways: 3,
            routes_per_customer: 2,
            incoming_cdrs: 10_000,
            termination_cdrs: 10_000,
            days: 30,
        }
    }
}

/// What was created.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub customers: usize,
    pub numbers: usize,
    pub accounts: usize,
    /// Incoming trunks, including each customer's automatic "Default" one.
    pub trunks: usize,
    pub gateways: usize,
    pub routes: usize,
    pub incoming_cdrs: u64,
    pub termination_cdrs: u64,
}

/// Rows per [`Store::append_cdrs`] call (one transaction each).
const BATCH: usize = 5_000;
const SEED: u64 = 0x5357_4254_4452_0001;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

/// Fills `store` with demo data of `size`; it may already hold data (numbers and usernames already taken are avoided).
/// `progress(label, done, total)` is called after each gateway (`"gateways"`), each customer with its numbers, accounts,
/// trunks and routes (`"customers"`) and each CDR batch (`"incoming CDRs"`, `"termination CDRs"`).
pub async fn seed(store: &Store, size: &SeedSize, mut progress: impl FnMut(&str, u64, u64)) -> Result<SeedReport> {
    let actor = Actor::system();
    let mut rng = Rng::new(SEED);
    let mut report = SeedReport::default();
    let mut taken = Taken::load(store).await?;

    let mut gateways = Vec::with_capacity(size.gateways);
    for i in 0..size.gateways {
        gateways.push(create_gateway(store, &actor, &mut rng, i).await?);
        report.gateways += 1;
        progress("gateways", i as u64 + 1, size.gateways as u64);
    }

    let mut tenants = Vec::with_capacity(size.customers);
    for i in 0..size.customers {
        let t = create_customer(store, &actor, &mut rng, &mut taken, size, &gateways).await?;
        report.customers += 1;
        report.trunks += t.trunks.len();
        report.numbers += t.numbers.len();
        report.accounts += t.accounts.len();
        report.routes += t.routes.len();
        tenants.push(t);
        progress("customers", i as u64 + 1, size.customers as u64);
    }
    if tenants.is_empty() {
        return Ok(report);
    }

    let now = domain::time::now_ms();
    let traffic = Traffic::new(&tenants, &mut rng);
    let mut gen = IncomingGen {
        rng: Rng::new(SEED ^ 0x1),
        times: Times::new(now, size.days, size.incoming_cdrs),
        traffic: &traffic,
        gateways: &gateways,
    };
    write_cdrs(store, size.incoming_cdrs, "incoming CDRs", &mut progress, |row, i| gen.fill(row, i)).await?;
    report.incoming_cdrs = size.incoming_cdrs;

    let mut gen = TerminationGen {
        rng: Rng::new(SEED ^ 0x2),
        times: Times::new(now, size.days, size.termination_cdrs),
        traffic: &traffic,
        gateways: &gateways,
    };
    write_cdrs(store, size.termination_cdrs, "termination CDRs", &mut progress, |row, i| gen.fill(row, i)).await?;
    report.termination_cdrs = size.termination_cdrs;
    Ok(report)
}

#[cfg(test)]
mod tests;
