//! SIP accounts by username, all of them in memory, so a REGISTER does not
//! query the store, and so that a name which exists and one which does not
//! cost the same: while the copy is complete, a miss is an answer, never a
//! store query (which was a timing oracle of ~90 µs for unknown names).
//!
//! The store's change feed is drained on every lookup (the store announces
//! a change before the API answers, so a phone registering right after an
//! edit sees it): a changed account is dropped and the copy is no longer
//! complete; a change to customers (a delete cascades to its accounts), or
//! missed changes, drop them all. Until a reload behind the lookups makes
//! the copy complete again, a miss asks the store.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use store::presence::SipLogin;
use store::Store;
use tokio::sync::broadcast::{self, error::TryRecvError};

#[derive(Clone)]
pub(super) struct Cache {
    store: Store,
    inner: Arc<Inner>,
}

struct Inner {
    map: Mutex<AccountMap>,
    changes: Mutex<broadcast::Receiver<store::Change>>,
    /// Bumped on every change seen: a read that raced with one is not kept.
    generation: AtomicU64,
    reloading: AtomicBool,
}

#[derive(Default)]
struct AccountMap {
    by_name: HashMap<String, SipLogin>,
    name_of: HashMap<i64, String>,
    /// Every account of the store is here: a miss means no such account.
    complete: bool,
}

impl AccountMap {
    fn insert(&mut self, login: SipLogin) {
        self.forget(login.id);
        self.name_of.insert(login.id, login.username.clone());
        self.by_name.insert(login.username.clone(), login);
    }

    fn forget(&mut self, id: i64) {
        if let Some(name) = self.name_of.remove(&id) {
            self.by_name.remove(&name);
        }
    }
}

impl Cache {
    /// Subscribes to the store's changes; empty (and incomplete) until
    /// [`Cache::load`].
    pub fn new(store: Store) -> Self {
        let changes = Mutex::new(store.subscribe());
        let inner = Inner { map: Mutex::default(), changes, generation: AtomicU64::new(0), reloading: AtomicBool::new(false) };
        Cache { store, inner: Arc::new(inner) }
    }

    /// Reads every account; the copy is complete unless a change came in
    /// meanwhile.
    pub async fn load(&self) -> Result<usize, store::Error> {
        self.sync();
        let generation = self.inner.generation.load(Ordering::Acquire);
        let all = self.store.sip_logins().await?;
        let n = all.len();
        self.sync();
        let mut map = self.inner.map.lock().expect("accounts lock");
        if self.inner.generation.load(Ordering::Acquire) == generation {
            *map = AccountMap::default();
            for l in all {
                map.insert(l);
            }
            map.complete = true;
        }
        Ok(n)
    }

    /// The account named `username`, if any.
    pub async fn get(&self, username: &str) -> Result<Option<SipLogin>, store::Error> {
        self.sync();
        let generation = self.inner.generation.load(Ordering::Acquire);
        {
            let map = self.inner.map.lock().expect("accounts lock");
            if let Some(l) = map.by_name.get(username) {
                return Ok(Some(l.clone()));
            }
            if map.complete {
                return Ok(None);
            }
        }
        self.reload_behind();
        let found = self.store.sip_login(username).await?;
        if let Some(l) = &found {
            let mut map = self.inner.map.lock().expect("accounts lock");
            if self.inner.generation.load(Ordering::Acquire) == generation {
                map.insert(l.clone());
            }
        }
        Ok(found)
    }

    /// Applies the changes announced since the last look.
    fn sync(&self) {
        let mut rx = self.inner.changes.lock().expect("accounts changes lock");
        loop {
            let change = rx.try_recv();
            let mut map = match &change {
                Ok(c) if c.kind == "sip_device_routes" || c.kind == "customers" => self.inner.map.lock().expect("accounts lock"),
                Ok(_) => continue,
                Err(TryRecvError::Lagged(_)) => self.inner.map.lock().expect("accounts lock"),
                Err(TryRecvError::Empty | TryRecvError::Closed) => return,
            };
            self.inner.generation.fetch_add(1, Ordering::AcqRel);
            match change {
                Ok(c) if c.kind == "sip_device_routes" => map.forget(c.id),
                _ => *map = AccountMap::default(),
            }
            map.complete = false;
        }
    }

    /// Starts a full reload unless one runs.
    fn reload_behind(&self) {
        if self.inner.reloading.swap(true, Ordering::AcqRel) {
            return;
        }
        let cache = self.clone();
        tokio::spawn(async move {
            if let Err(e) = cache.load().await {
                // Misses keep asking the store until a reload succeeds.
                tracing::warn!(error = %e, "could not reload SIP accounts");
            }
            cache.inner.reloading.store(false, Ordering::Release);
        });
    }

    /// Whether a miss is an answer (for tests).
    #[cfg(test)]
    pub fn complete(&self) -> bool {
        self.sync();
        self.inner.map.lock().expect("accounts lock").complete
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::schema;
    use store::{Actor, Input, RelInput};

    async fn account(store: &Store, name: &str) -> i64 {
        let op = Actor::system();
        let c = store.create(&schema::CUSTOMERS, &op, Input::default().with(&schema::CUSTOMERS, "name", name)).await.unwrap().id();
        let a = Input::default()
            .with(&schema::SIP_ACCOUNTS, "username", name)
            .with(&schema::SIP_ACCOUNTS, "password", "Pass-word-1")
            .with_rel(&schema::SIP_ACCOUNTS, "customer", RelInput::To("customers", c));
        store.create(&schema::SIP_ACCOUNTS, &op, a).await.unwrap().id()
    }

    async fn eventually_complete(cache: &Cache) {
        for _ in 0..200 {
            if cache.complete() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("the copy never became complete again");
    }

    #[tokio::test]
    async fn misses_are_answers_while_complete_and_changes_are_seen_at_once() {
        let (store, _db) = store::testing::sqlite().await;
        account(&store, "alice").await;
        let cache = Cache::new(store.clone());
        assert!(!cache.complete());
        assert_eq!(cache.load().await.unwrap(), 1);
        assert!(cache.complete());
        assert!(cache.get("alice").await.unwrap().is_some());
        assert!(cache.get("nobody").await.unwrap().is_none());
        // Created after the load: found on the very next lookup.
        let bob = account(&store, "bob").await;
        assert!(!cache.complete(), "a change makes misses ask the store");
        assert!(cache.get("bob").await.unwrap().is_some());
        eventually_complete(&cache).await;
        // Renamed: the old name is gone at once, the new one found.
        let rename = Input::default().with(&schema::SIP_ACCOUNTS, "username", "robert");
        store.update(&schema::SIP_ACCOUNTS, &Actor::system(), bob, rename).await.unwrap();
        assert!(cache.get("bob").await.unwrap().is_none());
        assert!(cache.get("robert").await.unwrap().is_some());
        eventually_complete(&cache).await;
        assert!(cache.get("bob").await.unwrap().is_none());
    }
}
