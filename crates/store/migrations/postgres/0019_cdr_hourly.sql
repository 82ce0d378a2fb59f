-- Calls, answered calls and billed seconds per hour of time_start, per
-- customer, trunk (incoming trunk, or SIP account for termination),
-- gateway, route and success: the totals above a CDR list read whole hours
-- here instead of scanning millions of CDRs. A missing id is 0. Kept by
-- the store in the same transaction as every CDR insert. Each hour also
-- has a row per customer and one for all customers (-1 in the dimensions
-- summed over, success -1), for totals that filter by nothing finer.
CREATE TABLE cdr_hourly (
    kind TEXT NOT NULL,
    hour BIGINT NOT NULL,
    customer_id BIGINT NOT NULL,
    trunk_id BIGINT NOT NULL,
    gateway_id BIGINT NOT NULL,
    route_id BIGINT NOT NULL,
    success BIGINT NOT NULL,
    calls BIGINT NOT NULL,
    answered BIGINT NOT NULL,
    seconds BIGINT NOT NULL,
    PRIMARY KEY (kind, hour, customer_id, trunk_id, gateway_id, route_id, success)
);
CREATE INDEX cdr_hourly_customer ON cdr_hourly (kind, customer_id, hour);

INSERT INTO cdr_hourly (kind, hour, customer_id, trunk_id, gateway_id, route_id, success, calls, answered, seconds)
SELECT 'incoming', (time_start / 3600000) * 3600000, COALESCE(customer_id, 0), COALESCE(incoming_trunk_id, 0), 0, 0,
       CASE WHEN success THEN 1 ELSE 0 END, COUNT(*), SUM(CASE WHEN time_connect IS NULL THEN 0 ELSE 1 END), SUM(duration)
FROM incoming_trunk_cdrs
GROUP BY (time_start / 3600000) * 3600000, COALESCE(customer_id, 0), COALESCE(incoming_trunk_id, 0), CASE WHEN success THEN 1 ELSE 0 END;

INSERT INTO cdr_hourly (kind, hour, customer_id, trunk_id, gateway_id, route_id, success, calls, answered, seconds)
SELECT 'termination', (time_start / 3600000) * 3600000, COALESCE(customer_id, 0), COALESCE(sip_account_id, 0),
       COALESCE(gateway_id, 0), COALESCE(route_id, 0),
       CASE WHEN success THEN 1 ELSE 0 END, COUNT(*), SUM(CASE WHEN time_connect IS NULL THEN 0 ELSE 1 END), SUM(duration)
FROM termination_cdrs
GROUP BY (time_start / 3600000) * 3600000, COALESCE(customer_id, 0), COALESCE(sip_account_id, 0), COALESCE(gateway_id, 0),
         COALESCE(route_id, 0), CASE WHEN success THEN 1 ELSE 0 END;

INSERT INTO cdr_hourly (kind, hour, customer_id, trunk_id, gateway_id, route_id, success, calls, answered, seconds)
SELECT kind, hour, customer_id, -1, -1, -1, -1, SUM(calls), SUM(answered), SUM(seconds)
FROM cdr_hourly WHERE success >= 0 GROUP BY kind, hour, customer_id;

INSERT INTO cdr_hourly (kind, hour, customer_id, trunk_id, gateway_id, route_id, success, calls, answered, seconds)
SELECT kind, hour, -1, -1, -1, -1, -1, SUM(calls), SUM(answered), SUM(seconds)
FROM cdr_hourly WHERE success >= 0 GROUP BY kind, hour;
