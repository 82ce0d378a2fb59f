-- Capacity groups (Operator API 5.10): channels pooled by several
-- customers. customer_ids is the member list as comma-separated customer
-- ids (the `customer` relationship); a customer is in one group at most,
-- which the store checks on every write.
CREATE TABLE capacity_groups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    capacity INTEGER NOT NULL,
    customer_ids TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);
-- Channels ordered on the commercial account (NULL: unlimited): the groups'
-- capacities may not add up to more.
ALTER TABLE domain_settings ADD COLUMN total_channels INTEGER;
