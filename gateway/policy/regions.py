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
every year), and its data is the same the rest of the policy reads.
"""

from __future__ import annotations

import functools
import re

import phonenumbers
from phonenumbers import geocoder

__all__ = ["US_STATE_NAMES", "area_code_states", "subdivisions_for"]

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


@functools.cache
def _area_code_table() -> dict[str, frozenset[str]]:
    """Area code (NPA, 3 digits) -> the US states its geocoding entries name. Built once (~30 ms)."""
    try:
        from phonenumbers.geodata import GEOCODE_DATA
    except ImportError:  # pragma: no cover - a phonenumbers build without geodata: number by number below
        return {}
    table: dict[str, set[str]] = {}
    for prefix, names in GEOCODE_DATA.items():
        if not prefix.startswith("1") or len(prefix) < 4:
            continue
        state = _state_of(names.get("en", ""))
        if state is not None:
            table.setdefault(prefix[1:4], set()).add(state)
    return {npa: frozenset(states) for npa, states in table.items()}


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
    states = area_code_states(national[:3])
    if not states:  # no table (or an area code it does not know): ask about this very number
        own = _state_of(geocoder.description_for_number(number, "en"))
        states = frozenset({own}) if own else frozenset()
    return tuple(sorted(states))
