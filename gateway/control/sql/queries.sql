-- Named queries of the control surface (gateway/control). Schema: 0025_control.sql, 0026_bind_slots.sql.

-- name: controls
SELECT connector, paused, reason, changed_by, changed_at, rebind_seq FROM gateway.connector_controls ORDER BY connector;

-- name: set_paused
-- $1 connector, $2 paused, $3 reason, $4 who (an operator's words, never a secret)
INSERT INTO gateway.connector_controls AS c (connector, paused, reason, changed_by, changed_at)
VALUES ($1, $2, $3, $4, now())
ON CONFLICT (connector) DO UPDATE
SET paused = EXCLUDED.paused, reason = EXCLUDED.reason, changed_by = EXCLUDED.changed_by, changed_at = now()
RETURNING connector, paused, reason, changed_by, changed_at, rebind_seq;

-- name: request_rebind
INSERT INTO gateway.connector_controls AS c (connector, rebind_seq, changed_by, changed_at)
VALUES ($1, 1, $2, now())
ON CONFLICT (connector) DO UPDATE SET rebind_seq = c.rebind_seq + 1, changed_by = EXCLUDED.changed_by, changed_at = now()
RETURNING connector, paused, reason, changed_by, changed_at, rebind_seq;

-- name: publish_status
-- This instance's view of its connectors: $1 instance, $2 connector names, $3 status objects.
INSERT INTO gateway.connector_status AS s (instance, connector, updated_at, status)
SELECT $1, c, now(), st FROM unnest($2::text[], $3::jsonb[]) AS u(c, st)
ON CONFLICT (instance, connector) DO UPDATE SET updated_at = now(), status = EXCLUDED.status;

-- name: forget_status
DELETE FROM gateway.connector_status WHERE instance = $1;

-- name: connector_status
-- Every instance's view, with the instance's liveness; $1 instance timeout (s).
SELECT s.instance, s.connector, s.status, extract(epoch FROM now() - s.updated_at)::float8 AS age_s,
       (i.stopped_at IS NULL AND i.heartbeat_at > now() - make_interval(secs => $1)) AS live
FROM gateway.connector_status s
LEFT JOIN gateway.instances i ON i.name = s.instance
ORDER BY s.connector, s.instance;

-- name: depth_groups
-- The live outbox by channel, sender, the first $1 characters of the recipient (routing
-- prefixes; 0 when no rule has one) and state: rows, and the age of the oldest row
-- that is due (queued, being sent, or deferred past its time).
SELECT channel, sender, left(recipient, $1) AS prefix, state, count(*) AS n,
       coalesce(extract(epoch FROM now() - min(due_at) FILTER (WHERE due_at <= now())), 0)::float8 AS oldest_age_s
FROM gateway.outbox
GROUP BY 1, 2, 3, 4;

-- name: clear_depth
DELETE FROM gateway.queue_depth;

-- name: replace_depth
-- The sampler's result, after clear_depth in the same transaction.
INSERT INTO gateway.queue_depth (connector, sender, state, messages, oldest_age_seconds, sampled_at, sampled_by)
SELECT c, s, st, n, a, now(), $6
FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::float8[]) AS u(c, s, st, n, a);

-- name: queue_depth
SELECT connector, sender, state, messages, oldest_age_seconds,
       extract(epoch FROM now() - sampled_at)::float8 AS sample_age_s, sampled_by
FROM gateway.queue_depth
ORDER BY connector, sender, state;

-- name: prune_instances
-- Instance rows (one per process run) stopped or silent for longer than $1 seconds go,
-- with their connector status. Returns how many instances were removed.
WITH gone AS (
    DELETE FROM gateway.instances
    WHERE heartbeat_at < now() - make_interval(secs => $1)
    RETURNING name
), status AS (
    DELETE FROM gateway.connector_status s
    WHERE s.instance IN (SELECT name FROM gone)
       OR s.updated_at < now() - make_interval(secs => $1)
)
SELECT count(*) FROM gone;

-- name: try_sampler_lock
-- The queue-depth sampler runs on one instance of the cluster: the one holding this session lock.
SELECT pg_try_advisory_lock(hashtext('gateway.control.sampler'));

-- name: bind_budget
SELECT held, share FROM gateway.bind_budget($1, $2, $3, $4, $5, $6);

-- name: bind_leave
-- This instance run stops: its slots and membership go (its binds are down).
WITH slots AS (DELETE FROM gateway.bind_slots WHERE instance = $1)
DELETE FROM gateway.bind_members WHERE instance = $1;

-- name: bind_slots
SELECT connector, instance, count(*) AS slots, min(expires_at) AS expires_at
FROM gateway.bind_slots GROUP BY 1, 2 ORDER BY 1, 2;

-- name: status_outbox
-- The live outbox when no instance sampled it lately (not routed: by channel).
SELECT channel, sender, state, count(*) AS n,
       coalesce(extract(epoch FROM now() - min(due_at) FILTER (WHERE due_at <= now())), 0)::float8 AS oldest_age_s
FROM gateway.outbox
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3;

-- name: status_log
SELECT coalesce(connector, '-') AS connector, state, count(*) AS n
FROM gateway.messages
WHERE created_at > now() - make_interval(secs => $1)
GROUP BY 1, 2
ORDER BY 1, 2;

-- name: status_throughput
SELECT count(*)::float8 / greatest($1, 1) AS per_s
FROM gateway.events
WHERE at > now() - make_interval(secs => $1) AND state = 'submitted';

-- name: status_reasons
SELECT state, coalesce(reason, '-') AS reason, count(*) AS n
FROM gateway.events
WHERE at > now() - make_interval(secs => $1) AND state IN ('suppressed', 'failed', 'expired', 'deferred')
GROUP BY 1, 2
ORDER BY 3 DESC
LIMIT 20;

-- name: status_instances
-- Live instances, and the most recent $2 that are not; $1 instance timeout (s).
WITH i AS (
    SELECT name, host, pid, version, started_at, heartbeat_at, stopped_at, recovery,
           extract(epoch FROM now() - heartbeat_at)::float8 AS heartbeat_age_s, stats,
           (stopped_at IS NULL AND heartbeat_at > now() - make_interval(secs => $1)) AS live
    FROM gateway.instances
), ranked AS (
    SELECT *, row_number() OVER (PARTITION BY live ORDER BY heartbeat_at DESC) AS rn, count(*) OVER () AS total
    FROM i
)
SELECT * FROM ranked WHERE live OR rn <= $2 ORDER BY live DESC, name;

-- name: status_types
-- SMS-channel sends and refusals by message type (sms, lms, mms), from the events of the window:
-- connectors that know types put it in the detail of the submitted / failed event.
SELECT coalesce(connector, '-') AS connector, detail ->> 'message_type' AS type, state, count(*) AS n
FROM gateway.events
WHERE at > now() - make_interval(secs => $1) AND state IN ('submitted', 'failed')
  AND detail ? 'message_type'
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3;
