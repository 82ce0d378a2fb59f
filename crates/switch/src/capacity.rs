//! Concurrent calls per customer, counted exactly: a call holds a
//! [`CallSlot`] from the moment it is admitted (ringing counts) and the
//! slot is released when dropped, so every way a call ends gives it back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, Default)]
pub struct Capacity {
    counts: Mutex<HashMap<i64, u32>>,
}

/// One call's share of its customer's capacity; released on drop.
#[derive(Debug)]
pub struct CallSlot {
    capacity: Arc<Capacity>,
    customer: i64,
}

impl Capacity {
    /// Takes a slot unless the customer is at `limit` (`None`: unlimited).
    pub fn try_acquire(self: &Arc<Self>, customer: i64, limit: Option<i64>) -> Option<CallSlot> {
        let mut counts = self.counts.lock().expect("capacity lock");
        let n = counts.entry(customer).or_insert(0);
        if limit.is_some_and(|l| i64::from(*n) >= l) {
            if *n == 0 {
                counts.remove(&customer);
            }
            return None;
        }
        *n += 1;
        Some(CallSlot { capacity: self.clone(), customer })
    }

    /// Calls of all customers.
    pub fn total(&self) -> u32 {
        self.counts.lock().expect("capacity lock").values().sum()
    }
}

impl Drop for CallSlot {
    fn drop(&mut self) {
        let mut counts = self.capacity.counts.lock().expect("capacity lock");
        if let Some(n) = counts.get_mut(&self.customer) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.customer);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_count_up_to_the_limit_and_come_back_on_drop() {
        let c = Arc::new(Capacity::default());
        let a = c.try_acquire(1, Some(2)).unwrap();
        let b = c.try_acquire(1, Some(2)).unwrap();
        assert!(c.try_acquire(1, Some(2)).is_none());
        let _other = c.try_acquire(2, Some(2)).expect("another customer has its own count");
        assert!(c.try_acquire(1, Some(0)).is_none());
        drop(a);
        assert_eq!(c.total(), 2, "b and customer 2's");
        let _c = c.try_acquire(1, Some(2)).unwrap();
        drop(b);
        assert!(c.try_acquire(3, None).is_some(), "no limit");
        assert_eq!(c.total(), 2, "_c and _other are held");
    }
}
