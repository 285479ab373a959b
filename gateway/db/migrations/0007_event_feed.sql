-- 0007: a commit-ordered event feed, notifications that always come, cheaper receipts.
--
-- Feed. Event ids come from a sequence before commit, and several writers (two
-- buffers per instance, several instances) commit out of id order, so "WHERE
-- id > last" skips events that commit late. Each event now records the id of
-- the transaction that wrote it (txid). No transaction older than the oldest
-- one still running (the snapshot's xmin) can commit any more, so every event
-- with txid below that horizon is final: gateway.events_since() returns the
-- events after a cursor (txid:id) and below the horizon, in (txid, id) order.
-- A follower that stores the last cursor it processed sees every committed
-- event exactly once. Events written before this migration have no txid and
-- are not part of the feed.
ALTER TABLE gateway.events ADD COLUMN txid bigint;
ALTER TABLE gateway.events ALTER COLUMN txid SET DEFAULT (pg_current_xact_id()::text::bigint);
COMMENT ON COLUMN gateway.events.txid IS
    'The writing transaction''s id: the feed''s order (gateway.events_since).';

-- Feed reads scan the newest pages; a BRIN index finds them at almost no write cost.
DROP INDEX gateway.events_id;
CREATE INDEX events_txid ON gateway.events USING brin (txid) WITH (pages_per_range = 32);

-- The horizon: the oldest transaction of this database still running (its
-- events could still commit), else the next transaction id to be given out.
-- Transactions known to belong to another database of the same server are
-- skipped, so that another application's long transaction does not hold the
-- feed back; knowing that needs the function's owner to see other sessions'
-- backend_xid (superuser or pg_read_all_stats). Without it the horizon is the
-- server-wide oldest running transaction: still correct, sometimes later.
CREATE FUNCTION gateway.events_horizon() RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    WITH snap AS (
        SELECT pg_current_snapshot() AS s
    ), elsewhere AS (
        SELECT backend_xid::text::bigint AS xid32
        FROM pg_stat_activity
        WHERE backend_xid IS NOT NULL AND datname IS NOT NULL AND datname <> current_database()
    )
    SELECT coalesce(
        (SELECT min(x.xid::text::bigint)
         FROM pg_snapshot_xip(snap.s) AS x(xid)
         WHERE (x.xid::text::bigint % 4294967296) NOT IN (SELECT xid32 FROM elsewhere)),
        pg_snapshot_xmax(snap.s)::text::bigint)
    FROM snap
$$;
COMMENT ON FUNCTION gateway.events_horizon() IS
    'Every event with a txid below this is committed (or never will be): the feed never goes past it.';

CREATE FUNCTION gateway.events_since(p_cursor text DEFAULT NULL, p_limit integer DEFAULT 1000)
RETURNS TABLE (
    cursor     text,
    id         bigint,
    message_id bigint,
    at         timestamptz,
    state      text,
    reason     text,
    code       text,
    connector  text,
    instance   text,
    detail     jsonb
)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    c_tx    bigint := 0;
    c_id    bigint := 0;
    horizon bigint := gateway.events_horizon();
BEGIN
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 100000 THEN
        RAISE EXCEPTION 'events_since: limit must be between 1 and 100000, not %', p_limit
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_cursor IS NOT NULL AND p_cursor <> '' THEN
        IF p_cursor !~ '^[0-9]+:[0-9]+$' THEN
            RAISE EXCEPTION 'events_since: % is not a cursor (expected "<txid>:<id>", as returned in cursor)', p_cursor
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        c_tx := split_part(p_cursor, ':', 1)::bigint;
        c_id := split_part(p_cursor, ':', 2)::bigint;
    END IF;
    RETURN QUERY
        SELECT e.txid::text || ':' || e.id::text, e.id, e.message_id, e.at, e.state, e.reason, e.code,
               e.connector, e.instance, e.detail
        FROM gateway.events e
        WHERE e.txid >= c_tx AND e.txid < horizon AND (e.txid > c_tx OR e.id > c_id)
        ORDER BY e.txid, e.id
        LIMIT p_limit;
END
$$;
COMMENT ON FUNCTION gateway.events_since(text, integer) IS
    'The committed events after a cursor, in feed order; each row carries its own cursor. NULL: from the start.';

CREATE FUNCTION gateway.events_cursor_now() RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT gateway.events_horizon()::text || ':0'
$$;
COMMENT ON FUNCTION gateway.events_cursor_now() IS
    'A cursor for a new follower that wants only what happens from now on.';

-- Notifications: every statement that writes events notifies once, after its
-- transaction commits, with the transaction's txid as the payload (a listener
-- whose cursor is already past it can skip the poll). Within one transaction
-- PostgreSQL folds identical notifications into one.
CREATE FUNCTION gateway.events_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('gateway_events', pg_current_xact_id()::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER events_notify
    AFTER INSERT ON gateway.events
    FOR EACH STATEMENT
    EXECUTE FUNCTION gateway.events_notify();

-- Receipts update carrier-id rows without touching an indexed column: leave
-- room on each page so those updates stay HOT (no new index entries), and
-- index segments by message only for multipart messages (the only ones looked
-- up that way).
DROP INDEX gateway.carrier_ids_message;
CREATE INDEX carrier_ids_multipart ON gateway.carrier_ids (message_id) WHERE segments > 1;

CREATE OR REPLACE FUNCTION gateway.ensure_partitions(days_back integer, days_ahead integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    d date;
    t text;
    created integer := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('gateway.partitions'));
    FOR d IN SELECT generate_series(current_date - days_back, current_date + days_ahead, interval '1 day')::date LOOP
        FOREACH t IN ARRAY ARRAY['messages', 'carrier_ids', 'events'] LOOP
            IF to_regclass(format('gateway.%s_p%s', t, to_char(d, 'YYYYMMDD'))) IS NULL THEN
                EXECUTE format(
                    'CREATE TABLE gateway.%I PARTITION OF gateway.%I FOR VALUES FROM (%L) TO (%L)%s',
                    t || '_p' || to_char(d, 'YYYYMMDD'), t, d::timestamptz, (d + 1)::timestamptz,
                    CASE WHEN t = 'carrier_ids' THEN ' WITH (fillfactor = 50)' ELSE '' END);
                created := created + 1;
            END IF;
        END LOOP;
    END LOOP;
    RETURN created;
END
$$;

DO $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT c.relname
        FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        JOIN pg_class p ON p.oid = i.inhparent
        JOIN pg_namespace n ON n.oid = p.relnamespace
        WHERE n.nspname = 'gateway' AND p.relname = 'carrier_ids'
    LOOP
        EXECUTE format('ALTER TABLE gateway.%I SET (fillfactor = 50)', r.relname);
    END LOOP;
END
$$;
