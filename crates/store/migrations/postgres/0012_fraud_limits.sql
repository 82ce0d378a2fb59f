-- Fraud limits per customer, set by the operator (NULL: unlimited): calls
-- per second toward the PSTN, the longest a call may last (seconds), the
-- destination prefixes it may not call (comma-separated digits), and the
-- external minutes it may use per UTC day. External caller ids must be
-- the customer's own DID numbers unless allow_any_caller_id (wholesale).
ALTER TABLE customers ADD COLUMN max_cps BIGINT;
ALTER TABLE customers ADD COLUMN max_call_duration BIGINT;
ALTER TABLE customers ADD COLUMN blocked_prefixes TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN daily_minutes_limit BIGINT;
ALTER TABLE customers ADD COLUMN allow_any_caller_id BOOLEAN NOT NULL DEFAULT FALSE;
-- Premium and other ranges no customer may call.
ALTER TABLE domain_settings ADD COLUMN blocked_prefixes TEXT NOT NULL DEFAULT '';
-- Why a termination attempt ended or was refused (a fraud limit, say),
-- as incoming trunk CDRs already say.
ALTER TABLE termination_cdrs ADD COLUMN internal_reason TEXT;
