//! Termination routing in memory: the compiled, indexed
//! [`RouteTable`](domain::routing::RouteTable) and customers' termination
//! modes, reloaded from the store when a route, gateway, customer or the
//! domain settings change, checked on every read like the call directory
//! (see `reload.rs`).

use crate::reload::{Loaded, Reloading};
use domain::routing::{Attempt, RouteTable, TrmMode};
use std::collections::HashMap;
use std::sync::Arc;
use store::routing::RoutingConfig;
use store::Store;

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

impl Loaded for RoutingSnapshot {
    const WATCHED: &'static [&'static str] = WATCHED;
    async fn load(store: &Store) -> Result<Self, store::Error> {
        Ok(RoutingSnapshot::from(store.routing_config().await?))
    }
}

/// Route selection for calls: `Routes::load(store)` once, then
/// [`Routes::plan`] per outbound call.
pub struct Routes(Reloading<RoutingSnapshot>);

impl Routes {
    /// Subscribes to changes, then reads and compiles the routes.
    pub async fn load(store: Store) -> Result<Routes, store::Error> {
        Ok(Routes(Reloading::new(store).await?))
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
        self.0.current().await
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
