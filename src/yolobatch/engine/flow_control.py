"""Global concurrency cap across all workers: activity slots backed by expiring leases in the database.

Temporal enforces rate limits per task queue on the server, but has no global concurrency limit. A worker
here may only hold a platform-call slot while it holds one of the `capacity` leases of the call class;
leases expire unless renewed, so a killed worker's slots come back after `ttl` seconds.

A lease freed while this worker has a reservation waiting goes straight to that reservation, without a
database round trip: otherwise every call would leave its slot idle for a polling interval, which at
short call durations cost a quarter of the capacity (benchmarks/README.md). Other workers get leases that
a worker gives back when nothing of its own is waiting, every lease of a dead worker, and, when they hold
less than their fair share, the leases they ask for: the holder learns of the request when it renews its
leases and gives the lease back at its next release instead of reusing it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections import deque
from concurrent.futures import ThreadPoolExecutor

from temporalio.worker import (
    CustomSlotSupplier,
    SlotMarkUsedContext,
    SlotPermit,
    SlotReleaseContext,
    SlotReserveContext,
)

from yolobatch.store.repository import Store

log = logging.getLogger(__name__)


IDLE_KEEP_SECONDS = 0.5


class LeasePermit(SlotPermit):
    def __init__(self, slot_no: int) -> None:
        super().__init__()
        self.slot_no = slot_no


class LeaseSlotSupplier(CustomSlotSupplier):
    def __init__(
        self, store: Store, call_class: str, capacity: int, *, ttl: float = 15.0, poll: float = 0.2
    ) -> None:
        self._store = store
        self._call_class = call_class
        self._capacity = capacity
        self._ttl = ttl
        self._poll = poll
        self.holder = f"worker-{uuid.uuid4()}"
        # Release is a sync callback that must not block the worker: it runs on this small pool.
        self._releaser = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lease-release")
        self._renewer: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # Reservations of this worker waiting for a lease, oldest first; only touched on the event loop.
        self._waiting: deque[asyncio.Future[int]] = deque()
        # Leases freed with nobody waiting, kept a moment for the next reservation (then given back), so a
        # busy worker does not pay two database round trips per call for the same lease.
        self._idle: dict[int, asyncio.TimerHandle] = {}
        self._asked_for: set[int] = set()  # our leases another worker asks for: give back, do not reuse

    async def reserve_slot(self, ctx: SlotReserveContext) -> SlotPermit:
        if self._renewer is None:
            self._loop = asyncio.get_running_loop()
            self._renewer = asyncio.create_task(self._renew_forever())
        while True:
            if self._idle:
                slot_no, expiry = self._idle.popitem()
                expiry.cancel()
                return LeasePermit(slot_no)
            acquired = await asyncio.to_thread(
                self._store.try_acquire_slot, self._call_class, self._capacity, self.holder, self._ttl
            )
            if acquired is not None:
                return LeasePermit(acquired)
            handed: asyncio.Future[int] = asyncio.get_running_loop().create_future()
            self._waiting.append(handed)
            try:
                # A local release hands its lease over at once; meanwhile poll for other workers' leases.
                await asyncio.wait({handed}, timeout=self._poll * random.uniform(0.5, 1.5))
            except BaseException:
                if handed.done():  # handed over just as we were cancelled: the lease must not leak
                    self._give_back(handed.result())
                raise
            finally:
                handed.cancel()
                with contextlib.suppress(ValueError):
                    self._waiting.remove(handed)
            if not handed.cancelled():
                return LeasePermit(handed.result())

    def try_reserve_slot(self, ctx: SlotReserveContext) -> SlotPermit | None:
        return None  # eager dispatch would bypass the cap; platform calls always go through polling

    def mark_slot_used(self, ctx: SlotMarkUsedContext) -> None:
        pass

    def release_slot(self, ctx: SlotReleaseContext) -> None:
        permit = ctx.permit
        if not isinstance(permit, LeasePermit):
            return
        if self._loop is not None and not self._loop.is_closed():
            try:
                self._loop.call_soon_threadsafe(self._hand_over, permit.slot_no)
                return
            except RuntimeError:  # the loop closed in between: give the lease back to the database
                pass
        self._give_back(permit.slot_no)

    def _hand_over(self, slot_no: int) -> None:
        """On the event loop: the oldest waiting reservation takes the lease, else it idles a moment."""
        if slot_no in self._asked_for:
            self._asked_for.discard(slot_no)
            self._give_back(slot_no)
            return
        while self._waiting:
            handed = self._waiting.popleft()
            if not handed.done():
                handed.set_result(slot_no)
                return
        assert self._loop is not None
        self._idle[slot_no] = self._loop.call_later(IDLE_KEEP_SECONDS, self._give_back_idle, slot_no)

    def _give_back_idle(self, slot_no: int) -> None:
        if self._idle.pop(slot_no, None) is not None:
            self._give_back(slot_no)

    def _give_back(self, slot_no: int) -> None:
        with contextlib.suppress(RuntimeError):  # after close() every lease of ours is released anyway
            self._releaser.submit(self._store.release_slot, self._call_class, slot_no, self.holder)

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(self._ttl / 3)
            try:
                asked_for = await asyncio.to_thread(
                    self._store.renew_slots, self._call_class, self.holder, self._ttl
                )
            except Exception:  # a database hiccup must not kill the worker; leases simply expire
                log.exception("could not renew %s slot leases", self._call_class)
                continue
            self._asked_for = asked_for
            for slot_no in asked_for & self._idle.keys():
                self._give_back_idle(slot_no)

    def close(self) -> None:
        """Give all leases back now (clean shutdown), instead of letting them expire."""
        if self._renewer is not None:
            self._renewer.cancel()
        self._releaser.shutdown(wait=True)
        self._store.release_all_slots(self._call_class, self.holder)
