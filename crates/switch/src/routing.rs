//! Termination routing in memory: the compiled, indexed
//! [`RouteTable`](domain::routing::RouteTable) and customers' termination
//! modes, reloaded from the store when a route, gateway, customer or the
//! domain settings change, checked on every read like the call directory
//! (`directory.rs`): the store announces a change before the API answers,
//! so a call placed right after an edit already uses it.

use domain::routing::{Attempt, RouteTable, TrmMode};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use store::routing::RoutingConfig;
use store::Store;
use tokio::sync::broadcast;

/// The kinds whose changes affect route selection.
const WATCHED: &[&str] = &["termination_routes", "termination_gateways", "domain_settings", "customers"];

/// One consistent view: the table and the modes it is used with.
#[derive(Debug, Default)]
pub struct RoutingSnapshot {
    pub table: RouteTable,
    pub modes: HashMap<i64, TrmMode>,
}

impl From<RoutingConfig> for RoutingSnapshot {
    fn from(c: RoutingConfig) -> Self {
        let table = RouteTable::build(c.routes, c.gateways, c.default_route_id);
        for w in table.warnings() {
            tracing::warn!(warning = %w, "termination routing");
        }
        RoutingSnapshot { table, modes: c.modes }
    }
}

/// Route selection for calls: `Routes::load(store)` once, then
/// [`Routes::plan`] per outbound call.
pub struct Routes {
    store: Store,
    current: Mutex<Arc<RoutingSnapshot>>,
    changes: Mutex<broadcast::Receiver<store::Change>>,
    /// Changes seen, and how many of them the current snapshot includes.
    seen: AtomicU64,
    loaded: AtomicU64,
    /// One reload at a time; readers that find a change wait for it.
    reload: tokio::sync::Mutex<()>,
}

impl Routes {
    /// Subscribes to changes, then reads and compiles the routes.
    pub async fn load(store: Store) -> Result<Routes, store::Error> {
        let changes = store.subscribe();
        let snapshot = RoutingSnapshot::from(store.routing_config().await?);
        Ok(Routes {
            store,
            current: Mutex::new(Arc::new(snapshot)),
            changes: Mutex::new(changes),
            seen: AtomicU64::new(0),
            loaded: AtomicU64::new(0),
            reload: tokio::sync::Mutex::new(()),
        })
    }

    /// The attempts for a call of `customer` from `src` to `dst` (as
    /// dialled), in order, by the customer's termination mode. Empty: no
    /// route (or an unknown customer, which has none).
    pub async fn plan(&self, customer: i64, src: &str, dst: &str) -> Result<Vec<Attempt>, store::Error> {
        let snap = self.snapshot().await?;
        Ok(snap.modes.get(&customer).map_or_else(Vec::new, |&mode| snap.table.plan(customer, mode, src, dst)))
    }

    /// The current table, reloaded first if it changed.
    pub async fn snapshot(&self) -> Result<Arc<RoutingSnapshot>, store::Error> {
        if self.changed() {
            self.seen.fetch_add(1, Ordering::AcqRel);
        }
        // A reader that arrives while a reload runs must wait for it, so
        // `loaded` moves only once the fresh table is in place.
        if self.seen.load(Ordering::Acquire) != self.loaded.load(Ordering::Acquire) {
            let _one = self.reload.lock().await;
            let target = self.seen.load(Ordering::Acquire);
            if target != self.loaded.load(Ordering::Acquire) {
                let fresh = RoutingSnapshot::from(self.store.routing_config().await?);
                *self.current.lock().expect("routes lock") = Arc::new(fresh);
                self.loaded.store(target, Ordering::Release);
            }
        }
        Ok(self.current.lock().expect("routes lock").clone())
    }

    /// Drains the change feed; true if anything watched changed (or
    /// changes were missed).
    fn changed(&self) -> bool {
        let mut rx = self.changes.lock().expect("routes changes lock");
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
    use store::{Actor, Input, RelInput};

    async fn customer(store: &Store, mode: &str) -> i64 {
        let input = Input::default().with(&schema::CUSTOMERS, "name", "Acme").with(&schema::CUSTOMERS, "trm_mode", mode);
        store.create(&schema::CUSTOMERS, &Actor::system(), input).await.unwrap().id()
    }

    async fn gateway(store: &Store) -> i64 {
        let input = Input::default().with(&schema::GATEWAYS, "name", "carrier").with(&schema::GATEWAYS, "host", "192.0.2.1");
        store.create(&schema::GATEWAYS, &Actor::system(), input).await.unwrap().id()
    }

    async fn route(store: &Store, gw: i64, dst: &str, customer: Option<i64>) -> i64 {
        let mut input = Input::default()
            .with(&schema::ROUTES, "name", format!("to {dst}").as_str())
            .with(&schema::ROUTES, "dst_prefix", dst)
            .with(&schema::ROUTES, "dst_rewrite_rule", "^00(\\d+)$")
            .with(&schema::ROUTES, "dst_rewrite_result", "\\1")
            .with_rel(&schema::ROUTES, "gateway", RelInput::To("termination_gateways", gw));
        if let Some(c) = customer {
            input = input.with_rel(&schema::ROUTES, "customer", RelInput::To("customers", c));
        }
        store.create(&schema::ROUTES, &Actor::system(), input).await.unwrap().id()
    }

    #[tokio::test]
    async fn plans_from_the_store_and_follows_changes() {
        let (store, _db) = store::testing::sqlite().await;
        let routes = Routes::load(store.clone()).await.unwrap();
        let c = customer(&store, "system").await;
        assert!(routes.plan(c, "100", "0044123").await.unwrap().is_empty());
        let gw = gateway(&store).await;
        let shared = route(&store, gw, "0044", None).await;
        let own = route(&store, gw, "00441", Some(c)).await;
        let plan = routes.plan(c, "100", "0044123").await.unwrap();
        assert_eq!(plan.iter().map(|a| (a.route_id, a.dst_number_out.as_str())).collect::<Vec<_>>(), [(shared, "44123")]);
        assert_eq!(plan[0].gateway.host, "192.0.2.1");
        // Changing the customer's mode takes effect at once.
        let input = Input::default().with(&schema::CUSTOMERS, "trm_mode", "system_customer");
        store.update(&schema::CUSTOMERS, &Actor::system(), c, input).await.unwrap();
        let (a, b) = tokio::join!(routes.plan(c, "100", "0044123"), routes.plan(c, "100", "0044123"));
        let ids = |p: Vec<Attempt>| p.iter().map(|a| a.route_id).collect::<Vec<_>>();
        assert_eq!((ids(a.unwrap()), ids(b.unwrap())), (vec![own, shared], vec![own, shared]));
        assert!(routes.plan(c + 1000, "100", "0044123").await.unwrap().is_empty(), "unknown customer: no route");
    }
}
