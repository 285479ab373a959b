"""Every shell command of docs/runbook.md runs as written against a live instance and its database."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.daemon import daemon_config, free_port, running, wait_http
from tests.support.deploy import ROOT

RUNBOOK = ROOT / "docs" / "runbook.md"


def commands() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", RUNBOOK.read_text("utf-8"), re.DOTALL)
    return [line for block in blocks for line in block.splitlines() if line.strip()]


def test_every_runbook_command_runs(tmp_path: Path, db_url: str) -> None:
    """`gateway status`, `connector pause|resume|rebind`, `health` and the psql queries of the runbook succeed."""
    if shutil.which("psql") is None:
        pytest.skip("psql is not installed")
    admin = free_port()
    config = daemon_config(
        tmp_path,
        "runbook",
        db_url=db_url,
        admin_port=admin,
        body='[[connectors]]\ntype = "loopback"\nname = "carrier"\n',
    )
    env = {
        **os.environ,
        "GATEWAY_CONFIG": str(config),
        "GATEWAY_DATABASE_URL": db_url,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    found = commands()
    assert any(c.startswith("gateway connector pause carrier") for c in found)
    with running(config):
        wait_http(admin, "/readyz")
        for command in found:  # a pause is resumed by a later command; a paused instance stays ready
            result = subprocess.run(
                ["bash", "-c", command], check=False, capture_output=True, text=True, env=env, timeout=60, cwd=tmp_path
            )
            assert result.returncode == 0, (command, result.stdout[-500:], result.stderr[-1000:])
