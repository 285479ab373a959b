"""Checking one message before it may join a batch (pure: no I/O, no clock).

Every refusal here is final at once and no request is made:

* ``alimtalk_wrong_channel``: the message is not for the alimtalk channel;
* ``alimtalk_advertising``: Alimtalk carries informational messages only (the
  policy layer checks too; this is defence in depth);
* ``alimtalk_no_template_code`` / ``alimtalk_bad_buttons`` / ``alimtalk_bad_fallback``:
  the extras are unusable;
* ``alimtalk_body_too_long``: over ``max_body_chars`` (1,000) characters;
* template problems (:mod:`gateway.kakao.templates`): unknown template, not
  approved, body or buttons not matching. These are FAILED, carrying the
  message's fallback (:mod:`gateway.kakao.fallback`) when
  ``fallback_on_template_error`` is set in gateway fallback mode.

Message extras used: ``template_code`` (required), ``buttons`` (optional list;
the template's registered buttons are sent when absent), ``fallback``
(``{"text", "sender", "type": "SMS"|"LMS", "title"}``, read here only in
provider fallback mode, where it becomes NHN's ``resendParameter``).
Everything else in the extras is left alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.kakao.config import KakaoConnectorConfig
from gateway.kakao.fallback import fallback_for, fallback_problem, parse_fallback
from gateway.kakao.provider import RecipientRequest, Resend
from gateway.kakao.templates import TemplateRegistry, normalise_newlines
from gateway.port import Fallback, OutboundMessage, Outcome, SendResult

__all__ = ["Prepared", "grouping_key", "prepare", "recipient_no"]

_TEMPLATE_SLUGS = frozenset(
    {
        "alimtalk_template_unknown",
        "alimtalk_template_not_approved",
        "alimtalk_template_mismatch",
        "alimtalk_buttons_mismatch",
    }
)


@dataclass(frozen=True, slots=True)
class Prepared:
    message: OutboundMessage
    sender_key: str
    template_code: str
    request: RecipientRequest


def recipient_no(recipient: str) -> str:
    """NHN wants domestic numbers: +8210... -> 010...; other countries keep their digits."""
    digits = "".join(ch for ch in recipient if ch.isdigit())
    if recipient.startswith("+82"):
        return "0" + digits[2:]
    return digits


def grouping_key(message: OutboundMessage) -> str:
    """The message's idempotency key when it fits NHN's 100 characters, else ``gw-{id}``."""
    key = message.idempotency_key
    if key and len(key) <= 100:
        return key
    return f"gw-{message.id}"


def _failed(message: OutboundMessage, reason: str, *, slug: str, fallback: Fallback | None = None) -> SendResult:
    return SendResult(message.id, Outcome.FAILED, reason=reason, detail={"reason_code": slug}, fallback=fallback)


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
    body = normalise_newlines(message.body)
    if len(body) > config.max_body_chars:
        return _failed(
            message,
            f"alimtalk_body_too_long: {len(body)} characters, the limit is {config.max_body_chars}"
            f" (template {template_code!r})",
            slug="alimtalk_body_too_long",
        )
    problem = registry.check(message.sender, template_code, body, buttons)
    if problem is not None:
        fallback = None
        if problem.slug in _TEMPLATE_SLUGS and config.fallback_on_template_error and config.fallback_mode == "gateway":
            fallback = fallback_for(message)
        return _failed(message, problem.reason, slug=problem.slug, fallback=fallback)
    if buttons is None:
        compiled = registry.get(message.sender, template_code)
        buttons = list(compiled.template.buttons) if compiled is not None else []
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
        content=body,
        buttons=tuple(buttons),
        resend=resend,
        grouping_key=grouping_key(message),
    )
    return Prepared(message, message.sender, template_code, request)


def _resend(raw: Any) -> Resend | None:
    parsed = parse_fallback(raw)
    if parsed is None:
        return None
    kind, text, sender, title = parsed
    return Resend(kind, text, sender, title if kind == "LMS" else None)
