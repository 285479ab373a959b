"""Matching a rendered text against its template text: anchored, atomic regular expressions.

A template text is literal text with ``#{name}`` variables. It is compiled once
into an anchored regular expression; a rendered text matches when it is the
template text with every variable replaced by *non-empty* text.

Variables do **not** span newlines by default (``multiline=False``): Kakao
reviews the line structure of a template, and a value that brings its own
line breaks can smuggle new content lines into an approved template. A
connector may allow it with ``template_variables_multiline = true``. Line
endings are normalised (``\\r\\n`` and ``\\r`` become ``\\n``) in both the
template and the body before matching.

Matching never backtracks catastrophically: every variable run followed by a
literal is an atomic group that commits to the *earliest* place the literal
can follow. For wildcard patterns that is exact (a later place never allows a
match that the earliest one does not; with single-line variables a literal
holding a newline has only one reachable place), so the regex costs about
O(body x template) even on a mismatch. ``explain`` replays the same walk to
say where a body first departs from its template, naming template text only,
never the body (the body is personal data).

Each variable run is also a capture group, so :meth:`CompiledTemplate.values`
gives the value of every variable that stands alone between two literals (two
adjacent variables cannot be told apart: their values must come from the
message's ``extras.variables``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["VARIABLE", "CompiledTemplate", "Mismatch", "compile_text", "normalise_newlines", "variables_in"]

VARIABLE = re.compile(r"#\{([^{}\r\n]+)\}")


def normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def variables_in(text: str | None) -> list[str]:
    """The variable names of a template text, in order, with repeats."""
    return VARIABLE.findall(text) if text else []


@dataclass(frozen=True, slots=True)
class _Unit:
    """A run of ``count`` adjacent variables followed by ``literal`` (maybe empty at the end)."""

    names: tuple[str, ...]
    literal: str


@dataclass(frozen=True, slots=True)
class Mismatch:
    position: int  # 0-based offset in the body
    line: int  # 1-based
    column: int  # 1-based
    expected: str  # what the template wanted there, described from template text

    def describe(self) -> str:
        return f"line {self.line}, column {self.column}: expected {self.expected}"


@dataclass(frozen=True, slots=True)
class CompiledTemplate:
    text: str
    pattern: re.Pattern[str]
    head: str
    units: tuple[_Unit, ...]
    multiline: bool

    def matches(self, body: str) -> bool:
        return self.pattern.match(normalise_newlines(body)) is not None

    def values(self, body: str) -> dict[str, str] | None:
        """The values of the variables that stand alone between literals; None when ``body`` does not match."""
        found = self.pattern.match(normalise_newlines(body))
        if found is None:
            return None
        values: dict[str, str] = {}
        for index, unit in enumerate(self.units, start=1):
            if len(unit.names) == 1:
                values.setdefault(unit.names[0], found.group(index))
        return values

    def explain(self, body: str) -> Mismatch | None:
        """Where ``body`` first departs from the template; None when it matches."""
        text = normalise_newlines(body)
        if self.pattern.match(text) is not None:
            return None
        if not text.startswith(self.head):
            at = _common_prefix(text, self.head)
            return _mismatch(text, at, _quote(self.head[at:]))
        pos = len(self.head)
        same_line = "" if self.multiline else " on the same line"
        for i, unit in enumerate(self.units):
            var = "#{" + unit.names[0] + "}"
            need = len(unit.names)
            room = self._room(text, pos)
            if room < need:
                return _mismatch(text, pos, f"text for {var}")
            if i < len(self.units) - 1:
                found = text.find(unit.literal, pos + need, pos + room + len(unit.literal))
                if found < 0:
                    at = _furthest(text, unit.literal, pos + need, pos + room)
                    return _mismatch(text, max(at, pos), f"{_quote(unit.literal)} after {var}{same_line}")
                pos = found + len(unit.literal)
                continue
            if not unit.literal:
                return _mismatch(text, pos + room, f"end of text after {var}")
            tail = len(text) - len(unit.literal)
            if text.endswith(unit.literal) and tail >= pos + need:
                return _mismatch(text, pos + room, f"no line break inside {var} (values are single-line)")
            same = _common_suffix(text, unit.literal)
            at = max(pos + need, len(text) - same - 1)
            return _mismatch(text, at, f"text ending with {_quote(unit.literal)} after {var}")
        return _mismatch(text, pos, "end of text")

    def _room(self, text: str, pos: int) -> int:
        """How many characters a variable starting at ``pos`` may take."""
        if self.multiline:
            return len(text) - pos
        nl = text.find("\n", pos)
        return (nl if nl >= 0 else len(text)) - pos


def _common_prefix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def _prefix_len(text: str, start: int, literal: str) -> int:
    """Length of the common prefix of text[start:] and literal (binary search on C slices)."""
    lo, hi = 0, min(len(literal), len(text) - start)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if text[start : start + mid] == literal[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _furthest(text: str, literal: str, first: int, last: int, limit: int = 256) -> int:
    """Where an attempt to place ``literal`` at first..last gets furthest before differing."""
    best = first
    tried = 0
    p = text.find(literal[0], first, last + 1)
    while p >= 0 and tried < limit:
        best = max(best, p + _prefix_len(text, p, literal))
        tried += 1
        p = text.find(literal[0], p + 1, last + 1)
    return best


def _common_suffix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[-1 - i] == b[-1 - i]:
        i += 1
    return i


def _quote(literal: str, limit: int = 30) -> str:
    shown = literal if len(literal) <= limit else literal[:limit] + "..."
    return repr(shown) if shown else "end of text"


def _mismatch(text: str, position: int, expected: str) -> Mismatch:
    position = max(0, min(position, len(text)))
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    return Mismatch(position, line, column, expected)


def compile_text(text: str, *, multiline: bool = False) -> CompiledTemplate:
    """Compile a template text into an anchored, atomic, capturing regular expression."""
    body = normalise_newlines(text)
    pieces = VARIABLE.split(body)  # literal, name, literal, name, ..., literal
    head = pieces[0]
    units: list[_Unit] = []
    names: list[str] = []
    for i in range(1, len(pieces), 2):
        name, literal = pieces[i], pieces[i + 1]
        names.append(name)
        if literal or i + 2 >= len(pieces):
            units.append(_Unit(tuple(names), literal))
            names = []
    char = "." if multiline else "[^\\n]"
    parts = ["\\A", re.escape(head)]
    for n, unit in enumerate(units):
        count = len(unit.names)
        if n == len(units) - 1:
            parts.append(f"({char}{{{count},}}){re.escape(unit.literal)}")
        else:
            parts.append(f"(?>({char}{{{count},}}?){re.escape(unit.literal)})")
    parts.append("\\Z")
    flags = re.DOTALL if multiline else 0
    return CompiledTemplate(text, re.compile("".join(parts), flags), head, tuple(units), multiline)
