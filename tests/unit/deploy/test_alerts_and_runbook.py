"""Alert rules pass their promtool tests; every alert has its runbook section; every query parses."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support.deploy import DEPLOY, ROOT, tool, yaml_documents

ALERTS = DEPLOY / "prometheus" / "alerts.yml"
RUNBOOK = ROOT / "docs" / "runbook.md"
DASHBOARD = DEPLOY / "grafana" / "gateway.json"


def alerts() -> list[dict]:
    (doc,) = yaml_documents(ALERTS)
    return [rule for group in doc["groups"] for rule in group["rules"]]


def promtool() -> str:
    found = tool("promtool")
    if found is None:
        pytest.skip("promtool is not installed (Debian package prometheus; .ci/run installs it)")
    return found


def test_alert_rules_pass_their_unit_tests() -> None:
    """`promtool test rules` fires each alert on recorded series that should page, and not on the others."""
    tests = DEPLOY / "prometheus" / "alerts.test.yml"
    result = subprocess.run([promtool(), "test", "rules", str(tests)], check=False, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_tested() -> None:
    """Each alert of alerts.yml appears in at least one alert_rule_test."""
    (tests,) = yaml_documents(DEPLOY / "prometheus" / "alerts.test.yml")
    tested = {case["alertname"] for t in tests["tests"] for case in t.get("alert_rule_test", [])}
    assert {a["alert"] for a in alerts()} <= tested


def test_every_alert_has_a_runbook_section() -> None:
    """docs/runbook.md has a section per alert, saying what it means, how to check and what to do, and the
    alert's runbook_url points at it."""
    text = RUNBOOK.read_text("utf-8")
    sections = dict(re.findall(r"^## (\w+)\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL))
    for rule in alerts():
        name = rule["alert"]
        assert name in sections, f"docs/runbook.md has no section ## {name}"
        for part in ("**What it means.**", "**How to check.**", "**What to do.**"):
            assert part in sections[name], f"{name}: missing {part}"
        assert rule["annotations"]["runbook_url"] == f"docs/runbook.md#{name.lower()}"
    assert set(sections) == {a["alert"] for a in alerts()}, "a runbook section without its alert"


def queries() -> list[str]:
    """Every PromQL expression of the dashboard and the runbook ($connector as "everything")."""
    found = []
    for panel in json.loads(DASHBOARD.read_text("utf-8"))["panels"]:
        found += [t["expr"].replace("$connector", ".*") for t in panel.get("targets", [])]
    for block in re.findall(r"```promql\n(.*?)```", RUNBOOK.read_text("utf-8"), re.DOTALL):
        found += [line for line in block.splitlines() if line.strip()]
    return found


def test_dashboard_and_runbook_queries_parse(tmp_path: Path) -> None:
    """promtool accepts every expression of the dashboard and of the runbook (checked as recording rules)."""
    recorded = [{"record": f"q:{i}", "expr": q} for i, q in enumerate(queries())]
    rules = {"groups": [{"name": "queries", "rules": recorded}]}
    path = tmp_path / "queries.yml"
    path.write_text(yaml.safe_dump(rules))
    result = subprocess.run([promtool(), "check", "rules", str(path)], check=False, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dashboard_answers_the_pager_questions() -> None:
    """The dashboard opens on a row of stats and has panels for throughput, latency, receipts, queue age, binds,
    throttling and policy outcomes."""
    board = json.loads(DASHBOARD.read_text("utf-8"))
    titles = " | ".join(p["title"].lower() for p in board["panels"])
    for subject in ("sent / s", "enqueue → submit", "receipts", "oldest", "binds", "throttl", "policy"):
        assert subject in titles, subject
    first = [p for p in board["panels"] if p["gridPos"]["y"] <= 1 and p["type"] != "row"]
    assert len(first) >= 6 and all(p["type"] == "stat" for p in first)
    provider = yaml_documents(DEPLOY / "grafana" / "provisioning" / "dashboards" / "gateway.yaml")[0]
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
