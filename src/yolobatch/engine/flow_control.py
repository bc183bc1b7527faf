"""Global concurrency cap across all workers: activity slots backed by expiring leases in the database.

Temporal enforces rate limits per task queue on the server, but has no global concurrency limit. A worker
here may only hold a platform-call slot while it holds one of the `capacity` leases of the call class;
leases expire unless renewed, so a killed worker's slots come back after `ttl` seconds.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
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

    async def reserve_slot(self, ctx: SlotReserveContext) -> SlotPermit:
        if self._renewer is None:
            self._renewer = asyncio.create_task(self._renew_forever())
        while True:
            slot_no = await asyncio.to_thread(
                self._store.try_acquire_slot, self._call_class, self._capacity, self.holder, self._ttl
            )
            if slot_no is not None:
                return LeasePermit(slot_no)
            await asyncio.sleep(self._poll * random.uniform(0.5, 1.5))

    def try_reserve_slot(self, ctx: SlotReserveContext) -> SlotPermit | None:
        return None  # eager dispatch would bypass the cap; platform calls always go through polling

    def mark_slot_used(self, ctx: SlotMarkUsedContext) -> None:
        pass

    def release_slot(self, ctx: SlotReleaseContext) -> None:
        permit = ctx.permit
        if isinstance(permit, LeasePermit):
            self._releaser.submit(self._store.release_slot, self._call_class, permit.slot_no, self.holder)

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(self._ttl / 3)
            try:
                await asyncio.to_thread(self._store.renew_slots, self._call_class, self.holder, self._ttl)
            except Exception:  # a database hiccup must not kill the worker; leases simply expire
                log.exception("could not renew %s slot leases", self._call_class)

    def close(self) -> None:
        """Give all leases back now (clean shutdown), instead of letting them expire."""
        if self._renewer is not None:
            self._renewer.cancel()
        self._releaser.shutdown(wait=True)
        self._store.release_all_slots(self._call_class, self.holder)
