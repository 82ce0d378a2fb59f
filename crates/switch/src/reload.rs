//! Configuration kept in memory and reloaded from the store when the
//! change feed shows an edit to a kind it depends on, checked on every
//! read: the store announces a change before the API answers, so a call
//! placed right after an edit already sees it. A reader that arrives while
//! a reload runs waits for it rather than reading the old copy. The call
//! directory and the route table are both kept this way.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use store::Store;
use tokio::sync::broadcast;

/// A configuration read from the store as one consistent copy.
pub(crate) trait Loaded: Sized {
    /// The kinds whose changes make it stale.
    const WATCHED: &'static [&'static str];
    fn load(store: &Store) -> impl Future<Output = Result<Self, store::Error>> + Send;
}

pub(crate) struct Reloading<T> {
    store: Store,
    current: Mutex<Arc<T>>,
    changes: Mutex<broadcast::Receiver<store::Change>>,
    /// Changes seen, and how many of them the current copy includes.
    seen: AtomicU64,
    loaded: AtomicU64,
    /// One reload at a time; readers that find a change wait for it.
    reload: tokio::sync::Mutex<()>,
}

impl<T: Loaded> Reloading<T> {
    /// Subscribes to changes, then reads the configuration.
    pub async fn new(store: Store) -> Result<Self, store::Error> {
        let changes = store.subscribe();
        let first = T::load(&store).await?;
        Ok(Reloading {
            store,
            current: Mutex::new(Arc::new(first)),
            changes: Mutex::new(changes),
            seen: AtomicU64::new(0),
            loaded: AtomicU64::new(0),
            reload: tokio::sync::Mutex::new(()),
        })
    }

    /// The current copy, reloaded first if it changed.
    pub async fn current(&self) -> Result<Arc<T>, store::Error> {
        if self.changed() {
            self.seen.fetch_add(1, Ordering::AcqRel);
        }
        // `loaded` moves only once the fresh copy is in place, so a reader
        // arriving during a reload sees the mismatch and waits below.
        if self.seen.load(Ordering::Acquire) != self.loaded.load(Ordering::Acquire) {
            let _one = self.reload.lock().await;
            let target = self.seen.load(Ordering::Acquire);
            if target != self.loaded.load(Ordering::Acquire) {
                let fresh = T::load(&self.store).await?;
                *self.current.lock().expect("reload lock") = Arc::new(fresh);
                self.loaded.store(target, Ordering::Release);
            }
        }
        Ok(self.current.lock().expect("reload lock").clone())
    }

    /// Drains the change feed; true if anything watched changed (or
    /// changes were missed).
    fn changed(&self) -> bool {
        let mut rx = self.changes.lock().expect("reload changes lock");
        let mut changed = false;
        loop {
            match rx.try_recv() {
                Ok(c) => changed |= T::WATCHED.contains(&c.kind),
                Err(broadcast::error::TryRecvError::Lagged(_)) => changed = true,
                Err(broadcast::error::TryRecvError::Empty | broadcast::error::TryRecvError::Closed) => return changed,
            }
        }
    }
}
