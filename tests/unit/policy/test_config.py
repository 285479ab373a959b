"""The [policy] config model: window syntax, country tables, validation, and the documented TOML."""

from __future__ import annotations

import re
import tomllib

import pytest
from pydantic import ValidationError

import gateway.policy.config as config_module
from gateway.policy import (
    SHIPPED_QUIET_HOURS,
    PolicyConfig,
    QuietHoursConfig,
    QuietHoursRule,
    Window,
)


def test_window_parses_text_and_prints_it_back():
    """'08:00-21:00' becomes minutes 480-1260 and prints as written."""
    window = Window.model_validate("08:00-21:00")
    assert (window.start, window.end) == (480, 1260)
    assert str(window) == "08:00-21:00"
    assert Window.model_validate("00:00-24:00").end == 1440


@pytest.mark.parametrize(
    "text", ["21:00-08:00", "08:00-08:00", "8-21", "08:60-09:00", "24:00-24:00", "25:00-26:00", "08:00-24:30"]
)
def test_bad_windows_are_rejected(text):
    """Windows crossing midnight, empty windows and impossible times are config errors."""
    with pytest.raises(ValidationError):
        Window.model_validate(text)


def test_shorthands_fill_days_not_given():
    """'weekdays' fills mon-fri, 'daily' fills what is left, explicit days win."""
    rule = QuietHoursRule.model_validate({"weekdays": ["09:00-18:00"], "daily": ["10:00-12:00"], "fri": []})
    assert [str(w) for w in rule.mon] == ["09:00-18:00"]
    assert rule.fri == ()
    assert [str(w) for w in rule.sun] == ["10:00-12:00"]


def test_rule_must_allow_something():
    """A rule with no window all week is refused (it would hold every ad forever)."""
    with pytest.raises(ValidationError):
        QuietHoursRule()


def test_unknown_holiday_country_is_rejected():
    """holidays_country must be a calendar the holidays library has."""
    with pytest.raises(ValidationError):
        QuietHoursRule.model_validate({"daily": ["08:00-20:00"], "holidays_country": "XX"})


def test_unknown_region_key_is_rejected():
    """Country keys are phonenumbers region codes; typos fail at load time; case is normalised."""
    with pytest.raises(ValidationError):
        QuietHoursConfig.model_validate({"countries": {"KOR": {"daily": ["08:00-20:00"]}}})
    cfg = QuietHoursConfig.model_validate({"countries": {"kr": {"daily": ["08:00-20:00"]}}})
    assert str(cfg.rule_for("KR").mon[0]) == "08:00-20:00"


def test_unknown_time_zone_is_rejected():
    """default_timezone must name an IANA zone."""
    with pytest.raises(ValidationError):
        QuietHoursConfig(default_timezone="Mars/Olympus")


def test_country_override_keeps_other_shipped_rules():
    """Overriding KR keeps the shipped FR and US rules."""
    cfg = QuietHoursConfig.model_validate({"countries": {"KR": {"daily": ["08:00-20:00"]}}})
    assert cfg.rule_for("FR") == SHIPPED_QUIET_HOURS["FR"]
    assert cfg.rule_for("US") == SHIPPED_QUIET_HOURS["US"]
    assert cfg.rule_for("KR") != SHIPPED_QUIET_HOURS["KR"]


def test_rule_lookup_falls_back_to_default_rule():
    """A country without a rule gets the default rule, or None (always allowed)."""
    assert QuietHoursConfig().rule_for("DE") is None
    assert QuietHoursConfig().rule_for(None) is None
    cfg = QuietHoursConfig.model_validate({"default_rule": {"daily": ["09:00-20:00"]}})
    assert str(cfg.rule_for("DE").mon[0]) == "09:00-20:00"


def test_shipped_rules_match_the_issue():
    """KR and US allow 08:00-21:00 daily; FR weekdays 08-20, Saturday 10-20, no Sunday, no holidays."""
    for region in ("KR", "US"):
        rule = SHIPPED_QUIET_HOURS[region]
        assert all([str(w) for w in rule.windows_for(d)] == ["08:00-21:00"] for d in range(7))
    fr = SHIPPED_QUIET_HOURS["FR"]
    assert [[str(w) for w in fr.windows_for(d)] for d in range(7)] == [["08:00-20:00"]] * 5 + [["10:00-20:00"], []]
    assert fr.no_public_holidays and fr.holidays_country == "FR"


def test_unknown_keys_are_rejected():
    """A typo in the TOML names the key instead of being ignored."""
    with pytest.raises(ValidationError, match="ramp_secs"):
        PolicyConfig.model_validate({"quiet_hours": {"ramp_secs": 10}})


def test_config_is_frozen():
    """Config objects cannot be changed after loading."""
    with pytest.raises(ValidationError):
        PolicyConfig().default_region = "US"  # type: ignore[misc]


def test_documented_toml_example_loads():
    """The [policy] example in the config module docstring is valid TOML and a valid PolicyConfig."""
    doc = config_module.__doc__
    example = doc[doc.index("\n    [policy]\n") + 1 :]
    example = "\n".join(line[4:] for line in example.splitlines())
    loaded = PolicyConfig.model_validate(tomllib.loads(example)["policy"])
    assert loaded.expiry.max_age_seconds == 14400
    assert str(loaded.quiet_hours.rule_for("KR").mon[0]) == "08:00-20:00"
    rules = ("source", "checked")  # the spelled-out examples carry no legal source of their own
    assert loaded.quiet_hours.rule_for("FR").model_dump(exclude=rules) == SHIPPED_QUIET_HOURS["FR"].model_dump(
        exclude=rules
    )
    assert loaded.content.rule_for("KR").model_dump(exclude=rules) == config_module.SHIPPED_CONTENT_RULES[
        "KR"
    ].model_dump(exclude=rules)
    assert loaded.quiet_hours.subdivision_rules("US")["CT"].describe() == "daily 09:00-20:00"


def test_documented_toml_example_names_every_key():
    """Every field of every policy config model appears in the documented example."""
    doc = config_module.__doc__
    models = [
        PolicyConfig,
        config_module.ExpiryConfig,
        config_module.OptOutConfig,
        config_module.ContentConfig,
        config_module.AdContentRule,
        config_module.ConsentConfig,
        QuietHoursConfig,
    ]
    keys = {name for model in models for name in model.model_fields}
    keys |= {"no_public_holidays", "holidays_country", "holidays_subdivision", "daily", "weekdays", "sat", "sun"}
    missing = {k for k in keys if not re.search(rf"\b{k}\b", doc)}
    assert not missing
