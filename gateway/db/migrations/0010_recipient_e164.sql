-- 0010: the recipient's canonical form, stored beside the original.
--
-- The daemon reads each claimed recipient once (gateway/numbers.py: "010-2345-6789"
-- and "+82 10-2345-6789" with policy.default_region KR are both +821023456789),
-- sends each carrier the form it wants from that one reading, and stores the
-- canonical E.164 form when the message leaves the outbox. `recipient` keeps
-- what the upstream service wrote. NULL: not a possible phone number (the
-- message failed as invalid_recipient), or still in the outbox.
ALTER TABLE gateway.messages ADD COLUMN recipient_e164 text;
COMMENT ON COLUMN gateway.messages.recipient_e164 IS
    'The recipient in canonical E.164 form, as the daemon read it at claim (recipient keeps what upstream wrote).';

CREATE OR REPLACE VIEW gateway.message_status AS
SELECT o.id, o.idempotency_key, o.channel, o.sender, o.recipient, o.kind, o.campaign_id,
       o.state, o.last_reason AS reason, NULL::text AS code, o.connector, o.attempts,
       1::smallint AS segments, o.created_at, o.send_at, o.expires_at,
       o.due_at AS next_attempt_at, NULL::timestamptz AS submitted_at, NULL::timestamptz AS final_at,
       o.extras, NULL::text AS recipient_e164
FROM gateway.outbox o
UNION ALL
SELECT m.id, m.idempotency_key, m.channel, m.sender, m.recipient, m.kind, m.campaign_id,
       m.state, m.reason, m.code, m.connector, m.attempts,
       m.segments, m.created_at, m.send_at, m.expires_at,
       NULL::timestamptz, m.submitted_at, m.final_at,
       m.extras, m.recipient_e164
FROM gateway.messages m;
