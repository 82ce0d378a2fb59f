//! Route selection time with 100,000 routes: the indexed `RouteTable::plan`
//! against a linear scan of every route (`plan_by_scan`), same table, same
//! numbers, same answers. Run with `cargo bench -p domain --bench routing`;
//! `ROUTES=` and `CALLS=` change the sizes.

use domain::routing::{GatewayDef, RouteDef, RouteTable, TrmMode};
use std::hint::black_box;
use std::time::Instant;

/// A small deterministic generator: the same table on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn digits(&mut self, n: usize) -> String {
        (0..n).map(|_| char::from(b'0' + self.below(10) as u8)).collect()
    }
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

const CUSTOMERS: u64 = 500;
const GATEWAYS: i64 = 200;

/// The shape of a real A-Z deck: country codes of one to three digits,
/// then area or operator codes, each prefix unique per owner and served by
/// one to three carriers; most routes are the operator's shared ones, one
/// in five belongs to a customer (500 of them). Some routes and gateways
/// rewrite numbers, a few routes match on a source prefix.
fn table(rng: &mut Rng, n: usize) -> (RouteTable, Vec<String>) {
    let countries: Vec<String> = (0..250)
        .map(|_| {
            let len = 1 + rng.below(3) as usize;
            format!("{}{}", 1 + rng.below(9), rng.digits(len - 1))
        })
        .collect();
    let gateways = (1..=GATEWAYS)
        .map(|id| GatewayDef {
            id,
            // Every fourth gateway belongs to a customer: gateway g to customer g + 1.
            customer_id: (id % 4 == 0).then_some(id % CUSTOMERS as i64 + 1),
            name: format!("carrier {id}"),
            host: format!("sip{id}.carrier.example"),
            port: 5060,
            network_protocol: "IPv4_only".into(),
            transport_protocol: "UDP".into(),
            codecs: "PCMA,PCMU".into(),
            authorization_name: None,
            authorization_password: None,
            src_rewrite_rule: None,
            src_rewrite_result: None,
            dst_rewrite_rule: (id % 3 == 0).then(|| "^(\\d+)$".into()),
            dst_rewrite_result: (id % 3 == 0).then(|| "00\\1".into()),
        })
        .collect();
    let mut seen = std::collections::HashSet::new();
    let mut prefixes = Vec::new();
    let mut routes = Vec::with_capacity(n);
    while routes.len() < n {
        let country = &countries[rng.below(countries.len() as u64) as usize];
        let extra = rng.below(6) as usize;
        let dst = format!("{country}{}", rng.digits(extra));
        let customer = (rng.below(5) == 0).then(|| 1 + rng.below(CUSTOMERS) as i64);
        if !seen.insert((customer, dst.clone())) {
            continue;
        }
        prefixes.push(dst.clone());
        for _ in 0..1 + rng.below(3) {
            let id = routes.len() as i64 + 1;
            let gateway_id = match customer {
                // A customer's route goes out through its own gateway or a shared one.
                Some(c) if c > 1 && (c - 1) % 4 == 0 && c - 1 <= GATEWAYS && rng.below(2) == 0 => c - 1,
                _ => 1 + 2 * rng.below(GATEWAYS as u64 / 2) as i64,
            };
            routes.push(RouteDef {
                id,
                customer_id: customer,
                gateway_id,
                name: format!("route {id}"),
                src_prefix: (rng.below(20) == 0).then(|| rng.digits(2)),
                dst_prefix: Some(dst.clone()),
                src_rewrite_rule: (rng.below(5) == 0).then(|| "^0(\\d+)$".into()),
                src_rewrite_result: Some("49\\1".into()),
                dst_rewrite_rule: None,
                dst_rewrite_result: None,
                operator: rng.below(10) != 0,
            });
        }
    }
    routes.truncate(n);
    (RouteTable::build(routes, gateways, Some(1)), prefixes)
}

fn main() {
    let routes = env("ROUTES", 100_000);
    let calls = env("CALLS", 200_000);
    let scan_calls = env("SCAN_CALLS", 2_000);
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let started = Instant::now();
    let (t, prefixes) = table(&mut rng, routes);
    println!("built {} routes in {:?} ({} warnings)", t.len(), started.elapsed(), t.warnings().len());
    // Numbers that hit a route prefix (padded to E.164 length) and, one in
    // five, random ones.
    let calls_of = |rng: &mut Rng, k: usize| -> Vec<(i64, TrmMode, String, String)> {
        let modes = [TrmMode::OperatorCustomer, TrmMode::System, TrmMode::Customer, TrmMode::Operator, TrmMode::SystemCustomer];
        (0..k)
            .map(|_| {
                let dst = if rng.below(5) == 0 {
                    rng.digits(11)
                } else {
                    let p = &prefixes[rng.below(prefixes.len() as u64) as usize];
                    format!("{p}{}", rng.digits(12usize.saturating_sub(p.len()).max(1)))
                };
                (1 + rng.below(CUSTOMERS) as i64, modes[rng.below(5) as usize], format!("0{}", rng.digits(9)), dst)
            })
            .collect()
    };
    let numbers = calls_of(&mut rng, calls);
    let scan_numbers = &numbers[..scan_calls.min(numbers.len())];

    // Same answers first: the index must change speed, not results.
    for (c, m, s, d) in scan_numbers.iter().take(500) {
        assert_eq!(t.plan(*c, *m, s, d), t.plan_by_scan(*c, *m, s, d), "plan and scan differ for {d}");
    }

    let mut attempts = 0usize;
    let started = Instant::now();
    for (c, m, s, d) in &numbers {
        attempts += black_box(t.plan(*c, *m, s, d)).len();
    }
    let plan_ns = started.elapsed().as_nanos() as f64 / numbers.len() as f64;

    let started = Instant::now();
    for (c, m, s, d) in scan_numbers {
        black_box(t.plan_by_scan(*c, *m, s, d));
    }
    let scan_ns = started.elapsed().as_nanos() as f64 / scan_numbers.len() as f64;

    println!("routes: {}", t.len());
    println!(
        "plan (index):  {:>12.0} ns/call over {} calls ({:.1} attempts/call)",
        plan_ns,
        numbers.len(),
        attempts as f64 / numbers.len() as f64
    );
    println!("linear scan:   {:>12.0} ns/call over {} calls", scan_ns, scan_numbers.len());
    println!("ratio: the index is {:.0}x faster than a linear scan", scan_ns / plan_ns);
}
