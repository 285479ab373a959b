-- Named queries of the queue's store (gateway/queue/store.py calls them by
-- name). Every statement that changes a message's state writes its event in
-- the same statement, except a claim: the lease says it.

-- name: claim
-- Claim up to $2 queued rows of the channels in $3 for run $1. The lease lasts
-- while the run's heartbeat does (gateway.instances).
WITH picked AS (
    SELECT id
    FROM gateway.outbox
    WHERE state = 'queued' AND channel = ANY($3::text[])
    ORDER BY priority DESC, id
    LIMIT $2
    FOR UPDATE SKIP LOCKED
)
UPDATE gateway.outbox o
SET state = 'sending',
    lease_owner = $1,
    attempts = o.attempts + 1
FROM picked
WHERE o.id = picked.id
RETURNING o.id, o.idempotency_key, o.channel, o.sender, o.recipient, o.body, o.kind, o.priority,
          o.send_at, o.expires_at, o.campaign_id, o.consent, o.extras, o.created_at, o.attempts,
          o.may_be_duplicate, o.partial, o.unknown_resends;

-- name: promote_due
-- Deferred rows whose time has come go back to queued (at most $1 per call).
WITH due AS (
    SELECT id
    FROM gateway.outbox
    WHERE state = 'deferred' AND due_at <= now()
    ORDER BY due_at
    LIMIT $1
    FOR UPDATE SKIP LOCKED
), promoted AS (
    UPDATE gateway.outbox o
    SET state = 'queued'
    FROM due
    WHERE o.id = due.id
    RETURNING o.id
), ev AS (
    INSERT INTO gateway.events (message_id, state, reason, instance)
    SELECT id, 'queued', 'due', $2 FROM promoted
)
SELECT count(*) FROM promoted;

-- name: dead_runs
-- Runs other than $1 whose leases have expired (stopped, or no heartbeat within
-- their lease) and whose rows nobody has given back yet.
SELECT name
FROM gateway.instances
WHERE recovered_at IS NULL AND name <> $1
  AND (stopped_at IS NOT NULL OR heartbeat_at < now() - make_interval(secs => lease_seconds));

-- name: recover_leases
-- Rows leased by the dead runs $3 go back to the queue (at most $1 per call).
-- Those in the run's send journal may already have reached the carrier: they
-- are flagged and their attempt counts. The others were never handed to a
-- connector: queued again unflagged, the attempt not counted. $2: this run.
WITH journaled AS (
    SELECT DISTINCT unnest(ids) AS id
    FROM gateway.send_journal
    WHERE owner = ANY($3::text[])
), expired AS (
    SELECT o.id, o.lease_owner, (j.id IS NOT NULL) AS handed
    FROM gateway.outbox o
    LEFT JOIN journaled j ON j.id = o.id
    WHERE o.state = 'sending' AND o.lease_owner = ANY($3::text[])
    LIMIT $1
    FOR UPDATE OF o SKIP LOCKED
), recovered AS (
    UPDATE gateway.outbox o
    SET state = 'queued', lease_owner = NULL,
        may_be_duplicate = o.may_be_duplicate OR expired.handed,
        unknown_resends = o.unknown_resends + expired.handed::int,
        attempts = CASE WHEN expired.handed THEN o.attempts ELSE greatest(o.attempts - 1, 0) END,
        last_reason = 'lease_expired'
    FROM expired
    WHERE o.id = expired.id
    RETURNING o.id, expired.lease_owner AS previous_owner, expired.handed
), ev AS (
    INSERT INTO gateway.events (message_id, state, reason, instance, detail)
    SELECT id, 'queued', 'lease_expired', $2,
           jsonb_build_object('previous_owner', previous_owner, 'may_be_duplicate', handed)
    FROM recovered
)
SELECT previous_owner, count(*) AS recovered, count(*) FILTER (WHERE handed) AS flagged
FROM recovered GROUP BY previous_owner;

-- name: record_recovery
-- What recovering the dead run $1 did, added up over the calls ($2 requeued, $3 of them flagged,
-- $4 accepted submits settled from its journal; $5 the recovering run). Shown by `gateway status`.
UPDATE gateway.instances
SET recovery = jsonb_build_object(
    'requeued', coalesce((recovery ->> 'requeued')::int, 0) + $2,
    'flagged', coalesce((recovery ->> 'flagged')::int, 0) + $3,
    'settled_from_journal', coalesce((recovery ->> 'settled_from_journal')::int, 0) + $4,
    'by', $5::text,
    'at', now())
WHERE name = $1;

-- name: mark_recovered
-- The runs $1 have no leased rows left: forget their journals. A run whose
-- heartbeat came back since is left alone.
WITH marked AS (
    UPDATE gateway.instances
    SET recovered_at = now()
    WHERE name = ANY($1::text[]) AND recovered_at IS NULL
      AND (stopped_at IS NOT NULL OR heartbeat_at < now() - make_interval(secs => lease_seconds))
    RETURNING name
)
DELETE FROM gateway.send_journal j USING marked WHERE j.owner = marked.name;

-- name: release_orphans
-- Rows leased to this run ($1) that it does not hold (not in $2): a claim that committed after its
-- connection died, or a write-back dropped as a bad row. Queued again; those in the run's journal
-- may have gone out (flagged, attempt counted), the others not (attempt uncounted).
WITH journaled AS (
    SELECT DISTINCT unnest(ids) AS id FROM gateway.send_journal WHERE owner = $1
), orphans AS (
    SELECT o.id, (j.id IS NOT NULL) AS handed
    FROM gateway.outbox o
    LEFT JOIN journaled j ON j.id = o.id
    WHERE o.state = 'sending' AND o.lease_owner = $1 AND NOT (o.id = ANY($2::bigint[]))
    FOR UPDATE OF o SKIP LOCKED
), released AS (
    UPDATE gateway.outbox o
    SET state = 'queued', lease_owner = NULL,
        may_be_duplicate = o.may_be_duplicate OR orphans.handed,
        unknown_resends = o.unknown_resends + orphans.handed::int,
        attempts = CASE WHEN orphans.handed THEN o.attempts ELSE greatest(o.attempts - 1, 0) END,
        last_reason = 'orphaned'
    FROM orphans
    WHERE o.id = orphans.id
    RETURNING o.id, orphans.handed
), ev AS (
    INSERT INTO gateway.events (message_id, state, reason, instance, detail)
    SELECT id, 'queued', 'orphaned', $1, jsonb_build_object('may_be_duplicate', handed) FROM released
)
SELECT count(*) FROM released;

-- name: journal_add
-- Entries of run $1: $2 entry numbers, $3 the ids it may hand over next (a text-encoded array per
-- entry), $4 the accepted submits not settled yet (a JSON array per entry as text, or NULL).
INSERT INTO gateway.send_journal (owner, seq, ids, accepted)
SELECT $1, seq, ids::bigint[], accepted::jsonb
FROM unnest($2::bigint[], $3::text[], $4::text[]) AS e(seq, ids, accepted);

-- name: journal_accepted_of
-- The accepted-but-unsettled submits in the journals of the dead runs $1.
SELECT j.owner, a.entry
FROM gateway.send_journal j, jsonb_array_elements(j.accepted) AS a(entry)
WHERE j.owner = ANY($1::text[]) AND j.accepted IS NOT NULL;

-- name: take_over
-- Lease to run $3 the rows $1 that the dead runs $2 still hold (to settle them from their journal).
UPDATE gateway.outbox
SET lease_owner = $3
WHERE id = ANY($1::bigint[]) AND lease_owner = ANY($2::text[]) AND state = 'sending'
RETURNING id;

-- name: journal_done
-- Every id of these entries ($2) of run $1 has its outcome stored.
DELETE FROM gateway.send_journal WHERE owner = $1 AND seq = ANY($2::bigint[]);

-- name: runs_in_place
-- Earlier runs, still counted alive, in the same place ($2: boot id and pid namespace) as run $1.
SELECT name, pid FROM gateway.instances
WHERE name <> $1 AND place = $2 AND stopped_at IS NULL AND recovered_at IS NULL;

-- name: mark_dead
-- Runs $1 are known dead (their process is gone): their leases are given back at once.
UPDATE gateway.instances SET stopped_at = now() WHERE name = ANY($1::text[]) AND stopped_at IS NULL;

-- name: release
-- Give back claimed rows that were never handed to a connector (shutdown).
WITH released AS (
    UPDATE gateway.outbox
    SET state = 'queued', lease_owner = NULL,
        attempts = greatest(attempts - 1, 0), last_reason = 'released'
    WHERE id = ANY($1::bigint[]) AND lease_owner = $2
    RETURNING id
), ev AS (
    INSERT INTO gateway.events (message_id, state, reason, instance)
    SELECT id, 'queued', 'released', $2 FROM released
)
SELECT count(*) FROM released;

-- name: finish
-- Move leased rows into the message log with their new state: submitted, or
-- final (failed, expired, suppressed, ...). Records the event and, for
-- submitted messages, their carrier ids, all in one statement.
-- $1..$7, $14, $15: parallel arrays per message ($15: the recipient's canonical E.164 form, read at
-- claim); $8 owner; $9..$13 parallel arrays per carrier id.
-- $16..$18 per message: the final receipt that arrived before this write (state, code, detail;
-- NULL: none): the row goes in final, its carrier id with the receipt, and a second event says
-- so after the submit's. $19 per message: when the carrier accepted it (NULL: now), the
-- submitted event's `at` and the row's submitted_at. $20: send journal entries of run $8 whose
-- ids all have their outcome now (deleted). And the advertising fatigue cap counts sends: the
-- policy gate reserved a slot in gateway.ad_sends when it allowed each ad (0030); a submit (or an
-- unknown outcome, which may have reached the phone) makes it a send here, units = its segments
-- (an SMS counts one per segment, an LMS/MMS one: 0037). Messages without a reservation are not
-- advertising (or fatigue is off): nothing to do. One statement: atomic without a transaction.
WITH u AS (
    SELECT *
    FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::jsonb[], $14::jsonb[],
                $15::text[], $16::text[], $17::text[], $18::jsonb[], $19::timestamptz[])
        AS u(id, new_state, new_reason, new_code, new_connector, new_segments, new_detail, new_fallback, new_e164,
             r_state, r_code, r_detail, accepted_at)
), moved AS (
    DELETE FROM gateway.outbox o
    USING u
    WHERE o.id = u.id AND o.lease_owner = $8
    RETURNING o.*, u.new_state, u.new_reason, u.new_code, u.new_connector, u.new_segments, u.new_detail,
              u.new_fallback, u.new_e164, u.r_state, u.r_code, u.r_detail,
              coalesce(u.accepted_at, now()) AS accepted_at
), logged AS (
    INSERT INTO gateway.messages (
        id, created_at, idempotency_key, channel, sender, recipient, body, kind, priority,
        send_at, expires_at, campaign_id, consent, extras, state, reason, code, connector,
        attempts, segments, submitted_at, final_at, fallback, recipient_e164)
    SELECT id, created_at, idempotency_key, channel, sender, recipient, body, kind, priority,
           send_at, expires_at, campaign_id, consent, extras, coalesce(r_state, new_state),
           CASE WHEN r_state IS NULL THEN new_reason ELSE 'receipt' END,
           CASE WHEN r_state IS NULL THEN new_code ELSE r_code END,
           coalesce(new_connector, connector), attempts, coalesce(new_segments, 1),
           CASE WHEN new_state = 'submitted' THEN accepted_at END,
           CASE WHEN new_state <> 'submitted' OR r_state IS NOT NULL THEN now() END,
           new_fallback, new_e164
    FROM moved
), ev AS (
    INSERT INTO gateway.events (message_id, at, state, reason, code, connector, instance, detail)
    SELECT m.id, CASE WHEN e.ord = 1 AND m.new_state = 'submitted' THEN m.accepted_at ELSE now() END,
           e.state, e.reason, e.code, coalesce(m.new_connector, m.connector), $8, e.detail
    FROM moved m
    CROSS JOIN LATERAL (
        VALUES (1, m.new_state, m.new_reason, m.new_code,
                CASE WHEN m.may_be_duplicate
                     THEN coalesce(m.new_detail, '{}'::jsonb) || '{"may_be_duplicate": true}'::jsonb
                     ELSE m.new_detail END),
               (2, m.r_state, 'receipt', m.r_code, m.r_detail)
    ) AS e(ord, state, reason, code, detail)
    WHERE e.ord = 1 OR m.r_state IS NOT NULL
    ORDER BY m.id, e.ord
), cids AS (
    INSERT INTO gateway.carrier_ids (connector, carrier_id, message_id, message_created_at, segment, segments,
                                     submitted_at, state, code, receipt_at)
    SELECT c.connector, c.carrier_id, c.message_id, m.created_at, c.segment, c.segments, m.accepted_at,
           m.r_state, m.r_code, CASE WHEN m.r_state IS NOT NULL THEN now() END
    FROM unnest($9::text[], $10::text[], $11::bigint[], $12::int[], $13::int[])
        AS c(connector, carrier_id, message_id, segment, segments)
    JOIN moved m ON m.id = c.message_id
), journal_done AS (
    DELETE FROM gateway.send_journal WHERE owner = $8 AND seq = ANY($20::bigint[])
), sends AS (
    UPDATE gateway.ad_sends a SET sent = true, sent_at = now(), units = greatest(least(m.new_segments, 32767), 1)
    FROM moved m
    WHERE a.message_id = m.id AND m.new_state IN ('submitted', 'unknown') AND NOT a.sent
)
SELECT id, r_state IS NOT NULL AS with_receipt, extract(epoch FROM now() - accepted_at)::float8 AS receipt_seconds
FROM moved;

-- name: defer
-- Put leased rows back as deferred until now + delay (retry, throttling).
-- $1 ids, $2 delays (s), $3 reasons, $4 codes, $5 "do not count this attempt",
-- $6 may be duplicate, $7 details, $8 owner,
-- $9 the connector's resume state for outbox.partial (NULL keeps what the row holds),
-- $10 counts against max_unknown_resends.
WITH u AS (
    SELECT *
    FROM unnest($1::bigint[], $2::float8[], $3::text[], $4::text[], $5::boolean[], $6::boolean[], $7::jsonb[],
                $9::jsonb[], $10::boolean[])
        AS u(id, delay, reason, code, uncount, dup, detail, partial, unknown)
), deferred AS (
    UPDATE gateway.outbox o
    SET state = 'deferred',
        due_at = now() + make_interval(secs => u.delay),
        lease_owner = NULL,
        last_reason = u.reason,
        attempts = CASE WHEN u.uncount THEN greatest(o.attempts - 1, 0) ELSE o.attempts END,
        may_be_duplicate = o.may_be_duplicate OR u.dup,
        unknown_resends = o.unknown_resends + u.unknown::int,
        partial = coalesce(u.partial, o.partial)
    FROM u
    WHERE o.id = u.id AND o.lease_owner = $8
    RETURNING o.id, o.due_at, u.reason, u.code, u.detail, u.dup
), ev AS (
    INSERT INTO gateway.events (message_id, state, reason, code, instance, detail)
    SELECT id, 'deferred', reason, code, $8,
           coalesce(detail, '{}'::jsonb) || jsonb_build_object('due_at', due_at)
           || CASE WHEN dup THEN '{"may_be_duplicate": true}'::jsonb ELSE '{}'::jsonb END
    FROM deferred
)
SELECT id FROM deferred;

-- name: receipt_segments
-- One final state for many carrier ids of one connector: = ANY on the carrier
-- id (a join against unnest() planned badly). Segments that already have a
-- final receipt are left alone (duplicates are harmless; carriers recycle ids,
-- and the older rows carrying a recycled id already have theirs); a segment
-- whose receipt said 'unknown' takes any later one that knows better.
-- $1 connector, $2 carrier ids, $3 state, $4 code.
UPDATE gateway.carrier_ids
SET state = $3, code = $4, receipt_at = now()
WHERE connector = $1 AND carrier_id = ANY($2::text[])
  AND (state IS NULL OR (state = 'unknown' AND $3::text <> 'unknown'))
RETURNING carrier_id, message_id, message_created_at, segments,
          extract(epoch FROM now() - submitted_at)::float8 AS receipt_seconds;

-- name: receipt_messages
-- Single-segment messages take their receipt's state (reason 'receipt', the carrier's code in code).
-- $1 ids, $2/$3 the created_at range (partition pruning), $4 state, $5 code, $6 instance, $7 detail.
WITH msg AS (
    UPDATE gateway.messages
    SET state = $4, code = $5, reason = 'receipt', final_at = now(), updated_at = now()
    WHERE id = ANY($1::bigint[]) AND created_at BETWEEN $2 AND $3
      AND state IN ('submitted', 'unknown')
    RETURNING id, connector
)
INSERT INTO gateway.events (message_id, state, code, connector, instance, detail, reason)
SELECT id, $4, $5, connector, $6, $7, 'receipt' FROM msg;

-- name: receipts_too_late
-- Of carrier ids that already have a final receipt, those whose receipt said something else than
-- state $3: the new receipt is dropped (receipt_too_late), and their message gets an event saying so.
-- $1 connector, $2 carrier ids, $3 state, $4 code, $5 instance.
WITH late AS (
    SELECT DISTINCT ON (c.carrier_id) c.carrier_id, c.message_id, c.message_created_at, c.state AS had
    FROM gateway.carrier_ids c
    WHERE c.connector = $1 AND c.carrier_id = ANY($2::text[]) AND c.state IS NOT NULL
      AND c.state <> $3::text AND c.state <> 'unknown'
    ORDER BY c.carrier_id, c.submitted_at DESC
), dropped AS (
    INSERT INTO gateway.receipts_dropped (connector, carrier_id, reason, state, code, message_id, detail, received_at)
    SELECT $1, carrier_id, 'receipt_too_late', $3, $4, message_id, jsonb_build_object('had', had), now()
    FROM late
), ev AS (
    INSERT INTO gateway.events (message_id, state, reason, code, connector, instance, detail)
    SELECT l.message_id, m.state, 'receipt_dropped', $4, $1, $5,
           jsonb_build_object('why', 'receipt_too_late', 'receipt_state', $3::text, 'carrier_id', l.carrier_id)
    FROM late l
    JOIN gateway.messages m ON m.id = l.message_id AND m.created_at = l.message_created_at
)
SELECT carrier_id FROM late;

-- name: store_dropped_receipts
-- Receipts a connector received and could not use ($3: the reason, e.g. receipt_malformed).
INSERT INTO gateway.receipts_dropped (connector, carrier_id, reason, state, code, detail, received_at)
SELECT c, nullif(i, ''), r, s, k, d, now()
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[]) AS u(c, i, r, s, k, d);

-- name: expire_pending_receipts
-- Pending receipts whose carrier id no message carried within $1 seconds: dropped as receipt_unmatched.
WITH gone AS (
    DELETE FROM gateway.receipts_pending
    WHERE received_at < now() - make_interval(secs => $1)
    RETURNING connector, carrier_id, state, code, detail, received_at
), ins AS (
    INSERT INTO gateway.receipts_dropped (connector, carrier_id, reason, state, code, detail, received_at)
    SELECT connector, carrier_id, 'receipt_unmatched', state, code, detail, received_at FROM gone
)
SELECT connector, count(*) AS n FROM gone GROUP BY connector;

-- name: prune_dropped_receipts
DELETE FROM gateway.receipts_dropped WHERE dropped_at < now() - make_interval(days => $1);

-- name: carrier_ids_known
-- Carrier ids that already have their receipt (a receipt for them is a duplicate).
-- Only those: a row without a receipt that shows up here was committed by the main
-- lane after receipt_segments looked (read committed: each statement has its own
-- snapshot), so its receipt is not a duplicate; it goes pending and is matched next.
SELECT DISTINCT carrier_id FROM gateway.carrier_ids
WHERE connector = $1 AND carrier_id = ANY($2::text[]) AND state IS NOT NULL;

-- name: finalize_multipart
-- For multipart messages: once every segment has a receipt, derive the
-- message's final state (delivered only if all segments were).
-- A segment sent twice (a whole resend after a partial one keeps the first copies'
-- ids) has two rows: it counts once, delivered if either copy was.
WITH seg AS (
    SELECT c.message_id, c.message_created_at, c.segment, max(c.segments) AS segments,
           CASE WHEN bool_or(c.state = 'delivered') THEN 'delivered'
                ELSE min(c.state) FILTER (WHERE c.state IS NOT NULL) END AS state,
           max(c.code) FILTER (WHERE c.state <> 'delivered') AS code
    FROM gateway.carrier_ids c
    WHERE c.message_id = ANY($1::bigint[]) AND c.segments > 1
    GROUP BY c.message_id, c.message_created_at, c.segment
), agg AS (
    SELECT message_id, message_created_at, max(segments) AS segments, count(state) AS with_receipt,
           bool_and(state = 'delivered') AS all_delivered,
           bool_or(state = 'undeliverable') AS any_undeliverable,
           bool_or(state = 'failed') AS any_failed,
           bool_or(state = 'expired') AS any_expired,
           max(code) FILTER (WHERE state <> 'delivered') AS code
    FROM seg
    GROUP BY message_id, message_created_at
), final AS (
    SELECT message_id, message_created_at, code,
           CASE WHEN all_delivered THEN 'delivered'
                WHEN any_undeliverable THEN 'undeliverable'
                WHEN any_failed THEN 'failed'
                WHEN any_expired THEN 'expired'
                ELSE 'unknown' END AS state
    FROM agg
    WHERE with_receipt >= segments
), msg AS (
    UPDATE gateway.messages m
    SET state = final.state, code = final.code, reason = 'receipt', final_at = now(), updated_at = now()
    FROM final
    WHERE m.id = final.message_id AND m.created_at = final.message_created_at
      AND m.state IN ('submitted', 'unknown')
    RETURNING m.id, m.state, m.code, m.connector, m.segments
), ev AS (
    INSERT INTO gateway.events (message_id, state, code, connector, instance, reason, detail)
    SELECT id, state, code, connector, $2, 'receipt', jsonb_build_object('segments', segments) FROM msg
)
SELECT count(*) FROM msg;

-- name: store_pending_receipts
INSERT INTO gateway.receipts_pending (connector, carrier_id, state, code, done_at, detail, fallback)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::jsonb[], $7::boolean[]);

-- name: take_matched_pending
-- Pending receipts whose carrier id is now known: removed here, applied by the caller
-- in the same transaction.
-- The periodic safety net (every 2 s, and usually on an empty table: the frequent look is
-- take_pending_of). Forcing one index probe per pending row here (EXISTS ... OFFSET 0: one probe
-- per daily partition per row) was tried and stalled sends when many receipts were pending
-- (benchmarks/profile.md).
DELETE FROM gateway.receipts_pending p
USING gateway.carrier_ids c
WHERE p.connector = c.connector AND p.carrier_id = c.carrier_id
RETURNING p.connector, p.carrier_id, p.state, p.code, p.done_at, p.detail, p.fallback;

-- name: take_pending_of
-- Pending receipts for the carrier ids $2 (of connectors $1) written lately: the frequent look after
-- a write of submits. It touches only the small receipts_pending table (the full match above
-- stays the periodic safety net), so its cost follows the submits written, not carrier_ids' size.
DELETE FROM gateway.receipts_pending p
USING unnest($1::text[], $2::text[]) AS w(connector, carrier_id)
WHERE p.connector = w.connector AND p.carrier_id = w.carrier_id
RETURNING p.connector, p.carrier_id, p.state, p.code, p.done_at, p.detail, p.fallback;

-- name: receipt_timeouts
-- Submitted messages of connector $1 with no receipt after $2 seconds become unknown.
WITH stale AS (
    SELECT id, created_at
    FROM gateway.messages
    WHERE state = 'submitted' AND connector = $1
      AND submitted_at < now() - make_interval(secs => $2)
    LIMIT $3
), upd AS (
    UPDATE gateway.messages m
    SET state = 'unknown', reason = 'no_receipt', final_at = now(), updated_at = now()
    FROM stale
    WHERE m.id = stale.id AND m.created_at = stale.created_at AND m.state = 'submitted'
    RETURNING m.id, m.connector
), ev AS (
    INSERT INTO gateway.events (message_id, state, reason, connector, instance)
    SELECT id, 'unknown', 'no_receipt', connector, $4 FROM upd
)
SELECT count(*) FROM upd;

-- name: next_receipt_deadline
-- Seconds from now until the earliest submitted message of connector $1 reaches its receipt
-- timeout $2 (negative: overdue); NULL when none waits. One step down messages_awaiting_receipt.
SELECT extract(epoch FROM min(submitted_at) + make_interval(secs => $2) - now())::float8
FROM gateway.messages
WHERE state = 'submitted' AND connector = $1;

-- name: overdue_receipts
-- The carrier ids of connector $1's messages submitted over $2 seconds ago with no receipt yet,
-- oldest first, at most $3 messages: what to ask the carrier about (query_sm) before they settle unknown.
WITH stale AS (
    SELECT id, created_at, sender
    FROM gateway.messages
    WHERE state = 'submitted' AND connector = $1
      AND submitted_at < now() - make_interval(secs => $2)
    ORDER BY submitted_at
    LIMIT $3
)
SELECT s.id, s.sender, c.carrier_id
FROM stale s
JOIN gateway.carrier_ids c ON c.message_id = s.id AND c.message_created_at = s.created_at
WHERE c.connector = $1 AND c.state IS NULL AND c.carrier_id <> '';

-- name: store_inbound
WITH ins AS (
    INSERT INTO gateway.inbound (connector, sender, recipient, body, received_at, detail)
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::jsonb[])
    RETURNING id
)
SELECT count(*) FROM ins;

-- name: add_opt_outs
INSERT INTO gateway.opt_outs (scope, recipient, source)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
ON CONFLICT (scope, recipient) DO NOTHING;

-- name: heartbeat
-- This run is alive: its leases last $6 seconds from now. $7: where it lives (see runs_in_place).
INSERT INTO gateway.instances (name, host, pid, version, stats, lease_seconds, place)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (name) DO UPDATE
SET heartbeat_at = now(), host = EXCLUDED.host, pid = EXCLUDED.pid, version = EXCLUDED.version,
    stats = EXCLUDED.stats, lease_seconds = EXCLUDED.lease_seconds, place = EXCLUDED.place,
    stopped_at = NULL, recovered_at = NULL;

-- name: instance_stopped
UPDATE gateway.instances SET stopped_at = now(), heartbeat_at = now() WHERE name = $1;

-- name: queue_depth
SELECT state, count(*) AS n FROM gateway.outbox GROUP BY state;

-- name: oldest_due_age
SELECT coalesce(extract(epoch FROM now() - min(due_at)), 0)::float8
FROM gateway.outbox
WHERE state = 'queued';

-- name: ensure_partitions
SELECT gateway.ensure_partitions($1, $2);

-- name: drop_partitions
SELECT gateway.drop_partitions($1);

-- name: enqueue_fallbacks
-- Messages whose stored fallback (gateway.messages.fallback, attached by the
-- connector to its result) is to be sent now get it as a new outbox row, linked
-- both ways: the new row's extras.fallback_of and an event 'fallback' on the
-- original. The idempotency key 'fallback:<id>' makes a repeated request harmless.
-- $1 message ids, $2 instance.
WITH src AS (
    SELECT m.id, m.recipient, m.kind, m.priority, m.expires_at, m.campaign_id, m.consent, m.fallback AS fb
    FROM gateway.messages m
    WHERE m.id = ANY($1::bigint[]) AND jsonb_typeof(m.fallback) = 'object'
), ins AS (
    INSERT INTO gateway.outbox (channel, sender, recipient, body, kind, priority, expires_at, campaign_id,
                                consent, extras, idempotency_key)
    SELECT fb ->> 'channel', fb ->> 'sender', recipient, fb ->> 'body', kind, priority, expires_at, campaign_id,
           consent, coalesce(fb -> 'extras', '{}'::jsonb) || jsonb_build_object('fallback_of', id),
           'fallback:' || id
    FROM src
    WHERE (expires_at IS NULL OR expires_at > now()) AND fb ->> 'skip_reason' IS NULL
    RETURNING id, (extras ->> 'fallback_of')::bigint AS original
), ev AS (
    INSERT INTO gateway.events (message_id, state, reason, instance, detail)
    SELECT original, 'fallback', 'fallback_enqueued', $2, jsonb_build_object('fallback_message_id', id) FROM ins
), skipped AS (
    -- A fallback that is not sent leaves an event saying why: its message expired, or the
    -- connector knew it cannot be sent (Fallback.skip_reason, e.g. text EUC-KR cannot carry).
    INSERT INTO gateway.events (message_id, state, reason, instance, detail)
    SELECT s.id, 'fallback', 'fallback_skipped', $2,
           jsonb_build_object('why', coalesce(s.fb ->> 'skip_reason',
                                              'expired: the message expired at ' || s.expires_at::text))
    FROM src s
    WHERE (s.fb ->> 'skip_reason' IS NOT NULL OR s.expires_at <= now())
      AND NOT EXISTS (SELECT 1 FROM gateway.events e
                      WHERE e.message_id = s.id AND e.reason = 'fallback_skipped')
)
SELECT count(*) FROM ins;
