//! Who may do what: the one place that grants or denies. The APIs, the UIs
//! and the store ask it; none decides by itself.
//!
//! An [`Actor`] acts in a [`Scope`] (the operator, or one customer). What a
//! customer may do depends on the domain settings ([`Openings`]), so the
//! questions that need them are asked of a [`Policy`]; the ones that do not
//! (which rows a scope sees, whose record a create makes) are asked of the
//! scope. Every rule is in the [`RULES`] table below, one entry per resource.

use crate::schema::{self, Resource, Tenant};
use crate::Value;

/// Whose data a call may see and change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Operator,
    Customer(i64),
}

/// Who makes a change, for the audit log and for the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub scope: Scope,
    /// `operator_user`, `api_credential`, `customer_user`, `customer_session`,
    /// `operator_impersonation`, `system`.
    pub kind: &'static str,
    pub id: String,
    pub name: String,
}

impl Actor {
    pub fn system() -> Self {
        Actor { scope: Scope::Operator, kind: "system", id: String::new(), name: "system".into() }
    }
}

/// What is being done to a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// List, show, related records, CSV export.
    Read,
    Create,
    Update,
    Delete,
}

impl Method {
    pub const ALL: [Method; 4] = [Method::Read, Method::Create, Method::Update, Method::Delete];

    fn participle(self) -> &'static str {
        match self {
            Method::Read => "read",
            Method::Create => "created",
            Method::Update => "changed",
            Method::Delete => "deleted",
        }
    }
}

/// A domain-settings switch that opens a resource or fields to customers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opening {
    AddNumbers,
    ManageTrunks,
    ManageGateways,
    ManageRoutes,
}

impl Opening {
    pub const ALL: [Opening; 4] = [Opening::AddNumbers, Opening::ManageTrunks, Opening::ManageGateways, Opening::ManageRoutes];

    /// The domain-settings attribute holding the switch.
    pub fn setting(self) -> &'static str {
        match self {
            Opening::AddNumbers => "customers_may_add_numbers",
            Opening::ManageTrunks => "customers_may_manage_incoming_trunks",
            Opening::ManageGateways => "customers_may_manage_termination_gateways",
            Opening::ManageRoutes => "customers_may_manage_termination_routes",
        }
    }

    /// Whether the switch also narrows to the fields named in
    /// `customer_termination_fields`.
    fn per_field(self) -> bool {
        matches!(self, Opening::ManageGateways | Opening::ManageRoutes)
    }
}

/// The domain settings that decide what customers may do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Openings {
    open: [bool; 4],
    /// `customer_termination_fields`: the gateway and route fields a
    /// customer may set where managing them is open.
    termination_fields: Vec<String>,
}

/// The domain-settings attribute listing the termination fields customers may set.
pub const TERMINATION_FIELDS_SETTING: &str = "customer_termination_fields";

impl Openings {
    /// Reads the switches from the domain settings record.
    pub fn from_settings<'a>(get: impl Fn(&str) -> &'a Value) -> Openings {
        let open = Opening::ALL.map(|o| get(o.setting()).as_bool() == Some(true));
        let termination_fields =
            get(TERMINATION_FIELDS_SETTING).as_str().unwrap_or_default().split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect();
        Openings { open, termination_fields }
    }

    /// Only the given switches on, and these termination fields (tests, docs).
    pub fn with(open: &[Opening], termination_fields: &[&str]) -> Openings {
        Openings {
            open: Opening::ALL.map(|o| open.contains(&o)),
            termination_fields: termination_fields.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    fn is_open(&self, o: Opening) -> bool {
        self.open[o as usize]
    }

    fn opens_field(&self, o: Opening, name: &str) -> bool {
        self.is_open(o) && (!o.per_field() || self.termination_fields.iter().any(|f| f == name))
    }
}

/// Whether a customer may set a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Grant {
    Yes,
    If(Opening),
}

/// What a scope may do with a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Methods {
    read: bool,
    create: bool,
    update: bool,
    delete: bool,
}

impl Methods {
    fn allows(self, m: Method) -> bool {
        match m {
            Method::Read => self.read,
            Method::Create => self.create,
            Method::Update => self.update,
            Method::Delete => self.delete,
        }
    }
}

const ALL: Methods = Methods { read: true, create: true, update: true, delete: true };
const READ: Methods = Methods { read: true, create: false, update: false, delete: false };
const READ_UPDATE: Methods = Methods { read: true, create: false, update: true, delete: false };
const NONE: Methods = Methods { read: false, create: false, update: false, delete: false };

/// A rule that looks at the record itself: `Err(why)` denies.
type RowRule = fn(&Policy, Method, &dyn Row) -> Result<(), &'static str>;

/// Everything the policy says about one resource.
struct Rule {
    res: &'static Resource,
    operator: Methods,
    customer: Methods,
    /// A switch that must be on for a customer's create, update or delete.
    gate: Option<Opening>,
    /// The attributes and relationships a customer may set (every other is
    /// the operator's alone). The `customer` relationship is not listed: a
    /// customer's records are its own, whatever it sends ([`Scope::owner`]).
    customer_sets: &'static [(&'static str, Grant)],
    row: Option<RowRule>,
}

use Grant::{If, Yes};
use Opening::*;

const GATEWAY_FIELDS: &[(&str, Grant)] = &[
    ("name", If(ManageGateways)),
    ("host", If(ManageGateways)),
    ("port", If(ManageGateways)),
    ("network_protocol", If(ManageGateways)),
    ("authorization_name", If(ManageGateways)),
    ("authorization_password", If(ManageGateways)),
    ("codecs", If(ManageGateways)),
    ("transport_protocol", If(ManageGateways)),
    ("src_rewrite_rule", If(ManageGateways)),
    ("src_rewrite_result", If(ManageGateways)),
    ("dst_rewrite_rule", If(ManageGateways)),
    ("dst_rewrite_result", If(ManageGateways)),
];

const ROUTE_FIELDS: &[(&str, Grant)] = &[
    ("name", If(ManageRoutes)),
    ("src_prefix", If(ManageRoutes)),
    ("dst_prefix", If(ManageRoutes)),
    ("src_rewrite_rule", If(ManageRoutes)),
    ("src_rewrite_result", If(ManageRoutes)),
    ("dst_rewrite_rule", If(ManageRoutes)),
    ("dst_rewrite_result", If(ManageRoutes)),
    ("gateway", If(ManageRoutes)),
];

/// A customer never changes a system (provisioned) number, and deletes only
/// numbers it added itself, where the domain lets it add them.
fn did_row(p: &Policy, m: Method, row: &dyn Row) -> Result<(), &'static str> {
    if !p.is_customer() {
        return Ok(());
    }
    match m {
        Method::Update if !row.value("external_id").is_null() => Err("This is a system number: only the operator can change it."),
        Method::Delete if row.value("controlled_via_ui").as_bool() != Some(true) || !p.open.is_open(AddNumbers) => {
            Err("Only numbers you added yourself can be deleted, where the domain allows it.")
        }
        _ => Ok(()),
    }
}

/// The policy, one entry per resource of [`schema::RESOURCES`].
static RULES: &[Rule] = &[
    Rule { res: &schema::CUSTOMERS, operator: ALL, customer: READ_UPDATE, gate: None, customer_sets: &[("language", Yes)], row: None },
    Rule {
        res: &schema::SIP_ACCOUNTS,
        operator: ALL,
        customer: ALL,
        gate: None,
        customer_sets: &[
            ("username", Yes),
            ("password", Yes),
            ("caller_id_name", Yes),
            ("internal_caller_id", Yes),
            ("external_caller_id", Yes),
        ],
        row: None,
    },
    Rule {
        res: &schema::DID_NUMBERS,
        operator: ALL,
        customer: ALL,
        gate: None,
        customer_sets: &[("number", If(AddNumbers)), ("forward_number", Yes), ("destination", Yes)],
        row: Some(did_row),
    },
    Rule {
        res: &schema::RING_GROUPS,
        operator: ALL,
        customer: ALL,
        gate: None,
        customer_sets: &[("name", Yes), ("strategy", Yes), ("ring_timeout", Yes), ("external_numbers", Yes), ("members", Yes)],
        row: None,
    },
    // The operator's: customers do not see how channels are pooled (their
    // own capacity_limit is on their customer record).
    Rule { res: &schema::CAPACITY_GROUPS, operator: ALL, customer: NONE, gate: None, customer_sets: &[], row: None },
    Rule {
        res: &schema::INCOMING_TRUNKS,
        operator: ALL,
        customer: ALL,
        gate: Some(ManageTrunks),
        customer_sets: &[
            ("name", Yes),
            ("codecs", Yes),
            ("transport_protocol", Yes),
            ("destination_field", Yes),
            ("allowed_sources", Yes),
            ("auth_name", Yes),
            ("auth_password", Yes),
        ],
        row: None,
    },
    Rule { res: &schema::GATEWAYS, operator: ALL, customer: ALL, gate: Some(ManageGateways), customer_sets: GATEWAY_FIELDS, row: None },
    Rule { res: &schema::ROUTES, operator: ALL, customer: ALL, gate: Some(ManageRoutes), customer_sets: ROUTE_FIELDS, row: None },
    Rule { res: &schema::INCOMING_CDRS, operator: READ, customer: READ, gate: None, customer_sets: &[], row: None },
    Rule { res: &schema::TERMINATION_CDRS, operator: READ, customer: READ, gate: None, customer_sets: &[], row: None },
    Rule { res: &schema::OPERATOR_USERS, operator: ALL, customer: NONE, gate: None, customer_sets: &[], row: None },
    Rule { res: &schema::CUSTOMER_USERS, operator: ALL, customer: NONE, gate: None, customer_sets: &[], row: None },
    Rule { res: &schema::API_CREDENTIALS, operator: ALL, customer: NONE, gate: None, customer_sets: &[], row: None },
    Rule { res: &schema::AUDIT_LOG, operator: READ, customer: NONE, gate: None, customer_sets: &[], row: None },
    Rule { res: &schema::DOMAIN_SETTINGS, operator: READ_UPDATE, customer: NONE, gate: None, customer_sets: &[], row: None },
];

fn rule(res: &Resource) -> &'static Rule {
    RULES.iter().find(|r| r.res.kind == res.kind).expect("every resource of the schema has a rule")
}

/// Read access to a stored record, for the rules that look at it.
pub trait Row {
    fn value(&self, column: &str) -> &Value;
}

/// Which rows of a resource a scope sees (the store writes it as SQL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rows {
    All,
    Nothing,
    /// The record whose id is the customer's (its own customer record).
    Id(i64),
    /// The records whose `customer_id` is this customer's.
    OfCustomer(i64),
}

/// Why something was denied. The API turns it into a 4xx error document,
/// the UI into an error page, the store into a refused write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// The resource does not exist in this scope's API at all.
    Hidden,
    /// The resource never takes this method in this scope.
    Method { kind: &'static str, method: Method },
    /// The domain settings keep customers from this resource.
    Closed { kind: &'static str },
    /// Nobody sets this field (read-only, create-only, unknown).
    NotWritable { name: String, rel: bool },
    /// The operator sets this field, not the customer.
    Field { name: String, rel: bool },
    /// Client-generated ids are not taken for this resource or scope.
    ClientId { kind: &'static str },
    /// A customer names another customer as the owner of a new record.
    Owner,
    /// A rule about this record.
    Row(&'static str),
}

impl std::fmt::Display for Denied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Denied::Hidden => f.write_str("This resource does not exist."),
            Denied::Method { kind, method } => write!(f, "{kind} can't be {} through this API.", method.participle()),
            Denied::Closed { kind } => write!(f, "Customers may not manage {kind} on this domain."),
            Denied::NotWritable { name, .. } => write!(f, "{name} is not allowed."),
            Denied::Field { name, .. } => write!(f, "{name} can't be set by the customer."),
            Denied::ClientId { kind } => write!(f, "Client-generated ids are not accepted for {kind}."),
            Denied::Owner => f.write_str("must be your own customer"),
            Denied::Row(why) => f.write_str(why),
        }
    }
}

impl Scope {
    pub fn customer(self) -> Option<i64> {
        match self {
            Scope::Operator => None,
            Scope::Customer(c) => Some(c),
        }
    }

    pub fn is_customer(self) -> bool {
        matches!(self, Scope::Customer(_))
    }

    fn methods(self, res: &Resource) -> Methods {
        let r = rule(res);
        if self.is_customer() {
            r.customer
        } else {
            r.operator
        }
    }

    /// Whether the resource exists in this scope's API and UI at all.
    pub fn sees(self, res: &Resource) -> bool {
        self.methods(res).read
    }

    /// Whether this scope's API has `m` for `res` at all (the domain
    /// settings may still close it: ask a [`Policy`]).
    pub fn offers(self, res: &Resource, m: Method) -> bool {
        self.methods(res).allows(m)
    }

    /// The rows of `res` this scope sees.
    pub fn rows(self, res: &Resource) -> Rows {
        let Scope::Customer(c) = self else { return Rows::All };
        if !self.sees(res) {
            return Rows::Nothing;
        }
        match res.tenant {
            Tenant::Own => Rows::Id(c),
            Tenant::Column => Rows::OfCustomer(c),
            Tenant::OperatorOnly => Rows::Nothing,
        }
    }

    /// The customer a new record of `res` belongs to: a customer's records
    /// are always its own; the operator names one (or none, for shared
    /// gateways and routes).
    pub fn owner(self, res: &Resource, given: Option<i64>) -> Result<Option<i64>, Denied> {
        match self {
            Scope::Customer(own) if res.rel("customer").is_some() => {
                if given.is_some_and(|c| c != own) {
                    return Err(Denied::Owner);
                }
                Ok(Some(own))
            }
            _ => Ok(given),
        }
    }

    /// Whether the scope chooses the owner of what it creates (the UI
    /// offers the customer picker only then).
    pub fn picks_owner(self) -> bool {
        !self.is_customer()
    }

    /// Whether this scope may ever set `name` of `res`, under some domain
    /// settings (the OpenAPI document marks the rest read-only).
    pub fn may_ever_set(self, res: &Resource, name: &str) -> bool {
        !self.is_customer() || name == "customer" || rule(res).customer_sets.iter().any(|(n, _)| *n == name)
    }

    /// Whether the scope may open a customer's UI as that customer (the
    /// operator's OPEN UI and session links).
    pub fn may_open_customer_ui(self) -> bool {
        !self.is_customer()
    }

    /// Whether the scope sees where a gateway is (host, port, protocols):
    /// a customer does not see the operator's shared gateways.
    pub fn sees_gateway_address(self, gateway_owner: Option<i64>) -> bool {
        match self {
            Scope::Operator => true,
            Scope::Customer(c) => gateway_owner == Some(c),
        }
    }
}

/// The questions whose answers depend on the domain settings.
#[derive(Debug, Clone)]
pub struct Policy {
    scope: Scope,
    open: Openings,
}

impl Policy {
    pub fn operator() -> Policy {
        Policy { scope: Scope::Operator, open: Openings::default() }
    }

    /// The policy of `scope` under these settings (the operator's ignores them).
    pub fn new(scope: Scope, open: Openings) -> Policy {
        Policy { scope, open }
    }

    pub fn scope(&self) -> Scope {
        self.scope
    }

    pub fn is_customer(&self) -> bool {
        self.scope.is_customer()
    }

    /// May this scope do `m` to records of `res` at all? A customer's
    /// create also needs every required field to be its to set.
    pub fn may(&self, res: &'static Resource, m: Method) -> Result<(), Denied> {
        if !self.scope.sees(res) {
            return Err(Denied::Hidden);
        }
        if !self.scope.methods(res).allows(m) {
            return Err(Denied::Method { kind: res.kind, method: m });
        }
        if !self.is_customer() || m == Method::Read {
            return Ok(());
        }
        let r = rule(res);
        if r.gate.is_some_and(|g| !self.open.is_open(g)) {
            return Err(Denied::Closed { kind: res.kind });
        }
        if m == Method::Create {
            let fields = res.fields.iter().filter(|f| f.required).map(|f| f.name);
            let rels = res.rels.iter().filter(|r| r.required).map(|r| r.name);
            // A create the customer could never complete is refused as such.
            for name in fields.chain(rels) {
                self.may_set(res, name, true)?;
            }
        }
        Ok(())
    }

    /// May this scope set the attribute or relationship `name` of `res` in
    /// a create (`creating`) or an update?
    pub fn may_set(&self, res: &'static Resource, name: &str, creating: bool) -> Result<(), Denied> {
        let (writable, rel) = match (res.field(name), res.rel(name)) {
            (Some(f), _) => (f.name != "id" && f.writable(creating), false),
            (None, Some(r)) => (creating || r.updatable, true),
            (None, None) => (false, false),
        };
        if !writable {
            return Err(Denied::NotWritable { name: name.to_owned(), rel });
        }
        if !self.is_customer() || (rel && name == "customer") {
            return Ok(());
        }
        let granted = rule(res).customer_sets.iter().find(|(n, _)| *n == name).is_some_and(|(_, g)| match g {
            Grant::Yes => true,
            Grant::If(o) => self.open.opens_field(*o, name),
        });
        if granted {
            Ok(())
        } else {
            Err(Denied::Field { name: name.to_owned(), rel })
        }
    }

    /// May this scope create a record of `res` with an id it chose?
    pub fn may_choose_id(&self, res: &Resource) -> Result<(), Denied> {
        if res.client_ids && !self.is_customer() {
            Ok(())
        } else {
            Err(Denied::ClientId { kind: res.kind })
        }
    }

    /// May this scope do `m` to this record, which it sees and may do `m`
    /// to records of its resource?
    pub fn may_change(&self, res: &'static Resource, m: Method, row: &dyn Row) -> Result<(), Denied> {
        self.may(res, m)?;
        match rule(res).row {
            Some(check) => check(self, m, row).map_err(Denied::Row),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_resource_has_one_rule_naming_real_fields() {
        for res in schema::RESOURCES {
            assert_eq!(RULES.iter().filter(|r| r.res.kind == res.kind).count(), 1, "{}", res.kind);
        }
        assert_eq!(RULES.len(), schema::RESOURCES.len());
        for r in RULES {
            for (name, _) in r.customer_sets {
                assert!(r.res.field(name).is_some() || r.res.rel(name).is_some(), "{}.{name}", r.res.kind);
            }
        }
    }

    #[test]
    fn termination_fields_setting_names_every_per_field_grant() {
        let listed: Vec<&str> = schema::TERMINATION_FIELD_NAMES.split(',').collect();
        for r in RULES {
            for (name, g) in r.customer_sets {
                if matches!(g, Grant::If(o) if o.per_field()) {
                    assert!(listed.contains(name), "{}.{name} missing from TERMINATION_FIELD_NAMES", r.res.kind);
                }
            }
        }
    }
}
