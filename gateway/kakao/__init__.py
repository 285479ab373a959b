"""KakaoTalk Alimtalk: the connector, its provider adapter (NHN Cloud v2.3), templates.

Public names are re-exported here (pinned by ``tests/unit/kakao/test_units.py``);
the modules behind them are private to the package:

* ``config``: :class:`KakaoConnectorConfig`
* ``connector``: :class:`KakaoConnector` (``prepare``, ``dispatch``, ``results``,
  ``webhook`` hold its parts)
* ``provider`` / ``nhn`` / ``transport``: the adapter interface, the NHN API
  codec and adapter, the aiohttp transport
* ``codes``: every documented result code and its class
* ``templates`` / ``template_store``: matching, the registry, stores, file sync

The NHN-compatible provider simulator is ``gateway.simulators.kakao``.
"""

from gateway.kakao.codes import CODES, CodeClass, CodeInfo, classify_code
from gateway.kakao.config import KakaoConnectorConfig
from gateway.kakao.connector import KakaoConnector
from gateway.kakao.errors import (
    ProviderError,
    ProviderProtocolError,
    ProviderRejected,
    ProviderThrottled,
    ProviderUnavailable,
    TemplateFileError,
)
from gateway.kakao.nhn import NhnAlimtalkAdapter, NhnAlimtalkApi
from gateway.kakao.provider import (
    BatchAnswer,
    DeliveryReport,
    ProviderAdapter,
    RecipientAnswer,
    RecipientRequest,
    Resend,
    SendBatch,
    carrier_id,
)
from gateway.kakao.template_store import (
    InMemoryTemplateStore,
    PostgresTemplateStore,
    SyncReport,
    TemplateStore,
    load_template_file,
    sync_templates,
)
from gateway.kakao.templates import Template, TemplateRegistry, compile_template
from gateway.kakao.transport import AiohttpTransport, HttpRequest, HttpResponse
from gateway.kakao.webhook import sign_body

__all__ = [
    "CODES",
    "AiohttpTransport",
    "BatchAnswer",
    "CodeClass",
    "CodeInfo",
    "DeliveryReport",
    "HttpRequest",
    "HttpResponse",
    "InMemoryTemplateStore",
    "KakaoConnector",
    "KakaoConnectorConfig",
    "NhnAlimtalkAdapter",
    "NhnAlimtalkApi",
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
    "carrier_id",
    "classify_code",
    "compile_template",
    "load_template_file",
    "sign_body",
    "sync_templates",
]
