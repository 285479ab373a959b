"""SMPP command_status codes (SMPP 3.4 section 5.1.3, plus the SMPP 5.0 additions) and their classes.

Every code of the 3.4 table is a member of ``CommandStatus`` (an ``IntEnum``,
so members compare equal to the raw integers in PDUs) and is re-exported as a
module constant (``ESME_ROK``, ``ESME_RTHROTTLED``...). The SMPP 5.0 codes
0x100-0x112 are included because 3.4 carriers use some of them
(``ESME_RINVDCS`` most of all).

``classify_status(status)`` says what a sender should do with a refused request:

=============  ===============================================================
OK             accepted
THROTTLED      the SMSC asks us to slow down (0x58 RTHROTTLED, 0x14 RMSGQFUL):
               retry later, not a failure of the message
TRANSIENT      the same request may succeed later (system error, temporary
               application error, submit failed, wrong bind state)
PERMANENT      the request itself is wrong (bad address, bad data_coding,
               message too long, bad TLV...): retrying it unchanged is useless
UNKNOWN_CODE   not in any table (vendor-specific 0x400-0x4FF, garbage);
               callers treat it as TRANSIENT
=============  ===============================================================
"""

from __future__ import annotations

import enum

__all__ = [
    "ESME_RALYBND",
    "ESME_RBCASTCANCELFAIL",
    "ESME_RBCASTFAIL",
    "ESME_RBCASTQUERYFAIL",
    "ESME_RBINDFAIL",
    "ESME_RCANCELFAIL",
    "ESME_RCNTSUBDL",
    "ESME_RDELIVERYFAILURE",
    "ESME_RINVBCASTALIAS_NAME",
    "ESME_RINVBCASTAREAFMT",
    "ESME_RINVBCASTCHANIND",
    "ESME_RINVBCASTCNTTYPE",
    "ESME_RINVBCASTFREQINT",
    "ESME_RINVBCASTMSGCLASS",
    "ESME_RINVBCASTSRVGRP",
    "ESME_RINVBCAST_REP",
    "ESME_RINVBNDSTS",
    "ESME_RINVCMDID",
    "ESME_RINVCMDLEN",
    "ESME_RINVDCS",
    "ESME_RINVDESTFLAG",
    "ESME_RINVDFTMSGID",
    "ESME_RINVDLNAME",
    "ESME_RINVDSTADDRSUBUNIT",
    "ESME_RINVDSTADR",
    "ESME_RINVDSTNPI",
    "ESME_RINVDSTTON",
    "ESME_RINVESMCLASS",
    "ESME_RINVEXPIRY",
    "ESME_RINVMSGID",
    "ESME_RINVMSGLEN",
    "ESME_RINVNUMBCAST_AREAS",
    "ESME_RINVNUMDESTS",
    "ESME_RINVNUMMSGS",
    "ESME_RINVOPTPARAMVAL",
    "ESME_RINVOPTPARSTREAM",
    "ESME_RINVPARLEN",
    "ESME_RINVPASWD",
    "ESME_RINVPRTFLG",
    "ESME_RINVREGDLVFLG",
    "ESME_RINVREPFLAG",
    "ESME_RINVSCHED",
    "ESME_RINVSERTYP",
    "ESME_RINVSRCADDRSUBUNIT",
    "ESME_RINVSRCADR",
    "ESME_RINVSRCNPI",
    "ESME_RINVSRCTON",
    "ESME_RINVSUBREP",
    "ESME_RINVSYSID",
    "ESME_RINVSYSTYP",
    "ESME_RMISSINGOPTPARAM",
    "ESME_RMSGQFUL",
    "ESME_ROK",
    "ESME_ROPTPARNOTALLWD",
    "ESME_RPROHIBITED",
    "ESME_RQUERYFAIL",
    "ESME_RREPLACEFAIL",
    "ESME_RSERTYPDENIED",
    "ESME_RSERTYPUNAUTH",
    "ESME_RSERTYPUNAVAIL",
    "ESME_RSUBMITFAIL",
    "ESME_RSYSERR",
    "ESME_RTHROTTLED",
    "ESME_RUNKNOWNERR",
    "ESME_RX_P_APPN",
    "ESME_RX_R_APPN",
    "ESME_RX_T_APPN",
    "CommandStatus",
    "StatusClass",
    "classify_status",
    "status_name",
]


class CommandStatus(enum.IntEnum):
    """All SMPP 3.4 command_status values, and the SMPP 5.0 ones 0x100-0x112."""

    ESME_ROK = 0x00000000  # No error
    ESME_RINVMSGLEN = 0x00000001  # Message length is invalid
    ESME_RINVCMDLEN = 0x00000002  # Command length is invalid
    ESME_RINVCMDID = 0x00000003  # Invalid command ID
    ESME_RINVBNDSTS = 0x00000004  # Incorrect bind status for given command
    ESME_RALYBND = 0x00000005  # ESME already in bound state
    ESME_RINVPRTFLG = 0x00000006  # Invalid priority flag
    ESME_RINVREGDLVFLG = 0x00000007  # Invalid registered delivery flag
    ESME_RSYSERR = 0x00000008  # System error
    ESME_RINVSRCADR = 0x0000000A  # Invalid source address
    ESME_RINVDSTADR = 0x0000000B  # Invalid destination address
    ESME_RINVMSGID = 0x0000000C  # Message ID is invalid
    ESME_RBINDFAIL = 0x0000000D  # Bind failed
    ESME_RINVPASWD = 0x0000000E  # Invalid password
    ESME_RINVSYSID = 0x0000000F  # Invalid system ID
    ESME_RCANCELFAIL = 0x00000011  # cancel_sm failed
    ESME_RREPLACEFAIL = 0x00000013  # replace_sm failed
    ESME_RMSGQFUL = 0x00000014  # Message queue full
    ESME_RINVSERTYP = 0x00000015  # Invalid service type
    ESME_RINVNUMDESTS = 0x00000033  # Invalid number of destinations
    ESME_RINVDLNAME = 0x00000034  # Invalid distribution list name
    ESME_RINVDESTFLAG = 0x00000040  # Destination flag is invalid (submit_multi)
    ESME_RINVSUBREP = 0x00000042  # Invalid "submit with replace" request
    ESME_RINVESMCLASS = 0x00000043  # Invalid esm_class field data
    ESME_RCNTSUBDL = 0x00000044  # Cannot submit to distribution list
    ESME_RSUBMITFAIL = 0x00000045  # submit_sm or submit_multi failed
    ESME_RINVSRCTON = 0x00000048  # Invalid source address TON
    ESME_RINVSRCNPI = 0x00000049  # Invalid source address NPI
    ESME_RINVDSTTON = 0x00000050  # Invalid destination address TON
    ESME_RINVDSTNPI = 0x00000051  # Invalid destination address NPI
    ESME_RINVSYSTYP = 0x00000053  # Invalid system_type field
    ESME_RINVREPFLAG = 0x00000054  # Invalid replace_if_present flag
    ESME_RINVNUMMSGS = 0x00000055  # Invalid number of messages
    ESME_RTHROTTLED = 0x00000058  # Throttling error (ESME exceeded allowed message limits)
    ESME_RINVSCHED = 0x00000061  # Invalid scheduled delivery time
    ESME_RINVEXPIRY = 0x00000062  # Invalid message validity period (expiry time)
    ESME_RINVDFTMSGID = 0x00000063  # Predefined message invalid or not found
    ESME_RX_T_APPN = 0x00000064  # ESME receiver temporary app error code
    ESME_RX_P_APPN = 0x00000065  # ESME receiver permanent app error code
    ESME_RX_R_APPN = 0x00000066  # ESME receiver reject message error code
    ESME_RQUERYFAIL = 0x00000067  # query_sm request failed
    ESME_RINVOPTPARSTREAM = 0x000000C0  # Error in the optional part of the PDU body
    ESME_ROPTPARNOTALLWD = 0x000000C1  # Optional parameter not allowed
    ESME_RINVPARLEN = 0x000000C2  # Invalid parameter length
    ESME_RMISSINGOPTPARAM = 0x000000C3  # Expected optional parameter missing
    ESME_RINVOPTPARAMVAL = 0x000000C4  # Invalid optional parameter value
    ESME_RDELIVERYFAILURE = 0x000000FE  # Delivery failure (data_sm_resp)
    ESME_RUNKNOWNERR = 0x000000FF  # Unknown error
    # SMPP 5.0 additions seen on 3.4 links.
    ESME_RSERTYPUNAUTH = 0x00000100  # ESME not authorised to use specified service_type
    ESME_RPROHIBITED = 0x00000101  # ESME prohibited from using specified operation
    ESME_RSERTYPUNAVAIL = 0x00000102  # Specified service_type is unavailable
    ESME_RSERTYPDENIED = 0x00000103  # Specified service_type is denied
    ESME_RINVDCS = 0x00000104  # Invalid data coding scheme
    ESME_RINVSRCADDRSUBUNIT = 0x00000105  # Source address sub-unit is invalid
    ESME_RINVDSTADDRSUBUNIT = 0x00000106  # Destination address sub-unit is invalid
    ESME_RINVBCASTFREQINT = 0x00000107  # Broadcast frequency interval is invalid
    ESME_RINVBCASTALIAS_NAME = 0x00000108  # Broadcast alias name is invalid
    ESME_RINVBCASTAREAFMT = 0x00000109  # Broadcast area format is invalid
    ESME_RINVNUMBCAST_AREAS = 0x0000010A  # Number of broadcast areas is invalid
    ESME_RINVBCASTCNTTYPE = 0x0000010B  # Broadcast content type is invalid
    ESME_RINVBCASTMSGCLASS = 0x0000010C  # Broadcast message class is invalid
    ESME_RBCASTFAIL = 0x0000010D  # broadcast_sm operation failed
    ESME_RBCASTQUERYFAIL = 0x0000010E  # query_broadcast_sm operation failed
    ESME_RBCASTCANCELFAIL = 0x0000010F  # cancel_broadcast_sm operation failed
    ESME_RINVBCAST_REP = 0x00000110  # Number of repeated broadcasts is invalid
    ESME_RINVBCASTSRVGRP = 0x00000111  # Broadcast service group is invalid
    ESME_RINVBCASTCHANIND = 0x00000112  # Broadcast channel indicator is invalid


# Module-level constants, so ``from gateway.smpp.protocol.status import ESME_ROK`` works
# (and type checkers see them).
ESME_ROK = CommandStatus.ESME_ROK
ESME_RINVMSGLEN = CommandStatus.ESME_RINVMSGLEN
ESME_RINVCMDLEN = CommandStatus.ESME_RINVCMDLEN
ESME_RINVCMDID = CommandStatus.ESME_RINVCMDID
ESME_RINVBNDSTS = CommandStatus.ESME_RINVBNDSTS
ESME_RALYBND = CommandStatus.ESME_RALYBND
ESME_RINVPRTFLG = CommandStatus.ESME_RINVPRTFLG
ESME_RINVREGDLVFLG = CommandStatus.ESME_RINVREGDLVFLG
ESME_RSYSERR = CommandStatus.ESME_RSYSERR
ESME_RINVSRCADR = CommandStatus.ESME_RINVSRCADR
ESME_RINVDSTADR = CommandStatus.ESME_RINVDSTADR
ESME_RINVMSGID = CommandStatus.ESME_RINVMSGID
ESME_RBINDFAIL = CommandStatus.ESME_RBINDFAIL
ESME_RINVPASWD = CommandStatus.ESME_RINVPASWD
ESME_RINVSYSID = CommandStatus.ESME_RINVSYSID
ESME_RCANCELFAIL = CommandStatus.ESME_RCANCELFAIL
ESME_RREPLACEFAIL = CommandStatus.ESME_RREPLACEFAIL
ESME_RMSGQFUL = CommandStatus.ESME_RMSGQFUL
ESME_RINVSERTYP = CommandStatus.ESME_RINVSERTYP
ESME_RINVNUMDESTS = CommandStatus.ESME_RINVNUMDESTS
ESME_RINVDLNAME = CommandStatus.ESME_RINVDLNAME
ESME_RINVDESTFLAG = CommandStatus.ESME_RINVDESTFLAG
ESME_RINVSUBREP = CommandStatus.ESME_RINVSUBREP
ESME_RINVESMCLASS = CommandStatus.ESME_RINVESMCLASS
ESME_RCNTSUBDL = CommandStatus.ESME_RCNTSUBDL
ESME_RSUBMITFAIL = CommandStatus.ESME_RSUBMITFAIL
ESME_RINVSRCTON = CommandStatus.ESME_RINVSRCTON
ESME_RINVSRCNPI = CommandStatus.ESME_RINVSRCNPI
ESME_RINVDSTTON = CommandStatus.ESME_RINVDSTTON
ESME_RINVDSTNPI = CommandStatus.ESME_RINVDSTNPI
ESME_RINVSYSTYP = CommandStatus.ESME_RINVSYSTYP
ESME_RINVREPFLAG = CommandStatus.ESME_RINVREPFLAG
ESME_RINVNUMMSGS = CommandStatus.ESME_RINVNUMMSGS
ESME_RTHROTTLED = CommandStatus.ESME_RTHROTTLED
ESME_RINVSCHED = CommandStatus.ESME_RINVSCHED
ESME_RINVEXPIRY = CommandStatus.ESME_RINVEXPIRY
ESME_RINVDFTMSGID = CommandStatus.ESME_RINVDFTMSGID
ESME_RX_T_APPN = CommandStatus.ESME_RX_T_APPN
ESME_RX_P_APPN = CommandStatus.ESME_RX_P_APPN
ESME_RX_R_APPN = CommandStatus.ESME_RX_R_APPN
ESME_RQUERYFAIL = CommandStatus.ESME_RQUERYFAIL
ESME_RINVOPTPARSTREAM = CommandStatus.ESME_RINVOPTPARSTREAM
ESME_ROPTPARNOTALLWD = CommandStatus.ESME_ROPTPARNOTALLWD
ESME_RINVPARLEN = CommandStatus.ESME_RINVPARLEN
ESME_RMISSINGOPTPARAM = CommandStatus.ESME_RMISSINGOPTPARAM
ESME_RINVOPTPARAMVAL = CommandStatus.ESME_RINVOPTPARAMVAL
ESME_RDELIVERYFAILURE = CommandStatus.ESME_RDELIVERYFAILURE
ESME_RUNKNOWNERR = CommandStatus.ESME_RUNKNOWNERR
ESME_RSERTYPUNAUTH = CommandStatus.ESME_RSERTYPUNAUTH
ESME_RPROHIBITED = CommandStatus.ESME_RPROHIBITED
ESME_RSERTYPUNAVAIL = CommandStatus.ESME_RSERTYPUNAVAIL
ESME_RSERTYPDENIED = CommandStatus.ESME_RSERTYPDENIED
ESME_RINVDCS = CommandStatus.ESME_RINVDCS
ESME_RINVSRCADDRSUBUNIT = CommandStatus.ESME_RINVSRCADDRSUBUNIT
ESME_RINVDSTADDRSUBUNIT = CommandStatus.ESME_RINVDSTADDRSUBUNIT
ESME_RINVBCASTFREQINT = CommandStatus.ESME_RINVBCASTFREQINT
ESME_RINVBCASTALIAS_NAME = CommandStatus.ESME_RINVBCASTALIAS_NAME
ESME_RINVBCASTAREAFMT = CommandStatus.ESME_RINVBCASTAREAFMT
ESME_RINVNUMBCAST_AREAS = CommandStatus.ESME_RINVNUMBCAST_AREAS
ESME_RINVBCASTCNTTYPE = CommandStatus.ESME_RINVBCASTCNTTYPE
ESME_RINVBCASTMSGCLASS = CommandStatus.ESME_RINVBCASTMSGCLASS
ESME_RBCASTFAIL = CommandStatus.ESME_RBCASTFAIL
ESME_RBCASTQUERYFAIL = CommandStatus.ESME_RBCASTQUERYFAIL
ESME_RBCASTCANCELFAIL = CommandStatus.ESME_RBCASTCANCELFAIL
ESME_RINVBCAST_REP = CommandStatus.ESME_RINVBCAST_REP
ESME_RINVBCASTSRVGRP = CommandStatus.ESME_RINVBCASTSRVGRP
ESME_RINVBCASTCHANIND = CommandStatus.ESME_RINVBCASTCHANIND


class StatusClass(enum.Enum):
    """What a command_status means for the request it answers (see module docstring)."""

    OK = "ok"
    THROTTLED = "throttled"
    TRANSIENT = "transient"
    PERMANENT = "permanent"
    UNKNOWN_CODE = "unknown_code"


_S = CommandStatus
_THROTTLED = frozenset({_S.ESME_RTHROTTLED, _S.ESME_RMSGQFUL})
_TRANSIENT = frozenset(
    {
        _S.ESME_RINVBNDSTS,  # we are (momentarily) not bound as we thought: another bind may do
        _S.ESME_RALYBND,
        _S.ESME_RSYSERR,
        _S.ESME_RBINDFAIL,
        _S.ESME_RCANCELFAIL,
        _S.ESME_RREPLACEFAIL,
        _S.ESME_RSUBMITFAIL,
        _S.ESME_RX_T_APPN,
        _S.ESME_RQUERYFAIL,
        _S.ESME_RDELIVERYFAILURE,
        _S.ESME_RUNKNOWNERR,
        _S.ESME_RSERTYPUNAVAIL,
        _S.ESME_RBCASTFAIL,
        _S.ESME_RBCASTQUERYFAIL,
        _S.ESME_RBCASTCANCELFAIL,
    }
)
# Everything else in the table says the request itself is wrong.
_CLASSES: dict[int, StatusClass] = {
    int(code): (
        StatusClass.OK
        if code == _S.ESME_ROK
        else StatusClass.THROTTLED
        if code in _THROTTLED
        else StatusClass.TRANSIENT
        if code in _TRANSIENT
        else StatusClass.PERMANENT
    )
    for code in CommandStatus
}
del _S


def classify_status(status: int) -> StatusClass:
    """The class of ``status`` (any integer; codes outside the table are UNKNOWN_CODE)."""
    return _CLASSES.get(status, StatusClass.UNKNOWN_CODE)


def status_name(status: int) -> str:
    """``"ESME_RTHROTTLED"`` for 0x58; ``"0x00000401"`` for a code outside the table."""
    try:
        return CommandStatus(status).name
    except ValueError:
        return f"0x{status & 0xFFFFFFFF:08X}"
