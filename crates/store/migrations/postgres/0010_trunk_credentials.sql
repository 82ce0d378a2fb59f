-- Digest credentials a carrier must answer with on its trunk (both set or
-- both empty); empty: calls need none.
ALTER TABLE incoming_trunks ADD COLUMN auth_name TEXT;
ALTER TABLE incoming_trunks ADD COLUMN auth_password TEXT;
