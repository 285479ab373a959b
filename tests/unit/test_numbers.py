"""gateway.numbers: one canonical form per recipient, the carriers' forms, and a fast path equal to the parser."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway import numbers
from gateway.numbers import BadNumber, Number, canonical

SAME_NUMBER = [
    "010-2345-6789",
    "+82 10-2345-6789",
    "+821023456789",
    "01023456789",
    "(010) 2345 6789",
    "+82-10-2345-6789",
]


@pytest.mark.parametrize("raw", SAME_NUMBER)
def test_korean_spellings_have_one_canonical_form(raw: str) -> None:
    """National and international spellings of one Korean mobile number all read as +821023456789."""
    number = canonical(raw, "KR")
    assert isinstance(number, Number)
    assert number.e164 == "+821023456789"
    assert number.given == raw


def test_the_carrier_forms_of_a_korean_mobile_number() -> None:
    """International digits, national significant number and the domestic dialling form."""
    number = canonical("010-2345-6789", "KR")
    assert isinstance(number, Number)
    assert (number.international, number.national, number.domestic) == ("821023456789", "1023456789", "01023456789")
    assert number.region == "KR" and number.valid and number.country_code == 82


def test_a_national_number_without_a_default_region_is_bad() -> None:
    """Without a default region a national spelling cannot be read: a BadNumber saying why."""
    bad = canonical("010-2345-6789", None)
    assert isinstance(bad, BadNumber) and "unparseable" in bad.why and bad.given == "010-2345-6789"


@pytest.mark.parametrize("raw", ["nonsense", "+82", "+8210", "12", ""])
def test_impossible_numbers_are_bad(raw: str) -> None:
    """Text that is no possible phone number gives a BadNumber, never an exception."""
    assert isinstance(canonical(raw, "KR"), BadNumber)


def test_non_geographic_numbers_have_no_region() -> None:
    """+800 numbers are numbers (E.164) without a region."""
    number = canonical("+80012345678", None)
    assert isinstance(number, Number) and number.region is None


def test_results_are_cached_per_text_and_region() -> None:
    """The same text and region give the very same object (the cache), other regions their own."""
    assert canonical("010-2345-6789", "KR") is canonical("010-2345-6789", "KR")
    assert canonical("+821023456789", "KR") is not canonical("+821023456789", "US")
    assert numbers.canonical.cache_info().maxsize == numbers.CACHE_SIZE


def _parser(raw: str) -> tuple[int, int, bool, int] | None:
    try:
        phone = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(phone):
        return None
    return (
        phone.country_code,
        phone.national_number,
        bool(phone.italian_leading_zero),
        phone.number_of_leading_zeros or 1,
    )


def _fast(raw: str) -> tuple[int, int, bool, int] | None:
    number = numbers._from_e164(raw)
    if number is None:
        return None
    phone = number.phone
    return (
        phone.country_code,
        phone.national_number,
        bool(phone.italian_leading_zero),
        phone.number_of_leading_zeros or 1,
    )


def _example_numbers() -> list[str]:
    found = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                found.append(phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164))
    for code in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS:
        example = phonenumbers.example_number_for_non_geo_entity(code)
        if example is not None:
            found.append(phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164))
    return found


def test_the_fast_path_reads_every_example_number_as_the_parser_does() -> None:
    """For phonenumbers' own example numbers of every region, the E.164 fast path equals the parser."""
    examples = _example_numbers()
    taken = 0
    for raw in examples:
        fast = _fast(raw)
        if fast is not None:
            taken += 1
            assert fast == _parser(raw), raw
    assert taken > len(examples) * 0.8  # the fast path is the common path


@settings(max_examples=300, deadline=None)
@given(st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True))
def test_the_fast_path_never_disagrees_with_the_parser(raw: str) -> None:
    """Any E.164-shaped text: the fast path either declines or reads it exactly as phonenumbers.parse does."""
    fast = _fast(raw)
    if fast is not None:
        assert fast == _parser(raw)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(_example_numbers()), st.sampled_from(["KR", "US", "DE", None]))
def test_canonical_is_e164_of_the_parse(raw: str, region: str | None) -> None:
    """canonical() of an E.164 example formats back to the same E.164 text, whatever the default region."""
    number = canonical(raw, region)
    expected = _parser(raw)
    if expected is None:
        assert isinstance(number, BadNumber)
    else:
        assert isinstance(number, Number) and number.e164 == raw
