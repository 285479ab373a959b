-- 0021: Alimtalk templates as Kakao approves them, not just a body.
--
-- `spec` holds everything besides the body and buttons (message type, emphasis,
-- title, subtitle, header, extra, ad, item list, highlight, representative link,
-- image, quick replies, the authentication flag): see gateway.kakao.templates.Template.
-- NHN raised the body limit to 1,300 characters (2025-10-28). `source` says
-- whether a row came from a template file or from NHN's template API
-- (`gateway templates sync --from-nhn`); `comments` keeps the review comments of
-- the template-status webhook.
ALTER TABLE gateway.kakao_templates DROP CONSTRAINT kakao_templates_body_too_long;
ALTER TABLE gateway.kakao_templates ADD CONSTRAINT kakao_templates_body_too_long CHECK (length(body) <= 1300);
ALTER TABLE gateway.kakao_templates
    ADD COLUMN spec jsonb NOT NULL DEFAULT '{}'::jsonb,
    ADD COLUMN source text NOT NULL DEFAULT 'file',
    ADD COLUMN comments jsonb NOT NULL DEFAULT '[]'::jsonb,
    ADD CONSTRAINT kakao_templates_spec_object CHECK (jsonb_typeof(spec) = 'object'),
    ADD CONSTRAINT kakao_templates_source CHECK (source IN ('file', 'nhn'));
