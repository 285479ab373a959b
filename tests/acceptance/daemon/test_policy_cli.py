"""`gateway policy explain`, `gateway campaign` and `gateway held` as processes: answers, and clear refusals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

pytestmark = pytest.mark.anyio


def gateway(*args: str, cwd: Path, database_url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "GATEWAY_DATABASE_URL"}
    if database_url:
        env["GATEWAY_DATABASE_URL"] = database_url
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[3])
    return subprocess.run([sys.executable, "-m", "gateway", *args], capture_output=True, text=True, timeout=60,
                          cwd=cwd, env=env, check=False)  # fmt: skip


def test_explain_answers_in_json_without_a_database(tmp_path: Path) -> None:
    """A dry run needs no database: Connecticut at 08:30 waits for 09:00; the output says what was not checked."""
    done = gateway("policy", "explain", "--at", "2026-07-14T08:30-04:00", "--to", "+12035550123", "--json",
                   cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert (data["decision"], data["reason"], data["next_allowed"]) == ("defer", "quiet_hours",
                                                                       "2026-07-14T09:00:00-04:00")  # fmt: skip
    assert data["subdivisions"] == ["CT"]
    assert "no database: campaign holds and opt-outs were not checked" in data["notes"]
    assert any("consent assumed true" in note for note in data["notes"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--at", "2026-07-14T12:00", "--to", "+33612345678"], "has no UTC offset"),
        (["--at", "tomorrow noon", "--to", "+33612345678"], "is not an ISO 8601 time"),
    ],
)
def test_explain_refuses_a_moment_it_would_have_to_guess(tmp_path: Path, args: list[str], message: str) -> None:
    """A time without an offset (or no time at all) is refused with exit code 2 and the expected form."""
    done = gateway("policy", "explain", *args, "--no-database", cwd=tmp_path)
    assert done.returncode == 2
    assert message in done.stderr and "2026-07-14T12:00+02:00" in done.stderr


def test_explain_of_a_number_that_is_not_one_says_so(tmp_path: Path) -> None:
    """An unparseable recipient is a final FAIL invalid_recipient, not a crash."""
    done = gateway("policy", "explain", "--to", "not-a-number", "--no-database", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "decision:     FAIL invalid_recipient" in done.stdout and "never (final)" in done.stdout


def test_held_release_without_a_target_is_refused(tmp_path: Path, db_url: str) -> None:
    """`gateway held release` with no --id, --campaign or --all releases nothing and says what to give."""
    done = gateway("held", "release", cwd=tmp_path, database_url=db_url)
    assert done.returncode == 2
    assert "--id N (repeatable), --campaign C, or --all" in done.stderr


async def test_campaign_cancel_reports_what_is_still_being_sent(tmp_path: Path, db_url: str,
                                                                db: asyncpg.Connection) -> None:  # fmt: skip
    """A cancel leaves claimed rows to their instance and says so; waiting rows are made due to be suppressed."""
    import anyio

    await db.execute("INSERT INTO gateway.outbox (channel, sender, recipient, body, kind, campaign_id) VALUES "
                     "('sms', '1588', '+821011112222', 'x', 'advertising', 'spring'), "
                     "('sms', '1588', '+821011113333', 'x', 'advertising', 'spring')")  # fmt: skip
    await db.execute("UPDATE gateway.outbox SET state = 'sending', lease_owner = 'other#1' "
                     "WHERE recipient = '+821011113333'")  # fmt: skip
    done = await anyio.to_thread.run_sync(
        lambda: gateway("campaign", "cancel", "spring", "--actor", "ops", cwd=tmp_path, database_url=db_url)
    )
    assert done.returncode == 0, done.stderr
    assert "cancelled 1 queued/deferred message(s) (actor ops)" in done.stdout
    assert "1 message(s) are being sent right now" in done.stdout
    assert await db.fetchval("SELECT lease_owner FROM gateway.outbox WHERE recipient = '+821011113333'") == "other#1"
