"""The `gateway` command line against a real database: migrate, enqueue, status, check-config."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from gateway.cli import main

pytestmark = pytest.mark.anyio


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(  # noqa: PLW1510 - the tests assert on the exit code
        [sys.executable, "-m", "gateway", *args], capture_output=True, text=True, timeout=60, env=full_env
    )


def test_check_config_names_file_key_and_problem(tmp_path: Path) -> None:
    """A bad configuration is refused with the file, the key and what is wrong; exit code 2."""
    cfg = tmp_path / "g.toml"
    cfg.write_text('[engine]\nclaim_batch = 0\n[[connectors]]\ntype = "loopback"\nname = "a"\nwindw = 3\n')
    result = run_cli("check-config", "--config", str(cfg))
    assert result.returncode == 2
    assert f"{cfg}: engine.claim_batch: Input should be greater than or equal to 1" in result.stderr
    assert f"{cfg}: connectors[0].windw: unknown key (typo?)" in result.stderr


def test_check_config_accepts_the_shipped_files() -> None:
    """config/gateway.toml and the documented example both validate."""
    root = Path(__file__).resolve().parents[3]
    for name in ("gateway.toml", "gateway.example.toml"):
        result = run_cli(
            "check-config",
            "--config",
            str(root / "config" / name),
            env={
                "KAKAO_SECRET_KEY": "s",
                "KAKAO_WEBHOOK_SECRET": "w",
                "SMPP_PASSWORD": "p",
                "NHN_SMS_SECRET_KEY": "s",
                "NHN_SMS_WEBHOOK_SIGNATURE": "w",
                "ADMIN_TOKEN": "t",
            },
        )
        assert result.returncode == 0, result.stderr


def test_secrets_come_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ "${NAME}" is replaced by the environment variable; an unset one is an error naming the key."""
    from gateway.config import load_config
    from gateway.errors import ConfigError

    cfg = tmp_path / "g.toml"
    cfg.write_text('[database]\nurl = "${GW_TEST_DB}"\n')
    assert load_config(cfg, env={"GW_TEST_DB": "postgresql://x/y"}).database.url == "postgresql://x/y"
    with pytest.raises(ConfigError, match=r"database\.url: environment variable GW_TEST_DB is not set"):
        load_config(cfg, env={})


def test_migrate_then_enqueue_then_status(empty_db_url: str) -> None:
    """migrate creates the schema (then says up to date), enqueue inserts, status shows the row."""
    first = run_cli("migrate", "--database-url", empty_db_url)
    second = run_cli("migrate", "--database-url", empty_db_url)
    assert first.returncode == 0 and "applied 0001_initial" in first.stdout
    assert second.returncode == 0 and "schema is up to date" in second.stdout
    one = ("enqueue", "--database-url", empty_db_url, "--to", "+821012345678", "--body", "hi")
    enq = run_cli(*one, "--idempotency-key", "k-1", "--sender", "1588")
    again = run_cli(*one, "--idempotency-key", "k-1", "--sender", "1588")
    assert "enqueued 1 message(s)" in enq.stdout
    assert "enqueued 0 message(s), 1 duplicate key(s) skipped" in again.stdout
    status = run_cli("status", "--database-url", empty_db_url, "--json")
    data = json.loads(status.stdout)
    assert [(r["state"], r["n"]) for r in data["queue"]] == [("queued", 1)]


async def test_enqueue_file_with_a_bad_line_inserts_nothing(
    db_url: str, db: asyncpg.Connection, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A CSV with one bad line is refused whole, and the error names the line."""
    f = tmp_path / "m.csv"
    f.write_text("sender,recipient,body,kind\n1588,+821011112222,ok,informational\n1588,+821011113333,,informational\n")
    code = await _main_in_thread(["enqueue", "--database-url", db_url, "--file", str(f)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{f}:3: body is required" in err
    assert await db.fetchval("SELECT count(*) FROM gateway.outbox") == 0


async def test_enqueue_jsonl_reports_database_refusals_by_line(
    db_url: str, db: asyncpg.Connection, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A JSONL row the database refuses names its line and the violated constraint."""
    f = tmp_path / "m.jsonl"
    rows = [
        {"sender": "1588", "recipient": "+821011112222", "body": "ok"},
        {"sender": "1588", "recipient": "+821011112222", "body": "x", "channel": "fax"},
    ]
    f.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    code = await _main_in_thread(["enqueue", "--database-url", db_url, "--file", str(f)])
    assert code == 2
    assert f"{f}:2: refused by the database: outbox_channel_unknown" in capsys.readouterr().err
    assert await db.fetchval("SELECT count(*) FROM gateway.outbox") == 0


async def _main_in_thread(argv: list[str]) -> int:
    import anyio

    return await anyio.to_thread.run_sync(main, argv)


def test_example_config_documents_every_key() -> None:
    """Every field of every configuration model appears as a key in config/gateway.example.toml."""
    import re
    import typing

    from pydantic import BaseModel

    from gateway.config import Config, LoopbackConnectorConfig
    from gateway.kakao.config import KakaoConnectorConfig
    from gateway.nhn_sms.config import NhnSmsConnectorConfig
    from gateway.smpp.config import SmppConnectorConfig

    text = (Path(__file__).resolve().parents[3] / "config" / "gateway.example.toml").read_text("utf-8")
    keys = set(re.findall(r"^\s*#?\s*([a-z_0-9]+)\s*=", text, re.MULTILINE))
    keys |= {
        part for header in re.findall(r"^\s*#?\s*\[+([^\]]+)\]+", text, re.MULTILINE) for part in header.split(".")
    }
    missing: list[str] = []

    def walk(model: type[BaseModel], path: str) -> None:
        for name, field in model.model_fields.items():
            if name not in keys:
                missing.append(f"{path}{name}")
            for arg in (field.annotation, *typing.get_args(field.annotation)):
                if getattr(arg, "__name__", "") == "Window":  # written as "HH:MM-HH:MM", not as a table
                    continue
                if isinstance(arg, type) and issubclass(arg, BaseModel):
                    walk(arg, f"{path}{name}.")

    for model in (Config, LoopbackConnectorConfig, SmppConnectorConfig, KakaoConnectorConfig, NhnSmsConnectorConfig):
        walk(model, f"{model.__name__}.")
    assert not missing, "\n".join(missing)
