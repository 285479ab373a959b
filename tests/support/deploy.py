"""Reading the deployment files: paths, the compose and Kubernetes configurations, the tools that check them."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DRAIN_MARGIN = 10.0  # gateway.daemon.DRAIN_MARGIN_SECONDS: the daemon's own deadline past the drain


def seconds(text: str | int | float) -> float:
    """'40s', '1m30s', 45 -> seconds."""
    if isinstance(text, int | float):
        return float(text)
    total = 0.0
    for value, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text):
        total += float(value) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]
    return total


def yaml_documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text("utf-8")) if d]


def kubernetes_documents() -> list[dict[str, Any]]:
    docs = []
    for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        if path.name != "kustomization.yaml":
            docs += yaml_documents(path)
    return docs


def tool(name: str) -> str | None:
    """A command on PATH or beside this interpreter (the venv's bin)."""
    found = shutil.which(name)
    if found:
        return found
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else None


def docker_compose() -> list[str] | None:
    """`docker compose` (the v2 plugin) when it runs here, else None."""
    docker = shutil.which("docker")
    if docker is None:
        return None
    probe = subprocess.run([docker, "compose", "version"], check=False, capture_output=True, text=True)
    return [docker, "compose"] if probe.returncode == 0 else None
