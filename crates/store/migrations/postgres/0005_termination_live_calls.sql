-- Attempts toward termination gateways are journalled like incoming
-- calls, so one open at a crash gets its termination CDR at the next
-- start. kind is the CDR resource the row will close into.
ALTER TABLE live_calls ADD COLUMN kind TEXT NOT NULL DEFAULT 'incoming_trunk_cdrs';
ALTER TABLE live_calls ADD COLUMN sip_account_id BIGINT;
ALTER TABLE live_calls ADD COLUMN route_id BIGINT;
ALTER TABLE live_calls ADD COLUMN gateway_id BIGINT;
ALTER TABLE live_calls ADD COLUMN local_tag TEXT;
ALTER TABLE live_calls ADD COLUMN global_tag TEXT;
ALTER TABLE live_calls ADD COLUMN src_name_out TEXT;
ALTER TABLE live_calls ADD COLUMN src_number_out TEXT;
ALTER TABLE live_calls ADD COLUMN dst_number_out TEXT;
