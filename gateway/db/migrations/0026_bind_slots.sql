-- 0026: binds budgeted across instances (SMPP account_binds).
--
-- A carrier allows an account so many binds in all. Each slot 0..allowance-1
-- of a connector is held by at most one instance run at a time, with a lease
-- it renews every few seconds; a bind may be open only while its instance
-- holds a slot for it. Members say how many binds they want; each gets a fair
-- share (water-filling, remainders by name), takes free slots up to it, and
-- gives back what it holds above it once those binds are down. A crashed
-- instance's slots free themselves when their lease runs out, so binds x
-- instances never exceed the allowance, whatever dies when.

CREATE TABLE gateway.bind_slots (
    connector  text        NOT NULL,
    slot       integer     NOT NULL,
    instance   text        NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (connector, slot)
);

CREATE TABLE gateway.bind_members (
    connector text        NOT NULL,
    instance  text        NOT NULL,
    want      integer     NOT NULL,
    seen_at   timestamptz NOT NULL,
    PRIMARY KEY (connector, instance)
);

-- One exchange of an instance with the budget of a connector: give back
-- p_release slots (its binds above its share are down), renew the others, and
-- take free slots up to its share. Returns what it holds now and its share.
CREATE FUNCTION gateway.bind_budget(
    p_connector     text,
    p_instance      text,
    p_want          integer,
    p_allowance     integer,
    p_release       integer,
    p_lease_seconds double precision
) RETURNS TABLE (held integer, share integer)
LANGUAGE plpgsql AS $$
DECLARE
    lease    interval := make_interval(secs => p_lease_seconds);
    left_over integer;
    n        integer;
    m        record;
    shares   jsonb := '{}'::jsonb;
    mine     integer;
    given    integer;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('gateway.bind_slots'), hashtext(p_connector));
    INSERT INTO gateway.bind_members AS b (connector, instance, want, seen_at)
    VALUES (p_connector, p_instance, greatest(p_want, 0), now())
    ON CONFLICT (connector, instance) DO UPDATE SET want = EXCLUDED.want, seen_at = EXCLUDED.seen_at;
    DELETE FROM gateway.bind_members WHERE connector = p_connector AND seen_at < now() - lease;
    DELETE FROM gateway.bind_slots WHERE connector = p_connector AND (expires_at < now() OR slot >= p_allowance);
    IF p_release > 0 THEN
        DELETE FROM gateway.bind_slots
        WHERE connector = p_connector AND instance = p_instance AND slot IN (
            SELECT slot FROM gateway.bind_slots
            WHERE connector = p_connector AND instance = p_instance
            ORDER BY slot DESC LIMIT p_release);
    END IF;
    UPDATE gateway.bind_slots SET expires_at = now() + lease WHERE connector = p_connector AND instance = p_instance;

    -- Water-filling: every member gets min(want, its even part); what is left goes round by name.
    left_over := p_allowance;
    SELECT count(*) INTO n FROM gateway.bind_members WHERE connector = p_connector AND want > 0;
    FOR m IN SELECT instance, want FROM gateway.bind_members
             WHERE connector = p_connector AND want > 0 ORDER BY want, instance LOOP
        given := least(m.want, left_over / greatest(n, 1));
        shares := shares || jsonb_build_object(m.instance, given);
        left_over := left_over - given;
        n := n - 1;
    END LOOP;
    WHILE left_over > 0 LOOP
        given := 0;
        FOR m IN SELECT instance, want FROM gateway.bind_members
                 WHERE connector = p_connector AND want > 0 ORDER BY instance LOOP
            IF left_over > 0 AND (shares ->> m.instance)::integer < m.want THEN
                shares := jsonb_set(shares, ARRAY[m.instance], to_jsonb((shares ->> m.instance)::integer + 1));
                left_over := left_over - 1;
                given := given + 1;
            END IF;
        END LOOP;
        EXIT WHEN given = 0;
    END LOOP;
    share := coalesce((shares ->> p_instance)::integer, 0);

    SELECT count(*) INTO mine FROM gateway.bind_slots WHERE connector = p_connector AND instance = p_instance;
    IF mine < share THEN
        INSERT INTO gateway.bind_slots (connector, slot, instance, expires_at)
        SELECT p_connector, s, p_instance, now() + lease
        FROM generate_series(0, p_allowance - 1) AS s
        WHERE NOT EXISTS (SELECT 1 FROM gateway.bind_slots b WHERE b.connector = p_connector AND b.slot = s)
        ORDER BY s
        LIMIT share - mine;
        SELECT count(*) INTO mine FROM gateway.bind_slots WHERE connector = p_connector AND instance = p_instance;
    END IF;
    held := mine;
    RETURN NEXT;
END
$$;
