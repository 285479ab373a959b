"""Every reason an SMPP connector gives (registered with :mod:`gateway.port.reasons`).

* refusals before anything is sent (:class:`SmppReason`: ``unknown_sender``,
  ``unencodable``, ``too_long``, ``deadline_passed``, ``invalid_pdu``,
  ``invalid_recipient``);
* what became of a submit that got no verdict (``timeout``, ``connection_lost``,
  ``bind_lost``, ``generic_nack``, ``not_sent``);
* the carrier's refusal: the name of its command_status as SMPP 3.4 section 5.1.3
  (and 5.0) name it (``ESME_RINVDSTADR``, ``ESME_RTHROTTLED``...), the status in
  hex in ``code``; a status outside those tables (vendor-specific, 0x400-0x4FF)
  is ``smpp_unlisted_status`` with its hex in ``code``.
"""

from __future__ import annotations

import enum

from gateway.port import register_reasons
from gateway.smpp.protocol.status import CommandStatus

__all__ = ["SmppReason", "status_reason"]


class SmppReason(enum.StrEnum):
    UNKNOWN_SENDER = "unknown_sender"  # the sender is not in the connector's `senders`
    UNENCODABLE = "unencodable"  # the text has characters the allowed alphabets cannot carry
    TOO_LONG = "too_long"  # more segments than `max_segments`
    DEADLINE_PASSED = "deadline_passed"  # its deadline passed before it could be sent
    INVALID_PDU = "invalid_pdu"  # a field does not fit a submit_sm
    INVALID_RECIPIENT = "invalid_recipient"  # the recipient is not a phone number
    TIMEOUT = "timeout"  # no submit_sm_resp within response_timeout_seconds
    CONNECTION_LOST = "connection_lost"  # the bind dropped with the submit unanswered
    BIND_LOST = "bind_lost"  # the bind dropped before the submit went out
    GENERIC_NACK = "generic_nack"  # the SMSC answered generic_nack
    NOT_SENT = "not_sent"  # no segment was sent
    UNLISTED_STATUS = "smpp_unlisted_status"  # a command_status outside the SMPP tables
    BAD_EXTRAS = "bad_extras"  # extras.type / title / attachments are malformed
    LMS_UNSUPPORTED = "lms_unsupported"  # a Korean text that needs an LMS, on a connector set to refuse them


def status_reason(status: int) -> str:
    """The reason for a refusal with ``status``: its SMPP name, else ``smpp_unlisted_status``."""
    try:
        return CommandStatus(status).name
    except ValueError:
        return SmppReason.UNLISTED_STATUS


register_reasons("smpp", SmppReason)
register_reasons("smpp", [s.name for s in CommandStatus if s is not CommandStatus.ESME_ROK])
