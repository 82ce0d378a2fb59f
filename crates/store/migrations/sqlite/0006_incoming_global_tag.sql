-- An incoming call forwarded to an external number shares its global tag
-- with the termination CDRs of its attempts; every incoming call has one.
-- Route selection probes termination routes by dst_prefix.
ALTER TABLE incoming_trunk_cdrs ADD COLUMN global_tag TEXT;
CREATE INDEX termination_routes_dst_prefix ON termination_routes (dst_prefix);
