-- Per-user UI preferences (time zone, list columns, ...), one row per
-- signed-in identity: `operator_user` / `customer_user` ids, or `customer`
-- for a customer session opened by a link without a user. The keys live
-- in one JSON object so a new preference needs no migration.
CREATE TABLE ui_preferences (
    actor_type TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    prefs TEXT NOT NULL DEFAULT '{}',
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (actor_type, actor_id)
);
