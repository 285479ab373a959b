"""The operators' control surface: pause, resume and rebind connectors on every instance,
this instance's state for ``gateway status`` and ``/status``, the cluster's queue-depth
sampler, instance pruning and bind budgets (see :mod:`gateway.control.plane`)."""

from gateway.control.config import ControlConfig
from gateway.control.controlled import Controlled
from gateway.control.plane import ControlPlane
from gateway.control.store import Control, request_rebind, set_paused

__all__ = ["Control", "ControlConfig", "ControlPlane", "Controlled", "request_rebind", "set_paused"]
