-- Registration bindings, kept so a restart keeps phones reachable until
-- their registrations expire. Times are epoch milliseconds.
CREATE TABLE sip_bindings (
    sip_account_id INTEGER NOT NULL REFERENCES sip_accounts(id) ON DELETE CASCADE,
    contact TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    user_agent TEXT,
    source TEXT NOT NULL,
    transport TEXT NOT NULL,
    call_id TEXT NOT NULL,
    cseq INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (sip_account_id, contact)
);
CREATE INDEX sip_bindings_expires ON sip_bindings (expires_at);
