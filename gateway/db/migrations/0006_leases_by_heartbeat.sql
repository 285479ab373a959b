-- 0006: a lease is the claiming run's heartbeat, not a deadline on every row.
--
-- Before: each claimed row carried lease_expires_at, and every instance pushed
-- it forward for all its in-flight rows every heartbeat (thousands of row
-- updates a second, each a new index entry), plus a 'sending' event per claim.
-- Now: a claimed row names its run (lease_owner); the run's lease lasts while
-- its heartbeat in gateway.instances is younger than its lease_seconds. When a
-- run stops or its heartbeat goes stale, any instance gives its rows back
-- (flagged as possible duplicates) and marks the run recovered. Claiming costs
-- one row update and writes no event (the lease says it).

-- Rows leased under the old scheme keep working: their owners' heartbeats decide.
ALTER TABLE gateway.instances
    ADD COLUMN lease_seconds double precision NOT NULL DEFAULT 30,
    ADD COLUMN recovered_at  timestamptz;

COMMENT ON COLUMN gateway.instances.name IS
    'One process run (instance name or host-pid, then #random): the lease_owner of the rows it claimed.';
COMMENT ON COLUMN gateway.instances.lease_seconds IS
    'The run''s leases expire this long after its last heartbeat.';
COMMENT ON COLUMN gateway.instances.recovered_at IS
    'When another instance gave back this run''s leased rows (it had stopped or gone silent).';

DROP INDEX gateway.outbox_leases;
ALTER TABLE gateway.outbox DROP COLUMN lease_expires_at;
