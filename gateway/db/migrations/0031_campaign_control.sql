-- 0031: campaign control (hold, release, cancel), releasing held messages, and the
-- log of who did what.
--
-- Operators use `gateway campaign hold|release|cancel <id>` and
-- `gateway held list|release`; upstream services call the same functions (grant
-- them EXECUTE: docs/upstream.md). Every action is a row in gateway.policy_actions
-- and an event, with its actor, on every message it changed.
--
-- Several instances: a hold moves the campaign's queued and deferred rows out of
-- reach of every claim in its own transaction; rows already claimed are stopped
-- by each instance's last check before sending (NOTIFY gateway_policy reloads its
-- copy of gateway.campaign_controls at once); rows inserted later are held at
-- their first claim (the gate reads the campaign's control from this table).
-- A cancel never touches a claimed row: those are settled by the instance that
-- holds them (suppressed at its last check, or sent if already past it), so a
-- cancel cannot race a send.

CREATE TABLE gateway.campaign_controls (
    campaign_id      text PRIMARY KEY,
    held_since       timestamptz,          -- not null: the campaign is on hold
    held_by          text,
    cancelled_before timestamptz,          -- messages enqueued at or before this are cancelled
    cancelled_by     text,
    updated_at       timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE gateway.campaign_controls IS
    'Held and cancelled campaigns. Written only by gateway.campaign_hold / campaign_release / campaign_cancel.';

CREATE TABLE gateway.held_releases (
    message_id bigint PRIMARY KEY,
    actor      text        NOT NULL,
    at         timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE gateway.held_releases IS
    'Messages held for quiet hours that an operator released: they wait for their next window instead of being held again.';

CREATE TABLE gateway.policy_actions (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    action      text        NOT NULL,      -- campaign_hold | campaign_release | campaign_cancel | held_release
    campaign_id text,
    message_ids bigint[],
    actor       text        NOT NULL,      -- who, as given by the caller (the CLI: cli:<user>@<host>)
    db_user     text        NOT NULL DEFAULT session_user,
    note        text,
    messages    integer     NOT NULL       -- how many outbox rows the action changed
);
CREATE INDEX policy_actions_campaign ON gateway.policy_actions (campaign_id, at);
COMMENT ON TABLE gateway.policy_actions IS 'Every campaign or hold action: what, on what, by whom, when.';

-- The actor of an action: as given, else the database user.
CREATE FUNCTION gateway.policy_actor(p_actor text) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT left(coalesce(nullif(btrim(p_actor), ''), session_user::text), 200)
$$;

CREATE FUNCTION gateway.policy_require_campaign(p_campaign text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF p_campaign IS NULL OR btrim(p_campaign) = '' THEN
        RAISE EXCEPTION 'a campaign id is required' USING ERRCODE = '22023';
    END IF;
END
$$;

-- The end of every action: its row in policy_actions, and the wake-ups (the
-- instances reload their campaign controls; claims look for work at once).
CREATE FUNCTION gateway.policy_action_done(
    p_action text, p_campaign text, p_ids bigint[], p_actor text, p_note text, p_messages integer, p_wake boolean
) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO gateway.policy_actions (action, campaign_id, message_ids, actor, note, messages)
    VALUES (p_action, p_campaign, p_ids, p_actor, p_note, p_messages);
    PERFORM pg_notify('gateway_policy', p_action);
    IF p_wake THEN
        PERFORM pg_notify('gateway_outbox', '');
    END IF;
    RETURN p_messages;
END
$$;

-- Hold: no message of the campaign is sent until it is released. Returns how many
-- queued or deferred messages were parked.
CREATE FUNCTION gateway.campaign_hold(p_campaign text, p_actor text DEFAULT NULL, p_note text DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_actor text := gateway.policy_actor(p_actor);
    v_count integer;
BEGIN
    PERFORM gateway.policy_require_campaign(p_campaign);
    INSERT INTO gateway.campaign_controls AS c (campaign_id, held_since, held_by)
    VALUES (p_campaign, now(), v_actor)
    ON CONFLICT (campaign_id) DO UPDATE
        SET held_since = coalesce(c.held_since, EXCLUDED.held_since),
            held_by = CASE WHEN c.held_since IS NULL THEN EXCLUDED.held_by ELSE c.held_by END,
            updated_at = now();
    WITH parked AS (
        UPDATE gateway.outbox o
        SET state = 'deferred', due_at = now() + interval '10 years', last_reason = 'held_campaign'
        WHERE o.campaign_id = p_campaign AND o.state IN ('queued', 'deferred')
          AND o.last_reason IS DISTINCT FROM 'held_campaign'
        RETURNING o.id
    ), ev AS (
        INSERT INTO gateway.events (message_id, state, reason, detail)
        SELECT id, 'deferred', 'held_campaign', jsonb_build_object('action', 'campaign_hold', 'actor', v_actor)
        FROM parked
    )
    SELECT count(*) INTO v_count FROM parked;
    RETURN gateway.policy_action_done('campaign_hold', p_campaign, NULL, v_actor, p_note, v_count, false);
END
$$;

-- Release: the campaign's held messages are due again (not before their send_at).
CREATE FUNCTION gateway.campaign_release(p_campaign text, p_actor text DEFAULT NULL, p_note text DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_actor text := gateway.policy_actor(p_actor);
    v_count integer;
BEGIN
    PERFORM gateway.policy_require_campaign(p_campaign);
    UPDATE gateway.campaign_controls SET held_since = NULL, held_by = NULL, updated_at = now()
    WHERE campaign_id = p_campaign;
    DELETE FROM gateway.campaign_controls
    WHERE campaign_id = p_campaign AND held_since IS NULL AND cancelled_before IS NULL;
    WITH freed AS (
        UPDATE gateway.outbox o
        SET due_at = greatest(now(), coalesce(o.send_at, now())), last_reason = 'campaign_released'
        WHERE o.campaign_id = p_campaign AND o.state = 'deferred' AND o.last_reason = 'held_campaign'
        RETURNING o.id, o.due_at
    ), ev AS (
        INSERT INTO gateway.events (message_id, state, reason, detail)
        SELECT id, 'deferred', 'campaign_released',
               jsonb_build_object('action', 'campaign_release', 'actor', v_actor, 'due_at', due_at)
        FROM freed
    )
    SELECT count(*) INTO v_count FROM freed;
    RETURN gateway.policy_action_done('campaign_release', p_campaign, NULL, v_actor, p_note, v_count, true);
END
$$;

-- Cancel: every message of the campaign enqueued up to now ends suppressed
-- (campaign_cancelled) instead of being sent; later messages are not affected.
-- Queued and deferred rows are made due at once so that the daemon settles them.
CREATE FUNCTION gateway.campaign_cancel(p_campaign text, p_actor text DEFAULT NULL, p_note text DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_actor text := gateway.policy_actor(p_actor);
    v_count integer;
BEGIN
    PERFORM gateway.policy_require_campaign(p_campaign);
    INSERT INTO gateway.campaign_controls AS c (campaign_id, cancelled_before, cancelled_by)
    VALUES (p_campaign, now(), v_actor)
    ON CONFLICT (campaign_id) DO UPDATE
        SET cancelled_before = EXCLUDED.cancelled_before, cancelled_by = EXCLUDED.cancelled_by, updated_at = now();
    WITH gone AS (
        UPDATE gateway.outbox o
        SET state = 'queued', due_at = now(), last_reason = 'campaign_cancelled'
        WHERE o.campaign_id = p_campaign AND o.state IN ('queued', 'deferred') AND o.created_at <= now()
        RETURNING o.id
    ), ev AS (
        INSERT INTO gateway.events (message_id, state, reason, detail)
        SELECT id, 'queued', 'campaign_cancelled', jsonb_build_object('action', 'campaign_cancel', 'actor', v_actor)
        FROM gone
    )
    SELECT count(*) INTO v_count FROM gone;
    RETURN gateway.policy_action_done('campaign_cancel', p_campaign, NULL, v_actor, p_note, v_count, true);
END
$$;

-- Release messages held for quiet hours (on_quiet_hours = "hold"): they become due
-- and then wait for their next allowed window instead of being held again. Give
-- ids, a campaign, or p_all => true. Campaign holds are released with campaign_release.
CREATE FUNCTION gateway.release_held(
    p_ids      bigint[] DEFAULT NULL,
    p_campaign text     DEFAULT NULL,
    p_all      boolean  DEFAULT false,
    p_actor    text     DEFAULT NULL,
    p_note     text     DEFAULT NULL
) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_actor text := gateway.policy_actor(p_actor);
    v_count integer;
BEGIN
    IF p_ids IS NULL AND p_campaign IS NULL AND NOT coalesce(p_all, false) THEN
        RAISE EXCEPTION 'release_held: give message ids, a campaign, or p_all => true' USING ERRCODE = '22023';
    END IF;
    WITH freed AS (
        UPDATE gateway.outbox o
        SET due_at = greatest(now(), coalesce(o.send_at, now())), last_reason = 'hold_released'
        WHERE o.state = 'deferred' AND o.last_reason IN ('held_quiet_hours', 'held_no_allowed_window')
          AND (coalesce(p_all, false) OR o.id = ANY(coalesce(p_ids, '{}'::bigint[])) OR o.campaign_id = p_campaign)
        RETURNING o.id, o.due_at
    ), rel AS (
        INSERT INTO gateway.held_releases (message_id, actor)
        SELECT id, v_actor FROM freed
        ON CONFLICT (message_id) DO UPDATE SET actor = EXCLUDED.actor, at = now()
    ), ev AS (
        INSERT INTO gateway.events (message_id, state, reason, detail)
        SELECT id, 'deferred', 'hold_released',
               jsonb_build_object('action', 'held_release', 'actor', v_actor, 'due_at', due_at)
        FROM freed
    )
    SELECT count(*) INTO v_count FROM freed;
    RETURN gateway.policy_action_done('held_release', p_campaign, p_ids, v_actor, p_note, v_count, true);
END
$$;

-- Messages parked until someone acts: held for quiet hours, for want of an
-- allowed window, or because their campaign is on hold.
CREATE VIEW gateway.held_messages AS
SELECT o.id, o.campaign_id, o.channel, o.sender, o.recipient, o.kind,
       substr(o.last_reason, 6) AS reason, o.created_at, o.send_at, o.expires_at
FROM gateway.outbox o
WHERE o.state = 'deferred' AND o.last_reason LIKE 'held\_%';

-- The functions run with their owner's rights (they write the outbox): nobody
-- may call them until granted (docs/upstream.md shows the GRANT).
REVOKE ALL ON FUNCTION gateway.campaign_hold(text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION gateway.campaign_release(text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION gateway.campaign_cancel(text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION gateway.release_held(bigint[], text, boolean, text, text) FROM PUBLIC;
-- Nobody writes the audit trail but the functions above.
REVOKE ALL ON FUNCTION gateway.policy_action_done(text, text, bigint[], text, text, integer, boolean) FROM PUBLIC;
