//! The throttle's arithmetic on a paused clock.

use super::*;

fn limits() -> Limits {
    Limits {
        per_pair: 3,
        window: Duration::from_secs(60),
        block_for: Duration::from_secs(300),
        account_free: 5,
        backoff_max: Duration::from_secs(300),
        source_accounts: 4,
        trusted_for: Duration::from_secs(86_400),
        capacity: 1000,
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_pair_blocks_after_its_limit_for_that_account_only() {
    let t = Throttle::new(limits());
    let (bob, carol) = (t.user("bob"), t.user("carol"));
    let src = ip("192.0.2.7");
    assert!(!t.fail(src, bob, Instant::now()).pair_blocked);
    assert!(!t.fail(src, bob, Instant::now()).pair_blocked);
    assert!(t.fail(src, bob, Instant::now()).pair_blocked, "third failure starts the block");
    assert!(t.ignores(src, bob, Instant::now()));
    assert!(!t.ignores(src, carol, Instant::now()), "the same address may still register others");
    assert!(!t.ignores(ip("192.0.2.8"), bob, Instant::now()), "other addresses unaffected");
    assert!(!t.source_blocked(src, Instant::now()), "one account is no scan");
    tokio::time::advance(Duration::from_secs(301)).await;
    assert!(!t.ignores(src, bob, Instant::now()), "released later");
    assert!(!t.fail(src, bob, Instant::now()).pair_blocked, "counting starts afresh");
}

#[tokio::test(start_paused = true)]
async fn failures_outside_the_window_do_not_add_up_and_success_clears_them() {
    let t = Throttle::new(limits());
    let (bob, src) = (t.user("bob"), ip("192.0.2.7"));
    t.fail(src, bob, Instant::now());
    t.fail(src, bob, Instant::now());
    tokio::time::advance(Duration::from_secs(61)).await;
    assert!(!t.fail(src, bob, Instant::now()).pair_blocked, "a new window");
    t.succeed(src, bob, Instant::now());
    t.fail(src, bob, Instant::now());
    assert!(!t.fail(src, bob, Instant::now()).pair_blocked, "the success cleared the count");
}

#[tokio::test(start_paused = true)]
async fn an_account_backs_off_exponentially_for_everyone_but_its_trusted_sources() {
    let t = Throttle::new(limits());
    let alice = t.user("alice");
    let phone = ip("198.51.100.20");
    t.succeed(phone, alice, Instant::now());
    // A distributed guess: one failure from each of many addresses.
    let mut waits = Vec::new();
    for i in 0..9u8 {
        let src = ip(&format!("203.0.113.{i}"));
        assert!(!t.ignores(src, alice, Instant::now()), "attempt {i} waited its turn");
        let f = t.fail(src, alice, Instant::now());
        assert!(!f.pair_blocked && !f.source_blocked, "{f:?}");
        waits.extend(f.backoff);
        // A fresh address is ignored as well while the account backs off.
        if let Some(w) = f.backoff {
            assert!(t.ignores(ip("203.0.113.200"), alice, Instant::now()));
            assert!(!t.ignores(phone, alice, Instant::now()), "the phone's own address is trusted");
            tokio::time::advance(w).await;
        }
    }
    let s = Duration::from_secs;
    assert_eq!(waits, vec![s(1), s(2), s(4), s(8), s(16)], "doubling past the fifth failure");
    assert!(!t.ignores(ip("203.0.113.1"), t.user("dave"), Instant::now()), "other accounts unaffected");
}

#[tokio::test(start_paused = true)]
async fn the_back_off_is_capped_and_forgotten_after_a_quiet_window() {
    let t = Throttle::new(Limits { backoff_max: Duration::from_secs(10), ..limits() });
    let alice = t.user("alice");
    let mut last = None;
    for i in 0..12u8 {
        let f = t.fail(ip(&format!("203.0.113.{i}")), alice, Instant::now());
        if let Some(w) = f.backoff {
            assert!(w <= Duration::from_secs(10), "{w:?}");
            last = Some(w);
            tokio::time::advance(w).await;
        }
    }
    assert_eq!(last, Some(Duration::from_secs(10)));
    // Failing every 10 s keeps it there; a quiet window past it resets it.
    tokio::time::advance(Duration::from_secs(61)).await;
    assert_eq!(t.fail(ip("203.0.113.99"), alice, Instant::now()).backoff, None, "counting starts afresh");
}

#[tokio::test(start_paused = true)]
async fn a_source_failing_for_many_accounts_is_silenced_altogether() {
    let t = Throttle::new(limits());
    let scanner = ip("192.0.2.66");
    for name in ["a", "b", "c"] {
        assert!(!t.fail(scanner, t.user(name), Instant::now()).source_blocked);
        // The same account again adds nothing to the scan.
        t.fail(scanner, t.user(name), Instant::now());
    }
    assert!(!t.source_blocked(scanner, Instant::now()));
    assert!(t.fail(scanner, t.user("d"), Instant::now()).source_blocked, "the fourth distinct account");
    assert!(t.source_blocked(scanner, Instant::now()));
    assert!(!t.source_blocked(ip("192.0.2.67"), Instant::now()));
    tokio::time::advance(Duration::from_secs(301)).await;
    assert!(!t.source_blocked(scanner, Instant::now()));
}

#[tokio::test(start_paused = true)]
async fn ipv6_sources_are_counted_per_64() {
    let t = Throttle::new(limits());
    let bob = t.user("bob");
    for i in 1..=3 {
        t.fail(ip(&format!("2001:db8:1:2::{i}")), bob, Instant::now());
    }
    assert!(t.ignores(ip("2001:db8:1:2::ffff"), bob, Instant::now()), "one host's /64");
    assert!(!t.ignores(ip("2001:db8:1:3::1"), bob, Instant::now()), "the next /64 is someone else");
    assert_eq!(Source::from(ip("::ffff:192.0.2.1")), Source::from(ip("192.0.2.1")));
    assert_ne!(Source::from(ip("::1")), Source::from(ip("0.0.0.1")));
}

#[tokio::test(start_paused = true)]
async fn outsiders_count_per_trunk_only() {
    let t = Throttle::new(limits());
    let (src, outsider) = (ip("192.0.2.9"), t.outsider_of(7));
    assert!(!t.outsider(src, outsider, Instant::now()));
    assert!(!t.outsider(src, outsider, Instant::now()));
    assert!(t.outsider(src, outsider, Instant::now()));
    assert!(t.ignores(src, outsider, Instant::now()));
    assert!(!t.ignores(src, t.outsider_of(8), Instant::now()), "another trunk");
    assert!(!t.ignores(src, t.user("bob"), Instant::now()) && !t.source_blocked(src, Instant::now()), "phones at that address");
    assert!(!t.ignores(src, t.trunk(7), Instant::now()), "nor the trunk's own credentials from there");
}

#[tokio::test(start_paused = true)]
async fn the_maps_stay_bounded() {
    let t = Throttle::new(Limits { capacity: 50, ..limits() });
    for i in 0..5000u32 {
        let src = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i));
        t.fail(src, t.user(&format!("u{i}")), Instant::now());
        t.succeed(src, t.user(&format!("v{i}")), Instant::now());
    }
    {
        let s = t.state.lock().unwrap();
        assert!(s.pairs.map.len() <= 50 && s.accounts.map.len() <= 50 && s.sources.map.len() <= 50 && s.trusted.map.len() <= 50);
    }
    // Once the entries expire, new ones are tracked again.
    tokio::time::advance(Duration::from_secs(400)).await;
    let (src, bob) = (ip("192.0.2.1"), t.user("bob"));
    for _ in 0..3 {
        t.fail(src, bob, Instant::now());
    }
    assert!(t.ignores(src, bob, Instant::now()));
}
