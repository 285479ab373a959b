"""The SMPP stack's exceptions, drawn once here (httpx ``_exceptions.py`` style).

    SmppError
    ├── ProtocolError            carries ``error_status``: the command_status that names the fault
    │   ├── LocalProtocolError   *we* tried something illegal: built an invalid PDU, sent
    │   │                        submit_sm while unbound, acked a deliver_sm twice. A session
    │   │                        that raises it moves to ERROR (h11 semantics).
    │   └── RemoteProtocolError  the *peer* sent something invalid. The ONLY exception that
    │                            decoding raises, whatever the input bytes. ``fatal`` says
    │                            whether the byte stream lost its framing (close the
    │                            connection) or only one PDU was bad (answer it and go on).
    └── WindowFullError          ``send`` was called with no free window slot; nothing changed,
                                 the caller should have checked ``window_free``.

The sans-I/O core raises nothing else on purpose. The transport translates
``OSError`` and friends where they enter (``raise ... from exc``); these
errors never wrap foreign ones.
"""

from __future__ import annotations

__all__ = [
    "LocalProtocolError",
    "ProtocolError",
    "RemoteProtocolError",
    "SmppError",
    "WindowFullError",
]

# Kept local (not imported from status.py) so this module has no dependencies.
_ESME_RSYSERR = 0x00000008


class SmppError(Exception):
    """Base of every exception the SMPP stack raises on purpose."""


class ProtocolError(SmppError):
    """A protocol rule was broken; ``error_status`` is the SMPP command_status naming it.

    For a ``RemoteProtocolError`` that is the status we answer the peer with;
    for a ``LocalProtocolError`` it is the status the peer would have sent us.
    """

    def __init__(self, message: str, *, error_status: int = _ESME_RSYSERR) -> None:
        super().__init__(message)
        self.error_status = error_status

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class LocalProtocolError(ProtocolError):
    """We tried to do something the protocol (or our own PDU rules) forbids.

    The decoder builds PDUs with the same validating constructors; when they
    refuse bytes from the peer, it re-raises the fault as a
    ``RemoteProtocolError`` with the same ``error_status`` (h11 style).
    """


class RemoteProtocolError(ProtocolError):
    """The peer sent bytes that are not a valid PDU, or a PDU that is illegal now.

    ``sequence_number`` and ``command_id`` are those of the offending PDU's
    header when it could be read (``None`` otherwise), so the session can answer
    with the matching ``*_resp`` or a ``generic_nack``. ``fatal`` is true when
    the framing is lost (command_length out of bounds): nothing after it can be
    decoded and the connection must be closed.
    """

    def __init__(
        self,
        message: str,
        *,
        error_status: int = _ESME_RSYSERR,
        sequence_number: int | None = None,
        command_id: int | None = None,
        fatal: bool = False,
    ) -> None:
        super().__init__(message, error_status=error_status)
        self.sequence_number = sequence_number
        self.command_id = command_id
        self.fatal = fatal

    def __repr__(self) -> str:
        cid = "None" if self.command_id is None else f"0x{self.command_id:08X}"
        return (
            f"RemoteProtocolError({self.message!r}, error_status=0x{self.error_status:08X}, "
            f"sequence_number={self.sequence_number}, command_id={cid}, fatal={self.fatal})"
        )


class WindowFullError(SmppError):
    """Every window slot holds an unanswered request; wait for a response or a timeout."""
