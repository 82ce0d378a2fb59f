-- Calls in progress, so that calls up at a crash are closed with a CDR on
-- the next start. Written and deleted with the CDRs, in order. Times are
-- epoch milliseconds.
CREATE TABLE live_calls (
    id TEXT PRIMARY KEY,
    customer_id BIGINT,
    incoming_trunk_id BIGINT,
    time_start BIGINT NOT NULL,
    time_connect BIGINT,
    src_name TEXT,
    src_number TEXT,
    dst_number TEXT,
    did_number TEXT,
    call_id TEXT NOT NULL
);
