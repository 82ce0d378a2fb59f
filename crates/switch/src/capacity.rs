//! Concurrent calls, counted exactly per customer and per pool of channels
//! (Operator API §5.10): a call holds a [`CallSlot`] from the moment it is
//! admitted (ringing counts) and the slot is released when dropped, so
//! every way a call ends gives it back. A call takes one of its customer's
//! `capacity_limit` and one of its pool's: its capacity group's, or, for a
//! customer in no group, the channels of the account no group holds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Where a customer's calls draw channels from besides its own limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pool {
    Group(i64),
    /// The account's channels that no group holds.
    Shared,
}

/// The caps on one customer's calls (`None`: no cap).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Limits {
    /// The customer's own `capacity_limit`.
    pub customer: Option<i64>,
    /// Its pool and the pool's size.
    pub pool: Option<(Pool, i64)>,
}

#[derive(Debug, Default)]
struct Counts {
    customers: HashMap<i64, u32>,
    pools: HashMap<Pool, u32>,
}

#[derive(Debug, Default)]
pub struct Capacity {
    counts: Mutex<Counts>,
}

/// One call's share of its customer's and its pool's capacity; released on drop.
#[derive(Debug)]
pub struct CallSlot {
    capacity: Arc<Capacity>,
    customer: i64,
    /// The pool it was taken from, even if the customer moves meanwhile.
    pool: Option<Pool>,
}

fn full(n: Option<&u32>, limit: i64) -> bool {
    i64::from(n.copied().unwrap_or(0)) >= limit
}

fn release<K: std::hash::Hash + Eq>(map: &mut HashMap<K, u32>, key: K) {
    if let Some(n) = map.get_mut(&key) {
        *n -= 1;
        if *n == 0 {
            map.remove(&key);
        }
    }
}

impl Capacity {
    /// Takes a slot unless the customer or its pool is at its limit.
    pub fn try_acquire(self: &Arc<Self>, customer: i64, limits: Limits) -> Option<CallSlot> {
        let mut counts = self.counts.lock().expect("capacity lock");
        if limits.customer.is_some_and(|l| full(counts.customers.get(&customer), l)) {
            return None;
        }
        if let Some((pool, size)) = limits.pool {
            if full(counts.pools.get(&pool), size) {
                return None;
            }
            *counts.pools.entry(pool).or_insert(0) += 1;
        }
        *counts.customers.entry(customer).or_insert(0) += 1;
        Some(CallSlot { capacity: self.clone(), customer, pool: limits.pool.map(|(p, _)| p) })
    }

    /// Calls of all customers.
    pub fn total(&self) -> u32 {
        self.counts.lock().expect("capacity lock").customers.values().sum()
    }
}

impl Drop for CallSlot {
    fn drop(&mut self) {
        let mut counts = self.capacity.counts.lock().expect("capacity lock");
        release(&mut counts.customers, self.customer);
        if let Some(p) = self.pool {
            release(&mut counts.pools, p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own(limit: i64) -> Limits {
        Limits { customer: Some(limit), pool: None }
    }

    #[test]
    fn slots_count_up_to_the_limit_and_come_back_on_drop() {
        let c = Arc::new(Capacity::default());
        let a = c.try_acquire(1, own(2)).unwrap();
        let b = c.try_acquire(1, own(2)).unwrap();
        assert!(c.try_acquire(1, own(2)).is_none());
        let _other = c.try_acquire(2, own(2)).expect("another customer has its own count");
        assert!(c.try_acquire(1, own(0)).is_none());
        drop(a);
        assert_eq!(c.total(), 2, "b and customer 2's");
        let _c = c.try_acquire(1, own(2)).unwrap();
        drop(b);
        assert!(c.try_acquire(3, Limits::default()).is_some(), "no limit");
        assert_eq!(c.total(), 2, "_c and _other are held");
    }

    #[test]
    fn a_group_caps_its_customers_together_and_each_own_limit_still_holds() {
        let c = Arc::new(Capacity::default());
        let group = Some((Pool::Group(7), 3));
        let (one, two) = (Limits { customer: Some(1), pool: group }, Limits { customer: None, pool: group });
        let a = c.try_acquire(1, one).unwrap();
        assert!(c.try_acquire(1, one).is_none(), "customer 1's own limit of 1, though the group has room");
        let _b = c.try_acquire(2, two).unwrap();
        let _d = c.try_acquire(2, two).unwrap();
        assert!(c.try_acquire(2, two).is_none(), "the group's 3 are taken");
        assert_eq!(c.total(), 3);
        let outside = Limits { customer: None, pool: Some((Pool::Shared, 1)) };
        let e = c.try_acquire(3, outside).expect("the shared channels are another pool");
        assert!(c.try_acquire(4, outside).is_none(), "customers in no group share theirs");
        drop(a);
        assert!(c.try_acquire(1, one).is_some(), "a slot freed gives back both counts");
        drop(e);
        assert!(c.try_acquire(4, outside).is_some());
        // A refused call takes nothing.
        let blocked = Limits { customer: Some(5), pool: Some((Pool::Group(8), 0)) };
        assert!(c.try_acquire(9, blocked).is_none());
        assert!(c.try_acquire(9, own(1)).is_some(), "the refusal left customer 9's count alone");
    }
}
