"""Who is calling: a bearer token (API) or a dashboard session cookie, always one organisation.

The cookie holds a server-side session's random id, never the API token: sessions expire, logout deletes
them, and revoking a token ends them (`yolobatch.store.access`). Cookies are HttpOnly, SameSite=Strict,
Secure over https; unsafe cookie requests must come from our own origin and carry a CSRF token derived
from the session id, so another site cannot act with a logged-in browser.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from yolobatch.http.context import AppContext, context
from yolobatch.http.ratelimit import AuthFailureLimit
from yolobatch.store.access import Access, Caller

SESSION_COOKIE = "yb_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CLAIMED_PREFIX = 8  # characters of an invalid token that key its failure count ("yb_" and 5 more)
# Declares the bearer scheme in the OpenAPI schema (Swagger's "Authorize"); the header is checked below,
# so that a dashboard session may stand in for it.
BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="An API token: `yolobatch token create --org <org>`; everything is scoped to its org.",
)


def client_address(request: Request) -> str:
    # uvicorn has already replaced the peer with X-Forwarded-For's client when the peer is a trusted proxy
    # (--forwarded-allow-ips / FORWARDED_ALLOW_IPS); from anyone else those headers are ignored.
    return request.client.host if request.client else "unknown"


def failure_key(request: Request, token: str) -> str:
    """Failures count per claimed token prefix and address: a stranger's guesses never lock out a user
    behind the same proxy, and a valid token is never refused at all."""
    return f"{client_address(request)} {token[:CLAIMED_PREFIX]}"


async def check_token(request: Request, ctx: AppContext, token: str | None) -> str | None:
    """The organisation of a valid bearer token, or None; raises 429 for an invalid token whose
    (prefix, address) has failed too often. A valid token is always accepted."""
    if not token:
        return None
    owner = await asyncio.to_thread(ctx.store.token_owner, token)
    if owner is not None:
        request.state.token_name = owner[1]
        return owner[0]
    refuse_if_locked_out(request, ctx, token)
    ctx.auth_failures.failed(failure_key(request, token))
    return None


def refuse_if_locked_out(request: Request, ctx: AppContext, token: str) -> None:
    limit: AuthFailureLimit = ctx.auth_failures
    wait = limit.retry_after(failure_key(request, token))
    if wait is not None:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail=f"too many invalid tokens like this one from this address; try again in {wait:.0f} s",
            headers={"Retry-After": str(int(wait + 0.999))},
        )


async def session_caller(request: Request, ctx: AppContext) -> Caller | None:
    """The caller of the request's session cookie, if it names a live session."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id or len(session_id) > 200:
        return None
    caller = await asyncio.to_thread(Access(ctx.store).session_caller, session_id)
    if caller is not None:
        request.state.session_id = session_id
        request.state.org_name = caller.org_name
        request.state.org_time_zone = caller.time_zone
    return caller


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return None


def csrf_token(session_id: str) -> str:
    return hmac.new(session_id.encode(), b"yolobatch-csrf", hashlib.sha256).hexdigest()


def same_origin(request: Request) -> bool:
    """Whether a browser request comes from one of our own pages. Browsers send Origin on every cross-site
    POST (Referer when Origin is absent); a request with neither (curl, old clients) must still carry the
    CSRF token, which another site cannot read."""
    hosts = {request.headers.get("host"), request.headers.get("x-forwarded-host")} - {None}
    origin = request.headers.get("origin")
    if origin is not None:
        return origin != "null" and urlsplit(origin).netloc in hosts
    referer = request.headers.get("referer")
    if referer:
        return urlsplit(referer).netloc in hosts
    return True


async def check_csrf(request: Request, secret: str, field: str = CSRF_FIELD) -> None:
    """403 unless the request is same-origin and carries csrf_token(secret) in a header or form field."""
    if not same_origin(request):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="cross-site request refused")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        sent = (await request.form()).get(field)  # type: ignore[assignment]
    if not (isinstance(sent, str) and hmac.compare_digest(sent, csrf_token(secret))):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="missing or invalid CSRF token")


async def current_org(
    request: Request,
    ctx: AppContext = Depends(context),
    _declared: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)] = None,
) -> str:
    """The caller's organisation; 401 without a valid token or session, 403 for a session request that is
    cross-site or lacks the CSRF token."""
    token = bearer_token(request)
    if token is not None:
        org_id = await check_token(request, ctx, token)
        channel = "api"
    else:
        caller = await session_caller(request, ctx)
        org_id, channel = (caller.org_id, "dashboard") if caller else (None, "dashboard")
        if caller is not None:
            request.state.token_name = caller.token_name
            if request.method in UNSAFE_METHODS:
                await check_csrf(request, request.state.session_id)
    if org_id is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="missing or invalid bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    request.state.org_id = org_id
    request.state.actor = f"{channel}:{request.state.token_name}"
    return org_id


async def current_actor(request: Request, org: str = Depends(current_org)) -> str:
    """Who acts, for the audit log: the channel and the name of the caller's token, e.g. `api:ops-laptop`."""
    return request.state.actor
