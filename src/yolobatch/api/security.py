"""Who is calling: a bearer token (API) or the dashboard's session cookie, always one organisation.

The cookie holds the token itself (HttpOnly, SameSite=Strict, Secure over https); forms and HTMX
requests also carry a CSRF token derived from it, so another site cannot act with a logged-in browser.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac

from fastapi import Depends, HTTPException, Request, status

from yolobatch.api.context import AppContext, context
from yolobatch.api.ratelimit import AuthFailureLimit

SESSION_COOKIE = "yb_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def client_address(request: Request) -> str:
    # The socket's peer: a proxy in front should be the only peer, and forwarded headers can be forged.
    return request.client.host if request.client else "unknown"


async def check_token(request: Request, ctx: AppContext, token: str | None) -> str | None:
    """The token's organisation, or None; raises 429 while the caller's address has failed too often."""
    limit: AuthFailureLimit = ctx.auth_failures
    address = client_address(request)
    wait = limit.retry_after(address)
    if wait is not None:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail=f"too many invalid tokens from this address; try again in {wait:.0f} s",
            headers={"Retry-After": str(int(wait + 0.999))},
        )
    owner = await asyncio.to_thread(ctx.store.token_owner, token) if token else None
    if token and owner is None:
        limit.failed(address)
    if owner is None:
        return None
    request.state.token_name = owner[1]
    return owner[0]


def caller_token(request: Request) -> tuple[str | None, bool]:
    """(token, came_from_cookie)."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None, False
    return request.cookies.get(SESSION_COOKIE), True


def csrf_token(session_token: str) -> str:
    return hmac.new(session_token.encode(), b"yolobatch-csrf", hashlib.sha256).hexdigest()


async def current_org(request: Request, ctx: AppContext = Depends(context)) -> str:
    """The caller's organisation; 401 without a valid token, 403 for a cookie request without CSRF token."""
    token, from_cookie = caller_token(request)
    org_id = await check_token(request, ctx, token)
    if org_id is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="missing or invalid bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if from_cookie and request.method in UNSAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER)
        if sent is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        ):
            sent = (await request.form()).get(CSRF_FIELD)
        if not (isinstance(sent, str) and hmac.compare_digest(sent, csrf_token(token))):  # type: ignore[arg-type]
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail="missing or invalid CSRF token")
    request.state.org_id = org_id
    request.state.actor = f"{'dashboard' if from_cookie else 'api'}:{request.state.token_name}"
    return org_id


async def current_actor(request: Request, org: str = Depends(current_org)) -> str:
    """Who acts, for the audit log: the channel and the name of the caller's token, e.g. `api:ops-laptop`."""
    return request.state.actor
