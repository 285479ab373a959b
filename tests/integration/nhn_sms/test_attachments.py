"""MMS pictures in PostgreSQL: the JPEG check the database runs, and NHN uploads shared by instances."""

from __future__ import annotations

import asyncpg
import pytest

from gateway.korean import jpeg_size
from gateway.nhn_sms import NhnSmsConnector, PostgresAttachmentStore
from gateway.simulators.nhn_sms import NhnSmsSimulator
from tests.support.nhn_sms import Sink, example_jpeg, jpeg, make_config, message, running

pytestmark = pytest.mark.anyio


async def test_the_database_reads_jpegs_as_the_daemon_does(db: asyncpg.Connection) -> None:
    """gateway.jpeg_size() and gateway.korean.jpeg_size agree on real, rewritten, padded, cut and foreign bytes."""
    samples = [
        example_jpeg(),
        jpeg(width=1000, height=1000),
        jpeg(width=1001, height=3),
        jpeg(size=250_000),
        example_jpeg()[:200],
        b"\x89PNG\r\n\x1a\n" + bytes(64),
        b"\xff\xd8\xff\xd9",
    ]
    for data in samples:
        row = await db.fetchrow("SELECT width, height FROM gateway.jpeg_size($1)", data)
        expected = jpeg_size(data)
        assert (row["width"], row["height"]) == (expected if expected else (None, None))


async def test_pictures_refused_by_the_database(db: asyncpg.Connection) -> None:
    """Too large, too many pixels, not a JPEG, bad names: named constraints on INSERT."""
    cases = [
        (jpeg(size=301 * 1024), "a.jpg", "attachments_too_large"),
        (jpeg(width=1001), "a.jpg", "attachments_too_many_pixels"),
        (b"GIF89a" + bytes(40), "a.jpg", "attachments_not_jpeg"),
        (example_jpeg(), "a.png", "attachments_file_name"),
        (example_jpeg(), "x" * 42 + ".jpg", "attachments_file_name"),
    ]
    for data, name, constraint in cases:
        with pytest.raises(asyncpg.CheckViolationError) as exc:
            await db.execute("INSERT INTO gateway.attachments (file_name, data) VALUES ($1, $2)", name, data)
        assert exc.value.constraint_name == constraint


async def test_two_instances_upload_a_picture_once(pool: asyncpg.Pool) -> None:
    """A second instance (a second connector on the same database) reuses the fileId the first recorded."""
    pid = await pool.fetchval(
        "INSERT INTO gateway.attachments (file_name, data) VALUES ('p.jpg', $1) RETURNING id", example_jpeg()
    )
    sink = Sink()
    async with NhnSmsSimulator(seed=1) as sim:
        for n in (1, 2):
            connector = NhnSmsConnector(make_config(sim, results="sweep"), attachments=PostgresAttachmentStore(pool))
            async with running(connector, sink):
                await connector.send(message(n, f"사진 {n}", extras={"attachments": [pid]}))
                await sink.wait_results(n)
    assert sim.uploads == 1 and sim.accepted == 2
    assert await pool.fetchval("SELECT count(*) FROM gateway.nhn_sms_uploads") == 1


async def test_old_pictures_no_live_message_names_are_dropped(pool: asyncpg.Pool) -> None:
    """Housekeeping deletes pictures past the retention unless a live outbox row still names them."""
    store = PostgresAttachmentStore(pool)
    ids = [
        await pool.fetchval(
            "INSERT INTO gateway.attachments (file_name, data) VALUES ('p.jpg', $1) RETURNING id", example_jpeg()
        )
        for _ in range(3)
    ]
    await pool.execute(
        "UPDATE gateway.attachments SET created_at = now() - interval '40 days' WHERE id = ANY($1)", ids[:2]
    )
    await pool.execute(
        "INSERT INTO gateway.outbox (channel, sender, recipient, body, extras) VALUES ('sms', '15446859', "
        "'+821012345678', 'x', $1)",
        {"attachments": [ids[0]]},
    )
    assert await store.drop_old(30) == 1
    left = {r["id"] for r in await pool.fetch("SELECT id FROM gateway.attachments")}
    assert left == {ids[0], ids[2]}


async def test_bad_types_titles_and_picture_lists_are_refused_by_name(db: asyncpg.Connection) -> None:
    """Each malformed extras.type/title/attachments fails the INSERT with its documented constraint name."""
    small = await db.fetchval(
        "INSERT INTO gateway.attachments (file_name, data) VALUES ('a.jpg', $1) RETURNING id", example_jpeg()
    )
    heavy = [
        await db.fetchval(
            "INSERT INTO gateway.attachments (file_name, data) VALUES ('b.jpg', $1) RETURNING id", jpeg(size=290_000)
        )
        for _ in range(3)
    ]
    cases = [
        ({"type": "fax"}, "sms", asyncpg.CheckViolationError, "outbox_type_unknown"),
        ({"type": 3}, "sms", asyncpg.CheckViolationError, "outbox_type_unknown"),
        ({"title": ["x"]}, "sms", asyncpg.CheckViolationError, "outbox_title_not_text"),
        ({"title": "가" * 121}, "sms", asyncpg.CheckViolationError, "outbox_title_too_long"),
        ({"attachments": "1"}, "sms", asyncpg.CheckViolationError, "outbox_attachments_not_ids"),
        ({"attachments": [1.5]}, "sms", asyncpg.CheckViolationError, "outbox_attachments_not_ids"),
        ({"attachments": [small] * 4}, "sms", asyncpg.CheckViolationError, "outbox_attachments_too_many"),
        ({"type": "lms", "attachments": [small]}, "sms", asyncpg.CheckViolationError, "outbox_attachments_need_mms"),
        ({"attachments": [small]}, "alimtalk", asyncpg.CheckViolationError, "outbox_attachments_need_mms"),
        ({"type": "mms"}, "sms", asyncpg.CheckViolationError, "outbox_mms_without_pictures"),
        ({"attachments": [small + 1000]}, "sms", asyncpg.ForeignKeyViolationError, "outbox_attachment_unknown"),
        ({"attachments": heavy}, "sms", asyncpg.CheckViolationError, "outbox_attachments_too_large"),
    ]
    for extras, channel, error, constraint in cases:
        with pytest.raises(error) as exc:
            await db.execute(
                "INSERT INTO gateway.outbox (channel, sender, recipient, body, extras) "
                "VALUES ($1, '15446859', '+821012345678', 'x', $2)",
                channel,
                extras,
            )
        assert exc.value.constraint_name == constraint, extras
    for extras in ({"type": "MMS", "attachments": [small]}, {"type": "lms", "title": None}, {"attachments": []}, {}):
        await db.execute(
            "INSERT INTO gateway.outbox (channel, sender, recipient, body, extras) "
            "VALUES ('sms', '15446859', '+821012345678', 'x', $1)",
            extras,
        )
    assert await db.fetchval("SELECT count(*) FROM gateway.outbox") == 4
