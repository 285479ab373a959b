"""The webhook: ``POST /reports/{connector}/results``, for NHN's result and template-status hooks.

Authentication, one of (``webhook_auth``):

* ``"token"`` (default): NHN's own webhook, as documented
  (``ko/webhook-api-guide.md`` § 웹훅 발송): the header
  ``X-Toast-Webhook-Signature`` carries the signature string entered in NHN's
  console when the webhook was set up (a static shared token, not a digest of
  the body). It is compared in constant time with ``webhook_secret``.
* ``"hmac"``, for a relay in front of NHN that signs what it forwards: the
  sender computes ``HMAC-SHA256(key = webhook_secret as UTF-8, message = the raw
  request body)`` and sends it hex-encoded in ``X-Webhook-Signature`` (or the
  configured ``webhook_signature_header``) as ``sha256=<64 hex digits>``; the
  bare hex is accepted too.

Both checks, and the bounded body reader, are :mod:`gateway.httpclient.webhook`'s.

Replays are harmless: a result already stored is dropped (the send journal
knows it), and receipts are idempotent per carrier id in the queue.

What a body carries (:meth:`gateway.kakao.provider.ProviderAdapter.parse_webhook`):
result hooks become receipts (:mod:`gateway.kakao.results`); template status
hooks update the template store and the connector's registry; hooks of other
products or app keys are counted and ignored.

Answers: 401 missing or wrong signature, 413 body over ``webhook_max_body_bytes``
(or over the HTTP server's ``http.max_body_bytes``, when that is smaller),
400 body not JSON or not a webhook body, 503 when the connector is not
running or the results cannot be stored, and 200 only after the receipts are
stored. NHN documents neither the answer it expects nor any retry: the
result poller (``gap_fill_interval_seconds``) reads NHN's result updates
behind the webhook, so a hook lost on a 503 is found there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import structlog
from aiohttp import web

from gateway.errors import GatewayError
from gateway.httpclient import ProviderProtocolError, read_limited, sign_body, signature_matches
from gateway.kakao import metrics
from gateway.kakao.config import KakaoConnectorConfig
from gateway.kakao.provider import ProviderAdapter, TemplateUpdate
from gateway.kakao.results import ResultTracker

__all__ = ["sign_body", "signature_ok", "webhook_handler"]

log = structlog.get_logger("gateway.kakao")


def signature_ok(config: KakaoConnectorConfig, header: str | None, body: bytes) -> bool:
    """``header`` authenticates ``body`` under the connector's ``webhook_auth`` and ``webhook_secret``."""
    secret = config.webhook_secret.get_secret_value() if config.webhook_secret else ""
    return signature_matches(config.webhook_auth, secret, header, body)


TemplateSink = Callable[[Sequence[TemplateUpdate]], Awaitable[int]]


def webhook_handler(
    *,
    config: KakaoConnectorConfig,
    adapter: ProviderAdapter,
    tracker: ResultTracker,
    templates: TemplateSink | None = None,
) -> Callable[[web.Request], Awaitable[web.Response]]:
    name = config.name
    header_name = config.signature_header

    def answer(status: int, label: str, message: str) -> web.Response:
        metrics.WEBHOOKS.labels(name, label).inc()
        if status >= 400:
            log.warning("kakao.webhook.rejected", connector=name, status=status, problem=message)
        return web.json_response({"ok": status < 300, "message": message}, status=status)

    async def handle(request: web.Request) -> web.Response:
        if tracker.sink is None:
            return answer(503, "not_ready", "connector not running")
        header = request.headers.get(header_name)
        if not header:
            return answer(401, "unauthorized", f"missing {header_name}")
        if config.webhook_auth == "token" and not signature_ok(config, header, b""):
            return answer(401, "unauthorized", "bad signature")
        # The server's own limit (client_max_size) binds too: the body is streamed, not read().
        limit = min(config.webhook_max_body_bytes, request.client_max_size)
        body = await read_limited(request, limit)
        if body is None:
            return answer(413, "too_large", f"body over {limit} bytes")
        if config.webhook_auth == "hmac" and not signature_ok(config, header, body):
            return answer(401, "unauthorized", "bad signature")
        try:
            hooks = adapter.parse_webhook(body)
        except ProviderProtocolError as exc:
            return answer(400, "bad_request", str(exc))
        try:
            stored = await tracker.deliver(hooks.reports, source="webhook")
            updated = await templates(hooks.templates) if templates is not None and hooks.templates else 0
        except GatewayError as exc:
            log.error("kakao.webhook.store_failed", connector=name, error=str(exc))
            return answer(503, "not_ready", "cannot store the results now")
        if hooks.ignored:
            log.info("kakao.webhook.ignored", connector=name, hooks=hooks.ignored, hook_event=hooks.event)
        metrics.WEBHOOKS.labels(name, "ok").inc()
        return web.json_response(
            {
                "ok": True,
                "received": len(hooks.reports) + len(hooks.templates) + hooks.ignored,
                "stored": stored,
                "templates": updated,
                "ignored": hooks.ignored,
            }
        )

    return handle
