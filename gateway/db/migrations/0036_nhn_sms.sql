-- 0036: state of the NHN Cloud SMS connector that every instance shares.
--
-- A picture is uploaded to NHN once (POST attachfile/binaryUpload) and its
-- fileId reused by every MMS that names it, from any instance, until NHN's
-- 7-day retention is near; then it is uploaded again. One row per picture
-- and connector (app key): the latest upload.
CREATE TABLE gateway.nhn_sms_uploads (
    connector     text        NOT NULL,
    attachment_id bigint      NOT NULL REFERENCES gateway.attachments (id) ON DELETE CASCADE,
    file_id       text        NOT NULL,
    uploaded_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (connector, attachment_id)
);

COMMENT ON TABLE gateway.nhn_sms_uploads IS
    'NHN Cloud SMS fileIds of uploaded MMS pictures, per connector; reused until NHN''s 7-day retention is near.';
