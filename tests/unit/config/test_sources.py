"""Where settings come from: flag > environment > file, ${VAR} inside strings, every problem at once."""

from __future__ import annotations

import pytest

from gateway.config import parse_config
from gateway.errors import ConfigError

KAKAO = {"type": "kakao", "name": "k", "base_url": "http://p", "app_key": "a", "secret_key": "s", "webhook_secret": "w"}


def test_the_environment_beats_the_file_and_a_flag_beats_both() -> None:
    """GATEWAY_DATABASE_URL wins over database.url; --database-url (an override) wins over both."""
    data = {"database": {"url": "postgresql://file/db"}}
    env = {"GATEWAY_DATABASE_URL": "postgresql://env/db"}
    assert parse_config(data, env=env).database.url == "postgresql://env/db"
    flag = {("database", "url"): "postgresql://flag/db"}
    assert parse_config(data, env=env, overrides=flag).database.url == "postgresql://flag/db"
    assert parse_config(data, env={}).database.url == "postgresql://file/db"


def test_other_environment_overrides() -> None:
    """Instance name, listeners, admin token and logging can come from the environment."""
    env = {
        "GATEWAY_INSTANCE_NAME": "pod-7",
        "GATEWAY_ADMIN_PORT": "9999",
        "GATEWAY_HTTP_HOST": "0.0.0.0",
        "GATEWAY_ADMIN_TOKEN": "t0ken",
        "GATEWAY_LOG_LEVEL": "debug",
    }
    config = parse_config({"admin": {"port": 1}}, env=env)
    assert config.instance_name == "pod-7" and config.admin.port == 9999 and config.http.host == "0.0.0.0"
    assert config.admin.token is not None and config.admin.token.get_secret_value() == "t0ken"
    assert config.logging.level == "debug"


def test_variables_inside_strings() -> None:
    """${NAME} is replaced anywhere inside a string, several times; $${NAME} is a literal."""
    data = {"database": {"url": "postgresql://gw:${PW}@${HOST}:5432/gateway"}, "instance_name": "$${KEEP}"}
    config = parse_config(data, env={"PW": "p4ss", "HOST": "db"})
    assert config.database.url == "postgresql://gw:p4ss@db:5432/gateway"
    assert config.instance_name == "${KEEP}"


def test_every_missing_variable_is_reported_at_once() -> None:
    """All unset variables are named in one error, each with its key."""
    data = {
        "database": {"url": "postgresql://gw:${PW}@${HOST}/gateway"},
        "connectors": [{**KAKAO, "secret_key": "${KAKAO_SECRET}"}],
    }
    with pytest.raises(ConfigError) as caught:
        parse_config(data, source="g.toml", env={})
    lines = str(caught.value).splitlines()
    assert lines == [
        "g.toml: database.url: environment variable PW is not set",
        "g.toml: database.url: environment variable HOST is not set",
        "g.toml: connectors[0].secret_key: environment variable KAKAO_SECRET is not set",
    ]


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"connectors": [{**KAKAO, "secret_key": "${EMPTY}"}]}, "connectors[0].secret_key"),
        ({"connectors": [{**KAKAO, "webhook_secret": ""}]}, "connectors[0].webhook_secret"),
        (
            {"connectors": [{"type": "smpp", "name": "c", "system_id": "s", "password": "${EMPTY}"}]},
            "connectors[0].password",
        ),
        ({"admin": {"token": "${EMPTY}"}}, "admin.token"),
    ],
)
def test_an_empty_secret_is_refused(data: dict, key: str) -> None:
    """A secret that is given but empty (often an unset variable's empty value) is an error naming its key."""
    with pytest.raises(ConfigError, match=rf"{key.replace('[', '.').replace(']', '.')}.*is empty"):
        parse_config(data, source="g.toml", env={"EMPTY": ""})


def test_an_empty_override_is_refused() -> None:
    """GATEWAY_DATABASE_URL set to nothing is an error, not a silent fallback to the file."""
    with pytest.raises(ConfigError, match="GATEWAY_DATABASE_URL is set but empty"):
        parse_config({"database": {"url": "postgresql://file/db"}}, env={"GATEWAY_DATABASE_URL": ""})


def test_the_public_and_admin_listeners_cannot_share_a_port() -> None:
    """http.port and admin.port on one address is refused: webhooks and operators' endpoints stay apart."""
    with pytest.raises(ConfigError, match="need listeners of their own"):
        parse_config({"http": {"port": 9000}, "admin": {"port": 9000}}, env={})


def test_cluster_rate_limits_are_on_whenever_a_limit_is_set() -> None:
    """By default the limits are shared through PostgreSQL as soon as one exists; false turns that off."""
    loop = [{"type": "loopback", "name": "c"}]
    limited = {"connectors": loop, "ratelimit": {"connectors": {"c": {"rate": 20}}}}
    assert parse_config(limited, env={}).ratelimit.cluster_enabled
    assert not parse_config({"connectors": loop}, env={}).ratelimit.cluster_enabled
    off = {**limited, "ratelimit": {**limited["ratelimit"], "cluster": {"enabled": False}}}
    assert not parse_config(off, env={}).ratelimit.cluster_enabled


def test_admin_port_defaults_to_the_port_after_the_public_one() -> None:
    """Without admin.port the operators' listener sits at http.port + 1 (8081 by default; 0 with an ephemeral
    public port), so a daemon given its own http.port does not collide with another on the default 8081."""
    assert parse_config({}, env={}).admin.port == 8081
    assert parse_config({"http": {"port": 28080}}, env={}).admin.port == 28081
    assert parse_config({"http": {"port": 0}}, env={}).admin.port == 0
    assert parse_config({"http": {"port": 28080}, "admin": {"port": 9000}}, env={}).admin.port == 9000
    assert parse_config({"http": {"port": 28080}}, env={"GATEWAY_ADMIN_PORT": "9001"}).admin.port == 9001
