-- 0038: upstream services attach pictures without more privileges than gateway_upstream's.
--
-- gateway.attachments (0035) and the picture check run by the outbox trigger
-- (SECURITY DEFINER) need: INSERT and SELECT (id, file_name) on the table (for
-- RETURNING id, and looking an earlier picture up by name), EXECUTE on
-- gateway.jpeg_size() for an upstream that checks a picture before sending it.
-- The daemon's role already reads and deletes every table of the schema.
INSERT INTO gateway.role_grants (role, privilege) VALUES
    ('gateway_upstream', 'INSERT (file_name, data) ON TABLE gateway.attachments'),
    ('gateway_upstream', 'SELECT (id, file_name) ON TABLE gateway.attachments'),
    ('gateway_upstream', 'EXECUTE ON FUNCTION gateway.jpeg_size(bytea)')
ON CONFLICT DO NOTHING;
