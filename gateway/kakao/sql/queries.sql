-- Named queries of the Kakao connector: its template store (gateway.kakao.template_store)
-- and its send journal (gateway.kakao.journal). It touches no table of the queue.

-- name: load_templates
SELECT sender_key, template_code, body, buttons, status, spec
FROM gateway.kakao_templates
ORDER BY sender_key, template_code;

-- name: upsert_template
-- Returns a row only when something was inserted or changed; `inserted` says which.
-- $1 sender key, $2 code, $3 body, $4 buttons, $5 status, $6 spec, $7 source.
INSERT INTO gateway.kakao_templates AS t (sender_key, template_code, body, buttons, status, spec, source, updated_at)
VALUES ($1, $2, $3, $4::text::jsonb, $5, $6::text::jsonb, $7, now())
ON CONFLICT (sender_key, template_code) DO UPDATE
    SET body = EXCLUDED.body, buttons = EXCLUDED.buttons, status = EXCLUDED.status, spec = EXCLUDED.spec,
        source = EXCLUDED.source, updated_at = now()
    WHERE (t.body, t.buttons, t.status, t.spec, t.source)
          IS DISTINCT FROM (EXCLUDED.body, EXCLUDED.buttons, EXCLUDED.status, EXCLUDED.spec, EXCLUDED.source)
RETURNING (xmax = 0) AS inserted;

-- name: delete_templates_not_in
-- Of the sender keys $3, delete the templates that are not among the
-- (sender_key, template_code) pairs to keep ($1, $2: parallel arrays).
DELETE FROM gateway.kakao_templates t
WHERE t.sender_key = ANY($3::text[])
  AND NOT EXISTS (
    SELECT 1 FROM unnest($1::text[], $2::text[]) AS keep(sender_key, template_code)
    WHERE keep.sender_key = t.sender_key AND keep.template_code = t.template_code
)
RETURNING sender_key, template_code;

-- name: template_senders
SELECT DISTINCT sender_key FROM gateway.kakao_templates ORDER BY sender_key;

-- name: update_template_statuses
-- NHN's template-status webhook: $1 sender keys, $2 codes, $3 our statuses, $4 review comments (JSON).
UPDATE gateway.kakao_templates t
SET status = u.status, comments = u.comments::jsonb, updated_at = now()
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS u(sender_key, template_code, status, comments)
WHERE t.sender_key = u.sender_key AND t.template_code = u.template_code
  AND (t.status, t.comments) IS DISTINCT FROM (u.status, u.comments::jsonb)
RETURNING t.sender_key, t.template_code, t.status;

-- ---------------------------------------------------------------- the send journal (gateway.kakao.journal)

-- name: journal_begin
-- Before a request leaves: $1 connector, $2 provider key, $3 message ids, $4
-- recipient grouping keys, $5 auth flags. New rows, and rows whose last request
-- was refused (or never left), take the new key; the ids returned are those to
-- send under it. The others already have a row: the caller reads them.
INSERT INTO gateway.kakao_sends AS s (connector, message_id, provider_key, grouping_key, auth)
SELECT $1, m.id, $2, m.key, m.auth FROM unnest($3::bigint[], $4::text[], $5::boolean[]) AS m(id, key, auth)
ON CONFLICT (connector, message_id) DO UPDATE
    SET provider_key = EXCLUDED.provider_key, grouping_key = EXCLUDED.grouping_key, auth = EXCLUDED.auth,
        state = 'sending', first_sent_at = now(), request_id = NULL, recipient_seq = NULL,
        accepted_at = NULL, result_code = NULL, result_at = NULL, updated_at = now()
    WHERE s.state = 'refused'
RETURNING message_id;

-- name: journal_rows
SELECT message_id, state, provider_key, grouping_key, auth, first_sent_at, request_id, recipient_seq,
       accepted_at, result_code, result_at
FROM gateway.kakao_sends
WHERE connector = $1 AND message_id = ANY($2::bigint[]);

-- name: journal_accepted
-- NHN took them: $2 ids, $3 request ids, $4 recipient seqs, $5 codes (null, or the
-- refusal NHN resends by SMS itself in provider fallback mode).
UPDATE gateway.kakao_sends s
SET state = 'accepted', request_id = a.rid, recipient_seq = a.seq, accepted_at = coalesce(s.accepted_at, now()),
    result_code = a.code, updated_at = now()
FROM unnest($2::bigint[], $3::text[], $4::int[], $5::text[]) AS a(id, rid, seq, code)
WHERE s.connector = $1 AND s.message_id = a.id AND s.state IN ('sending', 'accepted');

-- name: journal_refused
-- NHN answered and took none of them, or no request left: $2 ids, $3 codes (may be null).
UPDATE gateway.kakao_sends s
SET state = 'refused', result_code = c.code, updated_at = now()
FROM unnest($2::bigint[], $3::text[]) AS c(id, code)
WHERE s.connector = $1 AND s.message_id = c.id AND s.state = 'sending';

-- name: journal_by_carrier
-- The rows of these (request id, recipient seq) pairs: $2 request ids, $3 seqs.
SELECT s.request_id, s.recipient_seq, s.message_id, s.state, s.auth, s.accepted_at, s.result_code, s.result_at,
       s.resend_status
FROM gateway.kakao_sends s
JOIN unnest($2::text[], $3::int[]) AS c(rid, seq) ON s.request_id = c.rid AND s.recipient_seq = c.seq
WHERE s.connector = $1;

-- name: journal_final
-- Results stored as receipts: $2 request ids, $3 seqs, $4 codes, $5 result times,
-- $6 resend statuses, $7 resend codes, $8 resend request ids.
UPDATE gateway.kakao_sends s
SET state = 'final', result_code = coalesce(f.code, s.result_code), result_at = coalesce(f.at, s.result_at, now()),
    resend_status = coalesce(f.rs, s.resend_status), resend_code = coalesce(f.rc, s.resend_code),
    resend_request_id = coalesce(f.rr, s.resend_request_id), updated_at = now()
FROM unnest($2::text[], $3::int[], $4::text[], $5::timestamptz[], $6::text[], $7::text[], $8::text[])
     AS f(rid, seq, code, at, rs, rc, rr)
WHERE s.connector = $1 AND s.request_id = f.rid AND s.recipient_seq = f.seq AND s.state <> 'final';

-- name: journal_resending
-- Kakao failed them and NHN may resend by SMS (provider fallback mode): keep the
-- result, track the resend. $2 request ids, $3 seqs, $4 codes, $5 result times, $6 resend statuses.
UPDATE gateway.kakao_sends s
SET state = 'resending', result_code = f.code, result_at = coalesce(f.at, now()),
    resend_status = coalesce(f.rs, s.resend_status), updated_at = now()
FROM unnest($2::text[], $3::int[], $4::text[], $5::timestamptz[], $6::text[]) AS f(rid, seq, code, at, rs)
WHERE s.connector = $1 AND s.request_id = f.rid AND s.recipient_seq = f.seq AND s.state = 'accepted';

-- name: journal_due_resends
-- Resends not looked at for $2 seconds, oldest look first (updated_at is the last look), at most $3.
SELECT request_id, recipient_seq, message_id, auth, result_code, result_at, resend_status
FROM gateway.kakao_sends
WHERE connector = $1 AND state = 'resending' AND updated_at < now() - make_interval(secs => $2)
ORDER BY updated_at
LIMIT $3;

-- name: journal_looked
-- A resend was looked at: $2 request ids, $3 seqs, $4 resend statuses (null: unchanged).
UPDATE gateway.kakao_sends s
SET resend_status = coalesce(l.rs, s.resend_status), updated_at = now()
FROM unnest($2::text[], $3::int[], $4::text[]) AS l(rid, seq, rs)
WHERE s.connector = $1 AND s.request_id = l.rid AND s.recipient_seq = l.seq AND s.state = 'resending';

-- name: journal_stale
-- Accepted more than $2 seconds ago and still without a result, at most $3.
SELECT request_id, recipient_seq, message_id, auth, accepted_at
FROM gateway.kakao_sends
WHERE connector = $1 AND state = 'accepted' AND accepted_at < now() - make_interval(secs => $2)
ORDER BY accepted_at
LIMIT $3;

-- name: journal_watching
-- What the poller watches: accepted without a result (and since when), and resends being tracked.
SELECT count(*) FILTER (WHERE state = 'accepted') AS accepted,
       count(*) FILTER (WHERE state = 'resending') AS resending,
       min(accepted_at) FILTER (WHERE state = 'accepted') AS oldest
FROM gateway.kakao_sends
WHERE connector = $1 AND state IN ('accepted', 'resending');

-- name: journal_prune
-- Settled rows older than $2 days, and any row past NHN's 90 days of data.
DELETE FROM gateway.kakao_sends
WHERE connector = $1
  AND ((state IN ('final', 'refused') AND updated_at < now() - make_interval(days => $2))
       OR updated_at < now() - interval '90 days');

-- name: poll_claim
-- Take (or keep) the poller's lease for $3 seconds as owner $2; no row: another instance polls.
INSERT INTO gateway.kakao_poll AS p (connector, lease_owner, lease_until)
VALUES ($1, $2, now() + make_interval(secs => $3))
ON CONFLICT (connector) DO UPDATE
    SET lease_owner = EXCLUDED.lease_owner, lease_until = EXCLUDED.lease_until
    WHERE p.lease_owner = EXCLUDED.lease_owner OR p.lease_until IS NULL OR p.lease_until < now()
RETURNING cursor_at, now() AS db_now;

-- name: poll_advance
UPDATE gateway.kakao_poll SET cursor_at = $3 WHERE connector = $1 AND lease_owner = $2;

-- name: poll_release
-- A stopping instance hands the poller over at once.
UPDATE gateway.kakao_poll SET lease_until = now() WHERE connector = $1 AND lease_owner = $2;
