-- 0020: the Kakao connector's send journal and its result poller's cursor.
--
-- gateway.kakao_sends: one row per Alimtalk message handed to NHN by a Kakao
-- connector (gateway.kakao.journal). Written *before* the request leaves, so
-- that after a timeout, a crash or on another instance the next attempt knows
-- the message may already be at NHN, under which provider key (the request's
-- X-NC-API-IDEMPOTENCY-KEY and senderGroupingKey), and asks NHN before sending
-- again. Once accepted it holds NHN's (requestId, recipientSeq) until the
-- result arrives: the rows in state 'accepted' / 'resending' are what the
-- result poller watches, across restarts and instances.
--
--   sending    a request carrying it may have reached NHN; outcome unknown
--   accepted   NHN accepted it (request_id, recipient_seq); no result yet
--   refused    NHN answered and did not take it, or no request left: a new key next time
--   resending  Kakao failed it and NHN's own SMS resend is being tracked (provider fallback mode)
--   final      its result was stored as a receipt
CREATE TABLE gateway.kakao_sends (
    connector         text        NOT NULL,
    message_id        bigint      NOT NULL,
    provider_key      text        NOT NULL,
    grouping_key      text        NOT NULL,
    auth              boolean     NOT NULL DEFAULT false,
    state             text        NOT NULL DEFAULT 'sending',
    first_sent_at     timestamptz NOT NULL DEFAULT now(),
    request_id        text,
    recipient_seq     integer,
    accepted_at       timestamptz,
    result_code       text,
    result_at         timestamptz,
    resend_status     text,
    resend_code       text,
    resend_request_id text,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (connector, message_id),
    CONSTRAINT kakao_sends_state CHECK (state IN ('sending', 'accepted', 'refused', 'resending', 'final')),
    CONSTRAINT kakao_sends_accepted_has_id CHECK (state NOT IN ('accepted', 'resending') OR request_id IS NOT NULL)
);
CREATE INDEX kakao_sends_carrier ON gateway.kakao_sends (connector, request_id, recipient_seq)
    WHERE request_id IS NOT NULL;
CREATE INDEX kakao_sends_watched ON gateway.kakao_sends (connector, state, accepted_at)
    WHERE state IN ('accepted', 'resending');

COMMENT ON TABLE gateway.kakao_sends IS
    'Alimtalk send journal (gateway.kakao.journal): provider key per message before sending; NHN ids and results after.';

-- One row per Kakao connector: how far NHN's result-update query has been read
-- (the gap-filler behind the webhook), and which instance polls it now.
CREATE TABLE gateway.kakao_poll (
    connector   text        PRIMARY KEY,
    cursor_at   timestamptz,
    lease_owner text,
    lease_until timestamptz
);
COMMENT ON TABLE gateway.kakao_poll IS
    'Result poller of each Kakao connector: the end of the last window read from NHN, and the polling instance.';
