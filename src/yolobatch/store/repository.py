"""Reads and writes of the store. Writes from activities are idempotent: replays and retries are harmless."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, case, delete, func, or_, select, update
from sqlalchemy import insert as core_insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from yolobatch.domain.batch_input import RestaurantInput
from yolobatch.domain.config import RegistrationConfig, config_fields
from yolobatch.domain.derive import copy_config, validate_config
from yolobatch.domain.menu import Menu
from yolobatch.domain.plan import PLAN
from yolobatch.domain.redaction import MASK
from yolobatch.domain.statuses import JobStatus, SubStepStatus
from yolobatch.store.crypto import SecretBox
from yolobatch.store.db import SQLITE_BUSY_MS
from yolobatch.store.outputs import OperatorOutputs
from yolobatch.store.tables import (
    ApiToken,
    Batch,
    CompanyCandidateRow,
    CompanyDetailsRow,
    Event,
    Extraction,
    Installation,
    Job,
    JobStep,
    MenuRow,
    Organisation,
    RateGate,
    RegistrationConfigRow,
    SlotLease,
    SubStepRow,
    utcnow,
)

SECRET_POINTERS = ("account.password", "onboarding.userPassword")
FINAL_SUB_STEP = (SubStepStatus.COMPLETED, SubStepStatus.SKIPPED)
JOB_STATES = ("failed", "waiting", "running", "done")  # the dashboard's filters, in its order
# A worker's request for a held lease stands this many lease TTLs: long enough for the holder's renewal to
# see it, short enough that a requester that died does not keep the lease from everyone else for long.
LEASE_REQUEST_TTLS = 2
# How precisely `api_tokens.last_used_at` tells when a token was last used: finer would be a write per
# request, and every request would queue behind other writes.
TOKEN_USE_RESOLUTION = timedelta(seconds=60)


class NotFound(LookupError):
    """An id that does not exist (or belongs to another organisation)."""


class IdempotencyConflict(ValueError):
    """An idempotency key already used for a different request."""


class ConfigFrozen(ValueError):
    """An edit to an approved config: it needs an explicit revision."""


class ConfigNotApproved(ValueError):
    """A revision of a config that was never approved: edit and approve it instead."""


@dataclass(frozen=True)
class Registration:
    """Everything a registration call needs about one job, secrets in clear (activities only)."""

    job_id: str
    org_id: str
    batch_id: str
    config: RegistrationConfig
    menu: Menu | None


@dataclass(frozen=True)
class JobSnapshot:
    """The read model's view of one job, to compare with the engine's (see `engine/reconcile.py`)."""

    job_id: str
    org_id: str
    batch_id: str
    status: str
    steps: dict[int, str]  # step number -> status
    sub_steps: dict[str, tuple[str, int]]  # key -> (status, generation)
    config_approved: bool | None = None  # None: no config stored


@dataclass(frozen=True)
class InstallationIdentity:
    id: str
    task_queue_prefix: str


class Store(OperatorOutputs):
    def __init__(self, engine: Engine, box: SecretBox) -> None:
        self.engine = engine
        self._identity: InstallationIdentity | None = None
        self.box = box
        self._session = sessionmaker(engine, expire_on_commit=False)
        # SQLite has one writer at a time, and a waiting writer sleeps in its busy handler (up to 100 ms a
        # nap); writers of this process queue on a lock instead and start the moment the last one commits.
        self._write_lock: contextlib.AbstractContextManager[Any] = (
            threading.Lock() if engine.dialect.name == "sqlite" else contextlib.nullcontext()
        )
        self._local = threading.local()
        self._slot_rows: set[tuple[str, int]] = set()
        # Hot-path UPDATEs never read the objects they change back through the same session, so the ORM's
        # in-session synchronisation (prominent in profiles of a busy worker) is skipped.
        self._fast = {"synchronize_session": False}

    def session(self) -> Session:
        return self._session()

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[Session]:
        """A read-only session whose queries all see the database as of its first one, so an answer built
        from several queries (counts and a page) agrees with itself while writers carry on. Neither
        database makes readers wait for writers here (SQLite in WAL mode, PostgreSQL's MVCC)."""
        with self.session() as s:
            if self.engine.dialect.name == "sqlite":
                # pysqlite opens no transaction before a SELECT, so each query would see its own moment.
                s.connection().exec_driver_sql("BEGIN")
            else:
                # READ COMMITTED (the default) takes a new snapshot per statement.
                s.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            try:
                yield s
            finally:
                s.rollback()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in a write transaction, committed on exit (rolled back on an exception). Opened while
        this thread already has one, it joins it: several writes then commit together, or not at all."""
        joined: Session | None = getattr(self._local, "session", None)
        if joined is not None:
            yield joined
            return
        with self._write_lock, self.session() as s, s.begin():
            self._local.session = s
            try:
                yield s
            finally:
                self._local.session = None

    def installation(self) -> InstallationIdentity:
        """This installation's identity (written once by the migrations; it never changes)."""
        if self._identity is None:
            with self.session() as s:
                row = s.scalars(select(Installation)).one()
                self._identity = InstallationIdentity(row.id, row.task_queue_prefix)
        return self._identity

    # -- writes from people (CLI / API) -------------------------------------------------------------

    @staticmethod
    def sealed_sample(engine: Engine) -> str | None:
        """One stored sealed secret, if any: proof, before starting, that the secret key still opens them."""
        with engine.connect() as connection:
            return connection.scalar(select(RegistrationConfigRow.secrets).limit(1))

    def ensure_org(self, org_id: str, name: str | None = None) -> None:
        with self.transaction() as s:
            if s.get(Organisation, org_id) is None:
                s.add(Organisation(id=org_id, name=name or org_id))

    def create_batch(
        self,
        org_id: str,
        name: str,
        restaurants: list[RestaurantInput],
        actor: str = "cli",
        options: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> str:
        """Create a batch and its jobs in one transaction: all of it, or nothing.

        With an `idempotency_key`, a create already made under that key answers that batch's id instead
        (a client resending after a timeout or a 503 gets no second batch); a different request under the
        same key raises `IdempotencyConflict`."""
        if idempotency_key is None:
            return self._insert_batch(org_id, name, restaurants, actor, options, None, None)
        digest = _request_digest(name, restaurants, options)
        existing = self._batch_for_key(org_id, idempotency_key, digest)
        if existing is not None:
            return existing
        try:
            return self._insert_batch(org_id, name, restaurants, actor, options, idempotency_key, digest)
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
    ) -> str:
        batch_id = str(uuid.uuid4())
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
            for table, rows in ((Job, jobs), (JobStep, steps), (SubStepRow, calls), (MenuRow, menus)):
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

    # -- pipeline data (steps 1-5) ---------------------------------------------------------------------

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

    def save_extraction(self, job_id: str, org_id: str, data: dict[str, Any], menu: Menu | None) -> None:
        """Replace the job's extraction (a retried step 1 overwrites, never appends)."""
        with self.transaction() as s:
            s.merge(Extraction(job_id=job_id, data=data, created_at=utcnow()))
            if menu is not None:
                s.merge(MenuRow(job_id=job_id, id=menu.id, org_id=org_id, data=menu.model_dump(mode="json")))

    def extraction(self, job_id: str) -> dict[str, Any] | None:
        with self.session() as s:
            row = s.get(Extraction, job_id)
            return row.data if row else None

    def save_candidates(self, job_id: str, candidates: list[dict[str, Any]]) -> None:
        with self.transaction() as s:
            s.execute(delete(CompanyCandidateRow).where(CompanyCandidateRow.job_id == job_id))
            s.add_all(
                CompanyCandidateRow(job_id=job_id, number=c["number"], rank=rank, score=c["score"], data=c)
                for rank, c in enumerate(candidates)
            )

    def candidates(self, job_id: str) -> list[dict[str, Any]]:
        with self.session() as s:
            rows = s.scalars(
                select(CompanyCandidateRow)
                .where(CompanyCandidateRow.job_id == job_id)
                .order_by(CompanyCandidateRow.rank)
            )
            return [row.data for row in rows]

    def save_company_details(self, job_id: str, data: dict[str, Any], *, manual: bool) -> None:
        with self.transaction() as s:
            s.merge(CompanyDetailsRow(job_id=job_id, data=data, manual=manual, created_at=utcnow()))

    def company_details(self, job_id: str) -> dict[str, Any] | None:
        with self.session() as s:
            row = s.get(CompanyDetailsRow, job_id)
            return row.data if row else None

    def menu_ids(self, job_id: str) -> list[str]:
        with self.session() as s:
            return list(s.scalars(select(MenuRow.id).where(MenuRow.job_id == job_id)))

    def save_config(self, job_id: str, config: RegistrationConfig, warnings: list[str] | None = None) -> None:
        """Store (or replace) the job's config; a replaced config needs approving again."""
        self.save_config_draft(job_id, config.to_wire(), warnings)

    def save_config_draft(self, job_id: str, wire: dict[str, Any], warnings: list[str] | None = None) -> None:
        """Like `save_config`, for a config that may not validate yet (a person completes it at review)."""
        row = self._wire_row(job_id, wire)
        with self.transaction() as s:
            existing = s.get(RegistrationConfigRow, job_id)
            if existing is None:
                row.warnings = warnings or []
                s.add(row)
            else:
                existing.public, existing.secrets = row.public, row.secrets
                existing.warnings = warnings if warnings is not None else existing.warnings
                existing.approved_by = existing.approved_at = None
                existing.updated_at = utcnow()

    def edit_config(self, job_id: str, changes: dict[str, Any], actor: str = "system") -> None:
        """Apply a reviewer's edits (`{"account.email": "x@y.z", ...}`) to the stored config; the audit log
        names the fields changed, never their values (some are passwords). An approved config is frozen:
        a change after approval is a revision (`revise_config`)."""
        wire = self.config_wire(job_id)
        _apply_changes(wire, changes)
        review = self.config_review(job_id) or {}
        job = self.job(job_id)
        with self.transaction() as s:
            row = s.get(RegistrationConfigRow, job_id, with_for_update=True)
            if row is not None and row.approved_at is not None:
                raise ConfigFrozen(
                    f"the config was approved by {row.approved_by}; it is frozen. To change it, revise it "
                    "(POST /api/jobs/{id}/config/revise with a reason): only calls that run from then on use "
                    "the revision"
                )
            self.save_config_draft(job_id, wire, review.get("warnings"))
            fields = ", ".join(sorted(changes))
            self.add_event(job.org_id, job.batch_id, job_id, "config_edited", f"Edited {fields}", actor=actor)

    def revise_config(self, job_id: str, changes: dict[str, Any], actor: str, reason: str) -> int:
        """A new version of an approved config, approved by whoever makes it (it must validate). Calls that
        completed keep what they sent; calls that run from now on (first runs after a wait, and retries)
        read the revision. Audited with its version, fields and reason; returns the new version."""
        if not reason.strip():
            raise ValueError("say why the approved config is revised: a reason is required")
        wire = self.config_wire(job_id)
        _apply_changes(wire, changes)
        _, errors = validate_config(wire)
        if errors:
            raise ValueError("the revision is not a valid config: " + "; ".join(errors))
        job = self.job(job_id)
        sealed = self._wire_row(job_id, wire)
        with self.transaction() as s:
            row = s.get(RegistrationConfigRow, job_id, with_for_update=True)
            if row is None or row.approved_at is None:
                raise ConfigNotApproved("the config is not approved yet: edit it and approve it instead")
            revisions = s.scalar(
                select(func.count())
                .select_from(Event)
                .where(Event.job_id == job_id, Event.kind == "config_revised")
            )
            version = 2 + (revisions or 0)  # version 1 is the config as first approved
            row.public, row.secrets = sealed.public, sealed.secrets
            row.approved_by, row.approved_at, row.updated_at = actor, utcnow(), utcnow()
            fields = sorted(changes)
            self.add_event(
                job.org_id,
                job.batch_id,
                job_id,
                "config_revised",
                f"Config revised to version {version} ({', '.join(fields)}): {reason.strip()}",
                actor=actor,
                data={"version": version, "fields": fields, "reason": reason.strip()},
            )
        return version

    def reseal_secrets(self, batch_size: int = 500) -> int:
        """Re-encrypt every stored secret with the first secret key (key rotation); returns how many."""
        done = 0
        while True:
            with self.transaction() as s:
                rows = list(
                    s.scalars(
                        select(RegistrationConfigRow)
                        .order_by(RegistrationConfigRow.job_id)
                        .offset(done)
                        .limit(batch_size)
                    )
                )
                for row in rows:
                    row.secrets = self.box.reseal(row.secrets)
            done += len(rows)
            if len(rows) < batch_size:
                return done

    def copy_config_to_batch(self, source_job_id: str, actor: str = "system") -> list[str]:
        """Apply one job's config to every other job of its batch that has one and is not yet approved.

        Returns the job ids changed. Each keeps its own per-restaurant fields (owner, name, address, menu).
        """
        source = self.config_wire(source_job_id)
        job = self.job(source_job_id)
        with self.session() as s:
            targets = list(
                s.scalars(
                    select(RegistrationConfigRow.job_id)
                    .join(Job, Job.id == RegistrationConfigRow.job_id)
                    .where(
                        Job.batch_id == job.batch_id,
                        Job.id != source_job_id,
                        RegistrationConfigRow.approved_at.is_(None),
                    )
                )
            )
        message = f"Config copied from {job.restaurant_name}"
        for target in targets:
            review = self.config_review(target) or {}
            with self.transaction():
                self.save_config_draft(
                    target, copy_config(source, self.config_wire(target)), review.get("warnings")
                )
                self.add_event(job.org_id, job.batch_id, target, "config_copied", message, actor=actor)
        return targets

    def awaiting_review(self, batch_id: str) -> list[str]:
        """Jobs of the batch whose step 5 waits for a person."""
        with self.session() as s:
            return list(
                s.scalars(
                    select(JobStep.job_id)
                    .join(Job, Job.id == JobStep.job_id)
                    .where(Job.batch_id == batch_id, JobStep.step == 5, JobStep.status == "action_required")
                    .order_by(Job.position)
                )
            )

    def approve_config(self, job_id: str, actor: str) -> None:
        with self.transaction() as s:
            s.execute(
                update(RegistrationConfigRow)
                .where(RegistrationConfigRow.job_id == job_id)
                .values(approved_by=actor, approved_at=utcnow())
            )

    def config_review(self, job_id: str) -> dict[str, Any] | None:
        """The public config and its review state (None before step 5 derived one)."""
        with self.session() as s:
            row = s.get(RegistrationConfigRow, job_id)
            if row is None:
                return None
            revisions = s.scalar(
                select(func.count())
                .select_from(Event)
                .where(Event.job_id == job_id, Event.kind == "config_revised")
            )
            return {
                "config": row.public,
                "warnings": row.warnings or [],
                "approved_by": row.approved_by,
                "approved_at": _iso(row.approved_at),
                # 1 as derived (or given) and approved; each revision after approval adds one.
                "version": 1 + (revisions or 0),
            }

    def record_step(
        self,
        job_id: str,
        step: int,
        status: str,
        *,
        reason: str | None = None,
        error: str | None = None,
        result: dict[str, Any] | None = None,
    ) -> None:
        now = utcnow()
        values: dict[str, Any] = {"status": status, "reason": reason, "error": error}
        if result is not None:
            values["result"] = result
        if status == "running":
            values["started_at"] = func.coalesce(JobStep.started_at, now)
        if status in ("completed", "skipped", "failed", "cancelled"):
            values["finished_at"] = now
        with self.transaction() as s:
            s.execute(
                update(JobStep).where(JobStep.job_id == job_id, JobStep.step == step).values(values),
                execution_options=self._fast,
            )
            if status == "running":
                s.execute(
                    update(Job).where(Job.id == job_id).values(current_step=step, updated_at=now),
                    execution_options=self._fast,
                )

    def mark_batch_started(self, batch_id: str, actor: str = "system") -> None:
        with self.transaction() as s:
            started = s.execute(
                update(Batch)
                .where(Batch.id == batch_id, Batch.started_at.is_(None))
                .values(started_at=utcnow())
            ).rowcount
            if started:
                org_id = s.scalar(select(Batch.org_id).where(Batch.id == batch_id))
                self.add_event(org_id, batch_id, None, "batch_started", "Batch started", actor=actor)

    # -- organisations and tokens ----------------------------------------------------------------------

    def create_token(self, org_id: str, name: str) -> str:
        """A new bearer token for `org_id`, returned in clear once; only its hash is kept."""
        token = "yb_" + secrets.token_urlsafe(32)
        with self.transaction() as s:
            if s.get(Organisation, org_id) is None:
                raise NotFound(f"organisation {org_id} not found")
            s.add(ApiToken(id=str(uuid.uuid4()), org_id=org_id, name=name, token_hash=_token_hash(token)))
        return token

    def org_for_token(self, token: str) -> str | None:
        owner = self.token_owner(token)
        return owner[0] if owner else None

    def token_owner(self, token: str) -> tuple[str, str] | None:
        """(organisation, token name) of a valid token. Lookup is by hash, so timing reveals nothing of the
        token. A read: every request calls this, and it must never queue behind another's write."""
        digest = _token_hash(token)
        columns = (ApiToken.id, ApiToken.org_id, ApiToken.name, ApiToken.token_hash, ApiToken.last_used_at)
        with self.session() as s:
            row = s.execute(
                select(*columns).where(ApiToken.token_hash == digest, ApiToken.revoked_at.is_(None))
            ).first()
        if row is None or not hmac.compare_digest(row.token_hash, digest):
            return None
        if row.last_used_at is None or utcnow() - _aware(row.last_used_at) >= TOKEN_USE_RESOLUTION:
            self._note_token_use(row.id)
        return row.org_id, row.name

    def _note_token_use(self, token_id: str) -> None:
        """Record a token's use, unless another write is under way (in this process or, on SQLite, in
        another): then the use is left for the next request after that write to record."""
        now = utcnow()
        stale = or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < now - TOKEN_USE_RESOLUTION)
        note = update(ApiToken).where(ApiToken.id == token_id, stale).values(last_used_at=now)
        if self.engine.dialect.name != "sqlite":
            with self.transaction() as s:  # a row lock held for one UPDATE
                s.execute(note, execution_options=self._fast)
            return
        lock: Any = self._write_lock
        if not lock.acquire(blocking=False):
            return
        try:
            with self.session() as s, s.begin():
                connection = s.connection()
                connection.exec_driver_sql("PRAGMA busy_timeout=0")
                try:
                    connection.execute(note)
                finally:
                    connection.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
        except OperationalError:
            return  # "database is locked": another process writes
        finally:
            lock.release()

    def revoke_tokens(self, org_id: str, name: str) -> int:
        with self.transaction() as s:
            return s.execute(
                update(ApiToken)
                .where(ApiToken.org_id == org_id, ApiToken.name == name, ApiToken.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            ).rowcount

    # -- reads for the engine ------------------------------------------------------------------------

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

    def public_config(self, job_id: str) -> dict[str, Any]:
        with self.session() as s:
            row = s.get(RegistrationConfigRow, job_id)
            if row is None:
                raise NotFound(f"job {job_id} has no registration config")
            return row.public

    def config_wire(self, job_id: str) -> dict[str, Any]:
        """The stored config as wire JSON with secrets in clear (activities only)."""
        with self.session() as s:
            row = s.get(RegistrationConfigRow, job_id)
            if row is None:
                raise NotFound(f"job {job_id} has no registration config")
            return self._wire(row)

    def _wire(self, row: RegistrationConfigRow) -> dict[str, Any]:
        wire = {k: dict(v) if isinstance(v, dict) else v for k, v in row.public.items()}
        for pointer, secret in self.box.open(row.secrets).items():
            section, field = pointer.split(".")
            wire[section][field] = secret
        return wire

    def registration(self, job_id: str, *, with_menu: bool = True) -> Registration:
        """`with_menu=False` skips reading and validating the menu, for the calls that do not send it."""
        with self.session() as s:
            job = s.get(Job, job_id)
            row = s.get(RegistrationConfigRow, job_id)
            if job is None or row is None:
                raise NotFound(f"job {job_id} not found")
            wire = self._wire(row)
            menu_id = wire.get("menu", {}).get("selectedMenuId")
            menu_row = s.get(MenuRow, (job_id, menu_id)) if menu_id and with_menu else None
            return Registration(
                job_id=job.id,
                org_id=job.org_id,
                batch_id=job.batch_id,
                config=RegistrationConfig.model_validate(wire),
                menu=Menu.model_validate(menu_row.data) if menu_row else None,
            )

    # -- idempotent writes from activities ------------------------------------------------------------

    def record_sub_step(self, job_id: str, key: str, status: str, generation: int, **fields: Any) -> bool:
        """Move a sub-step to `status` unless it already settled in this or a later generation.

        Returns whether the row changed. A late write from an abandoned attempt of an older generation (or a
        duplicate `running` after `completed`) is ignored, so the read model never goes backwards.
        """
        now = utcnow()
        values: dict[str, Any] = {"status": status, "generation": generation, "updated_at": now, **fields}
        if status == SubStepStatus.RUNNING:
            values.setdefault("started_at", now)
            values.update(finished_at=None, error=None)
        elif status in (*FINAL_SUB_STEP, SubStepStatus.FAILED, SubStepStatus.CANCELLED):
            values.setdefault("finished_at", now)
        guard = or_(
            SubStepRow.generation < generation,
            and_(
                SubStepRow.generation == generation,
                SubStepRow.status.not_in([s.value for s in FINAL_SUB_STEP])
                if status not in FINAL_SUB_STEP
                else SubStepRow.status != status,
            ),
        )
        with self.transaction() as s:
            result = s.execute(
                update(SubStepRow)
                .where(SubStepRow.job_id == job_id, SubStepRow.key == key, guard)
                .values(values),
                execution_options=self._fast,
            )
            if result.rowcount:
                s.execute(
                    update(Job).where(Job.id == job_id).values(updated_at=now), execution_options=self._fast
                )
            return bool(result.rowcount)

    def record_job(self, job_id: str, status: str, error: str | None = None) -> None:
        now = utcnow()
        values: dict[str, Any] = {"status": status, "error": error, "updated_at": now}
        if status == JobStatus.RUNNING:
            values["started_at"] = func.coalesce(Job.started_at, now)
        values["finished_at"] = now if status in (JobStatus.COMPLETED, JobStatus.CANCELLED) else None
        with self.transaction() as s:
            s.execute(update(Job).where(Job.id == job_id).values(values), execution_options=self._fast)

    def add_event(
        self,
        org_id: str,
        batch_id: str | None,
        job_id: str | None,
        kind: str,
        message: str,
        *,
        actor: str = "system",
        sub_step: str | None = None,
        data: dict[str, Any] | None = None,
        dedupe_key: str | None = None,
    ) -> None:
        values = {
            "org_id": org_id,
            "batch_id": batch_id,
            "job_id": job_id,
            "kind": kind,
            "message": message,
            "actor": actor,
            "sub_step": sub_step,
            "data": data,
            "dedupe_key": dedupe_key or str(uuid.uuid4()),
            "created_at": utcnow(),
        }
        insert = pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        with self.transaction() as s:
            s.execute(insert(Event).values(values).on_conflict_do_nothing(index_elements=["dedupe_key"]))

    # -- global concurrency permits ------------------------------------------------------------------

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
                won = s.execute(
                    update(SlotLease)
                    .where(SlotLease.call_class == call_class, SlotLease.slot_no == slot_no, free)
                    .values(
                        holder=holder,
                        expires_at=now + timedelta(seconds=ttl_seconds),
                        requested_by=None,
                        requested_at=None,
                    ),
                    execution_options=self._fast,
                ).rowcount
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
        insert = pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        gate = RateGate.call_class == call_class
        with self.transaction() as s:
            # On SQLite this write takes the database's write lock; on PostgreSQL FOR UPDATE locks the row.
            s.execute(insert(RateGate).values(call_class=call_class, next_at=0.0).on_conflict_do_nothing())
            next_at = s.execute(select(RateGate.next_at).where(gate).with_for_update()).scalar_one()
            start = max(next_at, time.time() if now is None else now)
            s.execute(update(RateGate).where(gate).values(next_at=start + interval))
        return start

    def release_all_slots(self, call_class: str, holder: str) -> None:
        with self.transaction() as s:
            s.execute(
                update(SlotLease)
                .where(SlotLease.call_class == call_class, SlotLease.holder == holder)
                .values(holder=None, expires_at=None)
            )

    def held_slots(self, call_class: str) -> int:
        with self.session() as s:
            return s.scalar(
                select(func.count())
                .select_from(SlotLease)
                .where(SlotLease.call_class == call_class, SlotLease.expires_at > utcnow())
            )

    # -- the read model ------------------------------------------------------------------------------

    def batch(self, batch_id: str, org_id: str | None = None) -> Batch:
        with self.session() as s:
            batch = s.get(Batch, batch_id)
            if batch is None or (org_id is not None and batch.org_id != org_id):
                raise NotFound(f"batch {batch_id} not found")
            return batch

    def batch_progress(
        self,
        batch_id: str,
        org_id: str | None = None,
        *,
        state: str | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> dict[str, Any]:
        """Counts and per-restaurant step and call states, like the original's `/progress` endpoint.

        Counts cover the whole batch (aggregated in SQL); `jobs` holds one page of restaurants in input
        order, those in `state` (failed / waiting / running / done) if given. `limit=None`: all of them.
        """
        in_batch = Job.batch_id == batch_id
        with self.snapshot() as s:
            batch = s.execute(
                select(Batch.id, Batch.org_id, Batch.name, Batch.created_at, Batch.started_at).where(
                    Batch.id == batch_id
                )
            ).first()
            if batch is None or (org_id is not None and batch.org_id != org_id):
                raise NotFound(f"batch {batch_id} not found")
            counts: dict[str, int] = dict(
                s.execute(select(Job.status, func.count()).where(in_batch).group_by(Job.status)).all()
            )
            state_of = _job_state()
            state_counts = dict(
                s.execute(select(state_of, func.count()).where(in_batch).group_by(state_of)).all()
            )
            with_warnings = s.scalar(
                select(func.count(func.distinct(SubStepRow.job_id)))
                .join(Job, Job.id == SubStepRow.job_id)
                .where(in_batch, SubStepRow.warning.is_not(None))
            )
            job_columns = (
                Job.id,
                Job.restaurant_name,
                Job.status,
                Job.error,
                Job.started_at,
                Job.finished_at,
            )
            page = select(*job_columns, Job.current_step, state_of).where(in_batch)
            if state:
                page = page.where(state_of == state)
            page = page.order_by(Job.position).offset(offset).limit(limit)
            # Plain rows, not ORM objects: a page of 100 restaurants is 1 800 step and call rows.
            jobs = s.execute(page).all() if limit != 0 else []
            ids = [job.id for job in jobs]
            steps: dict[str, dict[str, dict[str, Any]]] = {job_id: {} for job_id in ids}
            by_job: dict[str, dict[str, dict[str, Any]]] = {job_id: {} for job_id in ids}
            step_columns = (JobStep.job_id, JobStep.step, JobStep.status, JobStep.reason, JobStep.error)
            call_columns = (
                SubStepRow.job_id,
                SubStepRow.key,
                SubStepRow.status,
                SubStepRow.attempts,
                SubStepRow.generation,
                SubStepRow.reason,
                SubStepRow.error,
                SubStepRow.warning,
                SubStepRow.started_at,
                SubStepRow.finished_at,
            )
            for chunk in _chunks(ids, 500):  # bound the IN lists (SQLite caps bound parameters)
                for job_id, number, status, reason, error, result in s.execute(
                    select(*step_columns, JobStep.result).where(JobStep.job_id.in_(chunk))
                ):
                    steps[job_id][str(number)] = {
                        "status": status,
                        "reason": reason,
                        "error": error,
                        "result": result,
                    }
                for row in s.execute(select(*call_columns).where(SubStepRow.job_id.in_(chunk))):
                    by_job[row.job_id][row.key] = _call_view(row)
        total = sum(counts.values())
        return {
            "batch_id": batch.id,
            "name": batch.name,
            "status": batch_status(Counter(counts), started=batch.started_at is not None, total=total),
            "total": total,
            "counts": counts,
            "state_counts": {name: state_counts.get(name, 0) for name in JOB_STATES},
            # A platform answer `success: false` that was recorded as a warning, not a failure: the
            # restaurant completed, but someone should look.
            "with_warnings": with_warnings or 0,
            "created_at": _iso(batch.created_at),
            "started_at": _iso(batch.started_at),
            "page": {
                "state": state,
                "offset": offset,
                "limit": limit,
                "matching": state_counts.get(state, 0) if state else total,
            },
            "jobs": [
                {
                    "job_id": job.id,
                    "restaurant_name": job.restaurant_name,
                    "status": job.status,
                    "state": job.state,
                    "error": job.error,
                    "started_at": _iso(job.started_at),
                    "finished_at": _iso(job.finished_at),
                    "current_step": job.current_step,
                    "steps": steps[job.id],
                    "sub_steps": by_job[job.id],
                }
                for job in jobs
            ],
        }

    def events(
        self,
        *,
        job_id: str | None = None,
        batch_id: str | None = None,
        org_id: str | None = None,
        after_id: int = 0,
        limit: int | None = None,
        ids: list[int] | None = None,
    ) -> list[Event]:
        """Events in order; `after_id` and `limit` page through them (the SSE feed resumes from an id);
        `ids` asks for those of these ids that exist now (ids a feed skipped, see `api/event_feed.py`)."""
        with self.session() as s:
            query = select(Event).where(Event.id > after_id).order_by(Event.id)
            if ids is not None:
                query = query.where(Event.id.in_(ids))
            if job_id:
                query = query.where(Event.job_id == job_id)
            if batch_id:
                query = query.where(Event.batch_id == batch_id)
            if org_id:
                query = query.where(Event.org_id == org_id)
            if limit:
                query = query.limit(limit)
            return list(s.scalars(query))

    def job_detail(self, job_id: str, org_id: str) -> dict[str, Any]:
        """Everything about one restaurant for people: steps, calls (redacted), choices, config, audit."""
        job = self.job(job_id, org_id)
        with self.session() as s:
            steps = {
                str(row.step): {
                    "status": row.status,
                    "reason": row.reason,
                    "error": row.error,
                    "result": row.result,
                    "started_at": _iso(row.started_at),
                    "finished_at": _iso(row.finished_at),
                }
                for row in s.scalars(select(JobStep).where(JobStep.job_id == job_id).order_by(JobStep.step))
            }
            sub_steps = {
                row.key: _call_view(row) | {"request": row.request, "response": row.response}
                for row in s.scalars(select(SubStepRow).where(SubStepRow.job_id == job_id))
            }
        extraction = self.extraction(job_id) or {}
        return {
            "job_id": job.id,
            "batch_id": job.batch_id,
            "restaurant_name": job.restaurant_name,
            "input": job.input or {},
            "status": job.status,
            "error": job.error,
            "current_step": job.current_step,
            "started_at": _iso(job.started_at),
            "finished_at": _iso(job.finished_at),
            "steps": steps,
            "sub_steps": {spec.key.value: sub_steps.get(spec.key.value) for spec in PLAN},
            "extraction_warnings": [w.get("message") for w in extraction.get("warnings", [])],
            "branding": extraction.get("branding"),
            "candidates": self.candidates(job_id),
            "company": self.company_details(job_id),
            "config": self.config_review(job_id),
            "outputs": asdict(self.job_outputs(job_id)),
            "events": [
                {
                    "id": e.id,
                    "kind": e.kind,
                    "actor": e.actor,
                    "message": e.message,
                    "sub_step": e.sub_step,
                    "at": _iso(e.created_at),
                }
                for e in self.events(job_id=job_id)
            ],
        }

    def job_summaries(self, batch_id: str) -> list[dict[str, Any]]:
        """Every restaurant of the batch in input order, without its steps and calls (one light query)."""
        with self.session() as s:
            rows = s.execute(
                select(Job.id, Job.restaurant_name, Job.status, Job.current_step, Job.error)
                .where(Job.batch_id == batch_id)
                .order_by(Job.position)
            )
            return [
                {"job_id": i, "restaurant_name": n, "status": st, "current_step": c, "error": e}
                for i, n, st, c, e in rows
            ]

    def registration_progress(self, batch_id: str, org_id: str) -> dict[str, Any]:
        """The original's `/progress` figures, from one snapshot: per restaurant its state (failed /
        waiting / running / done), the step that waits for a person, warnings and how far it is."""
        in_batch = Job.batch_id == batch_id
        with self.snapshot() as s:
            batch = s.execute(
                select(Batch.id, Batch.org_id, Batch.name, Batch.started_at).where(Batch.id == batch_id)
            ).first()
            if batch is None or batch.org_id != org_id:
                raise NotFound(f"batch {batch_id} not found")
            jobs = s.execute(
                select(Job.id, Job.restaurant_name, Job.status, Job.current_step, Job.error, _job_state())
                .where(in_batch)
                .order_by(Job.position)
            ).all()
            steps: dict[str, dict[int, str]] = {job.id: {} for job in jobs}
            for job_id, number, status in s.execute(
                select(JobStep.job_id, JobStep.step, JobStep.status).join(Job).where(in_batch)
            ):
                steps[job_id][number] = status
            calls: dict[str, list[tuple[str, str, str | None]]] = {job.id: [] for job in jobs}
            for job_id, key, status, warning in s.execute(
                select(SubStepRow.job_id, SubStepRow.key, SubStepRow.status, SubStepRow.warning)
                .join(Job)
                .where(in_batch)
            ):
                calls[job_id].append((key, status, warning))
        return {
            "batch_id": batch.id,
            "name": batch.name,
            "started": batch.started_at is not None,
            "jobs": [
                {
                    "job_id": job.id,
                    "restaurant_name": job.restaurant_name,
                    "status": job.status,
                    "state": job.state,
                    "current_step": job.current_step,
                    "error": job.error,
                    "step_requiring_action": _step_requiring_action(job.status, steps[job.id], calls[job.id]),
                    "warnings": {key: warning for key, _, warning in calls[job.id] if warning},
                    "done": _fraction_done(job.status, steps[job.id], calls[job.id]),
                }
                for job in jobs
            ],
        }

    def calls_settled(self, batch_id: str) -> int:
        """How many registration calls of the batch are completed or skipped (for a percentage)."""
        with self.session() as s:
            return s.scalar(
                select(func.count())
                .select_from(SubStepRow)
                .join(Job, Job.id == SubStepRow.job_id)
                .where(Job.batch_id == batch_id, SubStepRow.status.in_([x.value for x in FINAL_SUB_STEP]))
            )

    def job_status_counts(self, batch_id: str) -> dict[str, int]:
        """How many of the batch's restaurants are in each status (one indexed GROUP BY)."""
        with self.session() as s:
            rows = s.execute(
                select(Job.status, func.count()).where(Job.batch_id == batch_id).group_by(Job.status)
            )
            return {status: n for status, n in rows}

    def list_batches(
        self, org_id: str, *, status: str | None = None, limit: int = 50, offset: int = 0
    ) -> tuple[list[dict[str, Any]], int]:
        """The organisation's batches, newest first, with counts of their restaurants by status."""
        with self.session() as s:
            batches = list(
                s.scalars(select(Batch).where(Batch.org_id == org_id).order_by(Batch.created_at.desc()))
            )
            counts: dict[str, Counter] = {b.id: Counter() for b in batches}
            rows = s.execute(
                select(Job.batch_id, Job.status, func.count())
                .where(Job.org_id == org_id)
                .group_by(Job.batch_id, Job.status)
            )
            for batch_id, job_status, n in rows:
                counts[batch_id][job_status] = n
        items = []
        for batch in batches:
            total = sum(counts[batch.id].values())
            state = batch_status(counts[batch.id], started=batch.started_at is not None, total=total)
            if status and state != status:
                continue
            items.append(
                {
                    "batch_id": batch.id,
                    "name": batch.name,
                    "status": state,
                    "total": total,
                    "counts": dict(counts[batch.id]),
                    "options": batch.options or {},
                    "created_at": _iso(batch.created_at),
                    "started_at": _iso(batch.started_at),
                }
            )
        return items[offset : offset + limit], len(items)

    def delete_draft_batch(self, batch_id: str, org_id: str, actor: str = "system") -> None:
        """Delete a batch that was never started, with everything created for it."""
        batch = self.batch(batch_id, org_id)
        if batch.started_at is not None:
            raise ValueError("only a draft (never started) batch can be deleted; cancel a started one")
        with self.transaction() as s:
            job_ids = select(Job.id).where(Job.batch_id == batch_id).scalar_subquery()
            for table in (SubStepRow, JobStep, RegistrationConfigRow, MenuRow, Extraction):
                s.execute(delete(table).where(table.job_id.in_(job_ids)))
            for table in (CompanyCandidateRow, CompanyDetailsRow):
                s.execute(delete(table).where(table.job_id.in_(job_ids)))
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

    # -- reconciliation (read model against the engine's truth) --------------------------------------------

    def job_snapshots(
        self,
        *,
        batch_id: str | None = None,
        job_ids: list[str] | None = None,
        after_job_id: str = "",
        limit: int = 200,
    ) -> list[JobSnapshot]:
        """What the read model says of each job of started batches (one batch, given jobs, or all), paged
        by job id."""
        with self.session() as s:
            query = (
                select(Job.id, Job.org_id, Job.batch_id, Job.status)
                .join(Batch, Batch.id == Job.batch_id)
                .where(Batch.started_at.is_not(None), Job.id > after_job_id)
                .order_by(Job.id)
                .limit(limit)
            )
            if batch_id is not None:
                query = query.where(Job.batch_id == batch_id)
            if job_ids is not None:
                query = query.where(Job.id.in_(job_ids))
            jobs = s.execute(query).all()
            ids = [job.id for job in jobs]
            steps: dict[str, dict[int, str]] = {job_id: {} for job_id in ids}
            calls: dict[str, dict[str, tuple[str, int]]] = {job_id: {} for job_id in ids}
            approved: dict[str, bool] = {}
            for chunk in _chunks(ids, 500):
                for job_id, approved_at in s.execute(
                    select(RegistrationConfigRow.job_id, RegistrationConfigRow.approved_at).where(
                        RegistrationConfigRow.job_id.in_(chunk)
                    )
                ):
                    approved[job_id] = approved_at is not None
                for row in s.execute(
                    select(JobStep.job_id, JobStep.step, JobStep.status).where(JobStep.job_id.in_(chunk))
                ):
                    steps[row.job_id][row.step] = row.status
                for row in s.execute(
                    select(SubStepRow.job_id, SubStepRow.key, SubStepRow.status, SubStepRow.generation).where(
                        SubStepRow.job_id.in_(chunk)
                    )
                ):
                    calls[row.job_id][row.key] = (row.status, row.generation)
        return [
            JobSnapshot(
                job.id,
                job.org_id,
                job.batch_id,
                job.status,
                steps[job.id],
                calls[job.id],
                config_approved=approved.get(job.id),
            )
            for job in jobs
        ]

    def repair_job_status(self, job_id: str, *, expected: str, status: str, error: str | None) -> bool:
        """Set a job's status if it still is `expected` (a write of the engine racing with us wins)."""
        now = utcnow()
        finished = now if status in (JobStatus.COMPLETED, JobStatus.CANCELLED) else None
        with self.transaction() as s:
            result = s.execute(
                update(Job)
                .where(Job.id == job_id, Job.status == expected)
                .values(status=status, error=error, finished_at=finished, updated_at=now),
                execution_options=self._fast,
            )
            return bool(result.rowcount)

    def repair_step(self, job_id: str, step: int, *, expected: str, status: str) -> bool:
        with self.transaction() as s:
            result = s.execute(
                update(JobStep)
                .where(JobStep.job_id == job_id, JobStep.step == step, JobStep.status == expected)
                .values(status=status),
                execution_options=self._fast,
            )
            return bool(result.rowcount)

    def repair_sub_step(
        self, job_id: str, key: str, *, expected: tuple[str, int], values: dict[str, Any]
    ) -> bool:
        """Overwrite a sub-step if it still reads `expected` (status, generation): unlike
        `record_sub_step`, it may move backwards, because the engine's word is final here."""
        status, generation = expected
        with self.transaction() as s:
            result = s.execute(
                update(SubStepRow)
                .where(
                    SubStepRow.job_id == job_id,
                    SubStepRow.key == key,
                    SubStepRow.status == status,
                    SubStepRow.generation == generation,
                )
                .values(updated_at=utcnow(), **values),
                execution_options=self._fast,
            )
            return bool(result.rowcount)


def _job_state() -> Any:
    """SQL for a restaurant's place in the dashboard's filters (JOB_STATES): failed (waiting for a person
    because a step or call failed), waiting (for a person's choice), running, or done."""
    failed_call = select(SubStepRow.job_id).where(
        SubStepRow.job_id == Job.id, SubStepRow.status == SubStepStatus.FAILED
    )
    failed_step = select(JobStep.job_id).where(JobStep.job_id == Job.id, JobStep.status == "failed")
    waiting = Job.status == JobStatus.ACTION_REQUIRED
    return case(
        (and_(waiting, or_(failed_call.exists(), failed_step.exists())), "failed"),
        (waiting, "waiting"),
        (Job.status.in_([JobStatus.COMPLETED, JobStatus.CANCELLED]), "done"),
        else_="running",
    ).label("state")


def _apply_changes(wire: dict[str, Any], changes: dict[str, Any]) -> None:
    """Set `section.field` values in a wire config; an unknown field is refused, never stored (it could
    not be removed again, and the config would never validate)."""
    known = config_fields()
    for pointer, value in changes.items():
        section, _, field = pointer.partition(".")
        if section not in known or field not in known[section]:
            raise ValueError(f"{pointer!r} is not a config field (use section.field, e.g. account.email)")
        target = wire.setdefault(section, {})
        if not isinstance(target, dict):
            raise ValueError(f"{pointer!r}: the stored config has no {section} section")
        target[field] = value


def _step_requiring_action(
    status: str, steps: dict[int, str], calls: list[tuple[str, str, str | None]]
) -> int | None:
    """The step a person must act on: the first one waiting or failed (a failed call is step 6's)."""
    if status != JobStatus.ACTION_REQUIRED:
        return None
    waiting = [n for n, st in steps.items() if st in ("action_required", "failed")]
    if any(st == SubStepStatus.FAILED for _, st, _ in calls):
        waiting.append(6)
    return min(waiting) if waiting else None


def _fraction_done(status: str, steps: dict[int, str], calls: list[tuple[str, str, str | None]]) -> float:
    """How much of a restaurant's work is behind it: all of it once finished (completed or cancelled),
    else its settled steps 1-5 and registration calls over all of them."""
    if status in (JobStatus.COMPLETED, JobStatus.CANCELLED):
        return 1.0
    pipeline = [st for n, st in steps.items() if n < 6]
    settled = sum(1 for st in pipeline if st in ("completed", "skipped"))
    settled += sum(1 for _, st, _ in calls if st in FINAL_SUB_STEP)
    return settled / max(1, len(pipeline) + len(calls))


def _call_view(row: Any) -> dict[str, Any]:
    """A registration call's state for people (a SubStepRow, or a row of its columns)."""
    return {
        "status": row.status,
        "attempts": row.attempts,
        "generation": row.generation,
        "reason": row.reason,
        "error": row.error,
        "warning": row.warning,
        "started_at": _iso(row.started_at),
        "finished_at": _iso(row.finished_at),
    }


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def batch_status(counts: Counter, *, started: bool, total: int) -> str:
    """A batch's status is derived from its restaurants', so it can never disagree with them."""
    if not started:
        return "draft"
    settled = counts[JobStatus.COMPLETED] + counts[JobStatus.CANCELLED]
    if counts[JobStatus.ACTION_REQUIRED]:
        return "action_required"
    if settled == total:
        if counts[JobStatus.COMPLETED] == total:
            return "completed"
        return "cancelled" if counts[JobStatus.COMPLETED] == 0 else "completed_with_cancellations"
    return "running"


def _request_digest(name: str, restaurants: list[RestaurantInput], options: dict[str, Any] | None) -> str:
    """What a create request asked for, to tell a resend from a different request under the same key."""
    asked = [name, options or {}, [r.model_dump(mode="json") for r in restaurants]]
    return hashlib.sha256(json.dumps(asked, sort_keys=True, default=str).encode()).hexdigest()


def _lease_request_ttl(ttl_seconds: float) -> timedelta:
    return timedelta(seconds=ttl_seconds * LEASE_REQUEST_TTLS)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes (stored as UTC)."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
