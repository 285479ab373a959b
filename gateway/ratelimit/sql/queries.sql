-- Named queries of the cluster-wide rate limiter (gateway/ratelimit/store.py).
-- Schema: gateway/queue/sql/migrations/0002_ratelimit.sql.

-- name: take_tokens
-- Take up to want[i] tokens from the bucket of keys[i], refilled at rates[i]
-- (capped at bursts[i]) for the time since it was last touched; a missing
-- bucket is created full. Returns what each key granted. Rows are locked in
-- key order so that two instances asking for the same keys cannot deadlock.
-- $1 keys text[], $2 wants float8[], $3 rates float8[], $4 bursts float8[]
WITH asked AS (
    SELECT r.limit_key, greatest(r.want, 0) AS want, r.rate, r.burst, t.at
    FROM unnest($1::text[], $2::float8[], $3::float8[], $4::float8[]) AS r(limit_key, want, rate, burst),
         (SELECT clock_timestamp() AS at) AS t
    ORDER BY r.limit_key
)
INSERT INTO gateway.rate_buckets AS b (limit_key, rate, burst, tokens, granted, updated_at)
SELECT limit_key, rate, burst, burst - least(want, burst), least(want, burst), at
FROM asked
ORDER BY limit_key
ON CONFLICT (limit_key) DO UPDATE SET
    rate = EXCLUDED.rate,
    burst = EXCLUDED.burst,
    -- EXCLUDED.granted is min(want, burst): what was asked, as far as a bucket can hold.
    granted = least(
        EXCLUDED.granted,
        gateway.rate_level(b.tokens, b.updated_at, EXCLUDED.rate, EXCLUDED.burst, EXCLUDED.updated_at)),
    tokens = gateway.rate_level(b.tokens, b.updated_at, EXCLUDED.rate, EXCLUDED.burst, EXCLUDED.updated_at)
        - least(
            EXCLUDED.granted,
            gateway.rate_level(b.tokens, b.updated_at, EXCLUDED.rate, EXCLUDED.burst, EXCLUDED.updated_at)),
    -- A statement that waited for the row lock may carry an earlier time: never go back.
    updated_at = greatest(b.updated_at, EXCLUDED.updated_at)
RETURNING b.limit_key, b.granted

-- name: give_back_tokens
-- Return unspent tokens (at shutdown): the bucket gets them back, capped at its burst.
-- $1 keys text[], $2 amounts float8[]
WITH back AS (
    SELECT r.limit_key, greatest(r.amount, 0) AS amount, t.at
    FROM unnest($1::text[], $2::float8[]) AS r(limit_key, amount),
         (SELECT clock_timestamp() AS at) AS t
)
UPDATE gateway.rate_buckets AS b SET
    tokens = least(b.burst, gateway.rate_level(b.tokens, b.updated_at, b.rate, b.burst, back.at) + back.amount),
    updated_at = greatest(b.updated_at, back.at)
FROM back
WHERE b.limit_key = back.limit_key

-- name: heartbeat_holders
-- Say this instance takes from these keys; return, per key, how many live
-- instances (seen within $3 seconds, this one included) take from it.
-- $1 instance text, $2 keys text[], $3 liveness seconds float8
WITH seen AS (
    INSERT INTO gateway.rate_holders AS h (limit_key, instance, seen_at)
    SELECT k, $1, clock_timestamp()
    FROM unnest($2::text[]) AS k
    ORDER BY k
    ON CONFLICT (limit_key, instance) DO UPDATE SET seen_at = EXCLUDED.seen_at
    RETURNING h.limit_key
)
SELECT s.limit_key,
       1 + (SELECT count(*)
            FROM gateway.rate_holders AS o
            WHERE o.limit_key = s.limit_key
              AND o.instance <> $1
              AND o.seen_at > clock_timestamp() - make_interval(secs => $3)) AS holders
FROM seen AS s

-- name: forget_holder
-- This instance stops taking (shutdown).
-- $1 instance text
DELETE FROM gateway.rate_holders WHERE instance = $1

-- name: prune_holders
-- Forget instances unseen for $1 seconds (at start-up).
DELETE FROM gateway.rate_holders WHERE seen_at < clock_timestamp() - make_interval(secs => $1)
