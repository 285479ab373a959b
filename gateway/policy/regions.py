"""Where in its country a number belongs: US state from the area code, through phonenumbers' own data.

US state laws on telephone solicitation reach numbers by area code (Florida,
Oklahoma and Connecticut presume a call to one of their area codes reaches a
resident). phonenumbers ships geocoding data for every North American prefix
("Connecticut", "Hartford, CT", ...); :func:`subdivisions_for` reads it to answer
"which states does this number's area code belong to?". An area code whose
prefixes name several states (201: New Jersey and New York) gives them all, so
the caller can apply the strictest rule. A US number with no state
(toll-free 8XX, non-geographic 5XX) gives an empty tuple; the caller decides
what that means (quiet hours apply every state rule then).

Why phonenumbers rather than an area-code table of our own: the project already
depends on it for parsing and time zones, it is maintained (new overlays appear
every year), and its data is the same the rest of the policy reads. But its
geocoding data is the whole world's (importing it costs ~110 MB of memory and
0.6 s), so the daemon reads a table derived from it instead:
``data/us_area_codes.json``, made by :func:`generate_table` and checked against
the installed phonenumbers by a test (regenerate it when phonenumbers is
upgraded: ``python -c "from gateway.policy.regions import write_table; write_table()"``).
"""

from __future__ import annotations

import functools
import json
import re
from importlib import resources
from pathlib import Path

import phonenumbers

__all__ = ["US_STATE_NAMES", "area_code_states", "generate_table", "subdivisions_for", "write_table"]

#: phonenumbers' English descriptions of US states (as its geocoding data spells them) -> USPS codes.
US_STATE_NAMES: dict[str, str] = {
    "Alabama": "AL", "Alaska": "AK", "Arizona": "AZ", "Arkansas": "AR", "California": "CA", "Colorado": "CO",
    "Connecticut": "CT", "Delaware": "DE", "Florida": "FL", "Georgia": "GA", "Hawaii": "HI", "Idaho": "ID",
    "Illinois": "IL", "Indiana": "IN", "Iowa": "IA", "Kansas": "KS", "Kentucky": "KY", "Louisiana": "LA",
    "Maine": "ME", "Maryland": "MD", "Massachusetts": "MA", "Michigan": "MI", "Minnesota": "MN",
    "Mississippi": "MS", "Missouri": "MO", "Montana": "MT", "Nebraska": "NE", "Nevada": "NV",
    "New Hampshire": "NH", "New Jersey": "NJ", "New Mexico": "NM", "New York": "NY", "North Carolina": "NC",
    "North Dakota": "ND", "Ohio": "OH", "Oklahoma": "OK", "Oregon": "OR", "Pennsylvania": "PA",
    "Rhode Island": "RI", "South Carolina": "SC", "South Dakota": "SD", "Tennessee": "TN", "Texas": "TX",
    "Utah": "UT", "Vermont": "VT", "Virginia": "VA", "Washington State": "WA", "Washington": "WA",
    "Washington D.C.": "DC", "West Virginia": "WV", "Wisconsin": "WI", "Wyoming": "WY",
}  # fmt: skip
_CODES = frozenset(US_STATE_NAMES.values())
_CITY_STATE = re.compile(r",\s*([A-Z]{2})$")


def _state_of(description: str) -> str | None:
    """ "Connecticut" -> CT, "Hartford, CT" -> CT, anything else (a Canadian province, "") -> None."""
    description = description.strip()
    if description in US_STATE_NAMES:
        return US_STATE_NAMES[description]
    match = _CITY_STATE.search(description)
    if match is not None and match.group(1) in _CODES:
        return match.group(1)
    return None


def generate_table() -> dict[str, list[str]]:
    """Area code (NPA) -> the US states phonenumbers' geocoding entries under +1NPA name (loads the world's data)."""
    from phonenumbers.geodata import GEOCODE_DATA

    table: dict[str, set[str]] = {}
    for prefix, names in GEOCODE_DATA.items():
        if not prefix.startswith("1") or len(prefix) < 4:
            continue
        state = _state_of(names.get("en", ""))
        if state is not None:
            table.setdefault(prefix[1:4], set()).add(state)
    return {npa: sorted(states) for npa, states in sorted(table.items())}


def write_table(path: Path | None = None) -> None:
    """Regenerate data/us_area_codes.json from the installed phonenumbers."""
    target = path or Path(__file__).parent / "data" / "us_area_codes.json"
    payload = {
        "_source": f"generated from phonenumbers {phonenumbers.__version__} geocoding data by "
        "gateway.policy.regions.write_table; checked against the installed phonenumbers by a test",
        "area_codes": generate_table(),
    }
    target.write_text(json.dumps(payload, indent=0) + "\n", "utf-8")


@functools.cache
def _area_code_table() -> dict[str, frozenset[str]]:
    """Area code (NPA, 3 digits) -> its US states, from the shipped table (read once)."""
    text = (resources.files("gateway.policy") / "data" / "us_area_codes.json").read_text("utf-8")
    return {npa: frozenset(states) for npa, states in json.loads(text)["area_codes"].items()}


def area_code_states(area_code: str) -> frozenset[str]:
    """The US states of an area code ("203" -> {"CT"}, "201" -> {"NJ", "NY"}, "800" -> {})."""
    return _area_code_table().get(area_code, frozenset())


def subdivisions_for(number: phonenumbers.PhoneNumber, region: str | None) -> tuple[str, ...]:
    """The states a recipient number belongs to, sorted; () outside the US or when the area code has none."""
    if region != "US" or number.country_code != 1:
        return ()
    national = str(number.national_number)
    if len(national) != 10:
        return ()
    return tuple(sorted(area_code_states(national[:3])))
