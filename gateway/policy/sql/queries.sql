-- Named queries of the policy layer's shared state (see 0004_policy.sql).

-- name: opt_outs_all
SELECT scope, recipient FROM gateway.opt_outs;

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
SELECT recipient, array_agg(message_id) AS ids
FROM gateway.ad_sends
WHERE recipient = ANY($1::text[]) AND sent_at > now() - make_interval(secs => $2)
GROUP BY recipient;

-- name: fatigue_record
INSERT INTO gateway.ad_sends (recipient, message_id)
SELECT * FROM unnest($1::text[], $2::bigint[]);

-- name: policy_cleanup
WITH a AS (
    DELETE FROM gateway.ad_sends WHERE sent_at < now() - make_interval(secs => $1)
), b AS (
    DELETE FROM gateway.campaign_recipients WHERE created_at < now() - make_interval(days => $2)
)
SELECT 1;
