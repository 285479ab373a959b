-- 0035: Korean message types in the upstream contract, and MMS pictures.
--
-- A channel 'sms' row may say in its extras which type it wants, with a title
-- and pictures:
--   extras.type         'auto' (default) | 'sms' | 'lms' | 'mms'
--   extras.title        LMS/MMS title (text, at most 120 characters; 40 bytes are sent as standard)
--   extras.attachments  [id, ...]: 1 to 3 rows of gateway.attachments (an MMS)
-- The connector decides the type of 'auto' (gateway.korean.choose_type). The
-- shapes are checked here, as named constraints, so an upstream sees a bad row
-- at once; what needs the route (bytes, encodability) is failed by the daemon.
--
-- Pictures are rows of gateway.attachments, inserted in the same transaction as
-- the message (or earlier, and referenced by id from many messages). Their
-- size, type and pixels are checked when they are inserted.

-- ---------------------------------------------------------------- JPEG frame size
-- The width and height of a JPEG from its first frame header (SOFn); NULLs when
-- the bytes are not a readable JPEG. The same walk as gateway.korean.pictures.jpeg_size.
CREATE FUNCTION gateway.jpeg_size(data bytea, OUT width integer, OUT height integer)
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    n integer := octet_length(data);
    i integer := 2;
    marker integer;
    seglen integer;
BEGIN
    IF n < 4 OR get_byte(data, 0) <> 255 OR get_byte(data, 1) <> 216 THEN
        RETURN;
    END IF;
    WHILE i + 3 < n LOOP
        IF get_byte(data, i) <> 255 THEN
            RETURN;
        END IF;
        marker := get_byte(data, i + 1);
        IF marker = 255 THEN                                    -- fill byte
            i := i + 1;
        ELSIF marker IN (1, 216) OR marker BETWEEN 208 AND 215 THEN  -- TEM, SOI, RSTn: no length
            i := i + 2;
        ELSIF marker IN (217, 218) THEN                         -- EOI / SOS before a frame header
            RETURN;
        ELSE
            seglen := get_byte(data, i + 2) * 256 + get_byte(data, i + 3);
            IF seglen < 2 THEN
                RETURN;
            END IF;
            IF marker BETWEEN 192 AND 207 AND marker NOT IN (196, 200, 204) THEN
                IF i + 8 >= n OR seglen < 7 THEN
                    RETURN;
                END IF;
                height := get_byte(data, i + 5) * 256 + get_byte(data, i + 6);
                width := get_byte(data, i + 7) * 256 + get_byte(data, i + 8);
                IF width = 0 OR height = 0 THEN
                    width := NULL;
                    height := NULL;
                END IF;
                RETURN;
            END IF;
            i := i + 2 + seglen;
        END IF;
    END LOOP;
END
$$;

-- ---------------------------------------------------------------- attachments
CREATE TABLE gateway.attachments (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    file_name  text        NOT NULL DEFAULT 'picture.jpg',
    data       bytea       NOT NULL,
    bytes      integer     GENERATED ALWAYS AS (octet_length(data)) STORED,
    width      integer     GENERATED ALWAYS AS ((gateway.jpeg_size(data)).width) STORED,
    height     integer     GENERATED ALWAYS AS ((gateway.jpeg_size(data)).height) STORED,
    sha256     text        GENERATED ALWAYS AS (encode(sha256(data), 'hex')) STORED,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT attachments_empty CHECK (octet_length(data) > 0),
    CONSTRAINT attachments_too_large CHECK (octet_length(data) <= 307200),
    CONSTRAINT attachments_file_name CHECK (file_name ~* '^[^/\\]+\.(jpg|jpeg)$' AND length(file_name) <= 45),
    CONSTRAINT attachments_not_jpeg CHECK (width IS NOT NULL),
    CONSTRAINT attachments_too_many_pixels CHECK (width <= 1000 AND height <= 1000)
);

CREATE INDEX attachments_created_at ON gateway.attachments (created_at);

COMMENT ON TABLE gateway.attachments IS
    'MMS pictures (JPEG, <= 300 KB, <= 1000x1000 px). Upstream inserts them with or before the message that names them in extras.attachments.';

-- ---------------------------------------------------------------- outbox: type, title, attachments
ALTER TABLE gateway.outbox
    ADD CONSTRAINT outbox_type_unknown CHECK (
        NOT extras ? 'type'
        OR (jsonb_typeof(extras -> 'type') = 'string' AND lower(extras ->> 'type') IN ('auto', 'sms', 'lms', 'mms'))),
    ADD CONSTRAINT outbox_title_not_text CHECK (
        NOT extras ? 'title' OR jsonb_typeof(extras -> 'title') IN ('string', 'null')),
    ADD CONSTRAINT outbox_title_too_long CHECK (
        jsonb_typeof(extras -> 'title') IS DISTINCT FROM 'string' OR length(extras ->> 'title') <= 120),
    ADD CONSTRAINT outbox_attachments_not_ids CHECK (
        NOT extras ? 'attachments'
        OR (jsonb_typeof(extras -> 'attachments') = 'array'
            AND NOT jsonb_path_exists(extras -> 'attachments', '$[*] ? (@.type() != "number" || @ < 1 || @ != @.floor())'))),
    ADD CONSTRAINT outbox_attachments_too_many CHECK (
        jsonb_typeof(extras -> 'attachments') IS DISTINCT FROM 'array' OR jsonb_array_length(extras -> 'attachments') <= 3),
    ADD CONSTRAINT outbox_attachments_need_mms CHECK (
        jsonb_typeof(extras -> 'attachments') IS DISTINCT FROM 'array'
        OR jsonb_array_length(extras -> 'attachments') = 0
        OR (channel = 'sms' AND coalesce(lower(extras ->> 'type'), 'auto') IN ('auto', 'mms'))),
    ADD CONSTRAINT outbox_mms_without_pictures CHECK (
        lower(extras ->> 'type') IS DISTINCT FROM 'mms'
        OR coalesce(jsonb_typeof(extras -> 'attachments') = 'array' AND jsonb_array_length(extras -> 'attachments') > 0,
                    false));

-- The pictures a row names must exist, and fit one MMS together (800 KB).
-- SECURITY DEFINER: an upstream role needs no SELECT on gateway.attachments to name them.
CREATE FUNCTION gateway.outbox_check_attachments() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, gateway AS $$
DECLARE
    wanted bigint[];
    found integer;
    total bigint;
BEGIN
    -- A malformed list is left to the CHECK constraints, which name the problem.
    IF jsonb_typeof(NEW.extras -> 'attachments') <> 'array'
       OR jsonb_array_length(NEW.extras -> 'attachments') NOT BETWEEN 1 AND 3
       OR jsonb_path_exists(NEW.extras -> 'attachments', '$[*] ? (@.type() != "number" || @ < 1 || @ != @.floor())') THEN
        RETURN NEW;
    END IF;
    SELECT array_agg(DISTINCT v::bigint) INTO wanted
    FROM jsonb_array_elements_text(NEW.extras -> 'attachments') AS v;
    SELECT count(*), coalesce(sum(a.bytes), 0) INTO found, total
    FROM gateway.attachments a WHERE a.id = ANY (wanted);
    IF found < cardinality(wanted) THEN
        RAISE EXCEPTION 'extras.attachments names % picture(s) not in gateway.attachments', cardinality(wanted) - found
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'outbox_attachment_unknown', TABLE = 'outbox',
                  SCHEMA = 'gateway';
    END IF;
    IF total > 819200 THEN
        RAISE EXCEPTION 'the pictures have % bytes together; an MMS holds at most 819200 (800 KB)', total
            USING ERRCODE = 'check_violation', CONSTRAINT = 'outbox_attachments_too_large', TABLE = 'outbox',
                  SCHEMA = 'gateway';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER outbox_check_attachments
    BEFORE INSERT ON gateway.outbox
    FOR EACH ROW
    WHEN (NEW.extras ? 'attachments')
    EXECUTE FUNCTION gateway.outbox_check_attachments();
