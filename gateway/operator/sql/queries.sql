-- Named queries of `gateway status` (read-only).

-- name: status_outbox
SELECT coalesce(connector, '-') AS connector, state, count(*) AS n,
       extract(epoch FROM now() - min(created_at))::float8 AS oldest_age_s
FROM gateway.outbox
GROUP BY 1, 2
ORDER BY 1, 2;

-- name: status_log
SELECT coalesce(connector, '-') AS connector, state, count(*) AS n
FROM gateway.messages
WHERE created_at > now() - make_interval(secs => $1)
GROUP BY 1, 2
ORDER BY 1, 2;

-- name: status_throughput
SELECT count(*) FILTER (WHERE state IN ('submitted', 'delivered', 'undeliverable', 'failed', 'expired', 'unknown'))::float8
       / greatest($1, 1) AS per_s
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
SELECT name, host, pid, version, started_at, heartbeat_at, stopped_at,
       extract(epoch FROM now() - heartbeat_at)::float8 AS heartbeat_age_s, stats
FROM gateway.instances
ORDER BY name;
