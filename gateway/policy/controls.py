"""Campaign control as the policy sees it: which campaigns are held, which cancelled, by whom.

Operators and upstream services hold, release and cancel campaigns through SQL
functions (``gateway.campaign_hold`` / ``campaign_release`` / ``campaign_cancel``,
migration 0031) or ``gateway campaign hold|release|cancel``. They write
``gateway.campaign_controls``; the daemon keeps an immutable snapshot of it in
memory (:class:`CampaignControls`), reloaded on ``NOTIFY gateway_policy`` and every
few seconds, and :func:`gateway.policy.evaluate` / :func:`gateway.policy.recheck`
read it:

* a **held** campaign's messages are not sent: HOLD ``campaign`` until released;
* a **cancelled** campaign's messages enqueued up to the cancel are suppressed
  (``campaign_cancelled``); messages enqueued later are not affected.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

from gateway.port import OutboundMessage

__all__ = ["NO_CONTROLS", "CampaignControl", "CampaignControls"]


@dataclass(frozen=True, slots=True)
class CampaignControl:
    """One row of ``gateway.campaign_controls``."""

    campaign_id: str
    held_since: datetime | None = None
    held_by: str | None = None
    cancelled_before: datetime | None = None  # messages enqueued at or before this are cancelled
    cancelled_by: str | None = None

    @property
    def held(self) -> bool:
        return self.held_since is not None

    def cancels(self, message: OutboundMessage) -> bool:
        """The cancel covers this message (enqueued no later than the cancel)."""
        if self.cancelled_before is None:
            return False
        return message.created_at is None or message.created_at <= self.cancelled_before


class CampaignControls(Mapping[str, CampaignControl]):
    """An immutable snapshot of the campaign controls, by campaign id. Swap it whole to refresh."""

    __slots__ = ("_by_id",)

    def __init__(self, controls: Iterable[CampaignControl] = ()) -> None:
        self._by_id = {c.campaign_id: c for c in controls if c.held or c.cancelled_before is not None}

    def __getitem__(self, campaign_id: str) -> CampaignControl:
        return self._by_id[campaign_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_id)

    def __len__(self) -> int:
        return len(self._by_id)

    def for_message(self, message: OutboundMessage) -> CampaignControl | None:
        if not self._by_id or message.campaign_id is None:
            return None
        return self._by_id.get(message.campaign_id)

    def __repr__(self) -> str:
        held = sum(1 for c in self._by_id.values() if c.held)
        return f"CampaignControls(<{held} held, {len(self._by_id) - held} cancelled only>)"


NO_CONTROLS = CampaignControls()
