-- Customer ids are never given out twice. A customer's id is the tenant key
-- of rows that outlive it (CDRs, live calls, the audit log), so a new
-- customer with a deleted customer's id would see them as its own. Every
-- id ever issued stays here after its customer is deleted; new ids come
-- after the largest, and a client-chosen id listed here is taken (409).
-- (The other tables use identity columns, whose sequences never go back.)
CREATE TABLE customer_ids (
    id BIGINT PRIMARY KEY,
    issued_at BIGINT NOT NULL
);
-- Ids issued before this migration: the customers that exist, and those
-- that were deleted but left CDRs, live calls or audit entries behind.
INSERT INTO customer_ids (id, issued_at)
SELECT id, CAST(EXTRACT(EPOCH FROM now()) * 1000 AS BIGINT) FROM (
    SELECT id FROM customers
    UNION SELECT customer_id FROM incoming_trunk_cdrs WHERE customer_id IS NOT NULL
    UNION SELECT customer_id FROM termination_cdrs WHERE customer_id IS NOT NULL
    UNION SELECT customer_id FROM live_calls WHERE customer_id IS NOT NULL
    UNION SELECT CAST(resource_id AS BIGINT) FROM audit_log
        WHERE resource_type = 'customers' AND resource_id ~ '^[0-9]{1,18}$'
) AS issued
WHERE id > 0;
