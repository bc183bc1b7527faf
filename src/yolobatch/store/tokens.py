"""API tokens: creating, looking up (with a coarse last-use stamp) and revoking them."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import OperationalError

from yolobatch.store.core import (
    TOKEN_USE_RESOLUTION,
    NotFound,
    StoreCore,
    _aware,
    rowcount,
)
from yolobatch.store.db import SQLITE_BUSY_MS
from yolobatch.store.tables import (
    ApiToken,
    Organisation,
    utcnow,
)


class Tokens(StoreCore):
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
            return rowcount(
                s.execute(
                    update(ApiToken)
                    .where(ApiToken.org_id == org_id, ApiToken.name == name, ApiToken.revoked_at.is_(None))
                    .values(revoked_at=utcnow())
                )
            )


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
