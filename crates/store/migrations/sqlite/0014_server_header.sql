-- The Server header of SIP responses (User-Agent of requests): none by
-- default, so a scanner learns no product or version; the operator may
-- set a text (NULL or empty: none).
ALTER TABLE domain_settings ADD COLUMN server_header TEXT;
