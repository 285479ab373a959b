-- 0025: the operators' control surface (gateway/control).
--
-- connector_controls: what operators asked of a connector, for every instance
-- at once: paused or not (kept across restarts), and a rebind counter (each
-- instance rebinds when it sees the number grow). A change NOTIFYs
-- gateway_control; instances also re-read the table every few seconds.
--
-- connector_status: what each live instance sees of each connector (binds,
-- window use, last error, rate), published every few seconds, for
-- `gateway status` and the /status page. queue_depth: the outbox by connector,
-- sender and state as last sampled by the one instance holding the sampler's
-- advisory lock. Both are snapshots: UNLOGGED, rebuilt within seconds after a
-- crash of the server.

CREATE TABLE gateway.connector_controls (
    connector  text PRIMARY KEY,
    paused     boolean     NOT NULL DEFAULT false,
    reason     text,
    changed_by text,
    changed_at timestamptz NOT NULL DEFAULT now(),
    rebind_seq bigint      NOT NULL DEFAULT 0,
    CONSTRAINT connector_controls_reason_too_long CHECK (length(reason) <= 500)
);

COMMENT ON TABLE gateway.connector_controls IS
    'Operator controls per connector (pause, rebind), applied by every instance; see `gateway connector --help`.';

CREATE FUNCTION gateway.connector_controls_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('gateway_control', NEW.connector);
    RETURN NULL;
END
$$;

CREATE TRIGGER connector_controls_notify
    AFTER INSERT OR UPDATE ON gateway.connector_controls
    FOR EACH ROW
    EXECUTE FUNCTION gateway.connector_controls_notify();

CREATE UNLOGGED TABLE gateway.connector_status (
    instance   text        NOT NULL,
    connector  text        NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    status     jsonb       NOT NULL,
    PRIMARY KEY (instance, connector)
);

CREATE UNLOGGED TABLE gateway.queue_depth (
    connector          text             NOT NULL,
    sender             text             NOT NULL,
    state              text             NOT NULL,
    messages           bigint           NOT NULL,
    oldest_age_seconds double precision NOT NULL,
    sampled_at         timestamptz      NOT NULL DEFAULT now(),
    sampled_by         text             NOT NULL,
    PRIMARY KEY (connector, sender, state)
);
