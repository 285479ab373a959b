"""config/gateway.example.toml tells the truth: every value not marked "example" is the model's default."""

from __future__ import annotations

import re
import tomllib
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr, TypeAdapter

from gateway.config import Config
from gateway.connectors.config import LoopbackConnectorConfig
from gateway.kakao.config import KakaoConnectorConfig
from gateway.nhn_sms.config import NhnSmsConnectorConfig
from gateway.smpp.config import SmppConnectorConfig

EXAMPLE = Path(__file__).resolve().parents[3] / "config" / "gateway.example.toml"
CONNECTORS = {
    "loopback": LoopbackConnectorConfig,
    "smpp": SmppConnectorConfig,
    "kakao": KakaoConnectorConfig,
    "nhn_sms": NhnSmsConnectorConfig,
}
_HEADER = re.compile(r"^\s*(\[\[?)([^\]]+)\]\]?(.*)$")
_KEY = re.compile(r"^\s*([A-Za-z_0-9]+)\s*=.*?(#.*)?$")


def example_marks(text: str) -> tuple[set[tuple[Any, ...]], set[tuple[Any, ...]]]:
    """(tables marked example, (table, key) pairs marked example), tables as paths with list indexes."""
    tables: set[tuple[Any, ...]] = set()
    keys: set[tuple[Any, ...]] = set()
    path: tuple[Any, ...] = ()
    counts: dict[tuple[str, ...], int] = {}
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        header = _HEADER.match(line)
        if header:
            parts = tuple(header.group(2).strip().split("."))
            if header.group(1) == "[[":
                counts[parts] = counts.get(parts, -1) + 1
                path = (*parts, counts[parts])
            else:
                path = parts
            if "example" in header.group(3):
                tables.add(path)
            continue
        key = _KEY.match(line)
        if key and key.group(2) and "example" in key.group(2):
            keys.add((path, key.group(1)))
    return tables, keys


def _models(annotation: Any) -> list[type[BaseModel]]:
    """The model(s) a table stands for (a model, or an optional one); none for a dict of named entries."""
    if typing.get_origin(annotation) is dict:
        return []
    found = []
    for arg in (annotation, *typing.get_args(annotation)):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            found.append(arg)
    return found


def _plain(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, BaseModel):
        return value.model_dump()
    return value


def wrong_defaults(
    model: type[BaseModel], data: dict[str, Any], path: tuple[Any, ...], marks: tuple[set[Any], set[Any]]
) -> list[str]:
    tables, keys = marks
    if any(path[: len(t)] == t for t in tables):
        return []
    wrong = []
    for name, value in data.items():
        field = model.model_fields[name]
        if isinstance(value, dict) and _models(field.annotation):
            wrong += wrong_defaults(_models(field.annotation)[0], value, (*path, name), marks)
            continue
        if isinstance(value, dict):  # a table of named entries (connectors' limits, countries): all examples
            continue
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value) and _models(field.annotation):
            for i, item in enumerate(value):  # an array of tables: [[routing.rules]]
                wrong += wrong_defaults(_models(field.annotation)[0], item, (*path, name, i), marks)
            continue
        if (path, name) in keys:
            continue
        where = ".".join(str(p) for p in (*path, name))
        if field.is_required():
            wrong.append(f"{where}: required, so its value can only be an example: mark it")
            continue
        given = TypeAdapter(field.annotation).validate_python(value)
        default = field.get_default(call_default_factory=True)
        if _plain(given) != _plain(default):
            wrong.append(f"{where}: the example says {value!r}, the default is {default!r}")
    return wrong


def test_unmarked_values_are_the_models_defaults() -> None:
    """A value the example does not mark "example" equals the default the code uses when the key is absent."""
    text = EXAMPLE.read_text("utf-8")
    data = tomllib.loads(text)
    marks = example_marks(text)
    connectors = data.pop("connectors")
    wrong = wrong_defaults(Config, data, (), marks)
    for i, connector in enumerate(connectors):
        wrong += wrong_defaults(CONNECTORS[connector["type"]], connector, ("connectors", i), marks)
    assert not wrong, "\n".join(wrong)


def test_the_check_catches_a_wrong_default() -> None:
    """The check itself fails on a value that differs from the default (binds = 4 where the default is 1)."""
    text = '[[connectors]]\ntype = "smpp"\nname = "a"   # example\nsystem_id = "x"  # example\nbinds = 4\n'
    data = tomllib.loads(text)
    wrong = wrong_defaults(SmppConnectorConfig, data["connectors"][0], ("connectors", 0), example_marks(text))
    assert wrong == ["connectors.0.binds: the example says 4, the default is 1"]
