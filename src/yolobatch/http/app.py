"""The FastAPI application: the HTTP API, health, and the dashboard, over one store (metrics are served on
the metrics port, `yolobatch.telemetry`)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.service import RPCError, RPCStatusCode

from yolobatch import __version__
from yolobatch.api.docs import add_docs
from yolobatch.api.menu_gate import router as menu_router
from yolobatch.api.org_defaults import router as org_defaults_router
from yolobatch.api.org_platform import org_platform
from yolobatch.api.outputs import router as outputs_router
from yolobatch.api.reruns import router as reruns_router
from yolobatch.api.routes import events, jobs, router
from yolobatch.api.schemas import Health, Readiness
from yolobatch.api.tokens import tokens
from yolobatch.http import problems
from yolobatch.http.context import AppContext
from yolobatch.http.headers import SecurityHeaders
from yolobatch.http.openapi import documented
from yolobatch.service.control import DecisionRejected
from yolobatch.store.repository import NotFound

MAX_BODY_BYTES = 11_000_000  # a 10 MB upload plus its multipart envelope
ENGINE_UNAVAILABLE = frozenset(
    {RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.RESOURCE_EXHAUSTED}
)

DESCRIPTION = """
Onboard restaurants in batches: create a batch (JSON or an uploaded CSV), start it, answer what needs a
person (company choice, config review, failed steps), watch progress live (`/api/events`).

Authenticate with `Authorization: Bearer <token>` (`yolobatch token create --org <org>`). Everything is
scoped to the token's organisation.
"""


def create_app(ctx: AppContext) -> FastAPI:
    app = FastAPI(
        title="yolobatch", version=__version__, description=DESCRIPTION, docs_url=None, redoc_url=None
    )
    app.state.context = ctx
    add_docs(app)
    app.include_router(router)
    app.include_router(jobs)
    app.include_router(events)
    app.include_router(tokens)
    app.include_router(org_platform)
    app.include_router(outputs_router)
    app.include_router(reruns_router)
    app.include_router(menu_router)
    app.include_router(org_defaults_router)
    _errors(app)
    _operations(app)
    _limit_body_size(app)
    app.add_middleware(SecurityHeaders)
    try:
        from yolobatch.web.actions import router as dashboard_actions
        from yolobatch.web.routes import router as dashboard
    except ImportError:  # the dashboard is optional for API-only deployments
        pass
    else:
        app.include_router(dashboard)
        app.include_router(dashboard_actions)
    documented(app)
    return app


def _errors(app: FastAPI) -> None:
    problems.install(app)

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> JSONResponse:
        return problems.problem(404, str(exc), instance=request.url.path)

    @app.exception_handler(DecisionRejected)
    async def rejected(request: Request, exc: DecisionRejected) -> JSONResponse:
        return problems.problem(409, str(exc), instance=request.url.path)

    @app.exception_handler(RPCError)
    async def engine_unavailable(request: Request, exc: RPCError) -> JSONResponse:
        # The Temporal server did not answer (down, restarting, overloaded): the request may well succeed
        # later, so say so rather than answer 500. Any other RPC error is a bug and stays a 500.
        if exc.status not in ENGINE_UNAVAILABLE:
            raise exc
        return problems.problem(
            503,
            f"the engine (Temporal) is not reachable, try again shortly: {exc.message}",
            instance=request.url.path,
            headers={"Retry-After": "10"},
        )


def _limit_body_size(app: FastAPI) -> None:
    app.add_middleware(BodySizeLimit, max_bytes=MAX_BODY_BYTES)


class BodySizeLimit:
    """Refuse a request body over `max_bytes` with a 413: at once when its Content-Length says so, else as
    soon as that much has arrived, so a chunked body is never read (nor spooled to disk) past the limit."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = HTTPException(413, detail=f"request body over {self.max_bytes} bytes")
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.max_bytes:
            response = problems.problem(413, too_large.detail, instance=scope.get("path"))
            await response(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                # An HTTPException passes through FastAPI's body parsing and becomes this 413.
                raise too_large
            return message

        await self.app(scope, counted, send)


def _operations(app: FastAPI) -> None:
    @app.get("/healthz", tags=["operations"], response_model=Health)
    async def health() -> Health:
        """The process is up."""
        return Health(status="ok")

    @app.get(
        "/readyz",
        tags=["operations"],
        response_model=Readiness,
        responses={503: {"description": "not ready: the problem names each check's error"}},
    )
    async def ready(request: Request) -> Any:
        """The database and the Temporal server answer."""
        ctx: AppContext = request.app.state.context
        checks: dict[str, str] = {}
        try:
            await asyncio.to_thread(_ping_database, ctx)
            checks["database"] = "ok"
        except Exception as exc:  # any failure means "not ready"; the reason is shown, not raised
            checks["database"] = f"error: {type(exc).__name__}"
        try:
            await asyncio.wait_for(ctx.client.service_client.check_health(), 5)
            checks["temporal"] = "ok"
        except Exception as exc:
            checks["temporal"] = f"error: {type(exc).__name__}"
        if all(v == "ok" for v in checks.values()):
            return Readiness(status="ready", **checks)
        failed = ", ".join(f"{name} {result}" for name, result in checks.items() if result != "ok")
        return problems.problem(503, f"not ready: {failed}", instance=request.url.path, extensions=checks)


def _ping_database(ctx: AppContext) -> None:
    with ctx.store.engine.connect() as connection:
        connection.execute(text("SELECT 1"))
