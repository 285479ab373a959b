"""Quiet hours: is advertising allowed now in the recipient's local time, and if not, when?

Time zones, in order of precedence:

1. ``extras["timezone"]`` on the message (an IANA name);
2. the zones ``phonenumbers`` gives for the recipient's number — several for
   some numbers (Alaska, US toll-free numbers: 42 NANP zones). Then the rule is
   evaluated in *every* candidate zone and a moment is allowed only when it is
   allowed in all of them. That is the strictest reading, deterministic (it
   does not depend on the order phonenumbers lists the zones), and it never
   sends into a quiet period of any zone the recipient might be in;
3. the configured ``default_timezone``.

The rules are the recipient *country's* rule (see ``QuietHoursConfig.rule_for``)
and, for countries with state rules (US), the rule of every state the number's
area code belongs to (:func:`gateway.policy.regions.subdivisions_for`; every
state rule when the number has no state). All of them apply in each of those
zones: the strictest wins. A rule marked ``lifted_by_night_consent`` does not
apply to a message that carries ``extras.night_consent = true``.

A moment is allowed in a zone when its local wall-clock time falls in one of
the windows of its local weekday, and, for rules with ``no_public_holidays``,
its local date is not a public holiday. :func:`next_allowed` finds the earliest
allowed moment exactly, DST transitions included: the allowed/forbidden status
of a zone can only change at a window edge (the first or the second occurrence
of that wall time on a fall-back day) or at a UTC-offset transition — midnight
needs no instant of its own, as windows never cross it — so it is enough to
test those instants, in order.

Nothing here reads the clock: ``now`` is always passed in.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
import phonenumbers
from phonenumbers import timezone as phone_timezone

from gateway.policy.config import QuietHoursConfig, QuietHoursRule
from gateway.policy.regions import subdivisions_for

__all__ = [
    "AppliedRule",
    "InvalidTimeZone",
    "QuietSchedule",
    "ZoneRule",
    "applicable_rules",
    "is_allowed",
    "next_allowed",
    "ramp_offset",
    "schedule",
    "time_zones_for",
    "zone_rules",
]

_CHUNK = timedelta(days=2)
_UNKNOWN_ZONE = phone_timezone.UNKNOWN_TIMEZONE


class InvalidTimeZone(ValueError):
    """``extras["timezone"]`` names no IANA zone."""


@dataclass(frozen=True, slots=True)
class ZoneRule:
    """One rule as it applies in one zone (with its holiday calendar, if any)."""

    zone: ZoneInfo
    rule: QuietHoursRule
    calendar: holidays.HolidayBase | None = None

    def allows(self, moment: datetime) -> bool:
        local = moment.astimezone(self.zone)
        if self.calendar is not None and local.date() in self.calendar:
            return False
        second = local.hour * 3600 + local.minute * 60 + local.second
        return any(w.start * 60 <= second < w.end * 60 for w in self.rule.windows_for(local.weekday()))

    def window_end(self, moment: datetime) -> datetime | None:
        """The end of the window ``moment`` is in (None if it is in none): where this zone stops allowing
        it, or an earlier boundary (adjacent windows, a holiday after midnight are not merged)."""
        local = moment.astimezone(self.zone)
        second = local.hour * 3600 + local.minute * 60 + local.second
        for w in self.rule.windows_for(local.weekday()):
            if w.start * 60 <= second < w.end * 60:
                return _wall_to_utc(local.date(), w.end, self.zone, local.fold)
        return None

    def breakpoints(self, lo: datetime, hi: datetime) -> Iterator[datetime]:
        """Instants in ``(lo, hi)`` at which this zone's status may change (unsorted, may repeat)."""
        first = lo.astimezone(self.zone).date() - timedelta(days=1)
        last = hi.astimezone(self.zone).date() + timedelta(days=1)
        day = first
        while day <= last:
            edges: set[int] = set()
            for window in self.rule.windows_for(day.weekday()):
                edges.add(window.start)
                edges.add(window.end)
            for minutes in edges:
                for fold in (0, 1):
                    instant = _wall_to_utc(day, minutes, self.zone, fold)
                    if lo < instant < hi:
                        yield instant
            transition = _offset_change(day, self.zone)
            if transition is not None and lo < transition < hi:
                yield transition
            day += timedelta(days=1)


@dataclass(frozen=True, slots=True)
class AppliedRule:
    """A rule that applies to one recipient, with its label: "KR", "US", "US-CT"."""

    label: str
    rule: QuietHoursRule


@dataclass(frozen=True, slots=True)
class QuietSchedule:
    """The quiet-hours verdict for one message at one moment.

    ``allowed`` is True when it may be sent now; then ``allowed_until`` is when
    its current window ends (it may still be allowed then, when the next window
    starts at once: the last check decides again after it). Otherwise
    ``window_start`` is the next allowed moment in every zone (None if there is
    none within ``search_days``) and ``until`` is ``window_start`` plus the
    message's ramp offset. ``rules`` and ``zones`` say what was applied where.
    """

    allowed: bool
    window_start: datetime | None = None
    until: datetime | None = None
    allowed_until: datetime | None = None
    rules: tuple[AppliedRule, ...] = ()
    zones: tuple[str, ...] = ()
    lifted: tuple[AppliedRule, ...] = ()  # rules the message's night consent lifted


def ramp_offset(message_id: int, ramp_seconds: int) -> int:
    """Seconds after the window start at which this message wakes: stable across processes.

    ``int.from_bytes(blake2b(str(message_id).encode(), digest_size=8).digest(), "big") % ramp_seconds``
    (0 when ``ramp_seconds`` is 0).
    """
    if ramp_seconds <= 0:
        return 0
    digest = hashlib.blake2b(str(message_id).encode("ascii"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % ramp_seconds


def time_zones_for(
    number: phonenumbers.PhoneNumber | None, *, explicit: str | None, default_timezone: str
) -> tuple[str, ...]:
    """The candidate IANA zones of a recipient, sorted (see the module docstring for the order)."""
    if explicit is not None:
        if not isinstance(explicit, str) or not _zone_exists(explicit):
            raise InvalidTimeZone(f"extras.timezone {explicit!r} is not an IANA time zone")
        return (explicit,)
    if number is not None:
        zones = _usable(phone_timezone.time_zones_for_number(number))
        if not zones:  # not a valid number: fall back to the prefix table (country level at worst)
            zones = _usable(phone_timezone.time_zones_for_geographical_number(number))
        if zones:
            return zones
    return (default_timezone,)


def zone_rules(zones: Iterable[str], rule: QuietHoursRule, region: str | None) -> tuple[ZoneRule, ...]:
    """Bind a rule to each zone, with the holiday calendar the rule asks for."""
    calendar = None
    if rule.no_public_holidays:
        calendar = _calendar(rule.holidays_country or region, rule.holidays_subdivision)
    return tuple(ZoneRule(ZoneInfo(name), rule, calendar) for name in zones)


def applicable_rules(
    config: QuietHoursConfig, region: str | None, subdivisions: Sequence[str], *, night_consent: bool = False
) -> tuple[AppliedRule, ...]:
    """The rules that apply to a recipient: the country's, then its states' (see the module docstring)."""
    applied: list[AppliedRule] = []
    country = config.rule_for(region)
    if country is not None:
        applied.append(AppliedRule(region or "default", country))
    states = config.subdivision_rules(region)
    if states:
        chosen = [code for code in subdivisions if code in states] if subdivisions else sorted(states)
        applied.extend(AppliedRule(f"{region}-{code}", states[code]) for code in chosen)
    if night_consent:
        applied = [a for a in applied if not a.rule.lifted_by_night_consent]
    return tuple(applied)


def is_allowed(moment: datetime, rules: Sequence[ZoneRule]) -> bool:
    """True when ``moment`` is allowed in every zone."""
    return all(zr.allows(moment) for zr in rules)


def next_allowed(now: datetime, rules: Sequence[ZoneRule], *, search_days: int) -> datetime | None:
    """The earliest moment ``>= now`` allowed in every zone, or None within ``search_days``."""
    _require_aware(now)
    now = now.astimezone(UTC)  # aware datetimes sharing a tzinfo compare by wall clock: avoid that
    horizon = now + timedelta(days=search_days)
    lo = now
    while lo < horizon:
        hi = min(lo + _CHUNK, horizon)
        for candidate in _candidates(lo, hi, rules):
            if is_allowed(candidate, rules):
                return candidate
        lo = hi
    return None


def schedule(
    now: datetime,
    *,
    message_id: int,
    number: phonenumbers.PhoneNumber | None,
    region: str | None,
    explicit_timezone: str | None,
    config: QuietHoursConfig,
    subdivisions: Sequence[str] | None = None,
    night_consent: bool = False,
    until_end: bool = False,
) -> QuietSchedule:
    """Apply quiet hours to one advertising message.

    The ramp offset is :func:`ramp_offset`, shortened (still deterministically:
    ``hash % min(ramp_seconds, length)``) when the allowed stretch that starts at
    ``window_start`` is shorter than ``ramp_seconds``, so ``until`` is always allowed.
    ``subdivisions``: the recipient's states; None = from the number (:func:`subdivisions_for`).
    ``until_end``: when allowed, also give ``allowed_until``: the end of the current window
    (of the first zone and rule to close; a lower bound of the allowed stretch's end).
    """
    _require_aware(now)
    now = now.astimezone(UTC)
    if subdivisions is None:
        subdivisions = subdivisions_for(number, region) if number is not None else ()
    applied = applicable_rules(config, region, subdivisions) if config.enabled else ()
    lifted = tuple(a for a in applied if night_consent and a.rule.lifted_by_night_consent)
    applied = tuple(a for a in applied if a not in lifted)
    if not applied:
        if lifted:  # say where, for explain
            zones = time_zones_for(number, explicit=explicit_timezone, default_timezone=config.default_timezone)
            return QuietSchedule(allowed=True, zones=zones, lifted=lifted)
        return QuietSchedule(allowed=True)
    zones = time_zones_for(number, explicit=explicit_timezone, default_timezone=config.default_timezone)
    rules = tuple(zr for a in applied for zr in zone_rules(zones, a.rule, region))
    if is_allowed(now, rules):
        end = None
        if until_end:  # a lower bound is enough: the last check re-evaluates once it has passed
            ends = [e for e in (zr.window_end(now) for zr in rules) if e is not None]
            end = max(min(ends), now) if ends else None
        return QuietSchedule(allowed=True, allowed_until=end, rules=applied, zones=zones, lifted=lifted)
    start = next_allowed(now, rules, search_days=config.search_days)
    if start is None:
        return QuietSchedule(allowed=False, rules=applied, zones=zones, lifted=lifted)
    ramp = min(config.ramp_seconds, _allowed_stretch_seconds(start, rules, config.ramp_seconds))
    return QuietSchedule(
        allowed=False,
        window_start=start,
        until=start + timedelta(seconds=ramp_offset(message_id, ramp)),
        rules=applied,
        zones=zones,
        lifted=lifted,
    )


# --- helpers -------------------------------------------------------------------------------------


def _allowed_stretch_seconds(start: datetime, rules: Sequence[ZoneRule], cap: int) -> int:
    """Whole seconds from ``start`` (allowed) to the first forbidden moment, at most ``cap``."""
    end = start + timedelta(seconds=cap)
    for candidate in _candidates(start, end, rules):
        if not is_allowed(candidate, rules):
            return int((candidate - start).total_seconds())
    return cap


def _candidates(lo: datetime, hi: datetime, rules: Sequence[ZoneRule]) -> list[datetime]:
    """``lo`` and every breakpoint of every zone in ``(lo, hi)``, in time order."""
    points = {lo}
    for zr in rules:
        points.update(zr.breakpoints(lo, hi))
    return sorted(points)


def _wall_to_utc(day: date, minutes: int, zone: ZoneInfo, fold: int) -> datetime:
    naive = datetime.combine(day, time()) + timedelta(minutes=minutes)
    return naive.replace(tzinfo=zone, fold=fold).astimezone(UTC)


def _offset_change(day: date, zone: ZoneInfo) -> datetime | None:
    """The instant the zone's UTC offset changes during local ``day``, if it does (to the second)."""
    lo = datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)
    hi = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)
    before = lo.astimezone(zone).utcoffset()
    if hi.astimezone(zone).utcoffset() == before:
        return None
    while (hi - lo) > timedelta(seconds=1):  # invariant: offset at lo == before, at hi != before
        mid = lo + (hi - lo) / 2
        mid = mid.replace(microsecond=0)
        if mid <= lo:
            break
        if mid.astimezone(zone).utcoffset() == before:
            lo = mid
        else:
            hi = mid
    return hi


def _usable(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({n for n in names if n != _UNKNOWN_ZONE and _zone_exists(n)}))


@functools.lru_cache(maxsize=1024)
def _zone_exists(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a directory such as "America"
        return False
    return True


@functools.lru_cache(maxsize=256)
def _calendar(country: str | None, subdivision: str | None) -> holidays.HolidayBase | None:
    """The holiday calendar of a country, or None when the holidays library has none for it."""
    if country is None or country not in holidays.list_supported_countries():
        return None
    return holidays.country_holidays(country, subdiv=subdivision)


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("policy times must be timezone-aware")
