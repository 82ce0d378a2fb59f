//! Termination route selection: which routes and gateways an outbound call
//! tries, in which order, with which rewritten numbers. Pure and built once
//! per configuration: [`RouteTable::build`] compiles every rewrite rule and
//! indexes routes by `dst_prefix`, so [`RouteTable::plan`] probes at most
//! one bucket per prefix length of the number instead of scanning routes.
//! The rules are those of `docs/routing.md`.

use crate::rewrite::RewriteRule;
use std::collections::HashMap;
use std::sync::Arc;

/// A customer's termination mode (`customers.trm_mode`): which routes its
/// calls may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrmMode {
    /// Operator-made routes, shared or the customer's own.
    Operator,
    /// Shared routes and the customer's own.
    OperatorCustomer,
    /// Shared routes only.
    System,
    /// Shared routes and the customer's own.
    SystemCustomer,
    /// The customer's own routes only.
    Customer,
}

impl TrmMode {
    /// From the stored enum string (`crate::schema::TRM_MODES`).
    pub fn parse(s: &str) -> Option<TrmMode> {
        Some(match s {
            "operator" => TrmMode::Operator,
            "operator_customer" => TrmMode::OperatorCustomer,
            "system" => TrmMode::System,
            "system_customer" => TrmMode::SystemCustomer,
            "customer" => TrmMode::Customer,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TrmMode::Operator => "operator",
            TrmMode::OperatorCustomer => "operator_customer",
            TrmMode::System => "system",
            TrmMode::SystemCustomer => "system_customer",
            TrmMode::Customer => "customer",
        }
    }

    /// May a call of `customer` in this mode use a route owned by
    /// `owner` (None: shared) and made by the operator (`operator`)?
    fn allows(self, customer: i64, owner: Option<i64>, operator: bool) -> bool {
        let own_or_shared = owner.is_none() || owner == Some(customer);
        match self {
            TrmMode::System => owner.is_none(),
            TrmMode::Customer => owner == Some(customer),
            TrmMode::Operator => operator && own_or_shared,
            TrmMode::OperatorCustomer | TrmMode::SystemCustomer => own_or_shared,
        }
    }
}

/// A termination gateway as stored (`termination_gateways`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayDef {
    pub id: i64,
    /// None: shared by the operator.
    pub customer_id: Option<i64>,
    pub name: String,
    pub host: String,
    pub port: u16,
    /// `IPv4_only`, `IPv6_only`, `dual_stack`, `IPv4_preferred`, `IPv6_preferred`.
    pub network_protocol: String,
    /// `UDP`, `TCP` or `TLS`.
    pub transport_protocol: String,
    /// Comma-separated canonical codec names, in priority order.
    pub codecs: String,
    pub authorization_name: Option<String>,
    pub authorization_password: Option<String>,
    pub src_rewrite_rule: Option<String>,
    pub src_rewrite_result: Option<String>,
    pub dst_rewrite_rule: Option<String>,
    pub dst_rewrite_result: Option<String>,
}

/// A termination route as stored (`termination_routes`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteDef {
    pub id: i64,
    /// None: shared by the operator.
    pub customer_id: Option<i64>,
    pub gateway_id: i64,
    pub name: String,
    /// None or empty: matches every number.
    pub src_prefix: Option<String>,
    pub dst_prefix: Option<String>,
    pub src_rewrite_rule: Option<String>,
    pub src_rewrite_result: Option<String>,
    pub dst_rewrite_rule: Option<String>,
    pub dst_rewrite_result: Option<String>,
    /// Made through the operator API (not by the customer).
    pub operator: bool,
}

/// One try of an outbound call: this route, this gateway, these numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub route_id: i64,
    pub route_name: String,
    pub gateway: Arc<GatewayDef>,
    /// The numbers after the route's rewrites, then the gateway's.
    pub src_number_out: String,
    pub dst_number_out: String,
}

/// Source and destination rewrites of a route or a gateway.
#[derive(Debug, Clone, Default)]
struct Rewrites {
    src: Option<RewriteRule>,
    dst: Option<RewriteRule>,
}

impl Rewrites {
    /// Compiles both rules; the error names the failing one.
    fn compile(
        cache: &mut RuleCache,
        src: (&Option<String>, &Option<String>),
        dst: (&Option<String>, &Option<String>),
    ) -> Result<Self, String> {
        Ok(Rewrites {
            src: cache.rule(src.0, src.1).map_err(|e| format!("src_rewrite_rule {e}"))?,
            dst: cache.rule(dst.0, dst.1).map_err(|e| format!("dst_rewrite_rule {e}"))?,
        })
    }

    fn apply(&self, src: &str, dst: &str) -> (String, String) {
        (crate::rewrite::apply_opt(self.src.as_ref(), src), crate::rewrite::apply_opt(self.dst.as_ref(), dst))
    }
}

/// Rules compiled during one build, by (rule, result): route tables repeat
/// a handful of rules over thousands of routes, and compiling a regex costs
/// far more than cloning one (a clone shares the compiled program).
#[derive(Default)]
struct RuleCache(HashMap<(String, String), Result<RewriteRule, String>>);

impl RuleCache {
    /// A NULL or empty rule changes nothing; a NULL result is an empty
    /// replacement.
    fn rule(&mut self, rule: &Option<String>, result: &Option<String>) -> Result<Option<RewriteRule>, String> {
        let Some(rule) = rule.as_deref().filter(|r| !r.is_empty()) else { return Ok(None) };
        let result = result.as_deref().unwrap_or("");
        self.0.entry((rule.to_owned(), result.to_owned())).or_insert_with(|| RewriteRule::parse(rule, result)).clone().map(Some)
    }
}

struct Gateway {
    def: Arc<GatewayDef>,
    rewrites: Rewrites,
}

struct Route {
    id: i64,
    name: String,
    customer_id: Option<i64>,
    operator: bool,
    dst_prefix: String,
    src_prefix: String,
    /// Index into `RouteTable::gateways`.
    gateway: usize,
    rewrites: Rewrites,
}

/// The routes of one dst_prefix, split by owner so a call only looks at
/// the shared ones and its own customer's, however many customers there
/// are. Each list is sorted by longest src_prefix, then lowest id.
#[derive(Default)]
struct Bucket {
    shared: Vec<usize>,
    own: HashMap<i64, Vec<usize>>,
}

/// Every usable route and gateway, compiled and indexed.
pub struct RouteTable {
    gateways: Vec<Gateway>,
    routes: Vec<Route>,
    /// Route indexes by exact dst_prefix ("" for none).
    by_dst: HashMap<String, Bucket>,
    /// The longest dst_prefix present: no probe beyond it can hit.
    longest_dst: usize,
    default_route: Option<usize>,
    warnings: Vec<String>,
}

impl std::fmt::Debug for RouteTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteTable").field("routes", &self.routes.len()).field("gateways", &self.gateways.len()).finish_non_exhaustive()
    }
}

impl Default for RouteTable {
    fn default() -> Self {
        RouteTable::build(Vec::new(), Vec::new(), None)
    }
}

impl RouteTable {
    /// Compiles and indexes. A route whose rules (or whose gateway's rules)
    /// do not compile, or whose gateway is missing, is left out and named
    /// in [`RouteTable::warnings`]: a call never goes out with numbers a
    /// broken rule should have rewritten. (Rules are checked when saved, so
    /// this only guards against data written around the API.)
    pub fn build(routes: Vec<RouteDef>, gateways: Vec<GatewayDef>, default_route_id: Option<i64>) -> RouteTable {
        let mut warnings = Vec::new();
        let mut cache = RuleCache::default();
        let mut gw_index = HashMap::new();
        let mut compiled_gateways = Vec::with_capacity(gateways.len());
        for g in gateways {
            match Rewrites::compile(&mut cache, (&g.src_rewrite_rule, &g.src_rewrite_result), (&g.dst_rewrite_rule, &g.dst_rewrite_result))
            {
                Ok(rewrites) => {
                    gw_index.insert(g.id, compiled_gateways.len());
                    compiled_gateways.push(Gateway { def: Arc::new(g), rewrites });
                }
                Err(e) => warnings.push(format!("termination gateway {} left out: {e}", g.id)),
            }
        }
        let mut compiled = Vec::with_capacity(routes.len());
        for r in routes {
            let Some(&gateway) = gw_index.get(&r.gateway_id) else {
                warnings.push(format!("termination route {} left out: gateway {} is missing or unusable", r.id, r.gateway_id));
                continue;
            };
            match Rewrites::compile(&mut cache, (&r.src_rewrite_rule, &r.src_rewrite_result), (&r.dst_rewrite_rule, &r.dst_rewrite_result))
            {
                Ok(rewrites) => compiled.push(Route {
                    id: r.id,
                    name: r.name,
                    customer_id: r.customer_id,
                    operator: r.operator,
                    dst_prefix: r.dst_prefix.unwrap_or_default(),
                    src_prefix: r.src_prefix.unwrap_or_default(),
                    gateway,
                    rewrites,
                }),
                Err(e) => warnings.push(format!("termination route {} left out: {e}", r.id)),
            }
        }
        let routes = compiled;
        let mut by_dst: HashMap<String, Bucket> = HashMap::new();
        for (i, r) in routes.iter().enumerate() {
            let bucket = by_dst.entry(r.dst_prefix.clone()).or_default();
            match r.customer_id {
                None => bucket.shared.push(i),
                Some(c) => bucket.own.entry(c).or_default().push(i),
            }
        }
        let key = |&i: &usize| (std::cmp::Reverse(routes[i].src_prefix.len()), routes[i].id);
        for bucket in by_dst.values_mut() {
            bucket.shared.sort_by_key(key);
            bucket.own.values_mut().for_each(|l| l.sort_by_key(key));
        }
        let longest_dst = by_dst.keys().map(String::len).max().unwrap_or(0);
        let default_route = default_route_id.and_then(|id| {
            let found = routes.iter().position(|r| r.id == id);
            if found.is_none() {
                warnings.push(format!("the default termination route {id} is missing or unusable"));
            }
            found
        });
        RouteTable { gateways: compiled_gateways, routes, by_dst, longest_dst, default_route, warnings }
    }

    /// What was left out at build time, and why.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// How many routes are usable.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// The attempts for a call of `customer` in `mode` from `src` to `dst`
    /// (as dialled), in the order they are tried. Empty: no route.
    pub fn plan(&self, customer: i64, mode: TrmMode, src: &str, dst: &str) -> Vec<Attempt> {
        let mut chosen: Vec<usize> = Vec::new();
        // One probe per prefix length of dst, longest first, so buckets
        // come in dst_prefix order; within one, merging the customer's and
        // the shared list (each by src_prefix, id) gives the rest of it.
        for len in (0..=dst.len().min(self.longest_dst)).rev() {
            let Some(prefix) = dst.get(..len) else { continue };
            let Some(bucket) = self.by_dst.get(prefix) else { continue };
            let own = bucket.own.get(&customer).map_or(&[][..], Vec::as_slice);
            let (mut a, mut b) = (own.iter().peekable(), bucket.shared.iter().peekable());
            loop {
                let next = match (a.peek(), b.peek()) {
                    // Equal src_prefix length: the customer's first.
                    (Some(&&x), Some(&&y)) if self.routes[x].src_prefix.len() >= self.routes[y].src_prefix.len() => a.next(),
                    (Some(_), Some(_)) | (None, Some(_)) => b.next(),
                    (Some(_), None) => a.next(),
                    (None, None) => break,
                };
                let i = *next.expect("peeked");
                let r = &self.routes[i];
                if src.starts_with(r.src_prefix.as_str())
                    && mode.allows(customer, r.customer_id, r.operator)
                    && self.gateway_usable(r, customer)
                {
                    chosen.push(i);
                }
            }
        }
        self.with_default(&mut chosen, customer);
        chosen.into_iter().map(|i| self.attempt(&self.routes[i], src, dst)).collect()
    }

    fn gateway_usable(&self, r: &Route, customer: i64) -> bool {
        let owner = self.gateways[r.gateway].def.customer_id;
        owner.is_none() || owner == Some(customer)
    }

    fn attempt(&self, r: &Route, src: &str, dst: &str) -> Attempt {
        let gw = &self.gateways[r.gateway];
        let (src, dst) = r.rewrites.apply(src, dst);
        let (src_number_out, dst_number_out) = gw.rewrites.apply(&src, &dst);
        Attempt { route_id: r.id, route_name: r.name.clone(), gateway: gw.def.clone(), src_number_out, dst_number_out }
    }

    /// The same selection by scanning every route: the baseline of the
    /// benchmark and the oracle of the tests. Never use it per call.
    pub fn plan_by_scan(&self, customer: i64, mode: TrmMode, src: &str, dst: &str) -> Vec<Attempt> {
        let mut chosen: Vec<usize> = (0..self.routes.len())
            .filter(|&i| {
                let r = &self.routes[i];
                dst.starts_with(r.dst_prefix.as_str())
                    && src.starts_with(r.src_prefix.as_str())
                    && mode.allows(customer, r.customer_id, r.operator)
                    && self.gateway_usable(r, customer)
            })
            .collect();
        chosen.sort_by_key(|&i| {
            let r = &self.routes[i];
            (std::cmp::Reverse(r.dst_prefix.len()), std::cmp::Reverse(r.src_prefix.len()), r.customer_id.is_none(), r.id)
        });
        self.with_default(&mut chosen, customer);
        chosen.into_iter().map(|i| self.attempt(&self.routes[i], src, dst)).collect()
    }

    /// Appends the default route unless it is already chosen. It applies
    /// whatever the mode, but never crosses tenants.
    fn with_default(&self, chosen: &mut Vec<usize>, customer: i64) {
        if let Some(d) = self.default_route {
            let r = &self.routes[d];
            let owner_ok = r.customer_id.is_none() || r.customer_id == Some(customer);
            if owner_ok && self.gateway_usable(r, customer) && !chosen.contains(&d) {
                chosen.push(d);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: i64 = 7;
    const OTHER: i64 = 8;

    fn gw(id: i64, customer_id: Option<i64>) -> GatewayDef {
        GatewayDef {
            id,
            customer_id,
            name: format!("gw{id}"),
            host: format!("gw{id}.example.net"),
            port: 5060,
            network_protocol: "IPv4_only".into(),
            transport_protocol: "UDP".into(),
            codecs: "PCMA,PCMU".into(),
            authorization_name: None,
            authorization_password: None,
            src_rewrite_rule: None,
            src_rewrite_result: None,
            dst_rewrite_rule: None,
            dst_rewrite_result: None,
        }
    }

    fn route(id: i64, customer_id: Option<i64>, src: &str, dst: &str) -> RouteDef {
        RouteDef {
            id,
            customer_id,
            gateway_id: 1,
            name: format!("r{id}"),
            src_prefix: (!src.is_empty()).then(|| src.into()),
            dst_prefix: (!dst.is_empty()).then(|| dst.into()),
            src_rewrite_rule: None,
            src_rewrite_result: None,
            dst_rewrite_rule: None,
            dst_rewrite_result: None,
            operator: true,
        }
    }

    fn ids(t: &RouteTable, mode: TrmMode, src: &str, dst: &str) -> Vec<i64> {
        let plan = t.plan(C, mode, src, dst);
        assert_eq!(plan, t.plan_by_scan(C, mode, src, dst), "index and scan agree");
        plan.iter().map(|a| a.route_id).collect()
    }

    fn shared_gw() -> Vec<GatewayDef> {
        vec![gw(1, None)]
    }

    #[test]
    fn longest_dst_prefix_first() {
        let t = RouteTable::build(
            vec![route(1, None, "", ""), route(2, None, "", "44"), route(3, None, "", "4420"), route(4, None, "", "45")],
            shared_gw(),
            None,
        );
        assert_eq!(ids(&t, TrmMode::OperatorCustomer, "100", "442071234567"), [3, 2, 1]);
        assert_eq!(ids(&t, TrmMode::OperatorCustomer, "100", "4930"), [1]);
        assert_eq!(ids(&t, TrmMode::OperatorCustomer, "100", ""), [1]);
    }

    #[test]
    fn then_longest_src_prefix() {
        let t = RouteTable::build(
            vec![route(1, None, "", "44"), route(2, None, "49", "44"), route(3, None, "4930", "44"), route(4, None, "33", "44")],
            shared_gw(),
            None,
        );
        assert_eq!(ids(&t, TrmMode::OperatorCustomer, "4930111", "4412"), [3, 2, 1]);
        assert_eq!(ids(&t, TrmMode::OperatorCustomer, "", "4412"), [1]);
    }

    #[test]
    fn dst_prefix_outranks_src_prefix() {
        let t = RouteTable::build(vec![route(1, None, "4930", "4"), route(2, None, "", "44")], shared_gw(), None);
        assert_eq!(ids(&t, TrmMode::OperatorCustomer, "4930111", "4412"), [2, 1]);
    }

    #[test]
    fn then_customer_before_shared_then_lowest_id() {
        let t = RouteTable::build(
            vec![route(5, None, "", "44"), route(2, None, "", "44"), route(9, Some(C), "", "44"), route(4, Some(C), "", "44")],
            shared_gw(),
            None,
        );
        assert_eq!(ids(&t, TrmMode::OperatorCustomer, "1", "441"), [4, 9, 2, 5]);
    }

    #[test]
    fn empty_and_null_prefixes_match_all() {
        let mut r = route(1, None, "", "");
        r.src_prefix = Some(String::new());
        r.dst_prefix = Some(String::new());
        let t = RouteTable::build(vec![r, route(2, None, "", "")], shared_gw(), None);
        assert_eq!(ids(&t, TrmMode::OperatorCustomer, "", "123"), [1, 2]);
    }

    fn by_mode() -> RouteTable {
        let mut customer_made = route(3, Some(C), "", "4");
        customer_made.operator = false;
        let mut shared_customer_made = route(5, None, "", "4");
        shared_customer_made.operator = false;
        RouteTable::build(
            vec![route(1, None, "", "4"), route(2, Some(C), "", "4"), customer_made, route(4, Some(OTHER), "", "4"), shared_customer_made],
            shared_gw(),
            None,
        )
    }

    #[test]
    fn modes_restrict_candidates() {
        let t = by_mode();
        assert_eq!(ids(&t, TrmMode::System, "1", "44"), [1, 5]);
        assert_eq!(ids(&t, TrmMode::Customer, "1", "44"), [2, 3]);
        assert_eq!(ids(&t, TrmMode::Operator, "1", "44"), [2, 1]);
        assert_eq!(ids(&t, TrmMode::OperatorCustomer, "1", "44"), [2, 3, 1, 5]);
        assert_eq!(ids(&t, TrmMode::SystemCustomer, "1", "44"), [2, 3, 1, 5]);
    }

    #[test]
    fn another_customers_gateway_is_never_used() {
        let mut r = route(2, None, "", "4");
        r.gateway_id = 2;
        let mut own = route(3, Some(C), "", "4");
        own.gateway_id = 3;
        let t = RouteTable::build(vec![route(1, None, "", "4"), r, own], vec![gw(1, None), gw(2, Some(OTHER)), gw(3, Some(C))], None);
        assert_eq!(ids(&t, TrmMode::OperatorCustomer, "1", "44"), [3, 1]);
        assert_eq!(t.plan(OTHER, TrmMode::OperatorCustomer, "1", "44").iter().map(|a| a.route_id).collect::<Vec<_>>(), [1, 2]);
    }

    #[test]
    fn default_route_last_whatever_the_mode() {
        let t =
            RouteTable::build(vec![route(1, None, "", "44"), route(2, Some(C), "", "44"), route(3, None, "", "99")], shared_gw(), Some(3));
        assert_eq!(ids(&t, TrmMode::Customer, "1", "441"), [2, 3]);
        assert_eq!(ids(&t, TrmMode::System, "1", "441"), [1, 3]);
        assert_eq!(ids(&t, TrmMode::System, "1", "55"), [3]);
        // Already a candidate: not tried twice.
        assert_eq!(ids(&t, TrmMode::System, "1", "991"), [3]);
    }

    #[test]
    fn default_route_never_crosses_tenants() {
        let t = RouteTable::build(vec![route(1, Some(OTHER), "", "")], shared_gw(), Some(1));
        assert_eq!(ids(&t, TrmMode::OperatorCustomer, "1", "441"), Vec::<i64>::new());
        let mut r = route(1, None, "", "");
        r.gateway_id = 2;
        let t = RouteTable::build(vec![r], vec![gw(2, Some(OTHER))], Some(1));
        assert_eq!(ids(&t, TrmMode::OperatorCustomer, "1", "441"), Vec::<i64>::new());
    }

    #[test]
    fn route_rewrites_then_gateway_rewrites() {
        let mut r = route(1, None, "", "00");
        r.dst_rewrite_rule = Some("^00(\\d+)$".into());
        r.dst_rewrite_result = Some("+\\1".into());
        r.src_rewrite_rule = Some("^0(\\d+)$".into());
        r.src_rewrite_result = Some("49\\1".into());
        let mut g = gw(1, None);
        g.dst_rewrite_rule = Some("^\\+(\\d+)$".into());
        g.dst_rewrite_result = Some("011\\1".into());
        g.src_rewrite_rule = Some("^49".into());
        g.src_rewrite_result = None;
        let t = RouteTable::build(vec![r], vec![g], None);
        let plan = t.plan(C, TrmMode::OperatorCustomer, "030123", "004420");
        assert_eq!((plan[0].src_number_out.as_str(), plan[0].dst_number_out.as_str()), ("30123", "0114420"));
        assert_eq!(plan[0].gateway.host, "gw1.example.net");
        assert_eq!(plan[0].route_name, "r1");
    }

    #[test]
    fn selection_uses_the_numbers_as_dialled() {
        let mut r = route(1, None, "", "00");
        r.dst_rewrite_rule = Some("^00".into());
        let t = RouteTable::build(vec![r, route(2, None, "", "44")], shared_gw(), None);
        // Route 1 rewrites 0044.. to 44.., but route 2 is not chosen for it.
        let plan = t.plan(C, TrmMode::System, "1", "00441");
        assert_eq!(plan.iter().map(|a| (a.route_id, a.dst_number_out.as_str())).collect::<Vec<_>>(), [(1, "441")]);
    }

    #[test]
    fn broken_rules_and_missing_gateways_leave_the_route_out() {
        let mut bad = route(2, None, "", "");
        bad.dst_rewrite_rule = Some("(".into());
        let mut dangling = route(3, None, "", "");
        dangling.gateway_id = 99;
        let mut bad_gw = gw(4, None);
        bad_gw.src_rewrite_rule = Some("(\\d)".into());
        bad_gw.src_rewrite_result = Some("\\2".into());
        let mut via_bad_gw = route(4, None, "", "");
        via_bad_gw.gateway_id = 4;
        let t = RouteTable::build(vec![route(1, None, "", ""), bad, dangling, via_bad_gw], vec![gw(1, None), bad_gw], Some(42));
        assert_eq!(ids(&t, TrmMode::System, "1", "2"), [1]);
        assert_eq!(t.len(), 1);
        assert_eq!(t.warnings().len(), 5, "{:?}", t.warnings());
    }

    #[test]
    fn odd_numbers_never_panic() {
        let t = RouteTable::build(vec![route(1, None, "", "44"), route(2, None, "", "")], shared_gw(), None);
        for dst in ["", "+44", "4\u{e9}4", "\u{1f600}44", "44444444444444444444444444444444444"] {
            let _ = ids(&t, TrmMode::System, "\u{e9}", dst);
        }
    }

    #[test]
    fn modes_round_trip_their_names() {
        for name in crate::schema::TRM_MODES {
            assert_eq!(TrmMode::parse(name).map(TrmMode::as_str), Some(*name));
        }
        assert_eq!(TrmMode::parse("nope"), None);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn modes() -> impl Strategy<Value = TrmMode> {
            prop_oneof![
                Just(TrmMode::Operator),
                Just(TrmMode::OperatorCustomer),
                Just(TrmMode::System),
                Just(TrmMode::SystemCustomer),
                Just(TrmMode::Customer),
            ]
        }

        fn owner() -> impl Strategy<Value = Option<i64>> {
            prop_oneof![Just(None), Just(Some(C)), Just(Some(OTHER))]
        }

        // Few digits and short prefixes, so routes collide on every rule.
        fn routes() -> impl Strategy<Value = Vec<RouteDef>> {
            prop::collection::vec((owner(), 1..=3i64, "[12]{0,3}", "[12]{0,3}", any::<bool>()), 0..40).prop_map(|v| {
                v.into_iter()
                    .enumerate()
                    .map(|(i, (customer_id, gateway_id, src, dst, operator))| RouteDef {
                        gateway_id,
                        operator,
                        ..route(i as i64 * 7 % 40 + 1 + i as i64 * 40, customer_id, &src, &dst)
                    })
                    .collect()
            })
        }

        proptest! {
            #[test]
            fn the_index_selects_exactly_what_a_scan_selects(
                routes in routes(),
                owners in prop::collection::vec(owner(), 3),
                default in prop::option::of(1..2000i64),
                mode in modes(),
                customer in prop_oneof![Just(C), Just(OTHER)],
                src in "[12]{0,4}",
                dst in "[12]{0,5}",
            ) {
                let gateways = owners.into_iter().enumerate().map(|(i, o)| gw(i as i64 + 1, o)).collect();
                let default = default.and_then(|d| routes.get(d as usize % routes.len().max(1)).map(|r| r.id));
                let t = RouteTable::build(routes, gateways, default);
                prop_assert_eq!(t.plan(customer, mode, &src, &dst), t.plan_by_scan(customer, mode, &src, &dst));
            }
        }
    }
}
