"""Which events a live feed still owes its reader, when ids do not commit in order.

An event's id is taken when it is inserted, not when its transaction commits: on PostgreSQL a writer can
take id 10, another take 11 and commit first, and a reader that moved its cursor past 11 would never see
10. The feed remembers the ids it skipped (gaps) for a while and asks for them again; a gap that stays
empty that long was a rolled-back insert or another organisation's event.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Protocol, TypeVar

# Far longer than a transaction holding an event stays open; short enough to keep the gap list small.
GAP_GRACE_SECONDS = 30.0
MAX_GAPS = 5_000  # beyond this many unexplained ids, the oldest are given up first


class HasId(Protocol):
    id: int


E = TypeVar("E", bound=HasId)


class FeedCursor:
    def __init__(self, after: int, grace: float = GAP_GRACE_SECONDS) -> None:
        self.high = after  # the highest id delivered (or resumed from)
        self.grace = grace
        self._gaps: dict[int, float] = {}  # id skipped -> when it was first missed

    @property
    def gaps(self) -> list[int]:
        """Ids below `high` not delivered yet that may still commit: ask for them again."""
        return sorted(self._gaps)

    def take(self, rows: Iterable[E]) -> list[E]:
        """Of `rows` (events after `high`, and any of the gaps), those not delivered yet, in id order."""
        now = time.monotonic()
        fresh: list[E] = []
        for event in sorted(rows, key=lambda e: e.id):
            if event.id in self._gaps:
                del self._gaps[event.id]
                fresh.append(event)
            elif event.id > self.high:
                # Only the last MAX_GAPS: a jump over a million other organisations' ids is no reason to
                # track a million of them.
                for missing in range(max(self.high + 1, event.id - MAX_GAPS), event.id):
                    self._gaps[missing] = now
                self.high = event.id
                fresh.append(event)
        self._forget(now)
        return fresh

    def _forget(self, now: float) -> None:
        for missing in [i for i, seen in self._gaps.items() if now - seen > self.grace]:
            del self._gaps[missing]
        if len(self._gaps) > MAX_GAPS:
            for missing in sorted(self._gaps)[: len(self._gaps) - MAX_GAPS]:
                del self._gaps[missing]
