-- 0009: the send journal also records accepted submits until they are settled.
--
-- A submit the carrier accepted is written to the journal (with its carrier ids)
-- in a short transaction of its own, right away; its full settle follows with
-- the next outcome batch. Until then the message counts against the duplicate
-- bound; after this commit it no longer does, because a crash cannot send it
-- again: recovery settles it from the journal (submitted, with its carrier ids,
-- so that its receipt still matches) instead of queueing it.
ALTER TABLE gateway.send_journal ADD COLUMN accepted jsonb;
COMMENT ON COLUMN gateway.send_journal.accepted IS
    'Accepted submits not settled yet: [{id, channel, connector, code, segments, carrier_ids, detail, fallback}].';
