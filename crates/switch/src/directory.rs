//! The call-handling configuration in memory: trunks by domain, DIDs by
//! number, ring groups, customers' limits. Reloaded from the store when a change to any
//! of them has been published, checked on every read: the store announces
//! a change before the API answers, so a call placed right after an edit
//! already sees it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use store::directory::{CallConfig, CustomerRow, DidRow, RingGroupRow, TrunkRow};
use store::Store;
use tokio::sync::broadcast;

/// The kinds whose changes affect call handling.
const WATCHED: &[&str] = &["incoming_trunks", "available_did_numbers", "ring_groups", "customers", "domain_settings", "sip_device_routes"];

/// One consistent view of the configuration.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// By lower-case domain.
    pub trunks: HashMap<String, TrunkRow>,
    pub dids: HashMap<String, DidRow>,
    pub ring_groups: HashMap<i64, RingGroupRow>,
    pub customers: HashMap<i64, CustomerRow>,
    pub capacity_reject_code: u16,
}

impl From<CallConfig> for Snapshot {
    fn from(c: CallConfig) -> Self {
        Snapshot {
            trunks: c.trunks.into_iter().filter_map(|t| Some((t.domain.clone()?.to_ascii_lowercase(), t))).collect(),
            dids: c.dids.into_iter().map(|d| (d.number.clone(), d)).collect(),
            ring_groups: c.ring_groups.into_iter().map(|g| (g.id, g)).collect(),
            customers: c.customers.into_iter().map(|c| (c.id, c)).collect(),
            capacity_reject_code: c.capacity_reject_code,
        }
    }
}

pub struct Directory {
    store: Store,
    current: Mutex<Arc<Snapshot>>,
    changes: Mutex<broadcast::Receiver<store::Change>>,
    /// Changes seen, and how many of them the current snapshot includes.
    seen: AtomicU64,
    loaded: AtomicU64,
    /// One reload at a time; readers that find a change wait for it.
    reload: tokio::sync::Mutex<()>,
}

impl Directory {
    /// Subscribes to changes, then reads the configuration.
    pub async fn load(store: Store) -> Result<Directory, store::Error> {
        let changes = store.subscribe();
        let snapshot = Snapshot::from(store.call_config().await?);
        Ok(Directory {
            store,
            current: Mutex::new(Arc::new(snapshot)),
            changes: Mutex::new(changes),
            seen: AtomicU64::new(0),
            loaded: AtomicU64::new(0),
            reload: tokio::sync::Mutex::new(()),
        })
    }

    /// The current configuration, reloaded first if it changed.
    pub async fn snapshot(&self) -> Result<Arc<Snapshot>, store::Error> {
        if self.changed() {
            self.seen.fetch_add(1, Ordering::AcqRel);
        }
        // A reader that arrives while a reload runs must wait for it, so
        // `loaded` moves only once the fresh snapshot is in place.
        if self.seen.load(Ordering::Acquire) != self.loaded.load(Ordering::Acquire) {
            let _one = self.reload.lock().await;
            let target = self.seen.load(Ordering::Acquire);
            if target != self.loaded.load(Ordering::Acquire) {
                let fresh = Snapshot::from(self.store.call_config().await?);
                *self.current.lock().expect("directory lock") = Arc::new(fresh);
                self.loaded.store(target, Ordering::Release);
            }
        }
        Ok(self.current.lock().expect("directory lock").clone())
    }

    /// Drains the change feed; true if anything watched changed (or
    /// changes were missed).
    fn changed(&self) -> bool {
        let mut rx = self.changes.lock().expect("directory changes lock");
        let mut changed = false;
        loop {
            match rx.try_recv() {
                Ok(c) => changed |= WATCHED.contains(&c.kind),
                Err(broadcast::error::TryRecvError::Lagged(_)) => changed = true,
                Err(broadcast::error::TryRecvError::Empty | broadcast::error::TryRecvError::Closed) => return changed,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::schema;
    use store::{Actor, Input};

    #[tokio::test]
    async fn a_reader_during_a_reload_gets_the_fresh_configuration() {
        let (store, _db) = store::testing::sqlite().await;
        let dir = Directory::load(store.clone()).await.unwrap();
        assert!(dir.snapshot().await.unwrap().trunks.is_empty());
        let customer = Input::default().with(&schema::CUSTOMERS, "name", "Acme");
        store.create(&schema::CUSTOMERS, &Actor::system(), customer).await.unwrap();
        // The first reader starts the reload and waits on the store; the
        // second arrives meanwhile and must wait for it, not read the old one.
        let (a, b) = tokio::join!(dir.snapshot(), dir.snapshot());
        assert_eq!((a.unwrap().trunks.len(), b.unwrap().trunks.len()), (1, 1), "the new customer's default trunk");
    }
}
