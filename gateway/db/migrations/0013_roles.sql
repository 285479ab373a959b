-- 0013: two roles with least privilege, kept up to date by every `gateway migrate`.
--
-- gateway_upstream: what an upstream service needs and nothing else: insert
--   messages (the columns it may set) or call gateway.enqueue, read
--   gateway.message_status and gateway.events, follow the feed, LISTEN.
-- gateway_daemon: what `gateway run` needs: reading and writing the gateway's
--   tables, its sequences and functions (partitions are created and dropped
--   through SECURITY DEFINER functions, so it owns nothing).
--
-- Both are NOLOGIN group roles; give them to login roles (GRANT gateway_upstream
-- TO shop_app). `gateway migrate` creates them when it may (superuser or
-- CREATEROLE); a managed PostgreSQL may not allow that, so it then says so and
-- grants to whichever exists: create them once as an administrator and run
-- `gateway migrate` again (docs/upstream.md, "Roles"). Every `gateway migrate`
-- calls gateway.apply_grants(), so grants follow the schema as it grows: a
-- later migration adds its rows to gateway.role_grants.

CREATE TABLE gateway.role_grants (
    role      text NOT NULL,
    privilege text NOT NULL,  -- what goes between GRANT and TO
    PRIMARY KEY (role, privilege),
    CONSTRAINT role_grants_role_not_gateway CHECK (role ~ '^gateway_[a-z0-9_]+$')
);
COMMENT ON TABLE gateway.role_grants IS
    'The privileges of gateway_upstream and gateway_daemon; gateway.apply_grants() (run by every gateway migrate) grants them.';

INSERT INTO gateway.role_grants (role, privilege) VALUES
    ('gateway_upstream', 'USAGE ON SCHEMA gateway'),
    ('gateway_upstream', 'INSERT (channel, sender, recipient, body, kind, idempotency_key, priority, send_at, '
                         'expires_at, campaign_id, consent, extras) ON TABLE gateway.outbox'),
    ('gateway_upstream', 'EXECUTE ON FUNCTION gateway.enqueue(text, text, text, text, text, text, integer, '
                         'timestamptz, timestamptz, text, boolean, jsonb)'),
    ('gateway_upstream', 'SELECT ON TABLE gateway.message_status'),
    ('gateway_upstream', 'SELECT ON TABLE gateway.events'),
    ('gateway_upstream', 'EXECUTE ON FUNCTION gateway.events_since(text, integer)'),
    ('gateway_upstream', 'EXECUTE ON FUNCTION gateway.events_cursor_now()'),
    ('gateway_upstream', 'EXECUTE ON FUNCTION gateway.events_horizon()'),
    ('gateway_daemon', 'USAGE ON SCHEMA gateway'),
    ('gateway_daemon', 'SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA gateway'),
    ('gateway_daemon', 'USAGE, SELECT ON ALL SEQUENCES IN SCHEMA gateway'),
    ('gateway_daemon', 'EXECUTE ON ALL FUNCTIONS IN SCHEMA gateway');

-- Partitions are created and dropped by the daemon, as the schema's owner.
ALTER FUNCTION gateway.ensure_partitions(integer, integer) SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION gateway.drop_partitions(integer) SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

-- Functions that run as the owner are for the two roles only.
REVOKE EXECUTE ON FUNCTION gateway.ensure_partitions(integer, integer) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION gateway.drop_partitions(integer) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION gateway.enqueue(text, text, text, text, text, text, integer, timestamptz, timestamptz,
                                           text, boolean, jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION gateway.events_horizon() FROM PUBLIC;

-- Creates the roles named in gateway.role_grants when the migrating role may,
-- then grants every row to the roles that exist. Returns notes for the operator.
CREATE FUNCTION gateway.apply_grants() RETURNS text[]
LANGUAGE plpgsql AS $$
DECLARE
    name       text;
    r          record;
    notes      text[] := '{}';
    may_create boolean;
BEGIN
    SELECT rolsuper OR rolcreaterole INTO may_create FROM pg_roles WHERE rolname = current_user;
    FOR name IN SELECT DISTINCT g.role FROM gateway.role_grants g ORDER BY 1 LOOP
        CONTINUE WHEN EXISTS (SELECT FROM pg_roles WHERE rolname = name);
        IF may_create THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', name);
                notes := notes || format('created role %s', name);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;  -- created meanwhile by a migration of another database of this server
            END;
        ELSE
            notes := notes || format(
                'role %s does not exist and %s may not create roles: create it (CREATE ROLE %s NOLOGIN) '
                'and run gateway migrate again', name, current_user, name);
        END IF;
    END LOOP;
    FOR r IN SELECT g.role, g.privilege FROM gateway.role_grants g ORDER BY g.role, g.privilege LOOP
        IF EXISTS (SELECT FROM pg_roles WHERE rolname = r.role) THEN
            EXECUTE format('GRANT %s TO %I', r.privilege, r.role);
        END IF;
    END LOOP;
    RETURN notes;
END
$$;
REVOKE EXECUTE ON FUNCTION gateway.apply_grants() FROM PUBLIC;
COMMENT ON FUNCTION gateway.apply_grants() IS
    'Create the roles of gateway.role_grants when allowed and grant them their rows; run by gateway migrate.';
