"""Flow control's shared state: the global-cap leases (slots) and the per-account rate gate."""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from yolobatch.store.core import (
    LEASE_REQUEST_TTLS,
    StoreCore,
    rowcount,
)
from yolobatch.store.tables import (
    RateGate,
    SlotLease,
    utcnow,
)


class Leases(StoreCore):
    def try_acquire_slot(self, call_class: str, capacity: int, holder: str, ttl_seconds: float) -> int | None:
        """Take a free (or expired) permit among the first `capacity`; None when all are held."""
        now = utcnow()
        if (call_class, capacity) not in self._slot_rows:  # rows are never deleted: once per process
            with self.transaction() as s:
                existing = set(s.scalars(select(SlotLease.slot_no).where(SlotLease.call_class == call_class)))
                missing = [n for n in range(capacity) if n not in existing]
                if missing:
                    insert = pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
                    s.execute(
                        insert(SlotLease)
                        .values([{"call_class": call_class, "slot_no": n} for n in missing])
                        .on_conflict_do_nothing()
                    )
            self._slot_rows.add((call_class, capacity))
        asked_since = now - _lease_request_ttl(ttl_seconds)
        unheld = or_(SlotLease.holder.is_(None), SlotLease.expires_at < now)
        not_asked = or_(
            SlotLease.requested_by.is_(None),
            SlotLease.requested_by == holder,
            SlotLease.requested_at < asked_since,
        )
        free = and_(unheld, not_asked)
        with self.session() as s:
            candidates = list(
                s.scalars(
                    select(SlotLease.slot_no)
                    .where(SlotLease.call_class == call_class, SlotLease.slot_no < capacity, free)
                    .order_by(SlotLease.slot_no)
                )
            )
        for slot_no in candidates:
            # A conditional UPDATE is atomic per row on both SQLite and PostgreSQL: one winner per permit.
            with self.transaction() as s:
                won = rowcount(
                    s.execute(
                        update(SlotLease)
                        .where(SlotLease.call_class == call_class, SlotLease.slot_no == slot_no, free)
                        .values(
                            holder=holder,
                            expires_at=now + timedelta(seconds=ttl_seconds),
                            requested_by=None,
                            requested_at=None,
                        ),
                        execution_options=self._fast,
                    )
                )
            if won:
                return slot_no
        self._ask_for_slot(call_class, capacity, holder, asked_since)
        return None

    def _ask_for_slot(self, call_class: str, capacity: int, holder: str, asked_since: datetime) -> None:
        """All permits are held. If `holder` has less than its fair share (the cap over the workers holding
        or asking for permits), ask for one held by the worker that holds the most."""
        now = utcnow()
        with self.session() as s:
            rows = s.execute(
                select(
                    SlotLease.slot_no,
                    SlotLease.holder,
                    SlotLease.requested_by,
                    (SlotLease.requested_at >= asked_since).label("fresh"),
                ).where(
                    SlotLease.call_class == call_class,
                    SlotLease.slot_no < capacity,
                    SlotLease.holder.is_not(None),
                    SlotLease.expires_at >= now,
                )
            ).all()
        asking = {r.slot_no: r.requested_by for r in rows if r.requested_by and r.fresh}
        workers = {r.holder for r in rows} | set(asking.values()) | {holder}
        share = -(-capacity // len(workers))
        held = Counter(r.holder for r in rows)
        if held[holder] + list(asking.values()).count(holder) >= share:
            return
        choices = [r for r in rows if r.holder != holder and r.slot_no not in asking]
        if not choices:
            return
        target = max(choices, key=lambda r: (held[r.holder], -r.slot_no))
        with self.transaction() as s:
            s.execute(
                update(SlotLease)
                .where(
                    SlotLease.call_class == call_class,
                    SlotLease.slot_no == target.slot_no,
                    or_(SlotLease.requested_by.is_(None), SlotLease.requested_at < asked_since),
                )
                .values(requested_by=holder, requested_at=now),
                execution_options=self._fast,
            )

    def renew_slots(self, call_class: str, holder: str, ttl_seconds: float) -> set[int]:
        """Extend `holder`'s leases; returns those of them that another worker asks for."""
        now = utcnow()
        with self.transaction() as s:
            s.execute(
                update(SlotLease)
                .where(SlotLease.call_class == call_class, SlotLease.holder == holder)
                .values(expires_at=now + timedelta(seconds=ttl_seconds)),
                execution_options=self._fast,
            )
            return set(
                s.scalars(
                    select(SlotLease.slot_no).where(
                        SlotLease.call_class == call_class,
                        SlotLease.holder == holder,
                        SlotLease.requested_by.is_not(None),
                        SlotLease.requested_by != holder,
                        SlotLease.requested_at >= now - _lease_request_ttl(ttl_seconds),
                    )
                )
            )

    def release_slot(self, call_class: str, slot_no: int, holder: str) -> None:
        with self.transaction() as s:
            s.execute(
                update(SlotLease)
                .where(
                    SlotLease.call_class == call_class,
                    SlotLease.slot_no == slot_no,
                    SlotLease.holder == holder,
                )
                .values(holder=None, expires_at=None),
                execution_options=self._fast,
            )

    def reserve_start(self, call_class: str, interval: float, now: float | None = None) -> float:
        """Reserve the next start time of `call_class`, at least `interval` seconds after the previous one.

        The row is locked before the clock is read, so a writer that waited for the lock cannot reserve a
        time already in the past (its call would then start too close to the one reserved before it).
        """
        with self.transaction() as s:
            next_at, _ = self._locked_gate(s, call_class)
            start = max(next_at, time.time() if now is None else now)
            s.execute(
                update(RateGate).where(RateGate.call_class == call_class).values(next_at=start + interval)
            )
        return start

    def confirm_start(self, call_class: str, interval: float, now: float | None = None) -> float:
        """Record that a call of `call_class` starts now, and return 0.0 — unless the last one actually
        started less than `interval` seconds ago: then record nothing and return the seconds still to wait.

        A reserved time assumes the call before it started on time; one that started late (a busy worker)
        would otherwise leave less than `interval` between the two starts the platform sees.
        """
        with self.transaction() as s:
            next_at, last = self._locked_gate(s, call_class)
            now = time.time() if now is None else now
            if last is not None and now < last + interval:
                return last + interval - now
            # Reservations made from now on queue behind this start, not behind its reserved time.
            s.execute(
                update(RateGate)
                .where(RateGate.call_class == call_class)
                .values(last_start_at=now, next_at=max(next_at, now + interval))
            )
        return 0.0

    def _locked_gate(self, s: Session, call_class: str) -> tuple[float, float | None]:
        """The gate's (next_at, last_start_at), its row created if missing and locked (on SQLite the insert
        takes the database's write lock; on PostgreSQL FOR UPDATE locks the row) before the caller reads
        the clock."""
        insert = pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        s.execute(insert(RateGate).values(call_class=call_class, next_at=0.0).on_conflict_do_nothing())
        next_at, last = s.execute(
            select(RateGate.next_at, RateGate.last_start_at)
            .where(RateGate.call_class == call_class)
            .with_for_update()
        ).one()
        return next_at, last

    def release_all_slots(self, call_class: str, holder: str) -> None:
        with self.transaction() as s:
            s.execute(
                update(SlotLease)
                .where(SlotLease.call_class == call_class, SlotLease.holder == holder)
                .values(holder=None, expires_at=None)
            )


def _lease_request_ttl(ttl_seconds: float) -> timedelta:
    return timedelta(seconds=ttl_seconds * LEASE_REQUEST_TTLS)
