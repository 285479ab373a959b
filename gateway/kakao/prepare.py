"""Checking one message before it may join a batch (pure: no I/O, no clock).

Every refusal here is final at once and no request is made:

* ``alimtalk_wrong_channel``: the message is not for the alimtalk channel;
* ``alimtalk_advertising``: Alimtalk carries informational messages only (the
  policy layer checks too; this is defence in depth);
* ``alimtalk_no_template_code`` / ``alimtalk_bad_buttons`` / ``alimtalk_bad_variables``
  / ``alimtalk_bad_fallback``: the extras are unusable;
* ``alimtalk_body_too_long``: over ``max_body_chars`` (1,300; 700 with an item list);
* template problems (:mod:`gateway.kakao.templates`): unknown template, not
  approved, body or buttons not matching, a variable without a value, one of
  Kakao's rules broken (:mod:`gateway.kakao.rules`). These are FAILED, carrying
  the message's fallback (:mod:`gateway.kakao.fallback`) when
  ``fallback_on_template_error`` is set in gateway fallback mode.

Message extras used: ``template_code`` (required), ``variables`` (optional
``{name: value}`` for the variables of the title, header, item list, highlight and
links that the body does not give), ``buttons`` (optional list; the template's
buttons, with their link variables filled, are sent when absent), ``fallback``
(``{"text", "sender", "type": "SMS"|"LMS", "title"}``, read here only in
provider fallback mode, where it becomes NHN's ``resendParameter``).
Everything else in the extras is left alone.

Each recipient carries ``recipientGroupingKey = "gw-{message id}"``: the
message's own id, how NHN's records are matched back to it (list queries,
the console), stable across every attempt.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.kakao.config import KakaoConnectorConfig
from gateway.kakao.fallback import fallback_for, fallback_problem, parse_fallback
from gateway.kakao.provider import RecipientRequest, Resend
from gateway.kakao.templates import TemplateProblem, TemplateRegistry, normalise_newlines
from gateway.port import Fallback, OutboundMessage, Outcome, SendResult

__all__ = ["Prepared", "grouping_key", "prepare", "recipient_no"]

_TEMPLATE_SLUGS = frozenset(
    {
        "alimtalk_template_unknown",
        "alimtalk_template_not_approved",
        "alimtalk_template_mismatch",
        "alimtalk_buttons_mismatch",
        "alimtalk_variables_mismatch",
        "alimtalk_variable_missing",
        "alimtalk_rules",
    }
)


@dataclass(frozen=True, slots=True)
class Prepared:
    message: OutboundMessage
    sender_key: str
    template_code: str
    request: RecipientRequest
    auth: bool = False  # the template goes through NHN's authentication-message endpoint


def recipient_no(recipient: str) -> str:
    """NHN wants domestic numbers: +8210... -> 010...; other countries keep their digits."""
    digits = "".join(ch for ch in recipient if ch.isdigit())
    if recipient.startswith("+82"):
        return "0" + digits[2:]
    return digits


def grouping_key(message: OutboundMessage) -> str:
    """The ``recipientGroupingKey`` of a message: ``gw-{message id}`` (NHN allows 100 characters)."""
    return f"gw-{message.id}"


def _failed(message: OutboundMessage, text: str, *, slug: str, fallback: Fallback | None = None) -> SendResult:
    """FAILED with reason ``slug`` (a registered reason); ``text`` (after the slug) goes into the detail."""
    detail = text.removeprefix(slug).removeprefix(": ")
    return SendResult(
        message.id, Outcome.FAILED, reason=slug, detail={"detail": detail} if detail else None, fallback=fallback
    )


def prepare(
    message: OutboundMessage, *, config: KakaoConnectorConfig, registry: TemplateRegistry
) -> Prepared | SendResult:
    """A batch-ready recipient, or the final SendResult that refuses the message."""
    if message.channel != "alimtalk":
        return _failed(
            message,
            f"alimtalk_wrong_channel: message is for channel {message.channel!r}",
            slug="alimtalk_wrong_channel",
        )
    if message.kind == "advertising":
        return _failed(message, "alimtalk_advertising", slug="alimtalk_advertising")
    extras: Mapping[str, Any] = message.extras or {}
    template_code = extras.get("template_code")
    if not isinstance(template_code, str) or not template_code.strip():
        return _failed(
            message,
            "alimtalk_no_template_code: extras.template_code is missing or empty",
            slug="alimtalk_no_template_code",
        )
    buttons = extras.get("buttons")
    if buttons is not None and (not isinstance(buttons, list) or not all(isinstance(b, dict) for b in buttons)):
        return _failed(
            message, "alimtalk_bad_buttons: extras.buttons must be a list of objects", slug="alimtalk_bad_buttons"
        )
    variables = extras.get("variables")
    if variables is not None and (
        not isinstance(variables, dict)
        or not all(isinstance(k, str) and isinstance(v, (str, int, float)) for k, v in variables.items())
    ):
        return _failed(
            message,
            "alimtalk_bad_variables: extras.variables must map names to text",
            slug="alimtalk_bad_variables",
        )
    body = normalise_newlines(message.body)
    if len(body) > config.max_body_chars:
        return _failed(
            message,
            f"alimtalk_body_too_long: {len(body)} characters, the limit is {config.max_body_chars}"
            f" (template {template_code!r})",
            slug="alimtalk_body_too_long",
        )
    rendered = registry.render(message.sender, template_code, body, buttons, variables)
    if isinstance(rendered, TemplateProblem):
        fallback = None
        if rendered.slug in _TEMPLATE_SLUGS and config.fallback_on_template_error and config.fallback_mode == "gateway":
            fallback = fallback_for(message)
        return _failed(message, rendered.reason, slug=rendered.slug, fallback=fallback)
    resend = None
    if extras.get("fallback") is not None:  # refused in every fallback mode, with what is wrong
        provider = config.fallback_mode == "provider"
        bad_fallback = fallback_problem(extras["fallback"], encodable=provider)
        if bad_fallback is not None:
            return _failed(message, f"alimtalk_bad_fallback: {bad_fallback}", slug="alimtalk_bad_fallback")
        if provider:
            resend = _resend(extras["fallback"])
    request = RecipientRequest(
        message_id=message.id,
        recipient_no=recipient_no(message.recipient),
        content=rendered.body,
        buttons=rendered.buttons,
        resend=resend,
        grouping_key=grouping_key(message),
        title=rendered.title,
        header=rendered.header,
        item=rendered.item,
        highlight=rendered.highlight,
        represent_link=rendered.represent_link,
        quick_replies=rendered.quick_replies,
    )
    return Prepared(message, message.sender, template_code, request, auth=rendered.template.auth)


def _resend(raw: Any) -> Resend | None:
    parsed = parse_fallback(raw)
    if parsed is None:
        return None
    kind, text, sender, title = parsed
    return Resend(kind, text, sender, title if kind == "LMS" else None)
