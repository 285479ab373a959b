"""The SMSC simulator: an asyncio SMPP 3.4 server on our sans-I/O ``SmscSession``.

Private modules, public names re-exported here: ``_server`` (``SmscSimulator``),
``_config`` (``SimulatorConfig`` and its command-line form), ``_stats`` (what it
saw), ``_cli`` (``main``: ``gateway simulate smsc``, ``python -m
gateway.simulators.smsc``). See ``_server`` for what it does.
"""

from gateway.simulators.smsc._cli import main
from gateway.simulators.smsc._config import OUTCOMES, SimulatorConfig, build_parser, config_from_args, parse_outcomes
from gateway.simulators.smsc._server import NoReceiverError, SmscSimulator
from gateway.simulators.smsc._stats import AcceptedSubmit, SimulatorStats

__all__ = [
    "OUTCOMES",
    "AcceptedSubmit",
    "NoReceiverError",
    "SimulatorConfig",
    "SimulatorStats",
    "SmscSimulator",
    "build_parser",
    "config_from_args",
    "main",
    "parse_outcomes",
]
