-- 0003: the Kakao Alimtalk template registry.
--
-- One row per (sender profile key, template code), loaded from a YAML/JSON file
-- by `gateway templates sync FILE` (gateway.kakao.sync_templates) and read by
-- every Kakao connector at start and periodically. Only 'approved' templates
-- may be sent; the connector checks every rendered body against `body` before
-- any request leaves the gateway.

CREATE TABLE gateway.kakao_templates (
    sender_key    text        NOT NULL,
    template_code text        NOT NULL,
    body          text        NOT NULL,
    buttons       jsonb       NOT NULL DEFAULT '[]'::jsonb,
    status        text        NOT NULL DEFAULT 'requested',
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (sender_key, template_code),
    CONSTRAINT kakao_templates_sender_key_empty CHECK (length(btrim(sender_key)) > 0),
    CONSTRAINT kakao_templates_code_empty CHECK (length(btrim(template_code)) > 0),
    CONSTRAINT kakao_templates_code_too_long CHECK (length(template_code) <= 30),
    CONSTRAINT kakao_templates_body_empty CHECK (length(body) > 0),
    CONSTRAINT kakao_templates_body_too_long CHECK (length(body) <= 1000),
    CONSTRAINT kakao_templates_buttons_not_array CHECK (jsonb_typeof(buttons) = 'array'),
    CONSTRAINT kakao_templates_status_unknown CHECK (status IN ('approved', 'requested', 'reviewing', 'rejected', 'suspended'))
);

COMMENT ON TABLE gateway.kakao_templates IS
    'Alimtalk templates per sender profile. Filled by `gateway templates sync FILE`; only status approved may be sent.';
