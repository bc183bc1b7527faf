"""Batches and their restaurants (jobs): creating them (idempotently), starting, listing, deleting drafts."""

from __future__ import annotations

import functools
import hashlib
import json
import uuid
from collections import Counter
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy import insert as core_insert
from sqlalchemy.exc import IntegrityError

from yolobatch.domain.batch_input import RestaurantInput
from yolobatch.domain.config import RegistrationConfig
from yolobatch.domain.identities import DuplicateRestaurants
from yolobatch.domain.plan import PLAN
from yolobatch.domain.redaction import MASK
from yolobatch.domain.statuses import JobStatus, batch_status
from yolobatch.store.core import (
    SECRET_POINTERS,
    IdempotencyConflict,
    NotFound,
    _iso,
    rowcount,
)
from yolobatch.store.identities import find_duplicates, identity_rows
from yolobatch.store.progress import Progress
from yolobatch.store.read_models import BatchSummary
from yolobatch.store.tables import (
    Batch,
    CompanyCandidateRow,
    CompanyDetailsRow,
    Event,
    Extraction,
    Job,
    JobStep,
    MenuRow,
    MenuUpload,
    Organisation,
    RegistrationConfigRow,
    RestaurantIdentity,
    SubStepRow,
    utcnow,
)


class Batches(Progress):  # audited writes go through Progress.add_event
    def create_batch(
        self,
        org_id: str,
        name: str,
        restaurants: list[RestaurantInput],
        actor: str = "cli",
        options: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        *,
        refuse_duplicates: bool = False,
    ) -> str:
        """Create a batch and its jobs in one transaction: all of it, or nothing.

        With an `idempotency_key`, a create already made under that key answers that batch's id instead
        (a client resending after a timeout or a 503 gets no second batch); a different request under the
        same key raises `IdempotencyConflict`. With `refuse_duplicates`, restaurants the organisation
        already has registered or in flight in another batch raise `DuplicateRestaurants`."""
        insert = functools.partial(
            self._insert_batch, org_id, name, restaurants, actor, options, refuse_duplicates=refuse_duplicates
        )
        if idempotency_key is None:
            return insert(None, None)
        digest = _request_digest(name, restaurants, options)
        existing = self._batch_for_key(org_id, idempotency_key, digest)
        if existing is not None:
            return existing
        try:
            return insert(idempotency_key, digest)
        except IntegrityError:
            # The same request sent twice at once: the other one created it (or this raises the conflict).
            existing = self._batch_for_key(org_id, idempotency_key, digest)
            if existing is None:
                raise
            return existing

    def _batch_for_key(self, org_id: str, key: str, digest: str) -> str | None:
        with self.session() as s:
            row = s.execute(
                select(Batch.id, Batch.request_digest).where(
                    Batch.org_id == org_id, Batch.idempotency_key == key
                )
            ).first()
        if row is None:
            return None
        if row.request_digest != digest:
            raise IdempotencyConflict(
                f"Idempotency-Key {key!r} was used for a different batch ({row.id}); use a new key"
            )
        return row.id

    def _insert_batch(
        self,
        org_id: str,
        name: str,
        restaurants: list[RestaurantInput],
        actor: str,
        options: dict[str, Any] | None,
        idempotency_key: str | None,
        digest: str | None,
        *,
        refuse_duplicates: bool,
    ) -> str:
        batch_id = str(uuid.uuid4())
        identities: list[dict[str, Any]] = []
        jobs: list[dict[str, Any]] = []
        steps: list[dict[str, Any]] = []
        calls: list[dict[str, Any]] = []
        configs: list[RegistrationConfigRow] = []
        menus: list[dict[str, Any]] = []
        now = utcnow()
        # Rows are built before the write lock is taken and inserted in bulk (one executemany per table):
        # a 10 000-restaurant upload holds the lock for a second or two, not for the per-object flushes
        # that made other organisations' writes queue behind it for over a minute.
        for position, restaurant in enumerate(restaurants):
            job_id = str(uuid.uuid4())
            # Ready-made configs start at step 6; the others run the whole pipeline.
            first_step = 1 if restaurant.config is None else 6
            jobs.append(
                {
                    "id": job_id,
                    "org_id": org_id,
                    "batch_id": batch_id,
                    "position": position,
                    "restaurant_name": restaurant.name,
                    "input": restaurant.facts(),
                    "current_step": first_step,
                    "status": JobStatus.PENDING.value,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            steps += ({"job_id": job_id, "step": step, "status": "pending"} for step in range(first_step, 7))
            calls += (
                {"job_id": job_id, "key": spec.key.value, "status": "pending", "updated_at": now}
                for spec in PLAN
            )
            identities += identity_rows(org_id, job_id, restaurant)
            if restaurant.config is not None:
                configs.append(self._config_row(job_id, restaurant.config))
            if restaurant.menu is not None:
                menus.append(
                    {
                        "id": restaurant.menu.id,
                        "org_id": org_id,
                        "job_id": job_id,
                        "data": restaurant.menu.model_dump(mode="json"),
                        "created_at": now,
                    }
                )
        with self.transaction() as s:
            if refuse_duplicates:
                # Two uploads of one organisation check and insert one after the other: under PostgreSQL's
                # read committed both would pass the check before either inserted. (SQLite writes serially.)
                s.execute(select(Organisation.id).where(Organisation.id == org_id).with_for_update())
                if duplicates := find_duplicates(s, org_id, restaurants):
                    raise DuplicateRestaurants(duplicates)
            s.add(
                Batch(
                    id=batch_id,
                    org_id=org_id,
                    name=name,
                    options=options or {},
                    idempotency_key=idempotency_key,
                    request_digest=digest,
                )
            )
            s.flush()
            inserts = ((Job, jobs), (JobStep, steps), (SubStepRow, calls), (MenuRow, menus))
            for table, rows in (*inserts, (RestaurantIdentity, identities)):
                if rows:
                    s.execute(core_insert(table), rows)
            s.add_all(configs)
            s.add(
                Event(
                    org_id=org_id,
                    batch_id=batch_id,
                    kind="batch_created",
                    actor=actor,
                    message=f"{len(restaurants)} restaurants",
                    dedupe_key=f"{batch_id}/created",
                )
            )
        return batch_id

    def _config_row(self, job_id: str, config: RegistrationConfig) -> RegistrationConfigRow:
        return self._wire_row(job_id, config.to_wire())

    def _wire_row(self, job_id: str, wire: dict[str, Any]) -> RegistrationConfigRow:
        """Split a wire config into its public part (secrets masked) and the sealed secrets."""
        public = {k: dict(v) if isinstance(v, dict) else v for k, v in wire.items()}
        secrets: dict[str, str] = {}
        for pointer in SECRET_POINTERS:
            section, field = pointer.split(".")
            value = (wire.get(section) or {}).get(field)
            if value:
                secrets[pointer] = value
                public[section][field] = MASK
        return RegistrationConfigRow(job_id=job_id, public=public, secrets=self.box.seal(secrets))

    def job_facts(self, job_id: str) -> tuple[Job, dict[str, Any]]:
        """The job and its batch's options (yolo, auto_select, registry)."""
        with self.session() as s:
            job = s.get(Job, job_id)
            if job is None:
                raise NotFound(f"job {job_id} not found")
            batch = s.get(Batch, job.batch_id)
            return job, dict(batch.options or {}) if batch else {}

    def first_step(self, job_id: str) -> int:
        """1 for jobs that run the whole pipeline, 6 for jobs that arrived with a ready config."""
        with self.session() as s:
            return s.scalar(select(func.min(JobStep.step)).where(JobStep.job_id == job_id)) or 6

    def mark_batch_started(self, batch_id: str, actor: str = "system") -> None:
        with self.transaction() as s:
            started = rowcount(
                s.execute(
                    update(Batch)
                    .where(Batch.id == batch_id, Batch.started_at.is_(None))
                    .values(started_at=utcnow())
                )
            )
            if started:
                org_id = s.scalars(select(Batch.org_id).where(Batch.id == batch_id)).one()
                self.add_event(org_id, batch_id, None, "batch_started", "Batch started", actor=actor)

    def job_ids_page(self, batch_id: str, after_position: int, limit: int) -> list[tuple[int, str, str]]:
        """(position, job id, org id) of the batch's jobs after `after_position`, in input order."""
        with self.session() as s:
            rows = s.execute(
                select(Job.position, Job.id, Job.org_id)
                .where(Job.batch_id == batch_id, Job.position > after_position)
                .order_by(Job.position)
                .limit(limit)
            )
            return [(position, job_id, org_id) for position, job_id, org_id in rows]

    def start_room(self, batch_id: str, window: int) -> tuple[int, int]:
        """(room, share): how many more of this batch's restaurants may start now, keeping the
        installation's restaurants in progress (`running`; not those waiting for a person) within `window`,
        and this batch's share of the window. Batches with restaurants still to start or in progress share
        it evenly, so a large batch does not hold back one started after it."""
        live = (JobStatus.PENDING, JobStatus.RUNNING)
        with self.session() as s:
            running = s.scalar(select(func.count()).select_from(Job).where(Job.status == JobStatus.RUNNING))
            mine = s.scalar(
                select(func.count())
                .select_from(Job)
                .where(Job.batch_id == batch_id, Job.status == JobStatus.RUNNING)
            )
            sharing = s.scalar(
                select(func.count(func.distinct(Job.batch_id)))
                .join(Batch, Batch.id == Job.batch_id)
                .where(Job.status.in_(live), Batch.started_at.is_not(None))
            )
        share = max(1, window // max(1, sharing or 0))
        return max(0, min(window - (running or 0), share - (mine or 0))), share

    def batch(self, batch_id: str, org_id: str | None = None) -> Batch:
        with self.session() as s:
            batch = s.get(Batch, batch_id)
            if batch is None or (org_id is not None and batch.org_id != org_id):
                raise NotFound(f"batch {batch_id} not found")
            return batch

    def list_batches(
        self,
        org_id: str,
        *,
        status: str | None = None,
        search: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[BatchSummary], int]:
        """The organisation's batches, newest first, with counts of their restaurants by status; with
        `search`, only those whose name contains it (any case)."""
        query = select(Batch).where(Batch.org_id == org_id)
        if search:
            query = query.where(func.lower(Batch.name).contains(search.lower(), autoescape=True))
        with self.session() as s:
            batches = list(s.scalars(query.order_by(Batch.created_at.desc())))
            counts: dict[str, Counter] = {b.id: Counter() for b in batches}
            rows = s.execute(
                select(Job.batch_id, Job.status, func.count())
                .where(Job.org_id == org_id)
                .group_by(Job.batch_id, Job.status)
            )
            for batch_id, job_status, n in rows:
                if batch_id in counts:  # a batch the search left out
                    counts[batch_id][job_status] = n
        items = []
        for batch in batches:
            total = sum(counts[batch.id].values())
            state = batch_status(counts[batch.id], started=batch.started_at is not None, total=total)
            if status and state != status:
                continue
            items.append(
                BatchSummary(
                    batch_id=batch.id,
                    name=batch.name,
                    status=state,
                    total=total,
                    counts=dict(counts[batch.id]),
                    options=batch.options or {},
                    created_at=_iso(batch.created_at),
                    started_at=_iso(batch.started_at),
                )
            )
        return items[offset : offset + limit], len(items)

    def delete_draft_batch(self, batch_id: str, org_id: str, actor: str = "system") -> None:
        """Delete a batch that was never started, with everything created for it."""
        batch = self.batch(batch_id, org_id)
        if batch.started_at is not None:
            raise ValueError("only a draft (never started) batch can be deleted; cancel a started one")
        with self.transaction() as s:
            job_ids = select(Job.id).where(Job.batch_id == batch_id).scalar_subquery()
            for table in (SubStepRow, JobStep, RegistrationConfigRow, MenuRow, MenuUpload, Extraction):
                s.execute(delete(table).where(table.job_id.in_(job_ids)))
            for job_table in (CompanyCandidateRow, CompanyDetailsRow, RestaurantIdentity):
                s.execute(delete(job_table).where(job_table.job_id.in_(job_ids)))
            s.execute(delete(Job).where(Job.batch_id == batch_id))
            s.execute(delete(Batch).where(Batch.id == batch_id))
        self.add_event(org_id, None, None, "batch_deleted", f"Draft batch {batch.name} deleted", actor=actor)

    def job(self, job_id: str, org_id: str | None = None) -> Job:
        with self.session() as s:
            job = s.get(Job, job_id)
            if job is None or (org_id is not None and job.org_id != org_id):
                raise NotFound(f"job {job_id} not found")
            return job

    def sub_step(self, job_id: str, key: str) -> SubStepRow:
        with self.session() as s:
            row = s.get(SubStepRow, (job_id, key))
            if row is None:
                raise NotFound(f"sub-step {key} of job {job_id} not found")
            return row


def _request_digest(name: str, restaurants: list[RestaurantInput], options: dict[str, Any] | None) -> str:
    """What a create request asked for, to tell a resend from a different request under the same key."""
    asked = [name, options or {}, [r.model_dump(mode="json") for r in restaurants]]
    return hashlib.sha256(json.dumps(asked, sort_keys=True, default=str).encode()).hexdigest()
