-- 0005: a message's fallback travels as data, built by the connector that owns the rule.
--
-- A connector may answer a send with a replacement message (gateway.port.Fallback:
-- channel, sender, body, extras), e.g. Alimtalk -> SMS/LMS. The queue keeps it
-- with the message and enqueues it, linked both ways, when the message fails in a
-- way that asks for it (at once, or when a receipt says so). The queue itself has
-- no rule about channels.
ALTER TABLE gateway.messages ADD COLUMN fallback jsonb;
COMMENT ON COLUMN gateway.messages.fallback IS
    'The replacement message a connector attached to its result ({channel, sender, body, extras}); enqueued on a failure that asks for it.';

-- A receipt that arrives before its submit is stored keeps its "asks for the fallback" flag.
ALTER TABLE gateway.receipts_pending ADD COLUMN fallback boolean NOT NULL DEFAULT false;
