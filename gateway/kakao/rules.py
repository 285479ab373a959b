"""Kakao's rules for Alimtalk templates and messages, checked before any request (pure).

Every limit is NHN's, as documented in TOAST-DOCS/Alimtalk at ``8dc8f5c5``
(``ko/alimtalk-api-guide.md`` § 메시지 전문 발송 요청 and § 템플릿 등록,
``ko/alimtalk-overview.md``, ``ko/alimtalk-console-guide.md``, ``ko/error-code.md``):

* body (``templateContent`` / ``content``): at most **1,300** characters (raised from
  1,000 on 2025-10-28; -2019), **700** with an item list (-2037);
* at most **40 variables** per template (overview § 알림톡 템플릿 내 변수 제한 개수;
  counted here over every text of the template, repeats included);
* buttons: at most **5**, types ``WL AL DS BK MD BC BT AC BF P1 P2 P3 TN``, a name
  of at most 14 characters without variables (-3008); ``WL`` needs ``linkMo``,
  ``AL`` needs ``schemeIos`` and ``schemeAndroid``; web links start with
  ``http://`` or ``https://`` (-3006); links at most 500 characters;
  the channel-add button ``AC`` is named "채널 추가" (-3026) and stands **first**
  ("단독 사용 또는 가장 상단", -3025; console: "첫번째 버튼으로만 사용 가능") — the
  documents allow no other place; ``AD``/``MI`` templates must have one (-3050);
  ``BF`` stands first (-3044); ``TN`` is named 전화 연결 / 고객센터 연결 / 상담원
  연결 (-3051) and has a ``telNumber`` of digits and hyphens, at most 14 (-3052, -3053);
* quick replies: at most **10** (console guide; the send API's table says 5), types
  ``WL AL BK BC BT BF``, name at most 14; with quick replies at most 2 buttons (-2505);
* template code at most 20 characters of letters, digits, ``-`` and ``_``; name at
  most 150; sender key at most 40;
* message types ``BA EX AD MI`` (``EX``/``MI`` need ``templateExtra``); emphasis
  ``NONE TEXT IMAGE ITEM_LIST`` (``TEXT`` needs a title and a subtitle, ``IMAGE``
  an image); title and subtitle at most 50, header at most 16;
* item list 2 to 10 items (title at most 6, description at most 23), summary
  title at most 6 and description at most 14; highlight title at most 30 (21
  with a thumbnail), description at most 19 (13 with a thumbnail);
* an authentication (OTP) message contains one of ``auth, password, verif,
  にんしょう, 認証, 비밀번호, 인증`` (case-insensitive for English; -8006).

:func:`template_problems` checks a template as registered (variables still in
place); :func:`rendered_problems` checks what a message would send.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "AUTH_WORDS",
    "BUTTON_TYPES",
    "EMPHASIS_TYPES",
    "LIMITS",
    "MESSAGE_TYPES",
    "QUICK_REPLY_TYPES",
    "body_limit",
    "has_auth_word",
    "rendered_problems",
    "template_problems",
]

BUTTON_TYPES = ("WL", "AL", "DS", "BK", "MD", "BC", "BT", "AC", "BF", "P1", "P2", "P3", "TN")
QUICK_REPLY_TYPES = ("WL", "AL", "BK", "BC", "BT", "BF")
MESSAGE_TYPES = ("BA", "EX", "AD", "MI")
EMPHASIS_TYPES = ("NONE", "TEXT", "IMAGE", "ITEM_LIST")
TN_NAMES = ("전화 연결", "고객센터 연결", "상담원 연결")
CHANNEL_ADD_NAME = "채널 추가"
AUTH_WORDS = ("auth", "password", "verif", "にんしょう", "認証", "비밀번호", "인증")
LINK_FIELDS = ("linkMo", "linkPc", "schemeIos", "schemeAndroid")

LIMITS = {
    "body": 1300,
    "body_with_item_list": 700,
    "variables": 40,
    "buttons": 5,
    "quick_replies": 10,
    "buttons_with_quick_replies": 2,
    "button_name": 14,
    "link": 500,
    "title": 50,
    "subtitle": 50,
    "header": 16,
    "template_code": 20,
    "template_name": 150,
    "sender_key": 40,
    "item_list_min": 2,
    "item_list_max": 10,
    "item_title": 6,
    "item_description": 23,
    "summary_title": 6,
    "summary_description": 14,
    "highlight_title": 30,
    "highlight_title_with_image": 21,
    "highlight_description": 19,
    "highlight_description_with_image": 13,
    "tel_number": 14,
}

_VARIABLE = re.compile(r"#\{[^{}\r\n]*\}")
_CODE = re.compile(r"^[A-Za-z0-9_-]+$")
_TEL = re.compile(r"^[0-9-]+$")


def has_auth_word(text: str) -> bool:
    """Does the text carry one of NHN's authentication words (-8006)?"""
    lowered = text.lower()
    return any(word in lowered for word in AUTH_WORDS)


def _too_long(problems: list[str], what: str, value: Any, limit: int) -> None:
    if isinstance(value, str) and len(value) > limit:
        problems.append(f"{what} has {len(value)} characters, at most {limit}")


def _is_web(link: str) -> bool:
    return link.startswith(("http://", "https://"))


def _links(problems: list[str], what: str, item: Mapping[str, Any], *, rendered: bool) -> None:
    for key in LINK_FIELDS:
        value = item.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            problems.append(f"{what} {key} must be text")
            continue
        _too_long(problems, f"{what} {key}", value, LIMITS["link"])
        if rendered and "#{" in value:
            problems.append(f"{what} {key} still holds a variable after substitution")
        # a web link must name its scheme; a template may start it with a variable
        if key in ("linkMo", "linkPc") and value and not _is_web(value) and (rendered or not value.startswith("#{")):
            problems.append(f"{what} {key} must start with http:// or https://")


def _buttons(problems: list[str], buttons: Sequence[Mapping[str, Any]], *, rendered: bool) -> None:
    if len(buttons) > LIMITS["buttons"]:
        problems.append(f"{len(buttons)} buttons, at most {LIMITS['buttons']}")
    for index, button in enumerate(buttons, start=1):
        what = f"button {index}"
        kind, name = button.get("type"), button.get("name")
        if kind not in BUTTON_TYPES:
            problems.append(f"{what} has type {kind!r}, not one of {' '.join(BUTTON_TYPES)}")
        if not isinstance(name, str) or not name:
            problems.append(f"{what} needs a name")
        else:
            _too_long(problems, f"{what} name", name, LIMITS["button_name"])
            if _VARIABLE.search(name):
                problems.append(f"{what} name may not hold a variable")
        if kind == "WL" and not button.get("linkMo"):
            problems.append(f"{what} (WL) needs linkMo")
        if kind == "AL" and not (button.get("schemeIos") and button.get("schemeAndroid")):
            problems.append(f"{what} (AL) needs schemeIos and schemeAndroid")
        if kind == "AC":
            if name != CHANNEL_ADD_NAME:
                problems.append(f"{what} (AC) must be named {CHANNEL_ADD_NAME!r}")
            if index != 1:
                problems.append(f"{what} (AC, channel add) must be the first button")
        if kind == "BF" and index != 1:
            problems.append(f"{what} (BF, business form) must be the first button")
        if kind == "TN":
            if name not in TN_NAMES:
                problems.append(f"{what} (TN) must be named one of {', '.join(TN_NAMES)}")
            tel = button.get("telNumber")
            if not isinstance(tel, str) or not _TEL.match(tel) or len(tel) > LIMITS["tel_number"]:
                problems.append(f"{what} (TN) needs a telNumber of digits and hyphens, at most 14")
        _links(problems, what, button, rendered=rendered)


def _quick_replies(problems: list[str], replies: Sequence[Mapping[str, Any]], buttons: int, *, rendered: bool) -> None:
    if not replies:
        return
    if len(replies) > LIMITS["quick_replies"]:
        problems.append(f"{len(replies)} quick replies, at most {LIMITS['quick_replies']}")
    if buttons > LIMITS["buttons_with_quick_replies"]:
        problems.append(f"{buttons} buttons with quick replies, at most {LIMITS['buttons_with_quick_replies']}")
    for index, reply in enumerate(replies, start=1):
        what = f"quick reply {index}"
        if reply.get("type") not in QUICK_REPLY_TYPES:
            problems.append(f"{what} has type {reply.get('type')!r}, not one of {' '.join(QUICK_REPLY_TYPES)}")
        name = reply.get("name")
        if not isinstance(name, str) or not name:
            problems.append(f"{what} needs a name")
        else:
            _too_long(problems, f"{what} name", name, LIMITS["button_name"])
        if reply.get("type") == "WL" and not reply.get("linkMo"):
            problems.append(f"{what} (WL) needs linkMo")
        _links(problems, what, reply, rendered=rendered)


def _item(problems: list[str], item: Mapping[str, Any] | None) -> None:
    if not item:
        return
    entries = item.get("list") or []
    if not isinstance(entries, list) or not LIMITS["item_list_min"] <= len(entries) <= LIMITS["item_list_max"]:
        problems.append(f"the item list needs {LIMITS['item_list_min']} to {LIMITS['item_list_max']} items")
        entries = entries if isinstance(entries, list) else []
    for index, entry in enumerate(entries, start=1):
        if not isinstance(entry, Mapping):
            problems.append(f"item {index} must be an object")
            continue
        _too_long(problems, f"item {index} title", entry.get("title"), LIMITS["item_title"])
        _too_long(problems, f"item {index} description", entry.get("description"), LIMITS["item_description"])
    summary = item.get("summary")
    if isinstance(summary, Mapping):
        _too_long(problems, "item summary title", summary.get("title"), LIMITS["summary_title"])
        _too_long(problems, "item summary description", summary.get("description"), LIMITS["summary_description"])


def _highlight(problems: list[str], highlight: Mapping[str, Any] | None) -> None:
    if not highlight:
        return
    image = bool(highlight.get("imageUrl"))
    title_limit = LIMITS["highlight_title_with_image" if image else "highlight_title"]
    desc_limit = LIMITS["highlight_description_with_image" if image else "highlight_description"]
    _too_long(problems, "highlight title", highlight.get("title"), title_limit)
    _too_long(problems, "highlight description", highlight.get("description"), desc_limit)


def _texts(template: Any) -> Iterable[str | None]:
    yield template.body
    yield template.title
    yield template.subtitle
    yield template.header
    for group in (template.highlight, (template.item or {}).get("summary")):
        if isinstance(group, Mapping):
            yield group.get("title")
            yield group.get("description")
    for entry in (template.item or {}).get("list") or []:
        if isinstance(entry, Mapping):
            yield entry.get("title")
            yield entry.get("description")
    for button in (*template.buttons, *template.quick_replies):
        for key in LINK_FIELDS:
            yield button.get(key)
    if template.represent_link:
        for key in LINK_FIELDS:
            yield template.represent_link.get(key)


def body_limit(item_list: bool, max_body_chars: int = LIMITS["body"]) -> int:
    return min(max_body_chars, LIMITS["body_with_item_list"]) if item_list else max_body_chars


def template_problems(template: Any, *, max_body_chars: int = LIMITS["body"]) -> list[str]:
    """Every rule a registered template breaks (a :class:`gateway.kakao.templates.Template`)."""
    t = template
    problems: list[str] = []
    if not t.template_code or not _CODE.match(t.template_code) or len(t.template_code) > LIMITS["template_code"]:
        problems.append(f"template code must be 1 to {LIMITS['template_code']} letters, digits, '-' or '_'")
    _too_long(problems, "sender key", t.sender_key, LIMITS["sender_key"])
    _too_long(problems, "template name", t.name, LIMITS["template_name"])
    if not t.body:
        problems.append("the body is empty")
    if "#{}" in t.body:
        problems.append("the body has an empty variable #{}")
    limit = body_limit(bool(t.item), max_body_chars)
    if len(t.body) > limit:
        problems.append(f"the body has {len(t.body)} characters, at most {limit}")
    count = sum(len(_VARIABLE.findall(text)) for text in _texts(t) if text)
    if count > LIMITS["variables"]:
        problems.append(f"{count} variables, at most {LIMITS['variables']}")
    if t.message_type not in MESSAGE_TYPES:
        problems.append(f"message type {t.message_type!r} is not one of {' '.join(MESSAGE_TYPES)}")
    if t.message_type in ("EX", "MI") and not t.extra:
        problems.append(f"message type {t.message_type} needs the extra information (templateExtra)")
    if t.message_type in ("AD", "MI") and not any(b.get("type") == "AC" for b in t.buttons):
        problems.append(f"message type {t.message_type} needs a channel-add (AC) button")
    if t.emphasis not in EMPHASIS_TYPES:
        problems.append(f"emphasis {t.emphasis!r} is not one of {' '.join(EMPHASIS_TYPES)}")
    if t.emphasis == "TEXT" and not (t.title and t.subtitle):
        problems.append("emphasis TEXT needs a title and a subtitle")
    if t.emphasis == "IMAGE" and not t.image_url:
        problems.append("emphasis IMAGE needs an image")
    if t.emphasis == "ITEM_LIST" and not (t.item or t.header or t.highlight):
        problems.append("emphasis ITEM_LIST needs an item list, a header or a highlight")
    _too_long(problems, "title", t.title, LIMITS["title"])
    _too_long(problems, "subtitle", t.subtitle, LIMITS["subtitle"])
    _too_long(problems, "header", t.header, LIMITS["header"])
    _item(problems, t.item)
    _highlight(problems, t.highlight)
    _buttons(problems, t.buttons, rendered=False)
    _quick_replies(problems, t.quick_replies, len(t.buttons), rendered=False)
    if t.represent_link:
        _links(problems, "representative link", t.represent_link, rendered=False)
    if t.auth and not has_auth_word(t.body):
        problems.append("an authentication template must contain one of: " + ", ".join(AUTH_WORDS))
    return problems


def rendered_problems(
    *,
    body: str,
    title: str | None,
    header: str | None,
    item: Mapping[str, Any] | None,
    highlight: Mapping[str, Any] | None,
    represent_link: Mapping[str, Any] | None,
    buttons: Sequence[Mapping[str, Any]],
    quick_replies: Sequence[Mapping[str, Any]],
    max_body_chars: int = LIMITS["body"],
    auth: bool = False,
) -> list[str]:
    """Every rule the fields of one message break, after substitution."""
    problems: list[str] = []
    limit = body_limit(bool(item), max_body_chars)
    if len(body) > limit:
        problems.append(f"the body has {len(body)} characters, at most {limit}")
    _too_long(problems, "title", title, LIMITS["title"])
    _too_long(problems, "header", header, LIMITS["header"])
    _item(problems, item)
    _highlight(problems, highlight)
    _buttons(problems, buttons, rendered=True)
    _quick_replies(problems, quick_replies, len(buttons), rendered=True)
    if represent_link:
        _links(problems, "representative link", represent_link, rendered=True)
    if auth and not has_auth_word(body):
        problems.append("an authentication message must contain one of: " + ", ".join(AUTH_WORDS))
    return problems
