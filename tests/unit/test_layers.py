"""The architecture's import rules that a contract file cannot say."""

from __future__ import annotations

import subprocess
import sys


def loaded_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_the_engine_loads_no_connector_and_no_http() -> None:
    """Importing the queue engine loads no connector (SMPP, Kakao, NHN SMS) and not aiohttp (it knows only the port)."""
    mods = loaded_after("import gateway.queue.engine")
    connectors = ("gateway.smpp", "gateway.kakao", "gateway.nhn_sms", "gateway.httpclient", "gateway.simulators")
    assert not {m for m in mods if m.startswith(connectors)}
    assert "aiohttp" not in mods


def test_import_contracts_hold() -> None:
    """The layer contracts in pyproject.toml (import-linter) are kept: no room imports a higher one."""
    from importlinter.cli import lint_imports

    assert lint_imports(no_cache=True) == 0
