"""Lanes: the messages waiting for one (connector, sender), in the order they should go.

Within a lane, classes are served in strict priority: informational before
advertising, then higher numeric ``priority`` first. Within a class, campaigns
share the lane by deficit round robin on cost (Shreedhar & Varghese): each
campaign's turn adds ``quantum`` units to its deficit and it sends while its
deficit covers the cost of its next message. A campaign of 10,000 messages and
one of 10 on the same sender therefore alternate, and the small one finishes
after about 20 sends, not after 10,010. Messages without a campaign form one
flow of their own. Order within a campaign is first in, first out.

Pure: no clock (``enqueued_at`` is given), no I/O.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

__all__ = ["CampaignRoundRobin", "Lane", "Waiting", "class_of"]

T = TypeVar("T")

_KIND_RANK = {"informational": 0}  # every other kind (advertising) comes after
_EPSILON = 1e-9


def class_of(kind: str, priority: int) -> tuple[int, int]:
    """The strict-priority class of a message; smaller goes first."""
    return (_KIND_RANK.get(kind, 1), -priority)


@dataclass(slots=True)
class Waiting(Generic[T]):
    """One message in a lane, with what the scheduler needs to know about it."""

    item: T
    cost: float
    enqueued_at: float
    klass: tuple[int, int]
    campaign: str | None


class CampaignRoundRobin(Generic[T]):
    """Deficit round robin by cost across the campaigns of one class."""

    def __init__(self, quantum: float = 1.0) -> None:
        if not quantum > 0:
            raise ValueError("quantum must be positive")
        self.quantum = quantum
        self._flows: dict[str | None, deque[Waiting[T]]] = {}
        self._deficit: dict[str | None, float] = {}
        self._active: deque[str | None] = deque()
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def push(self, waiting: Waiting[T]) -> None:
        flow = self._flows.get(waiting.campaign)
        if flow is None:
            flow = self._flows[waiting.campaign] = deque()
            self._deficit[waiting.campaign] = 0.0
            self._active.append(waiting.campaign)
        flow.append(waiting)
        self._count += 1

    def peek(self) -> Waiting[T]:
        """The next message to go. Repeated calls return the same message until :meth:`pop`."""
        if not self._count:
            raise IndexError("peek from an empty lane")
        while True:
            campaign = self._active[0]
            head = self._flows[campaign][0]
            if self._deficit[campaign] + _EPSILON >= head.cost:
                return head
            self._deficit[campaign] += self.quantum
            self._active.rotate(-1)

    def pop(self) -> Waiting[T]:
        """Remove and return the message :meth:`peek` names."""
        head = self.peek()
        campaign = self._active[0]
        flow = self._flows[campaign]
        flow.popleft()
        self._count -= 1
        if flow:
            self._deficit[campaign] -= head.cost
        else:
            del self._flows[campaign], self._deficit[campaign]
            self._active.popleft()
        return head

    def __iter__(self) -> Iterator[Waiting[T]]:
        for flow in self._flows.values():
            yield from flow


@dataclass(slots=True, eq=False)
class Lane(Generic[T]):
    """The waiting messages of one sender on one connector."""

    quantum: float = 1.0
    served_at: int = 0  # serial of the last admission, for round robin across lanes
    count: int = 0
    cost: float = 0.0  # total cost waiting
    max_cost: float = 0.0  # the largest single cost seen (how much one admission may need)
    _classes: dict[tuple[int, int], CampaignRoundRobin[T]] = field(default_factory=dict)
    _best: tuple[int, int] | None = None

    def push(self, waiting: Waiting[T]) -> None:
        rr = self._classes.get(waiting.klass)
        if rr is None:
            rr = self._classes[waiting.klass] = CampaignRoundRobin(self.quantum)
        rr.push(waiting)
        if self._best is None or waiting.klass < self._best:
            self._best = waiting.klass
        self.count += 1
        self.cost += waiting.cost
        self.max_cost = max(self.max_cost, waiting.cost)

    def peek(self) -> Waiting[T]:
        if self._best is None:
            raise IndexError("peek from an empty lane")
        return self._classes[self._best].peek()

    def pop(self) -> Waiting[T]:
        if self._best is None:
            raise IndexError("pop from an empty lane")
        rr = self._classes[self._best]
        waiting = rr.pop()
        if not rr:
            del self._classes[self._best]
            self._best = min(self._classes, default=None)
        self.count -= 1
        self.cost = self.cost - waiting.cost if self.count else 0.0
        return waiting

    def drain(self) -> list[T]:
        """Remove and return everything, best class first."""
        items = [w.item for klass in sorted(self._classes) for w in self._classes[klass]]
        self._classes.clear()
        self._best = None
        self.count = 0
        self.cost = 0.0
        return items
