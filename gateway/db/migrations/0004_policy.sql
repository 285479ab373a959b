-- 0004: state for the policy checks that need to be shared by every instance:
-- per-campaign dedupe keys and the advertising fatigue ledger.

CREATE TABLE gateway.campaign_recipients (
    campaign_id text        NOT NULL,
    dedupe_key  text        NOT NULL,  -- 'p:' + E.164 number, or 'c:' + contact id
    message_id  bigint      NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (campaign_id, dedupe_key)
);
CREATE INDEX campaign_recipients_created_at ON gateway.campaign_recipients (created_at);

CREATE TABLE gateway.ad_sends (
    recipient  text        NOT NULL,  -- E.164
    message_id bigint      NOT NULL,
    sent_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ad_sends_recipient ON gateway.ad_sends (recipient, sent_at);
CREATE INDEX ad_sends_sent_at ON gateway.ad_sends (sent_at);
