-- Where an incoming trunk's calls may come from: IP addresses or CIDR
-- ranges, comma-separated in canonical form; empty takes calls from anywhere.
ALTER TABLE incoming_trunks ADD COLUMN allowed_sources TEXT NOT NULL DEFAULT '';
