"""Who may use the dashboard and the API: tokens (list, revoke), dashboard sessions and one-time login codes.

Sessions are not tokens: a session id is random, lives in the browser's cookie only, expires, and is
stored as a SHA-256 like every credential here. Revoking a token deletes its sessions and login codes, and
every lookup also checks the token is still live, so a revoked token can never be used through either.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update

from yolobatch.store.core import rowcount
from yolobatch.store.repository import NotFound, Store
from yolobatch.store.tables import (
    ApiToken,
    DashboardSession,
    LoginCode,
    Organisation,
    OrgDefaultsRow,
    utcnow,
)

LOGIN_CODE_TTL = timedelta(minutes=10)  # long enough to click a link from a terminal, no longer


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: its organisation and the token (id and name) it acts with."""

    org_id: str
    token_id: str
    token_name: str
    org_name: str = ""  # filled where a page shows it (sessions), not on every API call
    time_zone: str | None = None  # the organisation's own (org defaults), where a page shows times


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class Access:
    def __init__(self, store: Store) -> None:
        self.store = store

    # -- tokens -----------------------------------------------------------------------------------------

    def token_caller(self, token: str) -> Caller | None:
        """The caller a live API token stands for (read only: a login must not queue behind writers)."""
        with self.store.session() as s:
            row = s.scalars(
                select(ApiToken).where(ApiToken.token_hash == _digest(token), ApiToken.revoked_at.is_(None))
            ).first()
            return Caller(row.org_id, row.id, row.name) if row else None

    def list_tokens(self, org_id: str) -> list[dict[str, Any]]:
        """The organisation's tokens, newest first; never the token itself (only its hash is stored)."""
        with self.store.session() as s:
            rows = s.scalars(
                select(ApiToken).where(ApiToken.org_id == org_id).order_by(ApiToken.created_at.desc())
            )
            return [
                {
                    "id": row.id,
                    "name": row.name,
                    "created_at": _iso(row.created_at),
                    "last_used_at": _iso(row.last_used_at),
                    "revoked_at": _iso(row.revoked_at),
                }
                for row in rows
            ]

    def revoke_token(self, org_id: str, token_id: str) -> bool:
        """Revoke one token of `org_id` and end its sessions; False when it was already revoked. Another
        organisation's token is NotFound, exactly like one that does not exist."""
        with self.store.transaction() as s:
            row = s.get(ApiToken, token_id)
            if row is None or row.org_id != org_id:
                raise NotFound(f"token {token_id} not found")
            revoked = row.revoked_at is None
            if revoked:
                row.revoked_at = utcnow()
            s.execute(delete(DashboardSession).where(DashboardSession.token_id == token_id))
            s.execute(delete(LoginCode).where(LoginCode.token_id == token_id))
            return revoked

    def dashboard_token(self, org_id: str, name: str) -> str:
        """The id of the organisation's newest live token called `name`, created when there is none. Its
        value is never needed again: login links and sessions refer to the token by id."""
        existing = self._live_token_id(org_id, name)
        if existing is not None:
            return existing
        self.store.create_token(org_id, name)
        created = self._live_token_id(org_id, name)
        assert created is not None
        return created

    def _live_token_id(self, org_id: str, name: str) -> str | None:
        with self.store.session() as s:
            return s.scalar(
                select(ApiToken.id)
                .where(ApiToken.org_id == org_id, ApiToken.name == name, ApiToken.revoked_at.is_(None))
                .order_by(ApiToken.created_at.desc())
                .limit(1)
            )

    def org_name(self, org_id: str) -> str:
        with self.store.session() as s:
            org = s.get(Organisation, org_id)
            return org.name if org else org_id

    # -- login codes ------------------------------------------------------------------------------------

    def create_login_code(self, token_id: str, ttl: timedelta = LOGIN_CODE_TTL) -> str:
        code = "ybl_" + secrets.token_urlsafe(32)
        with self.store.transaction() as s:
            s.execute(delete(LoginCode).where(LoginCode.expires_at < utcnow()))
            s.add(LoginCode(code_hash=_digest(code), token_id=token_id, expires_at=utcnow() + ttl))
        return code

    def peek_login_code(self, code: str) -> Caller | None:
        """Whom an unused, unexpired code would log in as, without using it (the confirmation page)."""
        with self.store.session() as s:
            row = s.execute(
                select(ApiToken)
                .join(LoginCode, LoginCode.token_id == ApiToken.id)
                .where(
                    LoginCode.code_hash == _digest(code),
                    LoginCode.used_at.is_(None),
                    LoginCode.expires_at > utcnow(),
                    ApiToken.revoked_at.is_(None),
                )
            ).scalar_one_or_none()
            return Caller(row.org_id, row.id, row.name) if row else None

    def use_login_code(self, code: str) -> Caller | None:
        """The caller of a valid code, which is used up by this call: a second use finds nothing."""
        caller = self.peek_login_code(code)
        if caller is None:
            return None
        with self.store.transaction() as s:
            used = rowcount(
                s.execute(
                    update(LoginCode)
                    .where(LoginCode.code_hash == _digest(code), LoginCode.used_at.is_(None))
                    .values(used_at=utcnow())
                )
            )
        return caller if used == 1 else None

    # -- sessions ---------------------------------------------------------------------------------------

    def open_session(self, caller: Caller, lifetime: timedelta) -> str:
        """A new session for `caller`; the returned id goes into the cookie and is stored only hashed."""
        session_id = "ybs_" + secrets.token_urlsafe(32)
        now = utcnow()
        with self.store.transaction() as s:
            s.execute(delete(DashboardSession).where(DashboardSession.expires_at < now))
            s.add(
                DashboardSession(
                    id=str(uuid.uuid4()),
                    session_hash=_digest(session_id),
                    token_id=caller.token_id,
                    org_id=caller.org_id,
                    created_at=now,
                    expires_at=now + lifetime,
                )
            )
        return session_id

    def session_caller(self, session_id: str) -> Caller | None:
        """The caller of a live session: unexpired, and its token not revoked. Read only."""
        with self.store.session() as s:
            row = s.execute(
                select(ApiToken, Organisation.name, OrgDefaultsRow.time_zone)
                .join(DashboardSession, DashboardSession.token_id == ApiToken.id)
                .join(Organisation, Organisation.id == ApiToken.org_id)
                .outerjoin(OrgDefaultsRow, OrgDefaultsRow.org_id == ApiToken.org_id)
                .where(
                    DashboardSession.session_hash == _digest(session_id),
                    DashboardSession.expires_at > utcnow(),
                    ApiToken.revoked_at.is_(None),
                )
            ).first()
            if row is None:
                return None
            token, org_name, time_zone = row
            return Caller(token.org_id, token.id, token.name, org_name, time_zone)

    def end_session(self, session_id: str) -> None:
        with self.store.transaction() as s:
            s.execute(delete(DashboardSession).where(DashboardSession.session_hash == _digest(session_id)))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
