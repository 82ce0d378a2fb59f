-- Several nodes share one database, and a node can die without closing
-- its calls. Each live call names the node that runs it and, once
-- answered, both legs' dialog state (JSON), so that whoever recovers it
-- can hang up both far ends. Each node records that it is alive every
-- few seconds: its calls are closed at that time after a crash, and a
-- node silent for several of its intervals is taken for dead.
ALTER TABLE live_calls ADD COLUMN node_id TEXT NOT NULL DEFAULT '';
ALTER TABLE live_calls ADD COLUMN dialog TEXT;
CREATE INDEX live_calls_node_id ON live_calls (node_id);
CREATE TABLE switch_nodes (
    node_id TEXT PRIMARY KEY,
    heartbeat_at BIGINT NOT NULL,
    interval_ms BIGINT NOT NULL
);
