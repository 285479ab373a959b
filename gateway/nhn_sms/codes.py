"""Every documented NHN Cloud SMS code, and what the gateway does with it.

Two code spaces (``tests/contract/nhn_sms/codes.json`` holds the sources, the
Korean texts and the reasons for each class; a test checks that this table
agrees with it code for code):

* API codes (``0``, ``4``, negatives; Integers) in ``header.resultCode`` and
  ``sendResultList[].resultCode`` of a send (ko/error-code.md § API 결과 코드);
* delivery codes (``1000`` = delivered; Strings) in ``resultCode`` of queries,
  message-results and the result webhook (§ 수신 결과 코드).

=============  ==========================================  ============================
class          a send answer (SendResult)                  a delivery result (Receipt)
=============  ==========================================  ============================
pending        SUBMITTED (code 0)                          none yet
delivered      -                                           DELIVERED
undeliverable  FAILED (-6001: opted out through 080)       UNDELIVERABLE (1019, 2000: EXPIRED)
failed         FAILED                                      FAILED
retry          RETRY; scope account: after a long pause;   FAILED, ``retryable`` in the detail
               scope quota: THROTTLED, long pause
duplicate      -                                           dropped: NHN's duplicate filter
                                                           refused a resend, the first copy's
                                                           result decides
=============  ==========================================  ============================

**Unknown codes are never permanent** (``_rules.unknown_codes``): an unknown API
code is RETRY, an unknown delivery code an UNKNOWN receipt (final, but a later
result still upgrades it). ``-9999`` and ``-2021`` (NHN system errors) are
*ambiguous*: the request may have been taken, so the connector looks it up
before anything is resent.
"""

# ruff: noqa: E501  (the code table below is data: one documented code per line)
from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["AMBIGUOUS", "API_CODES", "DELIVERY_CODES", "CodeClass", "CodeInfo", "classify_api", "classify_delivery"]


class CodeClass(enum.Enum):
    PENDING = "pending"
    DELIVERED = "delivered"
    UNDELIVERABLE = "undeliverable"
    FAILED = "failed"
    RETRY = "retry"
    DUPLICATE = "duplicate"


@dataclass(frozen=True, slots=True)
class CodeInfo:
    code: str
    cls: CodeClass
    scope: (
        str  # message | recipient | request | account | quota | policy | service | query | not-on-send-path | unknown
    )
    slug: str  # short machine name, used in reasons: "nhn_<slug>"
    description: str  # NHN's English text
    expired: bool = False  # a delivery code that means "expired at the carrier"
    known: bool = True


PENDING, DELIVERED, UNDELIVERABLE, FAILED, RETRY, DUPLICATE = (
    CodeClass.PENDING,
    CodeClass.DELIVERED,
    CodeClass.UNDELIVERABLE,
    CodeClass.FAILED,
    CodeClass.RETRY,
    CodeClass.DUPLICATE,
)

AMBIGUOUS = frozenset({"-9999", "-2021"})

# fmt: off
_API: tuple[tuple[str, CodeClass, str, str, str], ...] = (
    ("0", PENDING, "", "successful", "Successful"),
    ("4", FAILED, "message", "parameter_validation_failed", "Parameter validation failed"),
    ("-1000", RETRY, "account", "invalid_appkey", "Invalid appkey"),
    ("-1001", RETRY, "account", "not_exist_appkey", "Not exist appkey"),
    ("-1002", RETRY, "account", "terminated_appkey", "Terminated appkey"),
    ("-1003", RETRY, "account", "member_not_included_in_the_project", "Member not included in the project"),
    ("-1004", RETRY, "account", "not_allowed_ip", "Not allowed IP"),
    ("-1007", RETRY, "account", "invalid_member", "Invalid member"),
    ("-1008", RETRY, "account", "blocked_project", "Blocked project"),
    ("-9995", RETRY, "request", "invalid_api_version", "Invalid API version"),
    ("-9996", RETRY, "request", "invalid_content_type_only_application_js", "Invalid content type. Only application/JSON"),
    ("-9997", FAILED, "message", "invalid_json_type", "Invalid JSON type"),
    ("-9998", RETRY, "request", "not_exist_api", "Not exist API"),
    ("-9999", RETRY, "service", "system_error", "System error (unexpected error)"),
    ("-1005", FAILED, "query", "invalid_search_condition", "Invalid search condition"),
    ("-1006", FAILED, "message", "invalid_delivery_message_format", "Invalid delivery message format (messageType)"),
    ("-2000", FAILED, "message", "invalid_date_format", "Invalid date format"),
    ("-2001", RETRY, "request", "recipient_is_missing", "Recipient is missing"),
    ("-2002", FAILED, "message", "name_of_attached_file_is_invalid", "Name of attached file is invalid"),
    ("-2003", FAILED, "message", "extension_of_attached_file_is_not_jpg_or", "Extension of attached file is not jpg or jpeg"),
    ("-2004", RETRY, "message", "the_attachment_has_expired_or_does_not_e", "The attachment has expired or does not exist"),
    ("-2005", FAILED, "message", "attached_file_is_sized_300kb_or_more", "Attached file is sized 300KB or more"),
    ("-2006", FAILED, "message", "delivery_type_in_template_setting_is_not", "Delivery type in template setting is not consistent with requested type"),
    ("-2008", FAILED, "query", "request_id_is_invalid", "Request ID (requestId) is invalid"),
    ("-2009", RETRY, "service", "attached_file_is_not_properly_uploaded_d", "Attached file is not properly uploaded due to server error"),
    ("-2010", RETRY, "service", "upload_type_of_attachment_is_invalid", "Upload type of attachment is invalid (server error)"),
    ("-2011", FAILED, "query", "required_query_parameters_are_missing", "Required query parameters are missing (requestId or startRequestDate, endRequestDate)"),
    ("-2012", FAILED, "query", "when_detailed_query_parameter_is_invalid", "When detailed query parameter is invalid (requestId or mtPr)"),
    ("-2014", FAILED, "message", "title_or_body_is_missing", "Title or body is missing"),
    ("-2015", FAILED, "message", "title_or_body_exceed_maximum_byte", "Title or body exceed maximum byte"),
    ("-2016", RETRY, "request", "the_number_of_recipients_is_over_1_000", "The number of recipients is over 1,000"),
    ("-2017", RETRY, "service", "failed_to_create_excel", "Failed to create excel"),
    ("-2018", FAILED, "recipient", "recipient_number_is_missing", "Recipient number is missing"),
    ("-2019", FAILED, "recipient", "recipient_number_is_invalid", "Recipient number is invalid"),
    ("-2021", RETRY, "service", "system_error", "System error (failed in saving queue)"),
    ("-2022", FAILED, "message", "request_date_and_time_is_set_earlier_tha", "Request date and time is set earlier than the current time"),
    ("-2023", FAILED, "message", "title_or_body_includes_characters_that_a", "Title or body includes characters that are not allowed (e.g. emojis)"),
    ("-2024", FAILED, "message", "international_delivery_is_sent_with_lms", "International delivery is sent with LMS/MMS"),
    ("-2044", FAILED, "recipient", "request_is_sent_to_unavailable_country", "Request is sent to unavailable country"),
    ("-2045", FAILED, "policy", "international_sending_is_blocked", "International sending is blocked"),
    ("-2046", FAILED, "policy", "sent_to_blocked_country", "Sent to blocked country"),
    ("-2047", RETRY, "quota", "exceeded_the_block_limit", "Exceeded the block limit"),
    ("-2048", FAILED, "message", "exceeded_the_international_message_body", "Exceeded the international message body limit"),
    ("-2050", FAILED, "query", "failed_to_convert_to_international_deliv", "Failed to convert to international delivery(Unable to convert)"),
    ("-2051", FAILED, "policy", "failed_to_send_due_to_conversion_rate_ba", "Failed to send due to Conversion Rate Based Sending Blocking"),
    ("-2052", RETRY, "quota", "blocked_due_to_exceeding_the_monthly_mes", "Blocked due to exceeding the monthly message sending limit for the organization."),
    ("-2053", RETRY, "quota", "blocked_by_the_daily_send_limit_by_count", "Blocked by the daily send limit by country."),
    ("-4000", FAILED, "query", "query_range_is_more_than_a_month", "Query range is more than a month"),
    ("-8000", FAILED, "message", "if_authentication_doesn_t_include_a_auth", "If authentication doesn't include a authentication statement"),
    ("-2100", FAILED, "not-on-send-path", "template_id_is_missing", "Template ID is missing"),
    ("-2101", FAILED, "not-on-send-path", "already_registered_template_id", "Already registered Template ID"),
    ("-2102", FAILED, "not-on-send-path", "template_name_is_missing", "Template name is missing"),
    ("-2103", FAILED, "not-on-send-path", "sender_number_is_missing", "Sender number is missing"),
    ("-2104", FAILED, "not-on-send-path", "delivery_type_is_missing", "Delivery type is missing (0: sms, 1: mms)"),
    ("-2105", FAILED, "not-on-send-path", "body_is_missing", "Body is missing"),
    ("-2106", FAILED, "not-on-send-path", "use_or_not_is_invalid", "Use or not is invalid"),
    ("-2107", FAILED, "not-on-send-path", "invalid_template_id", "Invalid Template ID(When modifying/deleting)"),
    ("-2108", FAILED, "not-on-send-path", "category_id_is_missing", "Category ID is missing"),
    ("-2109", FAILED, "not-on-send-path", "template_id_exceeds_50_characters", "Template ID exceeds 50 characters"),
    ("-2110", FAILED, "not-on-send-path", "not_exist_template", "Not exist Template"),
    ("-2111", FAILED, "not-on-send-path", "invalid_template_parameter", "Invalid Template parameter"),
    ("-2112", FAILED, "not-on-send-path", "exceeded_the_maximum_available_number_of", "Exceeded the maximum available number of templates for registration (Max: 1,000)"),
    ("-2114", FAILED, "not-on-send-path", "title_is_empty", "Title is empty"),
    ("-2115", FAILED, "not-on-send-path", "title_exceeds_120_characters", "Title exceeds 120 characters"),
    ("-2116", FAILED, "not-on-send-path", "body_length_exceeds_255_characters_for_s", "Body length exceeds 255 characters, for SMS delivery"),
    ("-2117", FAILED, "not-on-send-path", "body_length_exceeds_4_000_characters_for", "Body length exceeds 4,000 characters, for LMS/MMS delivery"),
    ("-2043", FAILED, "not-on-send-path", "attached_file_for_template_registration", "Attached file for template registration is already registered at another template"),
    ("-2200", FAILED, "not-on-send-path", "invalid_category_parameter", "Invalid category parameter (to register)"),
    ("-2201", FAILED, "not-on-send-path", "invalid_category_parameter", "Invalid category parameter (to modify)"),
    ("-2202", FAILED, "not-on-send-path", "invalid_category", "Invalid category (failed to query category)"),
    ("-2203", FAILED, "not-on-send-path", "parent_category_does_not_exist", "Parent category does not exist"),
    ("-2204", FAILED, "not-on-send-path", "use_or_not_is_invalid", "Use or not is invalid"),
    ("-2205", FAILED, "not-on-send-path", "deleting_the_highest_category", "Deleting the highest category"),
    ("-2206", FAILED, "not-on-send-path", "category_does_not_exist", "Category does not exist"),
    ("-2312", FAILED, "message", "sender_number_is_missing_or_unregistered", "Sender number is missing or unregistered"),
    ("-2313", FAILED, "message", "blocked_sender_number", "Blocked Sender number"),
    ("-2700", FAILED, "not-on-send-path", "invalid_statistics_range", "Invalid statistics range"),
    ("-2701", FAILED, "not-on-send-path", "invalid_statistics_search_parameter", "Invalid statistics search parameter"),
    ("-2703", FAILED, "not-on-send-path", "invalid_detail_range_of_statistics", "Invalid detail range of statistics"),
    ("-2704", FAILED, "not-on-send-path", "invalid_statistics_parameter", "Invalid statistics parameter"),
    ("-2706", RETRY, "service", "internal_statistics_error", "Internal statistics error (failed to call API)"),
    ("-6000", FAILED, "policy", "call_rejection_is_not_used", "Call rejection is not used"),
    ("-6001", UNDELIVERABLE, "recipient", "refused_recipient_number", "Refused recipient number"),
    ("-6003", FAILED, "message", "body_does_not_include_guide_message_on_c", "Body does not include guide message on call rejection"),
    ("-6004", FAILED, "message", "call_rejection_numbers_are_empty_or_unsu", "Call rejection numbers are empty or unsubscribed"),
    ("-7000", RETRY, "service", "internal_tag_error", "Internal tag error (failed to call API)"),
    ("-7001", FAILED, "not-on-send-path", "invalid_parameter", "Invalid parameter"),
    ("-7002", FAILED, "not-on-send-path", "failed_to_read_csv_file", "Failed to read .csv file"),
)

_DELIVERY: tuple[tuple[str, CodeClass, str, str, str] | tuple[str, CodeClass, str, str, str, bool], ...] = (
    ("1000", DELIVERED, "", "success", "Success"),
    ("1001", RETRY, "", "server_busy", "Server Busy"),
    ("1002", FAILED, "", "receiving_number_format_error", "Receiving number format error"),
    ("1003", FAILED, "", "reply_to_number_format_error", "Reply-to number format error"),
    ("1019", UNDELIVERABLE, "", "exceeded_ttl", "Exceeded TTL", True),
    ("2000", UNDELIVERABLE, "", "delivery_time_exceeded", "Delivery time exceeded", True),
    ("2001", RETRY, "", "delivery_failed", "Delivery failed (mobile network)"),
    ("2002", UNDELIVERABLE, "", "delivery_failed", "Delivery failed (mobile network -> device)"),
    ("2003", UNDELIVERABLE, "", "device_power_off", "Device power off"),
    ("2004", UNDELIVERABLE, "", "device_message_buffer_full", "Device message buffer full"),
    ("2005", UNDELIVERABLE, "", "grey_area", "Grey area"),
    ("2006", UNDELIVERABLE, "", "message_deleted", "Message deleted"),
    ("2007", UNDELIVERABLE, "", "temporary_device_issue", "Temporary device issue"),
    ("3000", RETRY, "", "unavailable_to_transfer", "Unavailable to transfer"),
    ("3001", UNDELIVERABLE, "", "no_subscriber_available", "No subscriber available"),
    ("3002", UNDELIVERABLE, "", "adult_authentication_failed", "Adult authentication failed"),
    ("3003", UNDELIVERABLE, "", "recipient_number_format_error_or_missing", "Recipient number format error or missing (unavailable number)"),
    ("3004", UNDELIVERABLE, "", "temporary_service_suspension_on_device", "Temporary service suspension on device"),
    ("3005", UNDELIVERABLE, "", "device_call_processing_status_not_reach", "Device call processing status, Not reach to the device"),
    ("3006", UNDELIVERABLE, "", "incoming_call_denied", "Incoming call denied"),
    ("3007", UNDELIVERABLE, "", "device_unavailable_to_receive_callback_u", "Device unavailable to receive callback URL"),
    ("3008", UNDELIVERABLE, "", "other_device_issues", "Other device issues"),
    ("3009", FAILED, "", "message_format_error", "Message format error"),
    ("3010", UNDELIVERABLE, "", "device_not_supporting_mms", "Device not supporting MMS"),
    ("3011", RETRY, "", "server_error", "Server error"),
    ("3012", FAILED, "", "spam", "Spam"),
    ("3013", UNDELIVERABLE, "", "service_rejected", "Service rejected"),
    ("3014", RETRY, "", "others", "Others"),
    ("3015", RETRY, "", "no_transfer_route_available", "No transfer route available"),
    ("3016", FAILED, "", "size_restriction_failed_for_attached_fil", "Size restriction failed for attached file"),
    ("3017", FAILED, "", "number_format_error_based_on_sender_numb", "Number format error based on sender number tampering prevention service"),
    ("3018", FAILED, "", "individual_subscriber_phone_number_subsc", "Individual subscriber phone number subscribed to the sender number tampering prevention service"),
    ("3019", FAILED, "", "sender_numbers_that_kisa_or_the_ministry", "Sender numbers that KISA or the Ministry of Science and ICT has blocked for all customers."),
    ("4001", FAILED, "", "signature_format_error", "Signature format error"),
    ("4002", FAILED, "", "error_in_sender_number", "Error in sender number"),
    ("4003", UNDELIVERABLE, "", "error_in_recipient_number", "Error in recipient number"),
    ("4004", UNDELIVERABLE, "", "temporary_device_issue", "Temporary device issue"),
    ("4005", UNDELIVERABLE, "", "no_subscriber_available", "No subscriber available"),
    ("4006", UNDELIVERABLE, "", "failure_due_to_receiver_error", "Failure due to receiver error"),
    ("4007", RETRY, "", "failure_due_to_telecom_provider", "Failure due to telecom provider"),
    ("4008", FAILED, "", "spam", "Spam"),
    ("4009", RETRY, "", "temporary_network_error", "Temporary network error"),
    ("4010", FAILED, "", "failure_due_to_abnormal_transfer_pattern", "Failure due to abnormal transfer pattern"),
    ("E900", RETRY, "", "other_sending_errors", "Other sending errors"),
    ("E911", FAILED, "", "no_attached_file_extension_available", "No attached file extension available"),
    ("E913", FAILED, "", "attached_file_size_is_0", "Attached file size is 0"),
    ("E915", DUPLICATE, "", "duplicate_messages", "Duplicate messages"),
    ("E919", RETRY, "", "resending_message_is_prohibited_during_w", "Resending message is prohibited during when delivery is restricted"),
    ("E999", RETRY, "", "other_errors", "Other errors"),
)
# fmt: on

API_CODES: dict[str, CodeInfo] = {row[0]: CodeInfo(*row) for row in _API}
DELIVERY_CODES: dict[str, CodeInfo] = {row[0]: CodeInfo(*row) for row in _DELIVERY}


def classify_api(code: str | int | None) -> CodeInfo:
    """The class of an API code (header or per recipient); unknown codes are RETRY, never FAILED."""
    key = str(code) if code is not None else ""
    info = API_CODES.get(key)
    if info is not None:
        return info
    return CodeInfo(
        key, CodeClass.RETRY, "unknown", "unknown_code", f"code {key or '(none)'} is not documented", known=False
    )


def classify_delivery(code: str | int | None) -> CodeInfo:
    """The class of a delivery ``resultCode``; unknown codes are RETRY with ``known = False`` (an UNKNOWN receipt)."""
    key = str(code) if code is not None else ""
    info = DELIVERY_CODES.get(key)
    if info is not None:
        return info
    return CodeInfo(
        key, CodeClass.RETRY, "unknown", "unknown_code", f"code {key or '(none)'} is not documented", known=False
    )
