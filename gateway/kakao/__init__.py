"""KakaoTalk Alimtalk: the connector, its provider adapter (NHN Cloud v2.3), templates, the send journal.

Public names are re-exported here (pinned by ``tests/unit/kakao/test_units.py``);
the modules behind them are private to the package:

* ``config``: :class:`KakaoConnectorConfig`
* ``connector``: :class:`KakaoConnector` (``prepare``, ``batch_sender``,
  ``results``, ``webhook`` hold its parts)
* ``provider`` / ``nhn`` / ``dates``: the adapter interface, the NHN API codec
  and adapter (over :mod:`gateway.httpclient`'s aiohttp transport), NHN's dates
* ``codes`` (with ``data/codes.json``): every documented result code and its class
* ``journal``: the send journal (at most one copy per message; the watch list)
* ``templates`` / ``matching`` / ``rules`` / ``template_store``: the template
  model, matching and rendering, Kakao's rules, the stores, file and NHN sync

The HTTP plumbing (transport, provider errors, circuit breaker, webhook
checks) is :mod:`gateway.httpclient`'s, shared with the NHN SMS connector; the
names Kakao has always exported from it are re-exported here.

The NHN provider simulator lives in ``gateway.simulators`` (``gateway simulate kakao``).
"""

from gateway.httpclient import (
    AiohttpTransport,
    HttpRequest,
    HttpResponse,
    ProviderError,
    ProviderProtocolError,
    ProviderRejected,
    ProviderThrottled,
    ProviderUnavailable,
    sign_body,
)
from gateway.kakao.codes import CODES, CodeClass, CodeInfo, classify_code
from gateway.kakao.config import KakaoConnectorConfig
from gateway.kakao.connector import KakaoConnector
from gateway.kakao.errors import TemplateFileError
from gateway.kakao.journal import InMemoryJournal, Journal, PostgresJournal
from gateway.kakao.nhn import NhnAlimtalkAdapter, NhnAlimtalkApi
from gateway.kakao.provider import (
    BatchAnswer,
    DeliveryReport,
    Found,
    Hooks,
    ProviderAdapter,
    RecipientAnswer,
    RecipientRequest,
    Resend,
    SendBatch,
    TemplateUpdate,
    carrier_id,
)
from gateway.kakao.template_store import (
    InMemoryTemplateStore,
    PostgresTemplateStore,
    SyncReport,
    TemplateStore,
    load_template_file,
    sync_from_nhn,
    sync_templates,
)
from gateway.kakao.templates import Template, TemplateRegistry, compile_template

__all__ = [
    "CODES",
    "AiohttpTransport",
    "BatchAnswer",
    "CodeClass",
    "CodeInfo",
    "DeliveryReport",
    "Found",
    "Hooks",
    "HttpRequest",
    "HttpResponse",
    "InMemoryJournal",
    "InMemoryTemplateStore",
    "Journal",
    "KakaoConnector",
    "KakaoConnectorConfig",
    "NhnAlimtalkAdapter",
    "NhnAlimtalkApi",
    "PostgresJournal",
    "PostgresTemplateStore",
    "ProviderAdapter",
    "ProviderError",
    "ProviderProtocolError",
    "ProviderRejected",
    "ProviderThrottled",
    "ProviderUnavailable",
    "RecipientAnswer",
    "RecipientRequest",
    "Resend",
    "SendBatch",
    "SyncReport",
    "Template",
    "TemplateFileError",
    "TemplateRegistry",
    "TemplateStore",
    "TemplateUpdate",
    "carrier_id",
    "classify_code",
    "compile_template",
    "load_template_file",
    "sign_body",
    "sync_from_nhn",
    "sync_templates",
]
