-- Named queries of the Kakao connector (gateway.kakao.template_store).

-- name: load_templates
SELECT sender_key, template_code, body, buttons::text AS buttons_json, status
FROM gateway.kakao_templates
ORDER BY sender_key, template_code;

-- name: upsert_template
-- Returns a row only when something was inserted or changed; `inserted` says which.
INSERT INTO gateway.kakao_templates AS t (sender_key, template_code, body, buttons, status, updated_at)
VALUES ($1, $2, $3, $4::text::jsonb, $5, now())
ON CONFLICT (sender_key, template_code) DO UPDATE
    SET body = EXCLUDED.body, buttons = EXCLUDED.buttons, status = EXCLUDED.status, updated_at = now()
    WHERE (t.body, t.buttons, t.status) IS DISTINCT FROM (EXCLUDED.body, EXCLUDED.buttons, EXCLUDED.status)
RETURNING (xmax = 0) AS inserted;

-- name: delete_templates_not_in
-- $1, $2: parallel arrays of the (sender_key, template_code) pairs to keep.
DELETE FROM gateway.kakao_templates t
WHERE NOT EXISTS (
    SELECT 1 FROM unnest($1::text[], $2::text[]) AS keep(sender_key, template_code)
    WHERE keep.sender_key = t.sender_key AND keep.template_code = t.template_code
)
RETURNING sender_key, template_code;
