-- 0030: the advertising fatigue cap counts sends, not decisions.
--
-- gateway.ad_sends held one row per advertising message the policy *allowed*,
-- so ads the gateway or the carrier then refused still counted. Now a row is a
-- reservation (sent = false) while its message is being sent — the policy gate
-- writes it when it allows the ad, under the recipient's advisory lock, and it
-- counts only while the message is claimed (outbox state 'sending') — and
-- becomes a send (sent = true, sent_at = the submit) in the transaction that
-- records the submit (the queue's named query record_ad_sends). A message that
-- fails, expires or goes back to wait stops counting without a write.
--
-- original_id: the message a fallback replaces (extras.fallback_of), else the
-- message itself; the cap counts distinct originals, so an SMS fallback of a sent
-- Alimtalk does not count twice.

ALTER TABLE gateway.ad_sends ADD COLUMN original_id bigint;
ALTER TABLE gateway.ad_sends ADD COLUMN sent boolean NOT NULL DEFAULT true;  -- rows before 0030 stay counted
UPDATE gateway.ad_sends SET original_id = message_id;
ALTER TABLE gateway.ad_sends ALTER COLUMN original_id SET NOT NULL;
ALTER TABLE gateway.ad_sends ALTER COLUMN sent SET DEFAULT false;

DELETE FROM gateway.ad_sends a USING gateway.ad_sends b WHERE a.message_id = b.message_id AND a.ctid > b.ctid;
CREATE UNIQUE INDEX ad_sends_message ON gateway.ad_sends (message_id);

COMMENT ON TABLE gateway.ad_sends IS
    'Fatigue ledger: one row per advertising message, a reservation while it is being sent (sent = false), a send once submitted (sent = true, sent_at = submit time).';
