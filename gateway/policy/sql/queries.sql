-- Named queries of the policy layer's shared state (see 0004_policy.sql, 0030, 0031).

-- name: opt_outs_all
SELECT scope, recipient FROM gateway.opt_outs;

-- name: controls_all
SELECT campaign_id, held_since, held_by, cancelled_before, cancelled_by FROM gateway.campaign_controls;

-- name: controls_for
-- The controls of the campaigns in a claimed batch, read at decide time (exact).
SELECT campaign_id, held_since, held_by, cancelled_before, cancelled_by
FROM gateway.campaign_controls
WHERE campaign_id = ANY($1::text[]);

-- name: held_released
-- Which of these quiet-hours holds an operator released (gateway.release_held).
SELECT message_id FROM gateway.held_releases WHERE message_id = ANY($1::bigint[]);

-- name: dedupe_claim
-- Record (campaign, key) for each message; returns the ids that got their key.
WITH ins AS (
    INSERT INTO gateway.campaign_recipients (campaign_id, dedupe_key, message_id)
    SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])
    ON CONFLICT DO NOTHING
    RETURNING message_id
)
SELECT message_id FROM ins;

-- name: dedupe_owners
-- Who holds these keys (a retried message holds its own key).
SELECT r.campaign_id, r.dedupe_key, r.message_id
FROM gateway.campaign_recipients r
JOIN unnest($1::text[], $2::text[]) AS k(campaign_id, dedupe_key)
  ON r.campaign_id = k.campaign_id AND r.dedupe_key = k.dedupe_key;

-- name: fatigue_lock
-- Serialise fatigue decisions per recipient across instances (keys sorted by the caller).
SELECT count(pg_advisory_xact_lock(k)) FROM unnest($1::bigint[]) AS k;

-- name: fatigue_recent
-- What counts against each recipient's cap: sends within the period ($2 seconds),
-- and reservations of messages still being sent (claimed, not settled yet); a send
-- counts its units (an SMS its segments, an LMS/MMS one), a reservation one.
SELECT a.recipient, a.message_id, a.original_id, a.sent, a.units
FROM gateway.ad_sends a
WHERE a.recipient = ANY($1::text[])
  AND ((a.sent AND a.sent_at > now() - make_interval(secs => $2))
       OR (NOT a.sent AND EXISTS (
           SELECT 1 FROM gateway.outbox o WHERE o.id = a.message_id AND o.state = 'sending')));

-- name: fatigue_reserve
-- A slot for each allowed ad ($1 recipients, $2 message ids, $3 originals); the
-- store makes it a send when the submit commits (the queue's record_ad_sends).
INSERT INTO gateway.ad_sends (recipient, message_id, original_id, sent, sent_at)
SELECT r, m, o, false, now() FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS t(r, m, o)
ON CONFLICT (message_id) DO UPDATE SET sent_at = now() WHERE NOT gateway.ad_sends.sent;

-- name: warning_events
-- A warning about an allowed message ($1 ids, $2 reasons, $3 details): an event, not a state change.
INSERT INTO gateway.events (message_id, state, reason, detail)
SELECT * FROM unnest($1::bigint[], array_fill('warning'::text, ARRAY[cardinality($1::bigint[])]), $2::text[],
                     $3::jsonb[]);

-- name: policy_cleanup
-- Sends older than the period ($1 s); reservations older than a day (their message
-- went back to wait or was settled unsent); dedupe keys and releases older than $2 days.
WITH a AS (
    DELETE FROM gateway.ad_sends
    WHERE (sent AND sent_at < now() - make_interval(secs => $1))
       OR (NOT sent AND sent_at < now() - greatest(make_interval(secs => $1), interval '1 day'))
), b AS (
    DELETE FROM gateway.campaign_recipients WHERE created_at < now() - make_interval(days => $2)
), c AS (
    DELETE FROM gateway.held_releases WHERE at < now() - make_interval(days => $2)
)
SELECT 1;
