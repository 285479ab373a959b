-- 0035: Korean message types in the upstream contract, and MMS pictures.
--
-- A channel 'sms' row may say in its extras which type it wants, with a title
-- and pictures:
--   extras.type         'auto' (default) | 'sms' | 'lms' | 'mms'
--   extras.title        LMS/MMS title (text, at most 120 characters; 40 bytes are sent as standard)
--   extras.attachments  [id, ...]: 1 to 3 rows of gateway.attachments (an MMS)
-- The connector decides the type of 'auto' (gateway.korean.choose_type). The
-- shapes are checked here when a row is inserted, each refusal named like a
-- constraint, so an upstream sees a bad row at once; what needs the route
-- (bytes, encodability) is failed by the daemon.
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
-- Checked once, when the row is inserted (a trigger, not CHECK constraints, which PostgreSQL would
-- evaluate again on every claim and retry of every row); each refusal names its constraint like a
-- CHECK does (SQLSTATE 23514 check_violation, 23503 for an unknown picture), so an upstream sees
-- e.g. `outbox_type_unknown` at once. Rows whose extras name none of the keys skip it.
-- SECURITY DEFINER: an upstream role needs no SELECT on gateway.attachments to name pictures.
CREATE FUNCTION gateway.outbox_check_types() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, gateway AS $$
DECLARE
    x jsonb := NEW.extras;
    kind text;
    pictures jsonb := x -> 'attachments';
    wanted bigint[];
    found integer;
    total bigint;
BEGIN
    IF x ? 'type' THEN
        IF jsonb_typeof(x -> 'type') <> 'string' OR lower(x ->> 'type') NOT IN ('auto', 'sms', 'lms', 'mms') THEN
            RAISE EXCEPTION 'extras.type must be auto, sms, lms or mms, not %', x -> 'type'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'outbox_type_unknown', TABLE = 'outbox', SCHEMA = 'gateway';
        END IF;
        kind := lower(x ->> 'type');
    END IF;
    IF x ? 'title' THEN
        IF jsonb_typeof(x -> 'title') NOT IN ('string', 'null') THEN
            RAISE EXCEPTION 'extras.title must be text'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'outbox_title_not_text', TABLE = 'outbox', SCHEMA = 'gateway';
        END IF;
        IF length(x ->> 'title') > 120 THEN
            RAISE EXCEPTION 'extras.title has % characters; at most 120', length(x ->> 'title')
                USING ERRCODE = 'check_violation', CONSTRAINT = 'outbox_title_too_long', TABLE = 'outbox', SCHEMA = 'gateway';
        END IF;
    END IF;
    IF x ? 'attachments' THEN
        IF jsonb_typeof(pictures) <> 'array'
           OR jsonb_path_exists(pictures, '$[*] ? (@.type() != "number" || @ < 1 || @ != @.floor())') THEN
            RAISE EXCEPTION 'extras.attachments must be a list of attachment ids'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'outbox_attachments_not_ids', TABLE = 'outbox',
                      SCHEMA = 'gateway';
        END IF;
        IF jsonb_array_length(pictures) > 3 THEN
            RAISE EXCEPTION 'extras.attachments names % pictures; an MMS holds at most 3', jsonb_array_length(pictures)
                USING ERRCODE = 'check_violation', CONSTRAINT = 'outbox_attachments_too_many', TABLE = 'outbox',
                      SCHEMA = 'gateway';
        END IF;
        IF jsonb_array_length(pictures) > 0 THEN
            IF NEW.channel <> 'sms' OR coalesce(kind, 'auto') NOT IN ('auto', 'mms') THEN
                RAISE EXCEPTION 'pictures need channel sms and extras.type auto or mms'
                    USING ERRCODE = 'check_violation', CONSTRAINT = 'outbox_attachments_need_mms', TABLE = 'outbox',
                          SCHEMA = 'gateway';
            END IF;
            SELECT array_agg(DISTINCT v::bigint) INTO wanted FROM jsonb_array_elements_text(pictures) AS v;
            SELECT count(*), coalesce(sum(a.bytes), 0) INTO found, total
            FROM gateway.attachments a WHERE a.id = ANY (wanted);
            IF found < cardinality(wanted) THEN
                RAISE EXCEPTION 'extras.attachments names % picture(s) not in gateway.attachments',
                    cardinality(wanted) - found
                    USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'outbox_attachment_unknown', TABLE = 'outbox',
                          SCHEMA = 'gateway';
            END IF;
            IF total > 819200 THEN
                RAISE EXCEPTION 'the pictures have % bytes together; an MMS holds at most 819200 (800 KB)', total
                    USING ERRCODE = 'check_violation', CONSTRAINT = 'outbox_attachments_too_large', TABLE = 'outbox',
                          SCHEMA = 'gateway';
            END IF;
        END IF;
    END IF;
    IF kind = 'mms' AND coalesce(jsonb_array_length(CASE WHEN jsonb_typeof(pictures) = 'array' THEN pictures END), 0) = 0 THEN
        RAISE EXCEPTION 'extras.type is mms but extras.attachments names no picture'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'outbox_mms_without_pictures', TABLE = 'outbox',
                  SCHEMA = 'gateway';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER outbox_check_types
    BEFORE INSERT ON gateway.outbox
    FOR EACH ROW
    WHEN (NEW.extras ?| ARRAY['type', 'title', 'attachments'])
    EXECUTE FUNCTION gateway.outbox_check_types();
