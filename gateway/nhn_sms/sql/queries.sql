-- Named queries of the NHN Cloud SMS connector: MMS pictures and their NHN uploads
-- (gateway.attachments from 0035, gateway.nhn_sms_uploads from 0036).

-- name: load_attachments
-- $1 attachment ids.
SELECT id, file_name, data, sha256 FROM gateway.attachments WHERE id = ANY($1::bigint[]);

-- name: uploads
-- The latest NHN fileId of each picture for connector $1, $2 attachment ids.
SELECT attachment_id, file_id, extract(epoch FROM now() - uploaded_at)::float8 AS age_s
FROM gateway.nhn_sms_uploads
WHERE connector = $1 AND attachment_id = ANY($2::bigint[]);

-- name: record_upload
-- $1 connector, $2 attachment id, $3 fileId. A newer upload replaces the older one.
INSERT INTO gateway.nhn_sms_uploads (connector, attachment_id, file_id)
VALUES ($1, $2, $3)
ON CONFLICT (connector, attachment_id) DO UPDATE SET file_id = EXCLUDED.file_id, uploaded_at = now();

-- name: forget_upload
-- NHN said the fileId expired or is unknown (-2004): the next MMS uploads again. $1 connector, $2 id, $3 fileId.
DELETE FROM gateway.nhn_sms_uploads WHERE connector = $1 AND attachment_id = $2 AND file_id = $3;

-- name: drop_old_attachments
-- Pictures older than $1 days that no live message names any more.
WITH old AS (
    SELECT a.id FROM gateway.attachments a
    WHERE a.created_at < now() - make_interval(days => $1)
      AND NOT EXISTS (
          SELECT 1 FROM gateway.outbox o
          WHERE o.extras ? 'attachments' AND o.extras -> 'attachments' @> to_jsonb(a.id))
    LIMIT 1000
), gone AS (
    DELETE FROM gateway.attachments a USING old WHERE a.id = old.id RETURNING a.id
)
SELECT count(*) FROM gone;
