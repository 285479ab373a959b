"""Phone numbers read once: a recipient's canonical E.164 form, and the forms carriers want.

:func:`canonical` reads what an upstream service wrote in ``recipient``
(``+821023456789``, ``+82 10-2345-6789``, ``010-2345-6789`` with a default
region of ``KR``) and returns a :class:`Number` (E.164 and the other forms,
for a number that is at least *possible*) or a :class:`BadNumber` saying why
not. The queue calls it once per claimed message; the policy layer and the
connectors use the result the message carries (``OutboundMessage.number``)
instead of parsing again.

Cost: phonenumbers' ``parse`` takes about 17 µs a number and was a visible
share of the daemon's time. Input that is already E.164 (the documented form,
and the queue's own form for fallbacks) takes a fast path that builds the
number without the general parser (about a fifth of the time), declining to
the parser whenever the parser could read the digits differently (a leading
zero, a national prefix the number's country strips); a property test pins
the two to the same result. Results are cached per (text, default region) in
a bounded LRU cache, and the costlier facts (validity, region, national
forms) are computed only when asked for, once per number.

Forms (``010-2345-6789`` in KR):

============== ================== =============================================
``e164``       ``+821023456789``  the canonical form, stored beside the original
``international`` ``821023456789`` E.164 digits without "+" (SMPP TON 1, NPI 1)
``national``   ``1023456789``     the national significant number (SMPP TON 2)
``domestic``   ``01023456789``    as dialled in the country, digits only (Korean
                                  carriers, NHN Cloud, Kakao)
============== ================== =============================================
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumber, PhoneNumberFormat

__all__ = ["CACHE_SIZE", "BadNumber", "Number", "canonical", "country_code_of"]

#: Distinct recipient texts remembered (a campaign to more recipients than this re-reads only the oldest).
CACHE_SIZE = 16_384


class Number:
    """A possible phone number, read once. Immutable; lazily computed facts are cached on it."""

    __slots__ = ("_domestic", "_phone", "_region", "_valid", "country_code", "e164", "given")

    given: str  # as the upstream service wrote it
    e164: str  # "+821023456789"
    country_code: int

    def __init__(self, given: str, e164: str, country_code: int, phone: PhoneNumber | None = None) -> None:
        self.given = given
        self.e164 = e164
        self.country_code = country_code
        self._phone = phone  # built when first needed (the fast path needs none)
        self._valid: bool | None = None
        self._region: str | bool | None = False  # False: not computed yet
        self._domestic: str | None = None

    @property
    def phone(self) -> PhoneNumber:
        """The phonenumbers object (validity, region, time zones, formats)."""
        if self._phone is None:
            national = self.e164[1 + len(str(self.country_code)) :]
            self._phone = PhoneNumber(country_code=self.country_code, national_number=int(national))
        return self._phone

    @property
    def number(self) -> PhoneNumber:
        """The policy's name for :attr:`phone`."""
        return self.phone

    @property
    def valid(self) -> bool:
        """phonenumbers' ``is_valid_number`` (a number in an assigned range), computed once."""
        if self._valid is None:
            self._valid = bool(phonenumbers.is_valid_number(self.phone))
        return self._valid

    @property
    def region(self) -> str | None:
        """ISO 3166-1 alpha-2 region of the number; None for non-geographic numbers (+800, +882...)."""
        if self._region is False:
            region: str | None = phonenumbers.region_code_for_number(self.phone)
            if region is None:
                region = phonenumbers.region_code_for_country_code(self.country_code)
            if region in (phonenumbers.UNKNOWN_REGION, phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY):
                region = None
            self._region = region
        return self._region  # type: ignore[return-value]

    @property
    def international(self) -> str:
        """E.164 digits without the "+": ``821023456789``."""
        return self.e164[1:]

    @property
    def national(self) -> str:
        """The national significant number: ``1023456789`` (no trunk prefix)."""
        return str(phonenumbers.national_significant_number(self.phone))

    @property
    def domestic(self) -> str:
        """The number as dialled inside its country, digits only: ``01023456789``."""
        if self._domestic is None:
            text = phonenumbers.format_number(self.phone, PhoneNumberFormat.NATIONAL)
            self._domestic = "".join(ch for ch in text if ch.isdigit())
        return self._domestic

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Number) and other.e164 == self.e164

    def __hash__(self) -> int:
        return hash(self.e164)

    def __repr__(self) -> str:
        return f"Number({self.e164!r})"


@dataclass(frozen=True, slots=True)
class BadNumber:
    """Text that is not a possible phone number; ``why`` is for people (an event's detail)."""

    given: str
    why: str


@functools.lru_cache(maxsize=CACHE_SIZE)
def canonical(raw: str, default_region: str | None = None) -> Number | BadNumber:
    """The canonical form of ``raw`` (cached). National forms are read in ``default_region``."""
    fast = _from_e164(raw)
    if fast is not None:
        return fast
    try:
        phone = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as exc:
        return BadNumber(raw, f"unparseable recipient: {exc}")
    if not phonenumbers.is_possible_number(phone):
        return BadNumber(raw, f"recipient is not a possible number for +{phone.country_code}")
    return Number(raw, phonenumbers.format_number(phone, PhoneNumberFormat.E164), phone.country_code or 0, phone)


def country_code_of(region: str) -> int:
    """The calling code of an ISO region ("KR" -> 82); 0 when phonenumbers does not know it."""
    return int(phonenumbers.country_code_for_region(region))


# --- the E.164 fast path ---------------------------------------------------------------------------


@functools.cache
def _fast_rules(country_code: int) -> tuple[re.Pattern[str] | None, frozenset[int]]:
    """For one calling code: what phonenumbers strips as a national prefix (None: nothing), and the
    national number lengths it calls possible (``is_possible_number``: the general lengths and the
    local-only ones, of the calling code's main region)."""
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country_code, ())
    patterns = set()
    for region in regions:
        if region == phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY:
            metadata = PhoneMetadata.metadata_for_nongeo_region(country_code)
        else:
            metadata = PhoneMetadata.metadata_for_region(region)
        if metadata is None:
            continue
        prefix = metadata.national_prefix_for_parsing or metadata.national_prefix
        if prefix:
            patterns.add(prefix)
    main = phonenumbers.region_code_for_country_code(country_code)
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, main)
    lengths: frozenset[int] = frozenset()
    if metadata is not None and metadata.general_desc is not None:
        general = metadata.general_desc
        lengths = frozenset(general.possible_length or ()) | frozenset(general.possible_length_local_only or ())
    prefix_pattern = re.compile("|".join(f"(?:{p})" for p in sorted(patterns))) if patterns else None
    return prefix_pattern, lengths


def _from_e164(raw: str) -> Number | None:
    """``+<calling code><national number>`` read directly, or None when the general parser must decide."""
    digits = raw[1:]
    if raw[:1] != "+" or not (7 <= len(digits) <= 15 and digits.isascii() and digits.isdigit()) or digits[0] == "0":
        return None
    for size in (1, 2, 3):
        code = int(digits[:size])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return None
    national = digits[size:]
    if not national or national[0] == "0":
        return None  # leading zeros (Italy) and trunk prefixes: the parser's rules apply
    prefix, lengths = _fast_rules(code)
    if prefix is not None and prefix.match(national):
        return None  # the parser may strip this as a national prefix
    if len(national) not in lengths:
        return None  # not possible: the parser says why (or reads it another way)
    return Number(raw, raw, code)
