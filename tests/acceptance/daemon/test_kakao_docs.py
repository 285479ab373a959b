"""docs/kakao.md's command lines, run through the CLI as written, against the NHN simulator."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import anyio
import asyncpg
import pytest

from gateway.cli import main
from gateway.simulators.kakao import KakaoSimulator

pytestmark = pytest.mark.anyio

TEXT = (Path(__file__).resolve().parents[3] / "docs" / "kakao.md").read_text("utf-8")
BLOCKS = re.findall(r"^```(\w+)\n(.*?)^```", TEXT, re.MULTILINE | re.DOTALL)
SENDER = "0123456789abcdef0123456789abcdef01234567"


def commands() -> list[list[str]]:
    found = []
    for info, body in BLOCKS:
        if info == "console":
            for line in body.splitlines():
                assert line.startswith("$ gateway "), line
                found.append(shlex.split(line[2:])[1:])
    return found


async def test_the_documented_template_commands_work(
    db_url: str, db: asyncpg.Connection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`gateway templates sync --from-nhn --connector kakao` and `gateway templates sync templates.yaml`, as written."""
    [toml] = [body for info, body in BLOCKS if info == "toml"]
    [yaml] = [body for info, body in BLOCKS if info == "yaml"]
    monkeypatch.setenv("KAKAO_SECRET_KEY", "sim-secret")
    monkeypatch.setenv("KAKAO_WEBHOOK_SECRET", "console-signature")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "templates.yaml").write_text(yaml, "utf-8")
    async with KakaoSimulator(app_key="your-app-key") as sim:
        sim.add_template(SENDER, "WELCOME", "#{name}님, 가입을 환영합니다.")
        sim.add_template(SENDER, "PENDING", "#{name}님", status="TSC02")
        cfg = tmp_path / "gateway.toml"
        cfg.write_text(f'{toml}base_url = "{sim.base_url}"\n', "utf-8")  # NHN -> the simulator
        for argv in commands():
            code = await anyio.to_thread.run_sync(main, [*argv, "--config", str(cfg), "--database-url", db_url])
            assert code == 0, argv
    rows = {
        r["template_code"]: (r["status"], r["source"]) for r in await db.fetch("SELECT * FROM gateway.kakao_templates")
    }
    assert rows == {
        "WELCOME": ("approved", "nhn"),
        "PENDING": ("reviewing", "nhn"),
        "ORDER_SHIPPED": ("approved", "file"),
        "OTP": ("approved", "file"),
    }
