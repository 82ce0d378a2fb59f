-- Ring groups may ring external numbers too (after their members when
-- sequential), out through the customer's termination routes.
-- external_numbers is the ordered list as comma-separated E.164 digits.
ALTER TABLE ring_groups ADD COLUMN external_numbers TEXT NOT NULL DEFAULT '';
