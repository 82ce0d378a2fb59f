//! NAT keep-alive: a home router forgets a UDP mapping after a minute or
//! so of silence, and then our INVITE to the phone no longer gets in. Every
//! `nat_keepalive` seconds (domain setting) each UDP binding behind NAT
//! gets an OPTIONS from the socket it registered to. The bindings are
//! spread over the interval, one slot per second, so ten thousand phones
//! make an even trickle rather than a burst.

use super::location::{Binding, Location, MemoryLocation};
use crate::directory::Directory;
use sip::endpoint::Client;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub(crate) fn spawn(location: Arc<MemoryLocation>, client: Client, directory: Arc<Directory>, cancel: CancellationToken) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut second: u64 = 0;
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tick.tick() => {}
            }
            second += 1;
            let interval = match directory.snapshot().await {
                Ok(s) => u64::from(s.nat_keepalive),
                Err(_) => continue,
            };
            if interval == 0 {
                continue;
            }
            let slot = second % interval;
            let due = location.behind_nat(Instant::now(), &|b| slot_of(b, interval) == slot);
            for (contact, source) in due {
                if let Err(e) = client.keepalive(&contact, source).await {
                    tracing::debug!(error = %e, %source, "NAT keep-alive not sent");
                }
            }
        }
    });
}

/// The second of the interval a binding is pinged in: fixed per binding.
fn slot_of(b: &Binding, interval: u64) -> u64 {
    // A fixed-key hasher: the slot must not change between ticks.
    BuildHasherDefault::<DefaultHasher>::default().hash_one((&b.contact, b.source)) % interval
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bindings_spread_over_the_interval_and_keep_their_slot() {
        let now = Instant::now();
        let b = |i: u32| Binding {
            contact: format!("sip:p{i}@10.0.0.{}", i % 250),
            expires_at: now,
            user_agent: None,
            source: format!("198.51.100.1:{}", 40000 + i).parse().unwrap(),
            transport: sip::endpoint::Transport::Udp,
            behind_nat: true,
            call_id: String::new(),
            cseq: 1,
            updated: now,
        };
        let mut per_slot = [0u32; 30];
        for i in 0..3000 {
            let slot = slot_of(&b(i), 30);
            assert_eq!(slot, slot_of(&b(i), 30), "stable");
            per_slot[slot as usize] += 1;
        }
        assert!(per_slot.iter().all(|n| (50..=150).contains(n)), "about 100 per second: {per_slot:?}");
    }
}
