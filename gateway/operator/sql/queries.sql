-- Named queries of the operator commands (gateway campaign, held, policy explain).

-- name: campaign_hold
SELECT gateway.campaign_hold($1, $2, $3);

-- name: campaign_release
SELECT gateway.campaign_release($1, $2, $3);

-- name: campaign_cancel
SELECT gateway.campaign_cancel($1, $2, $3);

-- name: release_held
SELECT gateway.release_held($1::bigint[], $2, $3, $4, $5);

-- name: campaign_state
-- A campaign's control row and its live messages by state (sending ones may still go out).
SELECT c.held_since, c.held_by, c.cancelled_before, c.cancelled_by,
       (SELECT count(*) FROM gateway.outbox o WHERE o.campaign_id = $1 AND o.state = 'sending') AS sending,
       (SELECT count(*) FROM gateway.held_messages h WHERE h.campaign_id = $1) AS held
FROM (SELECT $1::text AS campaign_id) k
LEFT JOIN gateway.campaign_controls c ON c.campaign_id = k.campaign_id;

-- name: held_summary
-- Held messages by campaign and reason ($1: one campaign, or NULL for all).
SELECT coalesce(campaign_id, '-') AS campaign_id, reason, count(*) AS n, min(created_at) AS oldest
FROM gateway.held_messages
WHERE $1::text IS NULL OR campaign_id = $1
GROUP BY 1, 2
ORDER BY 1, 2;

-- name: held_list
-- Held messages one by one ($1 campaign or NULL, $2 limit).
SELECT id, campaign_id, channel, sender, recipient, kind, reason, created_at, send_at, expires_at
FROM gateway.held_messages
WHERE $1::text IS NULL OR campaign_id = $1
ORDER BY id
LIMIT $2;

-- name: policy_actions_recent
SELECT at, action, campaign_id, actor, db_user, messages, note
FROM gateway.policy_actions
WHERE $1::text IS NULL OR campaign_id = $1
ORDER BY id DESC
LIMIT $2;

-- name: explain_controls
SELECT campaign_id, held_since, held_by, cancelled_before, cancelled_by
FROM gateway.campaign_controls
WHERE campaign_id = $1;

-- name: explain_opt_outs
-- Opt-outs of one number ($2: its spellings) under these scopes ($1) or every sender ('*').
SELECT scope, recipient FROM gateway.opt_outs
WHERE (scope = ANY($1::text[]) OR scope = '*') AND recipient = ANY($2::text[]);
