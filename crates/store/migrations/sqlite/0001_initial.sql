-- Switchboard schema, SQLite flavour. Times are epoch milliseconds;
-- booleans are INTEGER 0/1 (sqlx's Any driver cannot read SQLite BOOLEAN).
CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    language TEXT NOT NULL DEFAULT 'EN',
    capacity_limit INTEGER,
    sip_account_limit INTEGER,
    trm_mode TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE sip_accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    username TEXT NOT NULL,
    password TEXT NOT NULL,
    caller_id_name TEXT,
    allow_external_calls INTEGER NOT NULL DEFAULT 0,
    internal_caller_id TEXT,
    external_caller_id TEXT,
    is_online INTEGER NOT NULL DEFAULT 0,
    user_agent TEXT,
    created_at INTEGER NOT NULL,
    CONSTRAINT sip_accounts_username_key UNIQUE (username),
    CONSTRAINT sip_accounts_internal_caller_id_key UNIQUE (customer_id, internal_caller_id)
);

CREATE TABLE did_numbers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    number TEXT NOT NULL,
    external_id INTEGER,
    enabled INTEGER NOT NULL DEFAULT 1,
    forward_number TEXT,
    controlled_via_ui INTEGER NOT NULL DEFAULT 0,
    destination_type TEXT,
    destination_id INTEGER,
    created_at INTEGER NOT NULL,
    CONSTRAINT did_numbers_number_key UNIQUE (number)
);
CREATE INDEX did_numbers_customer ON did_numbers (customer_id, id);
CREATE INDEX did_numbers_destination ON did_numbers (destination_type, destination_id);

CREATE TABLE incoming_trunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    name TEXT,
    domain TEXT,
    codecs TEXT NOT NULL,
    transport_protocol TEXT NOT NULL,
    destination_field TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    CONSTRAINT incoming_trunks_domain_key UNIQUE (domain)
);
CREATE INDEX incoming_trunks_customer ON incoming_trunks (customer_id, id);

CREATE TABLE termination_gateways (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER REFERENCES customers(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    host TEXT NOT NULL,
    port INTEGER NOT NULL,
    network_protocol TEXT NOT NULL,
    authorization_name TEXT,
    authorization_password TEXT,
    codecs TEXT NOT NULL,
    transport_protocol TEXT NOT NULL,
    src_rewrite_rule TEXT,
    src_rewrite_result TEXT,
    dst_rewrite_rule TEXT,
    dst_rewrite_result TEXT,
    operator INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL
);
CREATE INDEX termination_gateways_customer ON termination_gateways (customer_id, id);

CREATE TABLE termination_routes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER REFERENCES customers(id) ON DELETE CASCADE,
    gateway_id INTEGER NOT NULL REFERENCES termination_gateways(id),
    name TEXT NOT NULL,
    src_prefix TEXT,
    dst_prefix TEXT,
    src_rewrite_rule TEXT,
    src_rewrite_result TEXT,
    dst_rewrite_rule TEXT,
    dst_rewrite_result TEXT,
    operator INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL
);
CREATE INDEX termination_routes_customer ON termination_routes (customer_id, id);
CREATE INDEX termination_routes_gateway ON termination_routes (gateway_id);

-- CDRs outlive the objects they name: no foreign keys, append-only.
CREATE TABLE incoming_trunk_cdrs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER,
    incoming_trunk_id INTEGER,
    time_start INTEGER NOT NULL,
    time_connect INTEGER,
    time_end INTEGER,
    duration INTEGER NOT NULL DEFAULT 0,
    src_name TEXT,
    src_number TEXT,
    dst_number TEXT,
    did_number TEXT,
    lega_disconnect_code INTEGER,
    lega_disconnect_reason TEXT,
    internal_reason TEXT,
    success INTEGER NOT NULL DEFAULT 0,
    call_id TEXT
);
CREATE INDEX incoming_trunk_cdrs_time ON incoming_trunk_cdrs (time_start, id);
CREATE INDEX incoming_trunk_cdrs_customer_time ON incoming_trunk_cdrs (customer_id, time_start, id);
CREATE INDEX incoming_trunk_cdrs_trunk_time ON incoming_trunk_cdrs (incoming_trunk_id, time_start);

CREATE TABLE termination_cdrs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER,
    sip_account_id INTEGER,
    route_id INTEGER,
    gateway_id INTEGER,
    time_start INTEGER NOT NULL,
    time_connect INTEGER,
    time_end INTEGER,
    duration INTEGER NOT NULL DEFAULT 0,
    local_tag TEXT,
    global_tag TEXT,
    lega_disconnect_code INTEGER,
    lega_disconnect_reason TEXT,
    src_name_in TEXT,
    src_number_in TEXT,
    dst_number_in TEXT,
    src_name_out TEXT,
    src_number_out TEXT,
    dst_number_out TEXT,
    orig_call_id TEXT,
    success INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX termination_cdrs_time ON termination_cdrs (time_start, id);
CREATE INDEX termination_cdrs_customer_time ON termination_cdrs (customer_id, time_start, id);
CREATE INDEX termination_cdrs_gateway_time ON termination_cdrs (gateway_id, time_start);
CREATE INDEX termination_cdrs_global_tag ON termination_cdrs (global_tag);

CREATE TABLE operator_users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    CONSTRAINT operator_users_username_key UNIQUE (username)
);

CREATE TABLE customer_users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    username TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    CONSTRAINT customer_users_username_key UNIQUE (username)
);

CREATE TABLE api_credentials (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER REFERENCES customers(id) ON DELETE CASCADE,
    name TEXT,
    username TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    last_used_at INTEGER,
    created_at INTEGER NOT NULL,
    CONSTRAINT api_credentials_username_key UNIQUE (username)
);

-- One live UI session per customer (a new one cancels the previous).
CREATE TABLE customer_sessions (
    customer_id INTEGER PRIMARY KEY REFERENCES customers(id) ON DELETE CASCADE,
    token_id TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    actor_type TEXT NOT NULL,
    actor_id TEXT,
    actor_name TEXT,
    action TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id TEXT,
    before_json TEXT,
    after_json TEXT
);
CREATE INDEX audit_log_at ON audit_log (at, id);
CREATE INDEX audit_log_resource ON audit_log (resource_type, resource_id);

CREATE TABLE domain_settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    sip_domain TEXT NOT NULL,
    sip_public_address TEXT,
    default_codecs TEXT NOT NULL,
    default_transport_protocol TEXT NOT NULL,
    default_trm_mode TEXT NOT NULL,
    create_default_incoming_trunk INTEGER NOT NULL,
    customers_may_add_numbers INTEGER NOT NULL,
    customers_may_manage_incoming_trunks INTEGER NOT NULL,
    customers_may_manage_termination_gateways INTEGER NOT NULL,
    customers_may_manage_termination_routes INTEGER NOT NULL,
    customer_termination_fields TEXT NOT NULL,
    capacity_reject_code INTEGER NOT NULL,
    default_route_id INTEGER REFERENCES termination_routes(id) ON DELETE SET NULL
);

-- Server-side secrets (the session signing key); never exposed.
CREATE TABLE server_secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
