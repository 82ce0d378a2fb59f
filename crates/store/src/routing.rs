//! What route selection reads: termination routes and gateways as the
//! `domain::routing` types, the default termination route and customers'
//! termination modes. All of it for the SIP plane's in-memory table, or
//! only the rows that can match one number for the API's route test.

use crate::sql::Sql;
use crate::{Result, Store};
use domain::routing::{GatewayDef, RouteDef, TrmMode};
use domain::schema::Storage;
use domain::Value;
use sqlx::Row as _;
use std::collections::HashMap;

/// Everything [`domain::routing::RouteTable::build`] takes, plus modes.
#[derive(Debug, Clone, Default)]
pub struct RoutingConfig {
    pub routes: Vec<RouteDef>,
    pub gateways: Vec<GatewayDef>,
    /// The domain settings' default termination route.
    pub default_route_id: Option<i64>,
    /// Each customer's termination mode (every customer for
    /// [`Store::routing_config`], the one asked for by
    /// [`Store::route_candidates`]).
    pub modes: HashMap<i64, TrmMode>,
}

const ROUTE_COLUMNS: &str = "id, customer_id, gateway_id, name, src_prefix, dst_prefix, src_rewrite_rule, src_rewrite_result, \
                             dst_rewrite_rule, dst_rewrite_result, operator";
const GATEWAY_COLUMNS: &str = "id, customer_id, name, host, port, network_protocol, transport_protocol, codecs, authorization_name, \
                               authorization_password, src_rewrite_rule, src_rewrite_result, dst_rewrite_rule, dst_rewrite_result";

impl Store {
    /// Every route, gateway and customer mode: the SIP plane's table.
    pub async fn routing_config(&self) -> Result<RoutingConfig> {
        let routes = self.routes(Sql::new(format!("SELECT {ROUTE_COLUMNS} FROM termination_routes"))).await?;
        let gateways = self.gateways(Sql::new(format!("SELECT {GATEWAY_COLUMNS} FROM termination_gateways"))).await?;
        let modes = self.modes(Sql::new("SELECT id, trm_mode FROM customers")).await?;
        Ok(RoutingConfig { routes, gateways, default_route_id: self.default_route_id().await?, modes })
    }

    /// Only what can match a call of `customer` to `dst`: its own and the
    /// shared routes whose dst_prefix is a prefix of `dst` (or empty), the
    /// default route, their gateways and the customer's mode. The route
    /// test uses it so it never loads every route; the selection itself is
    /// the same `RouteTable` code as for calls. An unknown customer gets
    /// no mode.
    pub async fn route_candidates(&self, customer: i64, dst: &str) -> Result<RoutingConfig> {
        let default_route_id = self.default_route_id().await?;
        let condition = |sql: &mut Sql| {
            sql.push("(customer_id IS NULL OR customer_id = ").arg(Value::Int(customer), Storage::Int);
            sql.push(") AND (dst_prefix IS NULL OR dst_prefix IN ('' ");
            // Prefixes are at most 15 digits: longer ones cannot exist.
            for len in 1..=dst.len().min(16) {
                if let Some(p) = dst.get(..len) {
                    sql.push(", ").arg(Value::Text(p.to_owned()), Storage::Text);
                }
            }
            sql.push("))");
            if let Some(d) = default_route_id {
                sql.push(" OR id = ").arg(Value::Int(d), Storage::Int);
            }
        };
        let mut sql = Sql::new(format!("SELECT {ROUTE_COLUMNS} FROM termination_routes WHERE "));
        condition(&mut sql);
        let routes = self.routes(sql).await?;
        let mut sql = Sql::new(format!(
            "SELECT {GATEWAY_COLUMNS} FROM termination_gateways WHERE id IN (SELECT gateway_id FROM termination_routes WHERE "
        ));
        condition(&mut sql);
        sql.push(")");
        let gateways = self.gateways(sql).await?;
        let mut sql = Sql::new("SELECT id, trm_mode FROM customers WHERE id = ");
        sql.arg(Value::Int(customer), Storage::Int);
        let modes = self.modes(sql).await?;
        Ok(RoutingConfig { routes, gateways, default_route_id, modes })
    }

    async fn default_route_id(&self) -> Result<Option<i64>> {
        Ok(self.settings().await?.get("default_route_id").as_i64())
    }

    async fn routes(&self, sql: Sql) -> Result<Vec<RouteDef>> {
        sql.query()
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                Ok(RouteDef {
                    id: r.try_get("id")?,
                    customer_id: r.try_get("customer_id")?,
                    gateway_id: r.try_get("gateway_id")?,
                    name: r.try_get("name")?,
                    src_prefix: r.try_get("src_prefix")?,
                    dst_prefix: r.try_get("dst_prefix")?,
                    src_rewrite_rule: r.try_get("src_rewrite_rule")?,
                    src_rewrite_result: r.try_get("src_rewrite_result")?,
                    dst_rewrite_rule: r.try_get("dst_rewrite_rule")?,
                    dst_rewrite_result: r.try_get("dst_rewrite_result")?,
                    operator: crate::sql::decode(r, "operator", Storage::Bool)?.as_bool().unwrap_or(true),
                })
            })
            .collect()
    }

    async fn gateways(&self, sql: Sql) -> Result<Vec<GatewayDef>> {
        sql.query()
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                let port: i64 = r.try_get("port")?;
                Ok(GatewayDef {
                    id: r.try_get("id")?,
                    customer_id: r.try_get("customer_id")?,
                    name: r.try_get("name")?,
                    host: r.try_get("host")?,
                    // Validated 1..=65535 when saved.
                    port: u16::try_from(port).unwrap_or(5060),
                    network_protocol: r.try_get("network_protocol")?,
                    transport_protocol: r.try_get("transport_protocol")?,
                    codecs: r.try_get("codecs")?,
                    authorization_name: r.try_get("authorization_name")?,
                    authorization_password: r.try_get("authorization_password")?,
                    src_rewrite_rule: r.try_get("src_rewrite_rule")?,
                    src_rewrite_result: r.try_get("src_rewrite_result")?,
                    dst_rewrite_rule: r.try_get("dst_rewrite_rule")?,
                    dst_rewrite_result: r.try_get("dst_rewrite_result")?,
                })
            })
            .collect()
    }

    /// Customers' modes; a value outside the enum (written around the API)
    /// falls back to the domain default's meaning, `operator_customer`.
    async fn modes(&self, sql: Sql) -> Result<HashMap<i64, TrmMode>> {
        sql.query()
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                let mode: Option<String> = r.try_get("trm_mode")?;
                Ok((r.try_get("id")?, mode.as_deref().and_then(TrmMode::parse).unwrap_or(TrmMode::OperatorCustomer)))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::stores;
    use crate::{Actor, Input, RelInput, Store};
    use domain::routing::TrmMode;
    use domain::schema;

    async fn create(s: &Store, res: &'static schema::Resource, input: Input) -> i64 {
        s.create(res, &Actor::system(), input).await.unwrap().id()
    }

    async fn route(s: &Store, gw: i64, dst: Option<&str>, customer: Option<i64>) -> i64 {
        let mut i = Input::default()
            .with(&schema::ROUTES, "name", "r")
            .with(&schema::ROUTES, "src_prefix", "49")
            .with(&schema::ROUTES, "dst_rewrite_rule", "^(\\d+)$")
            .with_rel(&schema::ROUTES, "gateway", RelInput::To("termination_gateways", gw));
        if let Some(d) = dst {
            i = i.with(&schema::ROUTES, "dst_prefix", d);
        }
        if let Some(c) = customer {
            i = i.with_rel(&schema::ROUTES, "customer", RelInput::To("customers", c));
        }
        create(s, &schema::ROUTES, i).await
    }

    #[tokio::test]
    async fn reads_routes_gateways_modes_and_only_the_candidates_asked_for() {
        for (name, s, _db) in stores().await {
            let c = create(
                &s,
                &schema::CUSTOMERS,
                Input::default().with(&schema::CUSTOMERS, "name", "a").with(&schema::CUSTOMERS, "trm_mode", "customer"),
            )
            .await;
            let other = create(&s, &schema::CUSTOMERS, Input::default().with(&schema::CUSTOMERS, "name", "b")).await;
            let gw = |host: &'static str| {
                Input::default()
                    .with(&schema::GATEWAYS, "name", host)
                    .with(&schema::GATEWAYS, "host", host)
                    .with(&schema::GATEWAYS, "port", 5080i64)
                    .with(&schema::GATEWAYS, "authorization_name", "u")
                    .with(&schema::GATEWAYS, "authorization_password", "p")
            };
            let shared_gw = create(&s, &schema::GATEWAYS, gw("192.0.2.1")).await;
            let other_gw =
                create(&s, &schema::GATEWAYS, gw("192.0.2.2").with_rel(&schema::GATEWAYS, "customer", RelInput::To("customers", other)))
                    .await;
            let all = route(&s, shared_gw, None, None).await;
            let uk = route(&s, shared_gw, Some("44"), Some(c)).await;
            let london = route(&s, shared_gw, Some("4420"), None).await;
            let de = route(&s, shared_gw, Some("49"), None).await;
            let theirs = route(&s, other_gw, Some("44"), Some(other)).await;
            let fallback = route(&s, shared_gw, Some("999"), None).await;

            let cfg = s.routing_config().await.unwrap();
            assert_eq!(cfg.routes.len(), 6, "{name}");
            assert_eq!(cfg.gateways.len(), 2, "{name}");
            assert_eq!(cfg.default_route_id, None, "{name}");
            assert_eq!((cfg.modes[&c], cfg.modes[&other]), (TrmMode::Customer, TrmMode::OperatorCustomer), "{name}");
            let g = cfg.gateways.iter().find(|g| g.id == shared_gw).unwrap();
            assert_eq!((g.port, g.authorization_password.as_deref(), g.transport_protocol.as_str()), (5080, Some("p"), "UDP"), "{name}");
            let r = cfg.routes.iter().find(|r| r.id == uk).unwrap();
            assert_eq!(
                (r.customer_id, r.dst_prefix.as_deref(), r.src_prefix.as_deref(), r.operator),
                (Some(c), Some("44"), Some("49"), true),
                "{name}"
            );
            assert_eq!((r.dst_rewrite_rule.as_deref(), r.dst_rewrite_result.as_deref()), (Some("^(\\d+)$"), None), "{name}");

            let settings = Input::default().with_rel(
                &schema::DOMAIN_SETTINGS,
                "default_termination_route",
                RelInput::To("termination_routes", fallback),
            );
            s.update(&schema::DOMAIN_SETTINGS, &Actor::system(), 1, settings).await.unwrap();
            let cand = s.route_candidates(c, "442071234567").await.unwrap();
            let mut ids: Vec<i64> = cand.routes.iter().map(|r| r.id).collect();
            ids.sort_unstable();
            assert_eq!(ids, [all, uk, london, fallback], "{name}: not {de} nor {theirs}");
            assert_eq!(cand.gateways.iter().map(|g| g.id).collect::<Vec<_>>(), [shared_gw], "{name}");
            assert_eq!(cand.default_route_id, Some(fallback), "{name}");
            assert_eq!(cand.modes.len(), 1, "{name}");
            assert!(s.route_candidates(987_654, "44").await.unwrap().modes.is_empty(), "{name}: unknown customer");
        }
    }
}
