"""Alimtalk templates: the model, matching a message against it, rendering what the raw send needs.

A :class:`Template` is what Kakao approved for one sender profile: the body and
everything around it (message type, emphasis, title, subtitle, header, item
list, highlight, image, representative link, buttons, quick replies). NHN's
raw send wants every text of the message *substituted* and equal to the
approved template ("본문과 버튼에 치환이 완성된 데이터를 넣어주세요"; -3010 body,
-3011 buttons, -3042 header, -3043 item list / highlight, -3046 representative link).

The upstream service gives the rendered body; the other texts are rendered
here from the template with the message's variables: the values captured from
the body (every variable that stands alone between literals) and
``extras.variables`` (which must agree with the body where both give one).
A variable that has no value, a link that still holds ``#{...}`` after
substitution, or any of Kakao's rules (:mod:`gateway.kakao.rules`) broken
refuses the message before any request.

Matching itself is :mod:`gateway.kakao.matching`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from gateway.kakao.matching import VARIABLE, CompiledTemplate, compile_text, normalise_newlines, variables_in
from gateway.kakao.rules import AUTH_WORDS, LINK_FIELDS, body_limit, has_auth_word, rendered_problems

__all__ = [
    "APPROVED",
    "TEMPLATE_STATUSES",
    "CompiledTemplate",
    "Rendered",
    "Template",
    "TemplateProblem",
    "TemplateRegistry",
    "compile_template",
    "normalise_newlines",
]

APPROVED = "approved"
TEMPLATE_STATUSES = ("approved", "requested", "reviewing", "rejected", "suspended")
NHN_STATUS = {"TSC01": "requested", "TSC02": "reviewing", "TSC03": "approved", "TSC04": "rejected"}


@dataclass(frozen=True, slots=True)
class Template:
    """One registered template of one sender profile (immutable).

    ``buttons``, ``quick_replies``, ``item`` (``{"list": [{"title", "description"}],
    "summary": {...}}``), ``highlight`` (``{"title", "description", "imageUrl"}``)
    and ``represent_link`` are in NHN's own JSON shape. ``auth`` sends through
    NHN's authentication-message endpoint (``/auth/raw-messages``).
    """

    sender_key: str
    template_code: str
    body: str
    buttons: tuple[Mapping[str, Any], ...] = ()
    status: str = APPROVED
    name: str = ""
    message_type: str = "BA"
    emphasis: str = "NONE"
    title: str | None = None
    subtitle: str | None = None
    header: str | None = None
    extra: str | None = None
    ad: str | None = None
    item: Mapping[str, Any] | None = None
    highlight: Mapping[str, Any] | None = None
    represent_link: Mapping[str, Any] | None = None
    image_name: str | None = None
    image_url: str | None = None
    quick_replies: tuple[Mapping[str, Any], ...] = ()
    auth: bool = False
    security: bool = False

    @property
    def variables(self) -> tuple[str, ...]:
        return tuple(variables_in(self.body))

    def as_json(self) -> dict[str, Any]:
        """Everything but the key, status and body, as stored in ``gateway.kakao_templates.spec``."""
        return {
            "name": self.name,
            "message_type": self.message_type,
            "emphasis": self.emphasis,
            "title": self.title,
            "subtitle": self.subtitle,
            "header": self.header,
            "extra": self.extra,
            "ad": self.ad,
            "item": dict(self.item) if self.item else None,
            "highlight": dict(self.highlight) if self.highlight else None,
            "represent_link": dict(self.represent_link) if self.represent_link else None,
            "image_name": self.image_name,
            "image_url": self.image_url,
            "quick_replies": [dict(q) for q in self.quick_replies],
            "auth": self.auth,
            "security": self.security,
        }


def compile_template(template: Template, *, multiline: bool = False) -> CompiledTemplate:
    """Compile a template's body (see :mod:`gateway.kakao.matching`)."""
    return compile_text(template.body, multiline=multiline)


@dataclass(frozen=True, slots=True)
class TemplateProblem:
    """Why a message cannot go out under its template. ``reason`` names template and problem."""

    slug: str  # alimtalk_template_unknown | _not_approved | _mismatch | alimtalk_buttons_mismatch | ...
    reason: str


@dataclass(frozen=True, slots=True)
class Rendered:
    """The substituted fields of one message, as the raw send wants them."""

    template: Template
    body: str
    title: str | None = None
    header: str | None = None
    item: Mapping[str, Any] | None = None
    highlight: Mapping[str, Any] | None = None
    represent_link: Mapping[str, Any] | None = None
    buttons: tuple[Mapping[str, Any], ...] = ()
    quick_replies: tuple[Mapping[str, Any], ...] = ()


class _Substitution:
    """Replaces ``#{name}`` with values, remembering the names that had none."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = values
        self.missing: list[str] = []

    def text(self, text: Any) -> Any:
        if not isinstance(text, str) or "#{" not in text:
            return text
        return VARIABLE.sub(self._one, text)

    def _one(self, match: Any) -> str:
        name = match.group(1)
        value = self.values.get(name)
        if value is None:
            if name not in self.missing:
                self.missing.append(name)
            return match.group(0)
        return value

    def mapping(self, item: Mapping[str, Any] | None, keys: Iterable[str]) -> dict[str, Any] | None:
        if not item:
            return None
        wanted = set(keys)
        return {k: self.text(v) if k in wanted else v for k, v in item.items()}

    def item(self, item: Mapping[str, Any] | None) -> dict[str, Any] | None:
        if not item:
            return None
        out: dict[str, Any] = {}
        entries = item.get("list")
        if entries:
            out["list"] = [self.mapping(e, ("title", "description")) for e in entries if isinstance(e, Mapping)]
        if isinstance(item.get("summary"), Mapping):
            out["summary"] = self.mapping(item["summary"], ("title", "description"))
        return out


@dataclass(frozen=True, slots=True)
class _Entry:
    template: Template
    compiled: CompiledTemplate
    # When no text but the body holds a variable, every message sends the template's own
    # fields: they are rendered and checked once, here (None: rendered per message).
    static: Rendered | None
    static_problems: tuple[str, ...]


def _entry(template: Template, *, multiline: bool, max_body_chars: int) -> _Entry:
    compiled = compile_template(template, multiline=multiline)
    t = template
    fields = (t.title, t.header, t.item, t.highlight, t.represent_link, t.buttons, t.quick_replies)
    if any("#{" in str(value) for value in fields if value):
        return _Entry(template, compiled, None, ())
    static = Rendered(
        template=template,
        body="",
        title=template.title,
        header=template.header,
        item=template.item,
        highlight=template.highlight,
        represent_link=template.represent_link,
        buttons=template.buttons,
        quick_replies=template.quick_replies,
    )
    problems = rendered_problems(
        body="",
        title=static.title,
        header=static.header,
        item=static.item,
        highlight=static.highlight,
        represent_link=static.represent_link,
        buttons=static.buttons,
        quick_replies=static.quick_replies,
        max_body_chars=max_body_chars,
    )
    return _Entry(template, compiled, static, tuple(problems))


@dataclass(slots=True)
class TemplateRegistry:
    """The templates a connector knows, compiled, keyed by (sender_key, template_code)."""

    multiline: bool = False
    max_body_chars: int = 1300
    _compiled: dict[tuple[str, str], _Entry] = field(default_factory=dict)

    @classmethod
    def build(
        cls, templates: Iterable[Template], *, multiline: bool = False, max_body_chars: int = 1300
    ) -> TemplateRegistry:
        registry = cls(multiline=multiline, max_body_chars=max_body_chars)
        for t in templates:
            registry._compiled[(t.sender_key, t.template_code)] = _entry(
                t, multiline=multiline, max_body_chars=max_body_chars
            )
        return registry

    def __len__(self) -> int:
        return len(self._compiled)

    def get(self, sender_key: str, template_code: str) -> Template | None:
        entry = self._compiled.get((sender_key, template_code))
        return entry.template if entry else None

    def check(
        self,
        sender_key: str,
        template_code: str,
        body: str,
        buttons: Sequence[Mapping[str, Any]] | None = None,
        variables: Mapping[str, Any] | None = None,
    ) -> TemplateProblem | None:
        """None when the message may go out under the template."""
        found = self.render(sender_key, template_code, body, buttons, variables)
        return found if isinstance(found, TemplateProblem) else None

    def render(
        self,
        sender_key: str,
        template_code: str,
        body: str,
        buttons: Sequence[Mapping[str, Any]] | None = None,
        variables: Mapping[str, Any] | None = None,
    ) -> TemplateProblem | Rendered:
        """The raw-send fields of a message, or why it cannot go out."""
        name = f"template {template_code!r} of sender {sender_key!r}"
        entry = self._compiled.get((sender_key, template_code))
        if entry is None:
            return TemplateProblem("alimtalk_template_unknown", f"alimtalk_template_unknown: {name} is not registered")
        template, compiled = entry.template, entry.compiled
        if template.status != APPROVED:
            return TemplateProblem(
                "alimtalk_template_not_approved",
                f"alimtalk_template_not_approved: {name} has status {template.status!r}",
            )
        text = normalise_newlines(body)
        captured = compiled.values(text)
        if captured is None:
            mismatch = compiled.explain(text)
            where = mismatch.describe() if mismatch is not None else "the end"
            return TemplateProblem(
                "alimtalk_template_mismatch", f"alimtalk_template_mismatch: body does not match {name} at {where}"
            )
        values = dict(captured)
        for key, given in (variables or {}).items():
            value = str(given)
            if key in captured and captured[key] != value:
                return TemplateProblem(
                    "alimtalk_variables_mismatch",
                    f"alimtalk_variables_mismatch: extras.variables[{key!r}] differs from the body ({name})",
                )
            values[key] = value
        if entry.static is not None and buttons is None:  # nothing to fill in but the body
            problems = [*entry.static_problems, *_body_problems(text, template, self.max_body_chars)]
            if problems:
                return TemplateProblem("alimtalk_rules", f"alimtalk_rules: {name}: {'; '.join(problems)}")
            s = entry.static
            return Rendered(
                template, text, s.title, s.header, s.item, s.highlight, s.represent_link, s.buttons, s.quick_replies
            )
        sub = _Substitution(values)
        given = buttons if buttons is not None else template.buttons
        if buttons is not None:
            problem = _buttons_problem(template.buttons, [sub.mapping(b, LINK_FIELDS) or {} for b in buttons])
            if problem:
                return TemplateProblem("alimtalk_buttons_mismatch", f"alimtalk_buttons_mismatch: {name}: {problem}")
        rendered = Rendered(
            template=template,
            body=text,
            title=sub.text(template.title),
            header=sub.text(template.header),
            item=sub.item(template.item),
            highlight=sub.mapping(template.highlight, ("title", "description")),
            represent_link=sub.mapping(template.represent_link, LINK_FIELDS),
            buttons=tuple(sub.mapping(b, LINK_FIELDS) or {} for b in given),
            quick_replies=tuple(sub.mapping(q, LINK_FIELDS) or {} for q in template.quick_replies),
        )
        if sub.missing:
            return TemplateProblem(
                "alimtalk_variable_missing",
                f"alimtalk_variable_missing: no value for {', '.join('#{' + m + '}' for m in sub.missing)}"
                f" ({name}; give it in extras.variables)",
            )
        problems = rendered_problems(
            body=text,
            title=rendered.title,
            header=rendered.header,
            item=rendered.item,
            highlight=rendered.highlight,
            represent_link=rendered.represent_link,
            buttons=rendered.buttons,
            quick_replies=rendered.quick_replies,
            max_body_chars=self.max_body_chars,
            auth=template.auth,
        )
        if problems:
            return TemplateProblem("alimtalk_rules", f"alimtalk_rules: {name}: {'; '.join(problems)}")
        return rendered


def _body_problems(body: str, template: Template, max_body_chars: int) -> list[str]:
    """The rules about the body alone (the other fields were checked once, in ``_entry``)."""
    problems = []
    limit = body_limit(bool(template.item), max_body_chars)
    if len(body) > limit:
        problems.append(f"the body has {len(body)} characters, at most {limit}")
    if template.auth and not has_auth_word(body):
        problems.append("an authentication message must contain one of: " + ", ".join(AUTH_WORDS))
    return problems


@lru_cache(maxsize=4096)
def _link_pattern(link: str) -> CompiledTemplate:
    return compile_text(link)


def _buttons_problem(registered: Sequence[Mapping[str, Any]], given: Sequence[Mapping[str, Any]]) -> str | None:
    """Buttons given with a message must repeat the template's: same count, types and names, in order,
    and links that are the template's links with their variables filled in."""
    if not registered:
        return None  # nothing registered to compare with: Kakao has the last word
    if len(given) != len(registered):
        return f"{len(given)} button(s) given, the template has {len(registered)}"
    for i, (want, got) in enumerate(zip(registered, given, strict=True), start=1):
        for key in ("type", "name"):
            if key in want and want.get(key) != got.get(key):
                return f"button {i} {key} differs from the template ({want.get(key)!r})"
        for key in LINK_FIELDS:
            link = want.get(key)
            if isinstance(link, str) and link and not _link_pattern(link).matches(str(got.get(key) or "")):
                return f"button {i} {key} is not the template's link {link!r} with its variables filled in"
    return None
