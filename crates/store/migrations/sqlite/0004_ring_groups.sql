-- Ring groups: several SIP accounts of one customer that a DID rings at
-- once or one after another. member_ids is the ordered member list as
-- comma-separated SIP account ids (the `members` relationship).
CREATE TABLE ring_groups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    strategy TEXT NOT NULL DEFAULT 'simultaneous',
    ring_timeout INTEGER NOT NULL DEFAULT 20,
    member_ids TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);
CREATE INDEX ring_groups_customer_idx ON ring_groups (customer_id);
