"""Pieces of a provider's result webhook that do not depend on the provider.

* :func:`token_matches`: a static shared token (NHN Cloud's
  ``X-Toast-Webhook-Signature`` carries the string typed in its console, not a
  digest of the body), compared in constant time; an empty secret never matches;
* :func:`sign_body` / :func:`hmac_matches`: the gateway's HMAC-SHA256 scheme
  (``sha256=<hex>`` of the raw body), for relays that can sign;
* :func:`signature_matches`: one of the two, by the connector's ``webhook_auth``
  setting (``"token"`` or ``"hmac"``);
* :func:`read_limited`: the body, streamed, or None past a byte limit (413).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Literal

from aiohttp import web

__all__ = ["hmac_matches", "read_limited", "sign_body", "signature_matches", "token_matches"]


def token_matches(secret: str, given: str | None) -> bool:
    """``given`` is the configured token (constant time; an empty secret or header never matches)."""
    if not secret or not given:
        return False
    return hmac.compare_digest(given.encode("utf-8"), secret.encode("utf-8"))


def sign_body(secret: str, body: bytes) -> str:
    """The ``sha256=<hex>`` header value of the gateway's HMAC scheme."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def hmac_matches(secret: str, given: str | None, body: bytes) -> bool:
    """``given`` (``sha256=<hex>`` or bare hex) signs ``body`` with ``secret``."""
    if not secret or not given:
        return False
    value = given.strip()
    if value.lower().startswith("sha256="):
        value = value[7:]
    expected = sign_body(secret, body)[7:]
    return hmac.compare_digest(value.lower().encode("ascii", "replace"), expected.encode("ascii"))


def signature_matches(scheme: Literal["token", "hmac"], secret: str, given: str | None, body: bytes) -> bool:
    """``given`` authenticates ``body``: the static token (``body`` unused) or the HMAC of ``body``."""
    if scheme == "token":
        return token_matches(secret, given)
    return hmac_matches(secret, given, body)


async def read_limited(request: web.Request, limit: int) -> bytes | None:
    """The body, or None when it is larger than ``limit`` bytes (read in chunks, never whole first)."""
    if request.content_length is not None and request.content_length > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(65536):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
