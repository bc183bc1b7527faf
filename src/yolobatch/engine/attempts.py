"""Every send of a registration call, recorded as a `call_attempt` event (issue 17: the sub-step row keeps
only the last attempt, so a restaurant's timeline could not show the ones before it).

One event per send, written when the send ends, with the waits that came before it: in Temporal's queue
until a worker had a permit of the global cap (`queued_at` → `picked_at`), and at the account rate gate
(`gate_from` → `gate_to`). The dedupe key makes a retried write harmless.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from temporalio import activity

from yolobatch.integrations.registration.client import CallFailed
from yolobatch.store.repository import Registration, Store

CALL_ATTEMPT = "call_attempt"  # the event kind; store/pictures.py reads it back


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment else None


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class AttemptEvent:
    sub_step: str
    message: str
    data: dict[str, Any]
    dedupe_key: str  # makes a retried write harmless


class AttemptLog:
    """The sends of one activity attempt of one sub-step call (a guarded call may send several)."""

    def __init__(
        self, store: Store, registration: Registration, job_id: str, key: str, generation: int
    ) -> None:
        info = activity.info()
        self._store = store
        self._registration = registration
        self._job_id = job_id
        self._key = key
        self._generation = generation
        self._attempt = info.attempt
        # Scheduled → started is time in the task queue: with a free worker that is milliseconds, so a
        # long stretch is the global cap (no permit free) holding the call back.
        self._queued_at: datetime | None = info.current_attempt_scheduled_time
        self._picked_at: datetime | None = info.started_time
        self._round = 0
        self._gate: tuple[datetime, datetime] | None = None
        self._sent_at = _now()
        self._sent_clock = time.monotonic()

    async def at_gate(self, wait: Any) -> None:
        """Awaits `wait` (the account rate gate) and remembers how long it held this send back."""
        began = _now()
        await wait
        self._gate = (began, _now())

    def sending(self) -> None:
        self._round += 1
        self._sent_at = _now()
        self._sent_clock = time.monotonic()

    def ended(
        self, outcome: str, *, status_code: int | None = None, message: str = "", verified: bool = False
    ) -> AttemptEvent:
        """The send that just ended, as its event: `ok`, `failed` (a retry may follow) or `verified` (an
        ambiguous answer that the platform's read showed was done). A success's event is written in the
        transaction that records the sub-step (one write per call, not two); a failure's by `failed`."""
        took = time.monotonic() - self._sent_clock
        ended_at = _now()
        first = self._round <= 1
        data = {
            "generation": self._generation,
            "attempt": self._attempt,
            "round": max(1, self._round),
            # The queue wait belongs to the first send of the activity attempt only.
            "queued_at": _iso(self._queued_at) if first else None,
            "picked_at": _iso(self._picked_at) if first else None,
            "gate_from": _iso(self._gate[0]) if self._gate else None,
            "gate_to": _iso(self._gate[1]) if self._gate else None,
            "sent_at": _iso(self._sent_at),
            "ended_at": _iso(ended_at),
            "outcome": outcome,
            "status_code": status_code,
            "verified": verified,
        }
        self._gate = None
        label = f"attempt {self._attempt}.{max(1, self._round)}: {outcome}"
        label += f" ({status_code})" if status_code else ""
        label += f" in {took:.2f} s" + (f" — {message}" if message else "")
        dedupe_key = f"{self._job_id}/{self._key}/{self._generation}/{self._attempt}.{self._round}/attempt"
        return AttemptEvent(self._key, label[:500], data, dedupe_key)

    def write(self, event: AttemptEvent) -> None:
        """Adds `event` to the store (inside the caller's transaction, if there is one)."""
        self._store.add_event(
            self._registration.org_id,
            self._registration.batch_id,
            self._job_id,
            CALL_ATTEMPT,
            event.message,
            sub_step=event.sub_step,
            data=event.data,
            dedupe_key=event.dedupe_key,
        )

    async def failed(self, failure: CallFailed) -> None:
        event = self.ended("failed", status_code=failure.status_code, message=failure.message)
        await asyncio.to_thread(self.write, event)
