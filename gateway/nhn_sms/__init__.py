"""NHN Cloud SMS (API v3.0): Korean SMS, LMS and MMS, advertising, international SMS.

Public names are re-exported here (pinned by ``tests/unit/nhn_sms/test_api.py``);
the modules behind them are private to the package:

* ``config``: :class:`NhnSmsConnectorConfig`
* ``connector``: :class:`NhnSmsConnector` (``prepare``, ``sender``, ``results``,
  ``attachments``, ``numbers`` hold its parts)
* ``api`` / ``adapter``: the sans-I/O codec of the API and its adapter on a transport
* ``codes``: every documented result code and its class

The provider simulator (documented shapes, fault knobs; ``gateway simulate
nhn-sms``) is :mod:`gateway.simulators.nhn_sms`.
"""

from gateway.nhn_sms.adapter import NhnSmsAdapter
from gateway.nhn_sms.api import NhnRecord, NhnSmsApi, SendRecipient, SendRequest
from gateway.nhn_sms.attachments import AttachmentStore, InMemoryAttachmentStore, PostgresAttachmentStore
from gateway.nhn_sms.codes import API_CODES, DELIVERY_CODES, CodeClass, CodeInfo, classify_api, classify_delivery
from gateway.nhn_sms.config import NhnSmsConnectorConfig
from gateway.nhn_sms.connector import NhnSmsConnector
from gateway.nhn_sms.results import receipt_for

__all__ = [
    "API_CODES",
    "DELIVERY_CODES",
    "AttachmentStore",
    "CodeClass",
    "CodeInfo",
    "InMemoryAttachmentStore",
    "NhnRecord",
    "NhnSmsAdapter",
    "NhnSmsApi",
    "NhnSmsConnector",
    "NhnSmsConnectorConfig",
    "PostgresAttachmentStore",
    "SendRecipient",
    "SendRequest",
    "classify_api",
    "classify_delivery",
    "receipt_for",
]
