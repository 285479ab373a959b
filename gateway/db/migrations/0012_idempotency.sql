-- 0012: idempotency keys that say what they mean.
--
-- * A key sent again with the same payload is the same message: a plain INSERT
--   inserts nothing, gateway.enqueue returns the existing id (as before).
-- * A key sent again with a different payload is an error that names the key
--   and the message that holds it (SQLSTATE 23505, constraint
--   outbox_idempotency_key_reused). Keeping the first silently would drop a
--   message the caller believes it sent (a re-rendered OTP, a key shared by
--   two flows by mistake); the error surfaces the bug in the caller's own
--   transaction, where it can still be fixed.
-- * A key another transaction has inserted but not committed yet cannot be
--   answered until that transaction ends (it may still roll back). The wait is
--   bounded by the setting gateway.idempotency_wait (default 500ms; '0' waits
--   as long as it takes): past it the statement fails with SQLSTATE 55P03
--   (lock_not_available), which the caller retries; gateway.enqueue names the
--   key in that error.
-- * The key's CHECK constraints are named for what they check: empty
--   (outbox_idempotency_key_empty) and over 200 characters
--   (outbox_idempotency_key_too_long).
-- * The trigger and gateway.enqueue run as the schema's owner (SECURITY
--   DEFINER), so a role that may only INSERT into gateway.outbox (and EXECUTE
--   gateway.enqueue) can use keys without any privilege on gateway.idempotency,
--   and gateway.enqueue needs no SELECT on the outbox. gateway.enqueue takes
--   the priority as an integer (p_priority => 5).

ALTER TABLE gateway.idempotency ADD COLUMN fingerprint bytea;
COMMENT ON COLUMN gateway.idempotency.fingerprint IS
    'sha256 of the message''s payload (gateway.message_fingerprint); NULL for keys stored before 0012.';

ALTER TABLE gateway.outbox
    DROP CONSTRAINT outbox_idempotency_key_empty,
    ADD CONSTRAINT outbox_idempotency_key_empty CHECK (idempotency_key IS NULL OR length(btrim(idempotency_key)) > 0),
    ADD CONSTRAINT outbox_idempotency_key_too_long CHECK (idempotency_key IS NULL OR length(idempotency_key) <= 200);

-- What "the same message" means: every column the upstream service sets.
-- Timestamps enter as epoch seconds, so the session's time zone does not matter;
-- extras as jsonb text, which does not depend on key order or spacing.
CREATE FUNCTION gateway.message_fingerprint(
    p_channel     text,
    p_sender      text,
    p_recipient   text,
    p_body        text,
    p_kind        text,
    p_priority    integer,
    p_send_at     timestamptz,
    p_expires_at  timestamptz,
    p_campaign_id text,
    p_consent     boolean,
    p_extras      jsonb
) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE AS $$  -- no SET clause: the trigger's call is inlined
    SELECT sha256(convert_to(format('%L %L %L %L %L %L %L %L %L %L %L',  -- quoted literals: unambiguous
        p_channel, p_sender, p_recipient, p_body, p_kind, p_priority,
        extract(epoch FROM p_send_at), extract(epoch FROM p_expires_at),
        p_campaign_id, p_consent, p_extras), 'UTF8'))
$$;

-- Still one plpgsql call per row, and only for rows that need it (a key or a
-- schedule): everything else is plain column defaults. The function's SET
-- clauses are undone when it returns, so the caller's lock_timeout is untouched.
CREATE OR REPLACE FUNCTION gateway.outbox_before_insert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET lock_timeout = '500ms' AS $$
DECLARE
    fp   bytea;
    held record;
    wait text;
BEGIN
    IF NEW.send_at IS NOT NULL THEN
        NEW.due_at := NEW.send_at;
        IF NEW.send_at > now() AND NEW.state = 'queued' THEN
            NEW.state := 'deferred';
        END IF;
    END IF;
    IF NEW.idempotency_key IS NULL THEN
        RETURN NEW;
    END IF;
    fp := gateway.message_fingerprint(NEW.channel, NEW.sender, NEW.recipient, NEW.body, NEW.kind, NEW.priority,
                                      NEW.send_at, NEW.expires_at, NEW.campaign_id, NEW.consent, NEW.extras);
    -- A key held by a transaction that has not committed yet: wait for it, but not for long
    -- (500ms, or the session's gateway.idempotency_wait).
    wait := current_setting('gateway.idempotency_wait', true);
    IF wait <> '' THEN
        PERFORM set_config('lock_timeout', wait, true);
    END IF;
    INSERT INTO gateway.idempotency (key, message_id, fingerprint)
    VALUES (NEW.idempotency_key, NEW.id, fp)
    ON CONFLICT (key) DO NOTHING;
    IF FOUND THEN
        RETURN NEW;
    END IF;
    SELECT message_id, fingerprint INTO held FROM gateway.idempotency WHERE key = NEW.idempotency_key;
    IF FOUND AND held.fingerprint IS NOT NULL AND held.fingerprint <> fp THEN
        RAISE EXCEPTION 'idempotency key % was already used for message % with a different payload',
                quote_literal(NEW.idempotency_key), held.message_id
            USING ERRCODE = 'unique_violation',
                  CONSTRAINT = 'outbox_idempotency_key_reused',
                  SCHEMA = 'gateway', TABLE = 'outbox', COLUMN = 'idempotency_key',
                  HINT = 'Send the same payload again to get the existing message, or use a new key for a new message.';
    END IF;
    RETURN NULL;  -- the same message again: not inserted a second time
END
$$;

DROP FUNCTION gateway.enqueue(text, text, text, text, text, text, smallint, timestamptz, timestamptz, text, boolean, jsonb);

-- For upstream services that prefer a function to a plain INSERT: returns the
-- id of the message, the existing one when the idempotency key was used before
-- for the same payload.
CREATE FUNCTION gateway.enqueue(
    p_channel         text,
    p_sender          text,
    p_recipient       text,
    p_body            text,
    p_kind            text DEFAULT 'informational',
    p_idempotency_key text DEFAULT NULL,
    p_priority        integer DEFAULT 0,
    p_send_at         timestamptz DEFAULT NULL,
    p_expires_at      timestamptz DEFAULT NULL,
    p_campaign_id     text DEFAULT NULL,
    p_consent         boolean DEFAULT NULL,
    p_extras          jsonb DEFAULT '{}'::jsonb
) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    new_id bigint;
    waited text;
BEGIN
    IF p_priority IS NULL OR p_priority NOT BETWEEN -100 AND 100 THEN
        RAISE EXCEPTION 'priority % is outside -100..100', p_priority
            USING ERRCODE = 'check_violation', CONSTRAINT = 'outbox_priority_out_of_range',
                  SCHEMA = 'gateway', TABLE = 'outbox', COLUMN = 'priority';
    END IF;
    IF p_idempotency_key IS NULL THEN
        INSERT INTO gateway.outbox (channel, sender, recipient, body, kind, priority,
                                    send_at, expires_at, campaign_id, consent, extras)
        VALUES (p_channel, p_sender, p_recipient, p_body, p_kind, p_priority::smallint,
                p_send_at, p_expires_at, p_campaign_id, p_consent, coalesce(p_extras, '{}'::jsonb))
        RETURNING id INTO new_id;
        RETURN new_id;
    END IF;
    BEGIN
        INSERT INTO gateway.outbox (channel, sender, recipient, body, kind, idempotency_key, priority,
                                    send_at, expires_at, campaign_id, consent, extras)
        VALUES (p_channel, p_sender, p_recipient, p_body, p_kind, p_idempotency_key, p_priority::smallint,
                p_send_at, p_expires_at, p_campaign_id, p_consent, coalesce(p_extras, '{}'::jsonb))
        RETURNING id INTO new_id;
    EXCEPTION WHEN lock_not_available THEN
        waited := coalesce(nullif(current_setting('gateway.idempotency_wait', true), ''), '500ms');
        RAISE EXCEPTION 'idempotency key % is held by a transaction that has not committed yet (waited %)',
                quote_literal(p_idempotency_key), waited
            USING ERRCODE = 'lock_not_available',
                  HINT = 'Retry: once that transaction commits, the same call returns its message id.';
    END;
    IF new_id IS NULL THEN
        SELECT message_id INTO new_id FROM gateway.idempotency WHERE key = p_idempotency_key;
    END IF;
    RETURN new_id;
END
$$;

COMMENT ON FUNCTION gateway.enqueue(text, text, text, text, text, text, integer, timestamptz, timestamptz, text,
                                    boolean, jsonb) IS
    'Enqueue one message; returns its id (the existing one for an idempotency key sent again with the same payload).';
