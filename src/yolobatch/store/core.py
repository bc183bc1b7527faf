"""The store's shared core: sessions and transactions, the installation's identity, errors and records
every concern uses."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, Engine, Result, select
from sqlalchemy.orm import Session, sessionmaker

from yolobatch.domain.config import RegistrationConfig
from yolobatch.domain.menu import Menu
from yolobatch.store.crypto import SecretBox
from yolobatch.store.tables import (
    Installation,
    Organisation,
    RegistrationConfigRow,
)

SECRET_POINTERS = ("account.password", "onboarding.userPassword")
JOB_STATES = ("failed", "waiting", "running", "done")  # the dashboard's filters, in its order
# A worker's request for a held lease stands this many lease TTLs: long enough for the holder's renewal to
# see it, short enough that a requester that died does not keep the lease from everyone else for long.
LEASE_REQUEST_TTLS = 2
# How precisely `api_tokens.last_used_at` tells when a token was last used: finer would be a write per
# request, and every request would queue behind other writes.
TOKEN_USE_RESOLUTION = timedelta(seconds=60)


def rowcount(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE changed. Such a statement answers with a `CursorResult`, but
    `Session.execute` is typed with the base `Result`, which has no row count."""
    assert isinstance(result, CursorResult), "only a DML statement's result has a row count"
    return result.rowcount


class NotFound(LookupError):
    """An id that does not exist (or belongs to another organisation)."""


class IdempotencyConflict(ValueError):
    """An idempotency key already used for a different request."""


class ConfigFrozen(ValueError):
    """An edit to an approved config: it needs an explicit revision."""


class ConfigNotApproved(ValueError):
    """A revision of a config that was never approved: edit and approve it instead."""


@dataclass(frozen=True, slots=True)
class Registration:
    """Everything a registration call needs about one job, secrets in clear (activities only)."""

    job_id: str
    org_id: str
    batch_id: str
    config: RegistrationConfig
    menu: Menu | None


@dataclass(frozen=True, slots=True)
class JobSnapshot:
    """The read model's view of one job, to compare with the engine's (see `engine/reconcile.py`)."""

    job_id: str
    org_id: str
    batch_id: str
    status: str
    steps: dict[int, str]  # step number -> status
    sub_steps: dict[str, tuple[str, int]]  # key -> (status, generation)
    config_approved: bool | None = None  # None: no config stored
    reruns: tuple[str, ...] = ()  # the job's re-runs' ids, oldest first (newer truth than its onboarding)


@dataclass(frozen=True, slots=True)
class InstallationIdentity:
    id: str
    task_queue_prefix: str


class StoreCore:
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

    @staticmethod
    def sealed_sample(engine: Engine) -> str | None:
        """One stored sealed secret, if any: proof, before starting, that the secret key still opens them."""
        with engine.connect() as connection:
            return connection.scalar(select(RegistrationConfigRow.secrets).limit(1))

    def ensure_org(self, org_id: str, name: str | None = None) -> None:
        with self.transaction() as s:
            if s.get(Organisation, org_id) is None:
                s.add(Organisation(id=org_id, name=name or org_id))


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes (stored as UTC)."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
