"""Every documented NHN Cloud / Kakao result code, and what the gateway does with it.

Two code spaces share this table, and they do not overlap:

* NHN API codes (``0``, ``4`` and negative numbers) come back synchronously,
  in ``header.resultCode`` and ``message.sendResults[].resultCode`` of a send
  (source: NHN Cloud, KakaoTalk Bizmessage, "Error Codes", API response codes);
* Kakao delivery codes (four digits, ``1000`` = delivered) come back later, in
  ``resultCode`` of the message query and of the result webhook (source: the
  Kakao Bizmessage result codes that NHN passes through).

The classifier does not care where a code came from: a relay that answers a
delivery code synchronously gets the same treatment. What each class means:

=========  ===================================  =====================================
class      synchronous outcome (SendResult)     receipt (Receipt)
=========  ===================================  =====================================
SUCCESS    SUBMITTED                            DELIVERED
RETRY      RETRY (transient, engine backs off)  FAILED, fallback asked
THROTTLE   THROTTLED (daily volume, ...)        FAILED, fallback asked
ACCOUNT    RETRY after a long pause (our keys   FAILED, fallback asked
           or contract are wrong; the message
           is not at fault, so it is kept)
PERMANENT  FAILED                               FAILED / UNDELIVERABLE, no fallback
FALLBACK   FALLBACK (gateway mode) /            UNDELIVERABLE, fallback asked
           FAILED (provider mode)
TEMPLATE   FAILED, or FALLBACK when             FAILED, fallback asked only when
           ``fallback_on_template_error``       ``fallback_on_template_error``
AMBIGUOUS  UNKNOWN (it may have gone out)       UNKNOWN, no fallback (a duplicate risk)
=========  ===================================  =====================================

At the receipt stage nothing can be retried as Alimtalk any more, so every
failure that is not the message's own fault asks for the SMS fallback. In
``fallback_mode = "provider"`` NHN resends by itself and no fallback is asked.
Unknown codes are treated as PERMANENT (never a silent retry loop) and keep
their code and message on the event.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from gateway.port import Outcome, ReceiptState

__all__ = ["CODES", "CodeClass", "CodeInfo", "classify_code", "receipt_outcome", "send_outcome"]


class CodeClass(enum.Enum):
    SUCCESS = "success"
    RETRY = "retry"
    THROTTLE = "throttle"
    ACCOUNT = "account"
    PERMANENT = "permanent"
    FALLBACK = "fallback"
    TEMPLATE = "template"
    AMBIGUOUS = "ambiguous"


@dataclass(frozen=True, slots=True)
class CodeInfo:
    code: str
    cls: CodeClass
    slug: str  # short machine name, used in reasons: "alimtalk_<slug>"
    description: str
    state: ReceiptState | None = None  # receipt state when it differs from the class default


S, R, T, A, P, F, TPL, AMB = (
    CodeClass.SUCCESS,
    CodeClass.RETRY,
    CodeClass.THROTTLE,
    CodeClass.ACCOUNT,
    CodeClass.PERMANENT,
    CodeClass.FALLBACK,
    CodeClass.TEMPLATE,
    CodeClass.AMBIGUOUS,
)
U = ReceiptState.UNDELIVERABLE

# fmt: off
_TABLE: tuple[tuple[str, CodeClass, str, str] | tuple[str, CodeClass, str, str, ReceiptState], ...] = (
    # ---- NHN API response codes (synchronous)
    ("0",     S,   "accepted",                 "success"),
    ("4",     P,   "invalid_parameter",        "parameter validation failed (see resultMessage)"),
    ("-1000", A,   "invalid_app_key",          "invalid appkey"),
    ("-1001", A,   "invalid_secret_key",       "invalid secret key"),
    ("-1002", A,   "invalid_sms_app_key",      "invalid SMS appkey (provider resend)"),
    ("-1003", P,   "invalid_resend_sender",    "invalid SMS sender number for the resend"),
    ("-1005", AMB, "idempotency_key_reused",   "X-NC-API-IDEMPOTENCY-KEY reused within 10 minutes: a try was taken"),
    ("-1006", P,   "sender_without_key",       "the sender profile has no sender key"),
    ("-1014", F,   "sender_inactive",          "the sender profile is not activated"),
    ("-1016", P,   "message_not_found",        "message not found"),
    ("-1017", T,   "daily_volume_exceeded",    "daily sending volume exceeded"),
    ("-1019", P,   "invalid_unsubscribe_no",   "invalid 080 opt-out number for the resend"),
    ("-1020", P,   "invalid_uuid",             "invalid UUID"),
    ("-1027", F,   "sender_blocked",           "the sender profile is blocked"),
    ("-1028", TPL, "variable_too_different",   "variables differ by over 14 characters (first-time sender limit)"),
    ("-1030", A,   "identity_not_verified",    "the account has not verified its identity"),
    ("-1031", P,   "all_recipients_failed",    "every recipient of the request failed"),
    ("-2000", P,   "field_too_long",           "a field exceeds its maximum length"),
    ("-2001", P,   "field_blank",              "a required field is blank"),
    ("-2002", P,   "field_null",               "a required field is null"),
    ("-2003", P,   "field_too_small",          "a field is below its minimum"),
    ("-2004", P,   "field_out_of_bounds",      "a field is outside its allowed length"),
    ("-2005", P,   "field_out_of_range",       "a field is outside its allowed range"),
    ("-2017", P,   "sender_not_found",         "the sender profile does not exist"),
    ("-2018", P,   "invalid_button",           "invalid button parameter"),
    ("-2019", P,   "body_too_long",            "template body over 1,000 characters"),
    ("-2025", P,   "schedule_in_past",         "scheduled date is in the past"),
    ("-2026", P,   "schedule_too_far",         "scheduled date is too far ahead"),
    ("-2027", P,   "bad_date_format",          "date format cannot be parsed"),
    ("-2028", P,   "invalid_request_id",       "invalid request ID"),
    ("-2033", TPL, "invalid_template_item",    "invalid template item parameter"),
    ("-2502", P,   "resend_not_configured",    "resend requested but failed-delivery resend is not configured"),
    ("-2999", P,   "all_recipients_failed",    "every recipient of the request failed"),
    ("-3000", P,   "button_link_required",     "button name / mobile link required for this template"),
    ("-3003", TPL, "template_not_found",       "template does not exist"),
    # ---- Kakao delivery result codes (message query, result webhook)
    ("1000",  S,   "delivered",                "delivered"),
    ("1001",  P,   "no_json_body",             "request body is not JSON"),
    ("1002",  A,   "invalid_hub_partner_key",  "invalid hub partner key"),
    ("1003",  P,   "invalid_sender_key",       "invalid sender profile key"),
    ("1004",  P,   "missing_json_element",     "a required element is missing from the request"),
    ("1006",  F,   "sender_deleted",           "the sender profile was deleted"),
    ("1007",  F,   "sender_stopped",           "the sender profile is stopped (blocked)"),
    ("1011",  A,   "contract_not_found",       "no contract found for the sender"),
    ("1012",  P,   "invalid_user_key",         "invalid user key format"),
    ("1013",  P,   "invalid_app_link",         "invalid app link"),
    ("1014",  A,   "invalid_business_number",  "invalid business registration number"),
    ("1015",  F,   "talk_user_not_found",      "the KakaoTalk user id was not found"),
    ("1016",  A,   "business_number_mismatch", "business registration number does not match"),
    ("1021",  F,   "channel_blocked",          "the KakaoTalk channel is blocked"),
    ("1022",  F,   "channel_deactivated",      "the KakaoTalk channel is deactivated"),
    ("1023",  F,   "channel_deleted",          "the KakaoTalk channel was deleted"),
    ("1024",  F,   "channel_deleting",         "the KakaoTalk channel is being deleted"),
    ("1025",  F,   "channel_spam",             "the KakaoTalk channel is blocked for spam"),
    ("1030",  P,   "invalid_parameter",        "invalid parameter"),
    ("3000",  R,   "kakao_unexpected_error",   "unexpected error at Kakao"),
    ("3005",  AMB, "ack_timeout",              "sent, but the receipt was not confirmed"),
    ("3006",  R,   "kakao_send_failed",        "Kakao failed to send (internal error)"),
    ("3008",  P,   "invalid_phone_number",     "invalid phone number", U),
    ("3010",  P,   "json_parse_error",         "JSON parse error"),
    ("3011",  P,   "message_not_found",        "message not found"),
    ("3012",  AMB, "serial_number_duplicated", "duplicate message serial number"),
    ("3013",  P,   "message_empty",            "message is empty"),
    ("3014",  P,   "message_too_long",         "message over the length limit"),
    ("3015",  TPL, "template_not_found",       "template not found at Kakao"),
    ("3016",  TPL, "template_mismatch",        "message does not match its template"),
    ("3018",  F,   "cannot_send",              "the message cannot be sent to this user"),
    ("3019",  F,   "not_kakao_user",           "the recipient is not a KakaoTalk user"),
    ("3020",  F,   "user_blocked_alimtalk",    "the user blocked Alimtalk"),
    ("3021",  F,   "kakao_version_unsupported", "the user's KakaoTalk version does not support Alimtalk"),
    ("3022",  R,   "send_time_unavailable",    "sending is not available at this time"),
    ("3024",  P,   "invalid_image",            "invalid image"),
    ("3025",  TPL, "variable_too_long",        "a variable exceeds its maximum length"),
    ("3026",  P,   "invalid_button_extra",     "invalid button chat extra / event"),
    ("3027",  TPL, "button_mismatch",          "buttons do not match the template"),
    ("3028",  TPL, "title_mismatch",           "emphasis title does not match the template"),
    ("3029",  TPL, "title_too_long",           "emphasis title too long"),
    ("3030",  TPL, "message_type_mismatch",    "message type does not match the template"),
    ("3031",  TPL, "header_mismatch",          "header does not match the template"),
    ("3032",  TPL, "header_too_long",          "header too long"),
    ("3033",  TPL, "highlight_mismatch",       "item highlight does not match the template"),
    ("3034",  TPL, "highlight_title_too_long", "item highlight title too long"),
    ("3035",  TPL, "highlight_desc_too_long",  "item highlight description too long"),
    ("3036",  TPL, "item_list_mismatch",       "item list does not match the template"),
    ("3037",  TPL, "item_desc_too_long",       "item description too long"),
    ("3038",  TPL, "item_summary_mismatch",    "item summary does not match the template"),
    ("3039",  TPL, "item_summary_too_long",    "item summary description too long"),
    ("3040",  TPL, "item_summary_invalid",     "invalid item summary description"),
    ("4000",  AMB, "result_not_found",         "no delivery history for the message"),
    ("4001",  AMB, "unknown_message_status",   "unknown message status"),
    ("9998",  R,   "kakao_unavailable",        "Kakao system is not in service"),
    ("9999",  R,   "kakao_system_error",       "Kakao system error"),
    # ---- gateway-defined: answers that carry no provider code
    ("http_401", A, "http_unauthorized",       "HTTP 401 without a result code"),
    ("http_403", A, "http_forbidden",          "HTTP 403 without a result code"),
    ("CANCEL",   P, "cancelled",               "the request was cancelled at the provider"),
)
# fmt: on

CODES: dict[str, CodeInfo] = {}
for _row in _TABLE:
    _info = CodeInfo(_row[0], _row[1], _row[2], _row[3], _row[4] if len(_row) > 4 else None)
    if _info.code in CODES:
        raise RuntimeError(f"result code {_info.code} is listed twice")
    CODES[_info.code] = _info


def classify_code(code: str | int | None) -> CodeInfo:
    """The table entry for a code; unknown codes are PERMANENT ``unknown_code``."""
    key = "" if code is None else str(code).strip()
    info = CODES.get(key)
    if info is not None:
        return info
    return CodeInfo(key, CodeClass.PERMANENT, "unknown_code", "code not in the documented table")


def send_outcome(info: CodeInfo, *, fallback_mode: str, fallback_on_template_error: bool) -> tuple[Outcome, bool]:
    """The outcome of a synchronous per-recipient code, and whether it asks for the fallback."""
    cls = info.cls
    if cls is CodeClass.SUCCESS:
        return Outcome.SUBMITTED, False
    if cls in (CodeClass.RETRY, CodeClass.ACCOUNT):
        return Outcome.RETRY, False
    if cls is CodeClass.THROTTLE:
        return Outcome.THROTTLED, False
    if cls is CodeClass.AMBIGUOUS:
        return Outcome.UNKNOWN, False
    gateway = fallback_mode == "gateway"
    if cls is CodeClass.FALLBACK:
        return Outcome.FAILED, gateway
    if cls is CodeClass.TEMPLATE:
        return Outcome.FAILED, gateway and fallback_on_template_error
    return Outcome.FAILED, False


def receipt_outcome(
    info: CodeInfo, *, fallback_mode: str, fallback_on_template_error: bool
) -> tuple[ReceiptState, bool]:
    """The receipt state of a final delivery code, and whether the engine should fall back."""
    cls = info.cls
    if cls is CodeClass.SUCCESS:
        return ReceiptState.DELIVERED, False
    if cls is CodeClass.AMBIGUOUS:
        return ReceiptState.UNKNOWN, False
    gateway = fallback_mode == "gateway"
    if cls is CodeClass.FALLBACK:
        return info.state or ReceiptState.UNDELIVERABLE, gateway
    if cls is CodeClass.PERMANENT:
        return info.state or ReceiptState.FAILED, False
    if cls is CodeClass.TEMPLATE:
        return info.state or ReceiptState.FAILED, gateway and fallback_on_template_error
    # RETRY, THROTTLE, ACCOUNT: Kakao could not deliver it, and it is not the message's fault
    return info.state or ReceiptState.FAILED, gateway
