"""The SMPP connector's typed configuration: TOML shape, validation, secrets."""

from __future__ import annotations

import tomllib

import pytest
from pydantic import ValidationError

from gateway.config import parse_config
from gateway.errors import ConfigError
from gateway.smpp.config import SmppConnectorConfig

TOML = """
[[connectors]]
type = "smpp"
name = "carrier-a"
system_id = "acme"
password = "${SMPP_PASSWORD}"
bind_mode = "transmitter_receiver"
binds = 2
senders = ["ACME", "+8215880000"]
allowed_encodings = ["gsm7", "ucs2", "euckr"]
long_message = "sar"
id_format = "hex_to_dec"
receipt_timezone = "Asia/Seoul"
"""


def test_a_toml_entry_becomes_a_typed_config() -> None:
    """An [[connectors]] smpp table parses into SmppConnectorConfig, secrets from the environment."""
    config = parse_config(tomllib.loads(TOML), env={"SMPP_PASSWORD": "pw123"})
    (smpp,) = config.connectors
    assert isinstance(smpp, SmppConnectorConfig)
    assert smpp.password.get_secret_value() == "pw123"
    assert smpp.senders == ("ACME", "+8215880000") and smpp.allowed_encodings == ("gsm7", "ucs2", "euckr")
    assert (smpp.window, smpp.enquire_link_seconds, smpp.validity_period_seconds) == (64, 30.0, 86_400)


def test_password_never_shows_in_errors_or_repr() -> None:
    """Neither a validation error nor the config's repr contains the password."""
    with pytest.raises(ValidationError) as caught:
        SmppConnectorConfig(name="a", system_id="b", password="TooLongSecret1", binds=0)
    assert "TooLongSecret1" not in str(caught.value)
    config = SmppConnectorConfig(name="a", system_id="b", password="Sec9ret")
    assert "Sec9ret" not in repr(config) and "Sec9ret" not in str(config.model_dump())


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"reconnect_initial_seconds": 5, "reconnect_max_seconds": 1}, "reconnect_max_seconds"),
        ({"tls_ca_file": "/ca.pem"}, "tls_ca_file"),
        ({"receipt_timezone": "Mars/Olympus"}, "time zone"),
        ({"allowed_encodings": []}, "alphabet"),
        ({"system_id": "x" * 16}, "system_id"),
    ],
)
def test_inconsistent_settings_are_refused(changes: dict, key: str) -> None:
    """Settings that cannot work together (or do not fit SMPP) are refused, naming what is wrong."""
    data = {"connectors": [{"type": "smpp", "name": "a", "system_id": "b", **changes}]}
    with pytest.raises(ConfigError, match=key):
        parse_config(data, env={})
