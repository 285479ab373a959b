-- 0002: cluster-wide rate limits.
--
-- One token bucket per limit key (a connector name, or 'connector|sender'),
-- shared by every instance: an instance takes tokens from it in small chunks
-- with one atomic INSERT ... ON CONFLICT DO UPDATE and spends them locally.
-- The bucket is refilled lazily, on the server's clock, whenever it is
-- touched, so the instances' clocks never matter. An instance that dies simply
-- stops taking: the others get its share on their next request.
--
-- Both tables are UNLOGGED: they are rewritten many times a second, nothing in
-- them needs to survive a server crash (a lost bucket is recreated full, as it
-- would be after an idle period), and skipping the WAL keeps them cheap.

CREATE UNLOGGED TABLE gateway.rate_buckets (
    limit_key  text PRIMARY KEY,
    rate       double precision NOT NULL,  -- units/s, as last asked for (effective rate of the asker)
    burst      double precision NOT NULL,  -- units, as last asked for
    tokens     double precision NOT NULL,  -- level at updated_at
    granted    double precision NOT NULL DEFAULT 0,  -- the last grant, read back by RETURNING
    updated_at timestamptz      NOT NULL,
    CONSTRAINT rate_buckets_rate_positive CHECK (rate > 0),
    CONSTRAINT rate_buckets_burst_positive CHECK (burst > 0),
    CONSTRAINT rate_buckets_tokens_in_range CHECK (tokens >= 0 AND tokens <= burst)
) WITH (fillfactor = 50);  -- room for HOT updates of the hot rows

COMMENT ON TABLE gateway.rate_buckets IS
    'Cluster-wide token buckets of the rate limits; instances take tokens in chunks (see gateway/ratelimit/sql/queries.sql).';

-- Who takes from which bucket, for the fallback when PostgreSQL cannot be
-- reached (each instance then sends at rate / live holders) and for operators.
CREATE UNLOGGED TABLE gateway.rate_holders (
    limit_key text        NOT NULL,
    instance  text        NOT NULL,
    seen_at   timestamptz NOT NULL,
    PRIMARY KEY (limit_key, instance)
);

-- The level of a bucket at time "at": refilled at "rate" since "updated_at",
-- never above "burst" (idle capacity is not hoarded).
CREATE FUNCTION gateway.rate_level(
    tokens     double precision,
    updated_at timestamptz,
    rate       double precision,
    burst      double precision,
    at         timestamptz
) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT least(burst, tokens + rate * greatest(0, extract(epoch FROM at - updated_at))::double precision)
$$;
