//! The tabs of both UIs, one table row each: the resource behind the tab,
//! the list columns the operator guide names for it, and the filter bar.
//! Everything else (forms, defaults, permissions, validation) comes from the
//! resource schema, so a new resource is a new entry here and nothing more.

use domain::schema::{self, Resource};

/// What one list column shows.
#[derive(Debug, Clone, Copy)]
pub enum Col {
    /// An attribute of the record.
    Attr(&'static str),
    /// The id of a related record.
    RelId(&'static str),
    /// An attribute of a related record (the customer's name, say).
    RelName(&'static str, &'static str),
}

#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub label: &'static str,
    pub col: Col,
}

const fn attr(label: &'static str, name: &'static str) -> Column {
    Column { label, col: Col::Attr(name) }
}
const fn rel_name(label: &'static str, rel: &'static str, field: &'static str) -> Column {
    Column { label, col: Col::RelName(rel, field) }
}

/// One input of a list's filter bar: an API filter name and its label. The
/// input's kind (text, select, time) follows from the schema.
#[derive(Debug, Clone, Copy)]
pub struct Filter {
    pub param: &'static str,
    pub label: &'static str,
}

const fn filter(param: &'static str, label: &'static str) -> Filter {
    Filter { param, label }
}

#[derive(Debug)]
pub struct Tab {
    /// URL segment: `/ui/<slug>`, `/customer/<slug>`.
    pub slug: &'static str,
    pub title: &'static str,
    pub res: &'static Resource,
    pub columns: &'static [Column],
    pub filters: &'static [Filter],
    /// Shown in the customer UI (with the customer columns left out).
    pub customer: bool,
    /// An administration tab (audit, logins): listed after the guide's tabs.
    pub admin: bool,
}

const CUSTOMER: Column = rel_name("Customer", "customer", "name");
const BY_CUSTOMER: Filter = filter("customer.id", "Customer ID");
// In the viewer's time zone, which the filter bar names.
const WINDOW_FROM: Filter = filter("time_start_gteq", "From");
const WINDOW_TO: Filter = filter("time_start_lteq", "To");
const SUCCESS: Filter = filter("success", "Success");
const CODE: Column = attr("Code", "lega_disconnect_code");
const REASON: Column = attr("Reason", "lega_disconnect_reason");

pub static TABS: &[Tab] = &[
    Tab {
        slug: "customers",
        title: "Customers",
        res: &schema::CUSTOMERS,
        columns: &[
            attr("Customer ID", "id"),
            attr("Name", "name"),
            attr("UI Language", "language"),
            attr("Capacity Limit", "capacity_limit"),
            attr("SIP Account Limit", "sip_account_limit"),
        ],
        filters: &[filter("id", "Customer ID"), filter("name_cont", "Name contains"), filter("language", "UI Language")],
        customer: false,
        admin: false,
    },
    Tab {
        slug: "numbers",
        title: "Available Numbers",
        res: &schema::DID_NUMBERS,
        columns: &[attr("Available Number ID", "id"), attr("Number", "number"), CUSTOMER, attr("Enable", "enabled")],
        filters: &[filter("number_start", "Number starts with"), BY_CUSTOMER, filter("enabled", "Enable")],
        customer: true,
        admin: false,
    },
    Tab {
        slug: "sip-accounts",
        title: "SIP Accounts",
        res: &schema::SIP_ACCOUNTS,
        columns: &[
            attr("SIP Account ID", "id"),
            attr("Username", "username"),
            attr("Password", "password"),
            CUSTOMER,
            attr("Caller ID name", "caller_id_name"),
            attr("Allow Outbound Calls", "allow_external_calls"),
            attr("Internal Caller ID", "internal_caller_id"),
            attr("External Caller ID", "external_caller_id"),
            attr("Is Online", "is_online"),
            attr("User Agent", "user_agent"),
        ],
        filters: &[filter("username_cont", "Username contains"), BY_CUSTOMER, filter("is_online", "Is Online")],
        customer: true,
        admin: false,
    },
    Tab {
        slug: "ring-groups",
        title: "Ring Groups",
        res: &schema::RING_GROUPS,
        columns: &[
            attr("Ring Group ID", "id"),
            attr("Name", "name"),
            attr("Strategy", "strategy"),
            attr("Ring timeout (s)", "ring_timeout"),
            rel_name("Members", "members", "username"),
            attr("External numbers", "external_numbers"),
            CUSTOMER,
        ],
        filters: &[filter("name_cont", "Name contains"), filter("strategy", "Strategy"), BY_CUSTOMER],
        customer: true,
        admin: false,
    },
    Tab {
        slug: "capacity-groups",
        title: "Capacity Groups",
        res: &schema::CAPACITY_GROUPS,
        columns: &[
            attr("Capacity Group ID", "id"),
            attr("Name", "name"),
            attr("Capacity", "capacity"),
            rel_name("Customers", "customer", "name"),
        ],
        filters: &[filter("name_cont", "Name contains")],
        customer: false,
        admin: false,
    },
    Tab {
        slug: "incoming-trunks",
        title: "Incoming Trunks",
        res: &schema::INCOMING_TRUNKS,
        columns: &[
            attr("Incoming Trunk ID", "id"),
            attr("Name", "name"),
            attr("Domain", "domain"),
            CUSTOMER,
            attr("Codecs", "codecs"),
            attr("Transport", "transport_protocol"),
        ],
        filters: &[filter("name_cont", "Name contains"), BY_CUSTOMER, filter("transport_protocol", "Transport")],
        customer: true,
        admin: false,
    },
    Tab {
        slug: "incoming-cdrs",
        title: "Incoming Trunk CDRs",
        res: &schema::INCOMING_CDRS,
        columns: &[
            attr("Time Start", "time_start"),
            CUSTOMER,
            rel_name("Incoming trunk", "incoming_trunk", "name"),
            attr("DID Number", "did_number"),
            attr("SRC Number", "src_number"),
            attr("DST Number", "dst_number"),
            attr("Duration", "duration"),
            CODE,
            REASON,
        ],
        filters: &[
            WINDOW_FROM,
            WINDOW_TO,
            filter("src_number_cont", "SRC Number contains"),
            filter("dst_number_cont", "DST Number contains"),
            filter("did_number_cont", "DID Number contains"),
            SUCCESS,
            filter("lega_disconnect_code", "Lega Disconnect Code"),
            filter("incoming_trunk.id", "Incoming trunk"),
            BY_CUSTOMER,
        ],
        customer: true,
        admin: false,
    },
    Tab {
        slug: "termination-cdrs",
        title: "Termination CDRs",
        res: &schema::TERMINATION_CDRS,
        // The questions asked of a call: when, whose, from and to what,
        // sent how and where, how long, how it ended. Tags and call ids
        // are in the column chooser.
        columns: &[
            attr("Time Start", "time_start"),
            CUSTOMER,
            rel_name("SIP account", "sip_device_route", "username"),
            attr("SRC Number In", "src_number_in"),
            attr("DST Number In", "dst_number_in"),
            attr("Sent as", "dst_number_out"),
            rel_name("Gateway", "termination_gateway", "name"),
            rel_name("Route", "termination_route", "name"),
            attr("Duration", "duration"),
            CODE,
            REASON,
        ],
        filters: &[
            WINDOW_FROM,
            WINDOW_TO,
            filter("src_number_in_cont", "SRC Number In contains"),
            filter("dst_number_in_cont", "DST Number In contains"),
            SUCCESS,
            filter("lega_disconnect_code", "Lega Disconnect Code"),
            filter("sip_device_route.id", "SIP account"),
            filter("termination_gateway.id", "Gateway"),
            filter("termination_route.id", "Route"),
            BY_CUSTOMER,
        ],
        customer: true,
        admin: false,
    },
    Tab {
        slug: "termination-gateways",
        title: "Termination Gateways",
        res: &schema::GATEWAYS,
        columns: &[
            attr("Gateway ID", "id"),
            attr("Name", "name"),
            attr("Host", "host"),
            attr("Network Protocol", "network_protocol"),
            attr("Auth Name", "authorization_name"),
            attr("Auth Password", "authorization_password"),
            CUSTOMER,
            attr("Codecs", "codecs"),
        ],
        filters: &[filter("name_cont", "Name contains"), filter("host_cont", "Host contains"), BY_CUSTOMER],
        customer: true,
        admin: false,
    },
    Tab {
        slug: "termination-routes",
        title: "Termination Routes",
        res: &schema::ROUTES,
        columns: &[attr("Route ID", "id"), attr("Name", "name"), rel_name("Gateway", "gateway", "name"), CUSTOMER],
        filters: &[filter("name_cont", "Name contains"), filter("gateway.id", "Gateway ID"), BY_CUSTOMER],
        customer: true,
        admin: false,
    },
    Tab {
        slug: "audit-log",
        title: "Audit Log",
        res: &schema::AUDIT_LOG,
        columns: &[
            attr("ID", "id"),
            attr("At", "at"),
            attr("Actor type", "actor_type"),
            attr("Actor", "actor_name"),
            attr("Action", "action"),
            attr("Resource type", "resource_type"),
            attr("Resource ID", "resource_id"),
        ],
        filters: &[
            filter("actor_name_cont", "Actor contains"),
            filter("action", "Action"),
            filter("resource_type", "Resource type"),
            filter("resource_id", "Resource ID"),
        ],
        customer: false,
        admin: true,
    },
    Tab {
        slug: "operator-users",
        title: "Operator Users",
        res: &schema::OPERATOR_USERS,
        columns: &[attr("ID", "id"), attr("Username", "username"), attr("Created at", "created_at")],
        filters: &[filter("username_cont", "Username contains")],
        customer: false,
        admin: true,
    },
    Tab {
        slug: "customer-users",
        title: "Customer Users",
        res: &schema::CUSTOMER_USERS,
        columns: &[attr("ID", "id"), attr("Username", "username"), CUSTOMER, attr("Created at", "created_at")],
        filters: &[filter("username_cont", "Username contains"), BY_CUSTOMER],
        customer: false,
        admin: true,
    },
    Tab {
        slug: "api-credentials",
        title: "API Credentials",
        res: &schema::API_CREDENTIALS,
        columns: &[
            attr("ID", "id"),
            attr("Name", "name"),
            attr("Username", "username"),
            CUSTOMER,
            attr("Last used at", "last_used_at"),
            attr("Created at", "created_at"),
        ],
        filters: &[filter("username_cont", "Username contains"), BY_CUSTOMER],
        customer: false,
        admin: true,
    },
];

pub fn tab(slug: &str) -> Option<&'static Tab> {
    TABS.iter().find(|t| t.slug == slug)
}

/// The tab listing a resource (for links to related records).
pub fn tab_of(kind: &str) -> Option<&'static Tab> {
    TABS.iter().find(|t| t.res.kind == kind)
}

impl Column {
    /// Customer-identifying columns are left out of the customer's own UI.
    pub fn about_customer(&self) -> bool {
        matches!(self.col, Col::RelId("customer") | Col::RelName("customer", _))
    }
}

impl Filter {
    pub fn about_customer(&self) -> bool {
        self.param == "customer.id"
    }
}

/// The label of a relationship: a to-many one reads as its plural other
/// name where it has one (a capacity group's `customer`: "Customers").
pub fn rel_label(r: &domain::schema::Rel) -> String {
    label(if r.many { r.also.first().copied().unwrap_or(r.name) } else { r.name })
}

/// The label of an attribute or relationship in forms and detail pages.
pub fn label(name: &str) -> String {
    let known = match name {
        "id" => "ID",
        "language" => "UI Language",
        "capacity_limit" => "Capacity Limit",
        "sip_account_limit" => "SIP Account Limit",
        "max_cps" => "Max calls per second (PSTN)",
        "max_call_duration" => "Max call duration (s)",
        "blocked_prefixes" => "Blocked destination prefixes",
        "daily_minutes_limit" => "Daily external minutes limit",
        "allow_any_caller_id" => "Allow any external caller ID",
        "allow_external_calls" => "Allow Outbound Calls",
        "caller_id_name" => "Caller ID name",
        "internal_caller_id" => "Internal Caller ID",
        "external_caller_id" => "External Caller ID",
        "transport_protocol" => "Transport",
        "authorization_name" => "Auth Name",
        "authorization_password" => "Auth Password",
        "trm_mode" => "Termination mode",
        "enabled" => "Enable",
        "src_prefix" => "SRC Prefix",
        "dst_prefix" => "DST Prefix",
        "src_rewrite_rule" => "SRC Rewrite Rule",
        "src_rewrite_result" => "SRC Rewrite Result",
        "dst_rewrite_rule" => "DST Rewrite Rule",
        "dst_rewrite_result" => "DST Rewrite Result",
        "sip_domain" => "SIP domain",
        "sip_public_address" => "SIP public address",
        "default_trm_mode" => "Default termination mode",
        "capacity_reject_code" => "Reject code when capacity is exhausted",
        "capacity" => "Capacity (channels)",
        "total_channels" => "Channels ordered (total)",
        "nat_keepalive" => "NAT keep-alive interval (s)",
        "media_timeout" => "Media timeout (s)",
        "session_expires" => "Session timer interval (s)",
        "server_header" => "SIP Server header (empty: none)",
        "customer_termination_fields" => "Gateway and route fields customers may set",
        "default_termination_route" => "Default termination route",
        "destination" => "Destination",
        "strategy" => "Strategy",
        "ring_timeout" => "Ring timeout (s)",
        "members" => "Members",
        "external_numbers" => "External numbers",
        "forward_number" => "Forward to number",
        "external_id" => "External ID",
        "lega_disconnect_code" => "Lega Disconnect Code",
        "lega_disconnect_reason" => "Lega Disconnect Reason",
        "time_start" => "Time Start",
        "time_connect" => "Time Connect",
        "time_end" => "Time End",
        "src_name" => "SRC Name",
        "src_number" => "SRC Number",
        "dst_number" => "DST Number",
        "did_number" => "DID Number",
        "local_tag" => "Local Tag",
        "global_tag" => "Global Tag",
        "src_name_in" => "SRC Name In",
        "src_number_in" => "SRC Number In",
        "dst_number_in" => "DST Number In",
        "src_name_out" => "SRC Name Out",
        "src_number_out" => "SRC Number Out",
        "dst_number_out" => "DST Number Out",
        "orig_call_id" => "Orig Call Id",
        "call_id" => "Call ID",
        "is_online" => "Is Online",
        "user_agent" => "User Agent",
        "network_protocol" => "Network Protocol",
        "destination_field" => "Destination Field",
        "controlled_via_ui" => "Controlled via UI",
        "created_at" => "Created at",
        "internal_reason" => "Internal reason",
        "incoming_trunk" => "Incoming trunk",
        "sip_device_route" => "SIP account",
        "termination_route" => "Termination route",
        "termination_gateway" => "Termination gateway",
        _ => "",
    };
    if !known.is_empty() {
        return known.to_owned();
    }
    // Everything else reads well from its wire name.
    let mut s = name.replace('_', " ");
    if let Some(first) = s.get(0..1) {
        let up = first.to_ascii_uppercase();
        s.replace_range(0..1, &up);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_column_and_filter_names_the_schema() {
        for t in TABS {
            for c in t.columns {
                match c.col {
                    Col::Attr(n) => assert!(t.res.field(n).is_some(), "{}: {n}", t.slug),
                    Col::RelId(r) => assert!(t.res.rel(r).is_some(), "{}: {r}", t.slug),
                    Col::RelName(r, f) => {
                        let rel = t.res.rel(r).unwrap_or_else(|| panic!("{}: {r}", t.slug));
                        assert!(schema::resource(rel.targets[0]).and_then(|x| x.field(f)).is_some(), "{}: {r}.{f}", t.slug);
                    }
                }
            }
            for f in t.filters {
                let window = if t.res.cdr && f.param != "time_start_gteq" { "&filter[time_start_gteq]=2026-01-01" } else { "" };
                let value = if t.res.filter_field(f.param).is_some_and(|x| x.kind == domain::Kind::Time) || f.param.starts_with("time_") {
                    "2026-01-01"
                } else {
                    "1"
                };
                let p = crate::api::params::parse(Some(&format!("filter[{}]={value}{window}", f.param))).unwrap();
                assert!(crate::api::params::list_query(t.res, &p, true).is_ok(), "{}: filter {}", t.slug, f.param);
            }
            assert!(tab(t.slug).is_some_and(|x| std::ptr::eq(x, t)));
        }
    }
}
