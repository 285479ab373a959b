"""The peers the gateway is tested against (go-smpp's ``smpptest``): they sit above the connectors.

- ``gateway.simulators.smsc``: an SMPP 3.4 SMSC (asyncio, on the sans-I/O
  ``SmscSession`` of ``gateway.smpp.protocol``) with receipts, MO messages,
  throttling and faults on demand; ``gateway simulate smsc``.
- ``gateway.simulators.kakao``: an NHN Cloud Alimtalk v2.3 provider (aiohttp)
  that answers and posts only NHN's documented shapes (results to a webhook
  with NHN's X-Toast-Webhook-Signature); ``gateway simulate kakao``.
- ``gateway.simulators.nhn_sms``: an NHN Cloud SMS v3.0 provider (aiohttp) in the
  documented shapes, results by webhook and by query; ``gateway simulate nhn-sms``.
- ``gateway.simulators.demo_peers``: all three, set up for ``gateway demo``.
- ``gateway.simulators._http_peer``: what the two HTTP provider simulators share
  (serving on loopback, the fault knobs, posting NHN's webhook).

The tests, the benchmarks, the fault harness and the demo use them over
loopback. They may import the production packages (the SMSC simulator uses the
SMPP core, the Kakao one NHN's code table and dates from ``gateway.kakao``); no production
package imports them (the import-linter layers in ``pyproject.toml``, checked by
``tests/unit/test_layers.py``). Nothing is imported here: each simulator loads
only what it needs.
"""
