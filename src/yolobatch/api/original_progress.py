"""The original system's `/progress` answer (its fields: domain/original_progress.py), and the snapshot
that keeps a large batch's one cheap.

The original's shape lists every restaurant, so its cost grows with the batch: 10 000 restaurants took
~280 ms to read and ~1.3 MB to encode (benchmarks/README.md). Clients poll it every few seconds, so for a
batch of `CACHED_FROM` restaurants or more the answer is served from an encoded snapshot at most
`MAX_AGE` seconds old (plus one rebuild's time): a request that finds it older starts one rebuild in the
background and still answers at once. Smaller batches are read fresh on every request.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from yolobatch.domain.original_progress import original_progress, with_extras
from yolobatch.domain.statuses import batch_status
from yolobatch.store.read_models import RegistrationProgress

CACHED_FROM = 1000  # restaurants; below this a fresh read costs a few ms
# Seconds a snapshot is served before a request rebuilds it (in the background). A rebuild of 10 000
# restaurants costs the API process ~0.3-0.6 s of CPU, which would slow every other request if done often.
MAX_AGE = 5.0
MAX_SNAPSHOTS = 32  # batches kept per process (least recently used dropped)


def original_shape(progress: RegistrationProgress) -> dict[str, Any]:
    """The original's fields, each with its name and meaning (domain/original_progress.py), plus
    yolobatch's own figures under `batch`, `percentage` and `restaurants`."""
    restaurants = progress.jobs
    total = len(restaurants)
    counts = Counter(j.status for j in restaurants)
    states = Counter(j.state for j in restaurants)
    status = batch_status(counts, started=progress.started, total=total)
    extras = {
        "batch": {
            "id": progress.batch_id,
            "name": progress.name,
            "status": status,  # yolobatch's vocabulary (the top-level `status` is the original's)
            "total_restaurants": total,
            "completed_restaurants": counts.get("completed", 0),
            # A step or call failed and waits for a retry, skip or mark done.
            "failed_restaurants": states.get("failed", 0),
            # Waiting for a person's choice (menu, company, config review): not a failure.
            "waiting_restaurants": states.get("waiting", 0),
            "restaurants_with_warnings": sum(1 for j in restaurants if j.warnings),
        },
        # Finer than `progress_percent`: settled steps and calls too, not only finished restaurants.
        "percentage": round(100 * sum(j.done for j in restaurants) / max(1, total), 1),
        "restaurants": [
            {
                "job_id": j.job_id,
                "name": j.restaurant_name,
                "status": j.status,
                "state": j.state,
                "current_step": j.current_step,
                "step_requiring_action": j.step_requiring_action,
                "error": j.error,
                "warnings": j.warnings,
            }
            for j in restaurants
        ],
    }
    return with_extras(original_progress(status, restaurants, progress.last_updated), extras)


def encoded(progress: RegistrationProgress) -> bytes:
    # Encoded here, not by the framework's per-field encoder, which cost more than the read itself.
    return json.dumps(original_shape(progress), separators=(",", ":")).encode()


@dataclass
class _Snapshot:
    body: bytes
    taken_at: float
    rebuild: asyncio.Task[None] | None = None


class SnapshotCache:
    """Encoded answers of large batches, each rebuilt in the background once older than `max_age`."""

    def __init__(self, max_age: float = MAX_AGE, cached_from: int = CACHED_FROM) -> None:
        self._max_age = max_age
        self._cached_from = cached_from
        self._snapshots: OrderedDict[tuple[Any, ...], _Snapshot] = OrderedDict()

    async def get(self, key: tuple[Any, ...], read: Callable[[], Awaitable[RegistrationProgress]]) -> bytes:
        """The answer for `key`; `read` reads the batch (and raises for a batch the caller may not see, so
        the key must include whatever decides that)."""
        snapshot = self._snapshots.get(key)
        if snapshot is None:
            progress = await read()
            body = await asyncio.to_thread(encoded, progress)
            if len(progress.jobs) >= self._cached_from:
                self._keep(key, _Snapshot(body, time.monotonic()))
            return body
        self._snapshots.move_to_end(key)
        if time.monotonic() - snapshot.taken_at > self._max_age and snapshot.rebuild is None:
            snapshot.rebuild = asyncio.create_task(self._rebuild(key, snapshot, read))
        return snapshot.body

    async def _rebuild(
        self, key: tuple[Any, ...], snapshot: _Snapshot, read: Callable[[], Awaitable[RegistrationProgress]]
    ) -> None:
        try:
            progress = await read()
            body = await asyncio.to_thread(encoded, progress)
        except Exception:  # e.g. the batch was deleted: the next request reads it afresh (and says why)
            self._snapshots.pop(key, None)
            return
        finally:
            snapshot.rebuild = None
        snapshot.body, snapshot.taken_at = body, time.monotonic()

    def _keep(self, key: tuple[Any, ...], snapshot: _Snapshot) -> None:
        self._snapshots[key] = snapshot
        while len(self._snapshots) > MAX_SNAPSHOTS:
            self._snapshots.popitem(last=False)
