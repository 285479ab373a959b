-- 0040: receipts the gateway received and did not apply are recorded, never silently acknowledged.
--
-- A receipt is dropped when it cannot be read (receipt_malformed: no id or no
-- state), when no message ever carried its carrier id (receipt_unmatched: it
-- waited in gateway.receipts_pending past the limit), or when its message
-- already had a final receipt saying otherwise (receipt_too_late). Each lands
-- here with what it said; a dropped receipt whose message is known also leaves
-- an event (reason 'receipt_dropped', detail.why) on that message.
CREATE TABLE gateway.receipts_dropped (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connector   text        NOT NULL,
    carrier_id  text,
    reason      text        NOT NULL,
    state       text,
    code        text,
    message_id  bigint,
    detail      jsonb,
    received_at timestamptz,
    dropped_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX receipts_dropped_at ON gateway.receipts_dropped (dropped_at);
COMMENT ON TABLE gateway.receipts_dropped IS
    'Receipts received and not applied, with the reason (receipt_malformed, receipt_unmatched, receipt_too_late).';

-- Pending receipts are given up by age: found by received_at.
CREATE INDEX receipts_pending_received ON gateway.receipts_pending (received_at);

-- Receipt deadlines: the earliest submitted message per connector is found through
-- messages_awaiting_receipt (connector, submitted_at) WHERE state = 'submitted' (0001);
-- a deadline is submitted_at + the connector's receipt timeout, so that index orders deadlines too.

-- Upstream services read what was dropped (docs/upstream.md "Receipts").
INSERT INTO gateway.role_grants (role, privilege) VALUES
    ('gateway_upstream', 'SELECT ON TABLE gateway.receipts_dropped')
ON CONFLICT DO NOTHING;
