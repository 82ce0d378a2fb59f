-- Timers of the SIP plane, operator-wide (seconds; 0 turns one off):
-- how often phones behind NAT are pinged to keep their binding open, how
-- long a relayed call may go without any RTP or RTCP, and the RFC 4028
-- session interval we offer and accept.
ALTER TABLE domain_settings ADD COLUMN nat_keepalive BIGINT NOT NULL DEFAULT 30;
ALTER TABLE domain_settings ADD COLUMN media_timeout BIGINT NOT NULL DEFAULT 60;
ALTER TABLE domain_settings ADD COLUMN session_expires BIGINT NOT NULL DEFAULT 1800;
