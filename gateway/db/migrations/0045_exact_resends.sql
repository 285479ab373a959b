-- 0045: what the carrier saw survives a requeue (issue 12).
--
-- outbox.partial: the connector's own record of a message it sent in part (SMPP: the
-- UDH/SAR reference, the segment count and the carrier id of each accepted segment,
-- keyed by connector). The next attempt resends only the missing segments, with the
-- same reference; a whole resend keeps these ids so that their receipts still match.
--
-- outbox.unknown_resends: how many times the message was sent again after an attempt
-- whose outcome was unknown (a timeout, a lost bind, a crash, a shutdown with it
-- unanswered). engine.retry.max_unknown_resends caps it: a silent SMSC gets each
-- message at most 1 + max_unknown_resends times.
--
-- gateway.instances.recovery: what recovering a dead run did (rows requeued, of those
-- flagged may_be_duplicate, accepted submits settled from its journal); shown by
-- `gateway status`.
ALTER TABLE gateway.outbox ADD COLUMN partial jsonb;
ALTER TABLE gateway.outbox ADD COLUMN unknown_resends smallint NOT NULL DEFAULT 0;
ALTER TABLE gateway.instances ADD COLUMN recovery jsonb;
COMMENT ON COLUMN gateway.outbox.partial IS
    'Segments the carrier accepted before a requeue: {connector, reference, segments, ids: [carrier id or null]}.';
COMMENT ON COLUMN gateway.outbox.unknown_resends IS
    'Attempts whose outcome was unknown (timeout, lost bind, crash) that were followed by a resend.';
COMMENT ON COLUMN gateway.instances.recovery IS
    'Set when this (dead) run was recovered: {requeued, flagged, settled_from_journal, by, at}.';
