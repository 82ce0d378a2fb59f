//! The resource schema: every object of SPEC.md as its JSON:API type, table,
//! attributes, relationships and who may set what. The store builds its SQL
//! from it and the APIs their documents, so a field is declared once.

/// What an attribute holds and how input for it is validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Free text up to `max` characters (no control characters).
    Text {
        max: usize,
    },
    /// Required-looking text: 1..=255 characters, not blank.
    Name,
    /// A string of ASCII digits, `min..=max` long.
    Digits {
        min: usize,
        max: usize,
    },
    Int {
        min: i64,
        max: i64,
    },
    /// An integer from a fixed set (e.g. a SIP reject code).
    IntOf(&'static [i64]),
    /// Seconds of a timer: 0 turns it off, any other value is `min..=max`
    /// (an RFC floor such as RFC 4028's 90 s Min-SE).
    Seconds {
        min: i64,
        max: i64,
    },
    Bool,
    Enum(&'static [&'static str]),
    /// Ordered codec list, see [`crate::codec`].
    Codecs,
    /// Ordered list of attribute names of gateways/routes (domain settings).
    FieldNames,
    /// Ordered list of at most `max` distinct phone numbers (E.164 digits;
    /// a leading `+` is accepted and dropped), stored comma-separated.
    PhoneNumbers {
        max: usize,
    },
    /// Ordered list of at most `max` distinct IP addresses or CIDR ranges
    /// (see [`crate::net`]), stored comma-separated.
    Sources {
        max: usize,
    },
    /// Ordered list of at most `max` distinct number prefixes (1 to 15
    /// digits; a leading `+` is accepted and dropped), stored
    /// comma-separated.
    Prefixes {
        max: usize,
    },
    RewriteRule,
    RewriteResult,
    /// IP address or DNS host name.
    Host,
    /// SIP user part / login name.
    Username,
    /// A password or shared secret: printable, 1..=128.
    Secret,
    /// Epoch milliseconds (answered as RFC 3339, filtered as
    /// `YYYY-MM-DD hh:mm:ss`).
    Time,
    /// JSON text (audit before/after), answered as JSON.
    Json,
}

/// How a column is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    Int,
    Text,
    Bool,
}

impl Kind {
    pub fn storage(self) -> Storage {
        match self {
            Kind::Int { .. } | Kind::IntOf(_) | Kind::Seconds { .. } | Kind::Time => Storage::Int,
            Kind::Bool => Storage::Bool,
            _ => Storage::Text,
        }
    }

    /// Kinds stored as comma-separated text and answered as an array.
    pub fn is_list(self) -> bool {
        matches!(self, Kind::Codecs | Kind::FieldNames | Kind::PhoneNumbers { .. } | Kind::Sources { .. } | Kind::Prefixes { .. })
    }

    /// Text kinds that may be searched by substring/prefix.
    pub fn is_text(self) -> bool {
        self.storage() == Storage::Text && !matches!(self, Kind::Enum(_) | Kind::Codecs | Kind::FieldNames | Kind::Json)
    }
}

/// Where an attribute's value comes from when a create omits it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Default {
    Null,
    Int(i64),
    Str(&'static str),
    Bool(bool),
    /// The value of this domain-settings attribute.
    Setting(&'static str),
    /// A random secret, answered once in the create response.
    Generated,
}

/// Who writes an attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    ReadWrite,
    /// Settable on create only.
    CreateOnly,
    /// Set by the system (generated, live state, CDR content).
    ReadOnly,
    /// Stored as an Argon2 hash, never answered.
    Hashed,
}

#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// Wire name (JSON:API attribute).
    pub name: &'static str,
    pub column: &'static str,
    pub kind: Kind,
    pub required: bool,
    pub nullable: bool,
    pub default: Default,
    pub mode: Mode,
}

const fn attr(name: &'static str, kind: Kind) -> Field {
    Field { name, column: name, kind, required: false, nullable: true, default: Default::Null, mode: Mode::ReadWrite }
}

impl Field {
    const fn req(self) -> Self {
        Field { required: true, nullable: false, ..self }
    }
    const fn or(self, default: Default) -> Self {
        Field { default, nullable: false, ..self }
    }
    const fn ro(self) -> Self {
        Field { mode: Mode::ReadOnly, ..self }
    }
    const fn create_only(self) -> Self {
        Field { mode: Mode::CreateOnly, ..self }
    }
    const fn hashed(self) -> Self {
        Field { mode: Mode::Hashed, ..self }
    }
    const fn col(self, column: &'static str) -> Self {
        Field { column, ..self }
    }

    pub fn writable(&self, creating: bool) -> bool {
        match self.mode {
            Mode::ReadWrite | Mode::Hashed => true,
            Mode::CreateOnly => creating,
            Mode::ReadOnly => false,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Rel {
    pub name: &'static str,
    /// Column holding the related id.
    pub column: &'static str,
    /// Accepted target types; the first is the one we answer with unless
    /// the relationship is polymorphic.
    pub targets: &'static [&'static str],
    /// Aliases clients send for a target type (`gateways`).
    pub aliases: &'static [(&'static str, &'static str)],
    /// Column holding the target type, for polymorphic relationships.
    pub type_column: Option<&'static str>,
    pub required: bool,
    pub updatable: bool,
    /// A to-many relationship: an ordered list of ids of `targets[0]`,
    /// stored as comma-separated text in `column`.
    pub many: bool,
    /// Most ids a to-many relationship holds.
    pub max: usize,
    /// Other names clients send for the relationship (`customers`).
    pub also: &'static [&'static str],
}

const fn rel(name: &'static str, column: &'static str, target: &'static [&'static str]) -> Rel {
    Rel {
        name,
        column,
        targets: target,
        aliases: &[],
        type_column: None,
        required: false,
        updatable: false,
        many: false,
        max: RING_GROUP_MAX_MEMBERS,
        also: &[],
    }
}

impl Rel {
    pub fn canonical_type(&self, t: &str) -> Option<&'static str> {
        let t = self.aliases.iter().find(|(a, _)| *a == t).map_or(t, |(_, c)| c);
        self.targets.iter().copied().find(|x| *x == t)
    }
}

/// How records of a resource belong to a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tenant {
    /// Not visible to customers at all.
    OperatorOnly,
    /// The record *is* the customer.
    Own,
    /// `customer_id` column (nullable for shared gateways/routes).
    Column,
}

#[derive(Debug)]
pub struct Resource {
    /// JSON:API type, which is also the path segment.
    pub kind: &'static str,
    pub table: &'static str,
    pub fields: &'static [Field],
    pub rels: &'static [Rel],
    pub tenant: Tenant,
    /// Customer ids may be chosen by the client (the Operator API's rule).
    pub client_ids: bool,
    /// CDR semantics: read-only, time window required, keyset paging.
    pub cdr: bool,
    /// Extra filter names (Operator API spellings) for attributes.
    pub filter_aliases: &'static [(&'static str, &'static str)],
}

impl Resource {
    pub fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    pub fn rel(&self, name: &str) -> Option<&'static Rel> {
        self.rels.iter().find(|r| r.name == name)
    }

    /// The relationship a client's input names, under its name or another
    /// it is known by.
    pub fn rel_named(&self, name: &str) -> Option<&'static Rel> {
        self.rel(name).or_else(|| self.rels.iter().find(|r| r.also.contains(&name)))
    }

    /// The attribute a filter name refers to, resolving aliases.
    pub fn filter_field(&self, name: &str) -> Option<&'static Field> {
        let name = self.filter_aliases.iter().find(|(a, _)| *a == name).map_or(name, |(_, f)| f);
        self.field(name)
    }
}

pub const LANGUAGES: &[&str] = &["EN", "RU", "LT", "LV"];
pub const TRM_MODES: &[&str] = &["operator", "operator_customer", "system", "system_customer", "customer"];
pub const TRANSPORTS: &[&str] = &["UDP", "TCP", "TLS"];
pub const TRUNK_TRANSPORTS: &[&str] = &["UDP", "TCP", "TLS"];
pub const DESTINATION_FIELDS: &[&str] = &["RURI_USERPART", "TO_USERPART"];
pub const RING_STRATEGIES: &[&str] = &["simultaneous", "sequential"];
pub const NETWORK_PROTOCOLS: &[&str] = &["IPv4_only", "IPv6_only", "dual_stack", "IPv4_preferred", "IPv6_preferred"];

const E164: Kind = Kind::Digits { min: 1, max: 15 };
const PREFIX: Kind = Kind::Digits { min: 0, max: 15 };
const LIMIT: Kind = Kind::Int { min: 0, max: 1_000_000_000 };
const DURATION: Kind = Kind::Int { min: 0, max: i64::MAX };
const SIP_CODE: Kind = Kind::Int { min: 100, max: 699 };
const T64: Kind = Kind::Text { max: 64 };
const T255: Kind = Kind::Text { max: 255 };
const ID: Kind = Kind::Int { min: 1, max: i64::MAX };
/// The highest `max_cps`: far above what one node sets up, still a bound.
pub const MAX_CPS: i64 = 10_000;

const CUSTOMER_REL: Rel = Rel { required: true, ..rel("customer", "customer_id", &["customers"]) };
const SHARED_CUSTOMER_REL: Rel = rel("customer", "customer_id", &["customers"]);

pub static CUSTOMERS: Resource = Resource {
    kind: "customers",
    table: "customers",
    fields: &[
        attr("id", ID).ro(),
        attr("name", Kind::Name).req(),
        attr("language", Kind::Enum(LANGUAGES)).or(Default::Str("EN")),
        attr("capacity_limit", LIMIT),
        attr("sip_account_limit", LIMIT),
        attr("trm_mode", Kind::Enum(TRM_MODES)).or(Default::Setting("default_trm_mode")),
        // Fraud limits, the operator's to set (docs/limits.md); null: unlimited.
        // Calls per second toward the PSTN (0: none at all).
        attr("max_cps", Kind::Int { min: 0, max: MAX_CPS }),
        // Seconds an answered call may last before both legs are hung up.
        attr("max_call_duration", Kind::Int { min: 1, max: 86_400 }),
        // Dialled numbers starting with one of these are refused.
        attr("blocked_prefixes", Kind::Prefixes { max: 200 }).or(Default::Str("")),
        // Minutes of answered calls toward the PSTN per UTC day (0: none).
        attr("daily_minutes_limit", Kind::Int { min: 0, max: 100_000_000 }),
        // Any external caller id, not only the customer's own DIDs (wholesale).
        attr("allow_any_caller_id", Kind::Bool).or(Default::Bool(false)),
        attr("created_at", Kind::Time).ro(),
    ],
    rels: &[],
    tenant: Tenant::Own,
    client_ids: true,
    cdr: false,
    filter_aliases: &[("termination_mode", "trm_mode")],
};

pub static DID_NUMBERS: Resource = Resource {
    kind: "available_did_numbers",
    table: "did_numbers",
    fields: &[
        attr("id", ID).ro(),
        attr("number", E164).req(),
        attr("external_id", Kind::Int { min: 0, max: i64::MAX }),
        attr("enabled", Kind::Bool).or(Default::Bool(true)),
        attr("forward_number", E164),
        attr("controlled_via_ui", Kind::Bool).or(Default::Bool(false)).ro(),
        attr("created_at", Kind::Time).ro(),
    ],
    rels: &[
        CUSTOMER_REL,
        Rel {
            targets: &["sip_device_routes", "ring_groups"],
            type_column: Some("destination_type"),
            updatable: true,
            ..rel("destination", "destination_id", &[])
        },
    ],
    tenant: Tenant::Column,
    client_ids: false,
    cdr: false,
    filter_aliases: &[],
};

pub static SIP_ACCOUNTS: Resource = Resource {
    kind: "sip_device_routes",
    table: "sip_accounts",
    fields: &[
        attr("id", ID).ro(),
        attr("username", Kind::Username).req(),
        attr("password", Kind::Secret).or(Default::Generated),
        attr("caller_id_name", T64),
        attr("allow_external_calls", Kind::Bool).or(Default::Bool(false)),
        attr("internal_caller_id", Kind::Digits { min: 1, max: 4 }),
        attr("external_caller_id", E164),
        attr("is_online", Kind::Bool).or(Default::Bool(false)).ro(),
        attr("user_agent", T255).ro(),
        attr("created_at", Kind::Time).ro(),
    ],
    rels: &[CUSTOMER_REL],
    tenant: Tenant::Column,
    client_ids: false,
    cdr: false,
    filter_aliases: &[("allow_outbound_calls", "allow_external_calls")],
};

/// Most members a ring group may have: more phones than this ringing at
/// once is a broadcast, not a ring group.
pub const RING_GROUP_MAX_MEMBERS: usize = 50;

pub static RING_GROUPS: Resource = Resource {
    kind: "ring_groups",
    table: "ring_groups",
    fields: &[
        attr("id", ID).ro(),
        attr("name", Kind::Name).req(),
        // simultaneous: every member and external number rings for
        // ring_timeout seconds; sequential: each in turn rings for
        // ring_timeout seconds, the members first, then the numbers.
        attr("strategy", Kind::Enum(RING_STRATEGIES)).or(Default::Str("simultaneous")),
        attr("ring_timeout", Kind::Int { min: 5, max: 600 }).or(Default::Int(20)),
        // Rung like members, out through the customer's termination routes.
        attr("external_numbers", Kind::PhoneNumbers { max: RING_GROUP_MAX_MEMBERS }).or(Default::Str("")),
        attr("created_at", Kind::Time).ro(),
    ],
    rels: &[CUSTOMER_REL, Rel { many: true, updatable: true, ..rel("members", "member_ids", &["sip_device_routes"]) }],
    tenant: Tenant::Column,
    client_ids: false,
    cdr: false,
    filter_aliases: &[],
};

/// Most customers one capacity group pools.
pub const CAPACITY_GROUP_MAX_CUSTOMERS: usize = 1000;

/// Channels pooled by several customers (Operator API §5.10): a call of a
/// member takes one of the group's `capacity` as well as one of its
/// customer's `capacity_limit`. The to-many relationship is `customer` on
/// the wire, as the Operator API names it; `customers` is accepted too.
pub static CAPACITY_GROUPS: Resource = Resource {
    kind: "capacity_groups",
    table: "capacity_groups",
    fields: &[attr("id", ID).ro(), attr("name", Kind::Name).req(), attr("capacity", LIMIT).req(), attr("created_at", Kind::Time).ro()],
    rels: &[Rel {
        many: true,
        updatable: true,
        max: CAPACITY_GROUP_MAX_CUSTOMERS,
        also: &["customers"],
        ..rel("customer", "customer_ids", &["customers"])
    }],
    tenant: Tenant::OperatorOnly,
    client_ids: false,
    cdr: false,
    filter_aliases: &[],
};

pub static INCOMING_TRUNKS: Resource = Resource {
    kind: "incoming_trunks",
    table: "incoming_trunks",
    fields: &[
        attr("id", ID).ro(),
        attr("name", T255),
        attr("domain", Kind::Host).ro(),
        attr("codecs", Kind::Codecs).or(Default::Setting("default_codecs")),
        attr("transport_protocol", Kind::Enum(TRUNK_TRANSPORTS)).or(Default::Str("UDP")),
        attr("destination_field", Kind::Enum(DESTINATION_FIELDS)).or(Default::Str("RURI_USERPART")),
        // Where the carrier's calls may come from; empty: anywhere.
        attr("allowed_sources", Kind::Sources { max: 50 }).or(Default::Str("")),
        // Digest credentials the carrier's INVITEs must carry; none: no digest.
        attr("auth_name", T64),
        attr("auth_password", Kind::Secret),
        attr("created_at", Kind::Time).ro(),
    ],
    rels: &[CUSTOMER_REL],
    tenant: Tenant::Column,
    client_ids: false,
    cdr: false,
    filter_aliases: &[],
};

pub static GATEWAYS: Resource = Resource {
    kind: "termination_gateways",
    table: "termination_gateways",
    fields: &[
        attr("id", ID).ro(),
        attr("name", Kind::Name).req(),
        attr("host", Kind::Host).req(),
        attr("port", Kind::Int { min: 1, max: 65535 }).or(Default::Int(5060)),
        attr("network_protocol", Kind::Enum(NETWORK_PROTOCOLS)).or(Default::Str("IPv4_only")),
        attr("authorization_name", T64),
        attr("authorization_password", Kind::Secret),
        attr("codecs", Kind::Codecs).or(Default::Setting("default_codecs")),
        attr("transport_protocol", Kind::Enum(TRANSPORTS)).or(Default::Setting("default_transport_protocol")),
        attr("src_rewrite_rule", Kind::RewriteRule),
        attr("src_rewrite_result", Kind::RewriteResult),
        attr("dst_rewrite_rule", Kind::RewriteRule),
        attr("dst_rewrite_result", Kind::RewriteResult),
        attr("operator", Kind::Bool).or(Default::Bool(true)).ro(),
        attr("created_at", Kind::Time).ro(),
    ],
    rels: &[SHARED_CUSTOMER_REL],
    tenant: Tenant::Column,
    client_ids: false,
    cdr: false,
    filter_aliases: &[],
};

pub static ROUTES: Resource = Resource {
    kind: "termination_routes",
    table: "termination_routes",
    fields: &[
        attr("id", ID).ro(),
        attr("name", Kind::Name).req(),
        attr("src_prefix", PREFIX),
        attr("dst_prefix", PREFIX),
        attr("src_rewrite_rule", Kind::RewriteRule),
        attr("src_rewrite_result", Kind::RewriteResult),
        attr("dst_rewrite_rule", Kind::RewriteRule),
        attr("dst_rewrite_result", Kind::RewriteResult),
        attr("operator", Kind::Bool).or(Default::Bool(true)).ro(),
        attr("created_at", Kind::Time).ro(),
    ],
    rels: &[
        SHARED_CUSTOMER_REL,
        Rel {
            required: true,
            updatable: true,
            aliases: &[("gateways", "termination_gateways")],
            ..rel("gateway", "gateway_id", &["termination_gateways"])
        },
    ],
    tenant: Tenant::Column,
    client_ids: false,
    cdr: false,
    filter_aliases: &[],
};

pub static INCOMING_CDRS: Resource = Resource {
    kind: "incoming_trunk_cdrs",
    table: "incoming_trunk_cdrs",
    fields: &[
        attr("id", ID).ro(),
        attr("time_start", Kind::Time).ro(),
        attr("time_connect", Kind::Time).ro(),
        attr("time_end", Kind::Time).ro(),
        attr("duration", DURATION).ro(),
        attr("src_name", T255).ro(),
        attr("src_number", T64).ro(),
        attr("dst_number", T64).ro(),
        attr("did_number", T64).ro(),
        attr("lega_disconnect_code", SIP_CODE).ro(),
        attr("lega_disconnect_reason", T255).ro(),
        attr("internal_reason", T255).ro(),
        attr("success", Kind::Bool).ro(),
        attr("call_id", T255).ro(),
        attr("global_tag", T64).ro(),
    ],
    rels: &[CUSTOMER_REL, rel("incoming_trunk", "incoming_trunk_id", &["incoming_trunks"])],
    tenant: Tenant::Column,
    client_ids: false,
    cdr: true,
    filter_aliases: &[("aleg_code", "lega_disconnect_code"), ("aleg_reason", "lega_disconnect_reason")],
};

pub static TERMINATION_CDRS: Resource = Resource {
    kind: "termination_cdrs",
    table: "termination_cdrs",
    fields: &[
        attr("id", ID).ro(),
        attr("time_start", Kind::Time).ro(),
        attr("time_connect", Kind::Time).ro(),
        attr("time_end", Kind::Time).ro(),
        attr("duration", DURATION).ro(),
        attr("local_tag", T64).ro(),
        attr("global_tag", T64).ro(),
        attr("lega_disconnect_code", SIP_CODE).ro(),
        attr("lega_disconnect_reason", T255).ro(),
        attr("internal_reason", T255).ro(),
        attr("src_name_in", T255).ro(),
        attr("src_number_in", T64).ro(),
        attr("dst_number_in", T64).ro(),
        attr("src_name_out", T255).ro(),
        attr("src_number_out", T64).ro(),
        attr("dst_number_out", T64).ro(),
        attr("orig_call_id", T255).ro(),
        attr("success", Kind::Bool).ro(),
    ],
    rels: &[
        CUSTOMER_REL,
        rel("sip_device_route", "sip_account_id", &["sip_device_routes"]),
        rel("termination_route", "route_id", &["termination_routes"]),
        rel("termination_gateway", "gateway_id", &["termination_gateways"]),
    ],
    tenant: Tenant::Column,
    client_ids: false,
    cdr: true,
    filter_aliases: &[("aleg_code", "lega_disconnect_code"), ("aleg_reason", "lega_disconnect_reason")],
};

pub static OPERATOR_USERS: Resource = Resource {
    kind: "operator_users",
    table: "operator_users",
    fields: &[
        attr("id", ID).ro(),
        attr("username", Kind::Username).req(),
        attr("password", Kind::Secret).req().hashed().col("password_hash"),
        attr("created_at", Kind::Time).ro(),
    ],
    rels: &[],
    tenant: Tenant::OperatorOnly,
    client_ids: false,
    cdr: false,
    filter_aliases: &[],
};

pub static CUSTOMER_USERS: Resource = Resource {
    kind: "customer_users",
    table: "customer_users",
    fields: &[
        attr("id", ID).ro(),
        attr("username", Kind::Username).req(),
        attr("password", Kind::Secret).req().hashed().col("password_hash"),
        attr("created_at", Kind::Time).ro(),
    ],
    rels: &[CUSTOMER_REL],
    tenant: Tenant::Column,
    client_ids: false,
    cdr: false,
    filter_aliases: &[],
};

pub static API_CREDENTIALS: Resource = Resource {
    kind: "api_credentials",
    table: "api_credentials",
    fields: &[
        attr("id", ID).ro(),
        attr("name", T255),
        attr("username", Kind::Username).req().create_only(),
        attr("secret", Kind::Secret).or(Default::Generated).hashed().col("secret_hash"),
        attr("last_used_at", Kind::Time).ro(),
        attr("created_at", Kind::Time).ro(),
    ],
    rels: &[SHARED_CUSTOMER_REL],
    tenant: Tenant::OperatorOnly,
    client_ids: false,
    cdr: false,
    filter_aliases: &[],
};

pub static AUDIT_LOG: Resource = Resource {
    kind: "audit_log_entries",
    table: "audit_log",
    fields: &[
        attr("id", ID).ro(),
        attr("at", Kind::Time).ro(),
        attr("actor_type", T64).ro(),
        attr("actor_id", T64).ro(),
        attr("actor_name", T255).ro(),
        attr("action", T64).ro(),
        attr("resource_type", T64).ro(),
        attr("resource_id", T64).ro(),
        attr("before", Kind::Json).ro().col("before_json"),
        attr("after", Kind::Json).ro().col("after_json"),
    ],
    rels: &[],
    tenant: Tenant::OperatorOnly,
    client_ids: false,
    cdr: false,
    filter_aliases: &[],
};

/// The singleton of operator-wide settings (id is always 1).
pub static DOMAIN_SETTINGS: Resource = Resource {
    kind: "domain_settings",
    table: "domain_settings",
    fields: &[
        attr("id", ID).ro(),
        attr("sip_domain", Kind::Host).or(Default::Str("switchboard.local")),
        attr("sip_public_address", T255),
        attr("default_codecs", Kind::Codecs).or(Default::Str("PCMA,PCMU,telephone-event")),
        attr("default_transport_protocol", Kind::Enum(TRANSPORTS)).or(Default::Str("UDP")),
        attr("default_trm_mode", Kind::Enum(TRM_MODES)).or(Default::Str("operator_customer")),
        attr("create_default_incoming_trunk", Kind::Bool).or(Default::Bool(true)),
        attr("customers_may_add_numbers", Kind::Bool).or(Default::Bool(false)),
        attr("customers_may_manage_incoming_trunks", Kind::Bool).or(Default::Bool(true)),
        attr("customers_may_manage_termination_gateways", Kind::Bool).or(Default::Bool(false)),
        attr("customers_may_manage_termination_routes", Kind::Bool).or(Default::Bool(false)),
        attr("customer_termination_fields", Kind::FieldNames).or(Default::Str(TERMINATION_FIELD_NAMES)),
        attr("capacity_reject_code", Kind::IntOf(&[480, 403])).or(Default::Int(480)),
        // Channels ordered on the commercial account; none: unlimited.
        // Capacity groups hold part of them, the rest is shared.
        attr("total_channels", LIMIT),
        attr("nat_keepalive", Kind::Int { min: 0, max: 3600 }).or(Default::Int(30)),
        attr("media_timeout", Kind::Int { min: 0, max: 86_400 }).or(Default::Int(60)),
        attr("session_expires", Kind::Seconds { min: 90, max: 86_400 }).or(Default::Int(1800)),
        // Destinations no customer may call (premium ranges, say).
        attr("blocked_prefixes", Kind::Prefixes { max: 1000 }).or(Default::Str("")),
        // The SIP Server / User-Agent header; none (no version for scanners) unless set.
        attr("server_header", T255),
    ],
    // Updatable: the singleton exists from the start, so a PATCH is the
    // only way to set it.
    rels: &[Rel { updatable: true, ..rel("default_termination_route", "default_route_id", &["termination_routes"]) }],
    tenant: Tenant::OperatorOnly,
    client_ids: false,
    cdr: false,
    filter_aliases: &[],
};

/// Every gateway and route attribute a customer could be allowed to set,
/// the default of `customer_termination_fields`.
pub const TERMINATION_FIELD_NAMES: &str = "name,host,port,network_protocol,authorization_name,authorization_password,codecs,transport_protocol,src_prefix,dst_prefix,src_rewrite_rule,src_rewrite_result,dst_rewrite_rule,dst_rewrite_result,gateway";

/// Every resource, in dependency order (a resource only refers to earlier ones).
pub static RESOURCES: &[&Resource] = &[
    &CUSTOMERS,
    &SIP_ACCOUNTS,
    &DID_NUMBERS,
    &RING_GROUPS,
    &CAPACITY_GROUPS,
    &INCOMING_TRUNKS,
    &GATEWAYS,
    &ROUTES,
    &INCOMING_CDRS,
    &TERMINATION_CDRS,
    &OPERATOR_USERS,
    &CUSTOMER_USERS,
    &API_CREDENTIALS,
    &AUDIT_LOG,
    &DOMAIN_SETTINGS,
];

pub fn resource(kind: &str) -> Option<&'static Resource> {
    RESOURCES.iter().copied().find(|r| r.kind == kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relationships_point_at_known_resources() {
        for r in RESOURCES {
            for rel in r.rels {
                for t in rel.targets {
                    assert!(resource(t).is_some(), "{}.{} -> {t}", r.kind, rel.name);
                }
                // A to-many list stores bare ids, so it has one target type.
                assert!(!rel.many || (rel.targets.len() == 1 && rel.type_column.is_none()), "{}.{}", r.kind, rel.name);
            }
            for (alias, f) in r.filter_aliases {
                assert!(r.field(f).is_some(), "{}: alias {alias}", r.kind);
            }
            assert_eq!(r.fields[0].name, "id", "{}", r.kind);
        }
    }

    #[test]
    fn termination_field_names_exist() {
        for n in TERMINATION_FIELD_NAMES.split(',') {
            assert!(GATEWAYS.field(n).is_some() || ROUTES.field(n).is_some() || ROUTES.rel(n).is_some(), "{n}");
        }
    }
}
