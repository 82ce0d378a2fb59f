//! The call-handling configuration in memory: trunks by domain, DIDs by
//! number, customers' limits. Reloaded from the store when a change to any
//! of them has been published, checked on every read: the store announces
//! a change before the API answers, so a call placed right after an edit
//! already sees it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use store::directory::{CallConfig, CustomerRow, DidRow, TrunkRow};
use store::Store;
use tokio::sync::broadcast;

/// The kinds whose changes affect call handling.
const WATCHED: &[&str] = &["incoming_trunks", "available_did_numbers", "customers", "domain_settings", "sip_device_routes"];

/// One consistent view of the configuration.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// By lower-case domain.
    pub trunks: HashMap<String, TrunkRow>,
    pub dids: HashMap<String, DidRow>,
    pub customers: HashMap<i64, CustomerRow>,
    pub capacity_reject_code: u16,
}

impl From<CallConfig> for Snapshot {
    fn from(c: CallConfig) -> Self {
        Snapshot {
            trunks: c.trunks.into_iter().filter_map(|t| Some((t.domain.clone()?.to_ascii_lowercase(), t))).collect(),
            dids: c.dids.into_iter().map(|d| (d.number.clone(), d)).collect(),
            customers: c.customers.into_iter().map(|c| (c.id, c)).collect(),
            capacity_reject_code: c.capacity_reject_code,
        }
    }
}

pub struct Directory {
    store: Store,
    current: Mutex<Arc<Snapshot>>,
    changes: Mutex<broadcast::Receiver<store::Change>>,
    /// A change was seen and not yet loaded.
    pending: AtomicBool,
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
            pending: AtomicBool::new(false),
            reload: tokio::sync::Mutex::new(()),
        })
    }

    /// The current configuration, reloaded first if it changed.
    pub async fn snapshot(&self) -> Result<Arc<Snapshot>, store::Error> {
        if self.changed() {
            self.pending.store(true, Ordering::Release);
        }
        if self.pending.load(Ordering::Acquire) {
            let _one = self.reload.lock().await;
            // Readers that queued behind a reload find it done.
            if self.pending.swap(false, Ordering::AcqRel) {
                match self.store.call_config().await {
                    Ok(c) => *self.current.lock().expect("directory lock") = Arc::new(Snapshot::from(c)),
                    Err(e) => {
                        self.pending.store(true, Ordering::Release);
                        return Err(e);
                    }
                }
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
