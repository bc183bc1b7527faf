"""The sandbox HTTP app: the platform's registration API (`/api`) and its control surface (`/_sandbox`)."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from yolobatch.devtools.sandbox import menu_ops, original, registration, registry_api, store_pages
from yolobatch.devtools.sandbox.faults import FaultPlanRequest
from yolobatch.devtools.sandbox.pipeline import handle_lookup, handle_operation, sandbox_of
from yolobatch.devtools.sandbox.protocol import Handler, Reply, fail
from yolobatch.devtools.sandbox.settings import SandboxSettings
from yolobatch.devtools.sandbox.state import Sandbox, World

REGISTRATION_HANDLERS: dict[str, Handler] = {**registration.HANDLERS, **menu_ops.HANDLERS}


def create_app(settings: SandboxSettings | None = None) -> FastAPI:
    """A fresh sandbox; all its state lives on `app.state.sandbox`, so instances never share anything."""
    app = FastAPI(title="Registration API sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.sandbox = Sandbox(settings or SandboxSettings())
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _request_validation_error)
    app.include_router(_api_router())
    app.include_router(_health_router())
    app.include_router(_control_router())
    app.include_router(registry_api.router())
    app.include_router(store_pages.router())
    app.include_router(store_pages.item_router())
    return app


async def _http_error(request: Request, exc: Exception) -> Response:
    # Unknown routes and wrong methods get the same error shape as everything else.
    status = exc.status_code if isinstance(exc, StarletteHTTPException) else 500
    detail = exc.detail if isinstance(exc, StarletteHTTPException) else str(exc)
    return fail(status, str(detail)).to_response()


async def _request_validation_error(request: Request, exc: Exception) -> Response:
    return fail(400, f"Invalid request: {exc}").to_response()


def _api_router() -> APIRouter:
    router = APIRouter()

    @router.post("/api/registration/{operation}")
    async def registration_operation(operation: str, request: Request) -> Response:
        handler = REGISTRATION_HANDLERS.get(operation)
        if handler is None:
            return fail(404, f"Unknown endpoint {request.url.path}").to_response()
        return await handle_operation(request, operation, handler)

    @router.post("/api/menus/{menu_id}/upload-images")
    async def upload_images(menu_id: str, request: Request) -> Response:
        return await handle_operation(request, "upload-images", menu_ops.upload_images)

    @router.get("/api/upload-batches/{batch_id}")
    async def upload_batch(batch_id: str, request: Request) -> Response:
        def lookup(world: World, org_id: str) -> Reply:
            reply = menu_ops.upload_batch_status(world, org_id, batch_id)
            return original.nest_upload_status(reply) if world.settings.contract == "original" else reply

        return await handle_lookup(request, "upload-batches", lookup)

    @router.get("/api/registration/status/{restaurant_id}")
    async def registration_status(restaurant_id: str, request: Request) -> Response:
        return await handle_lookup(request, "status", _original_only(original.status_read, restaurant_id))

    @router.get("/api/registration/code-injection/{restaurant_id}")
    async def code_injection(restaurant_id: str, request: Request) -> Response:
        return await handle_lookup(
            request, "code-injection", _original_only(original.code_injection_read, restaurant_id)
        )

    return router


def _original_only(
    read: Callable[[World, str, str], Reply], restaurant_id: str
) -> Callable[[World, str], Reply]:
    """The verification reads exist on the original contract only; the contract has none (it replays)."""

    def lookup(world: World, org_id: str) -> Reply:
        if world.settings.contract != "original":
            return fail(404, "Unknown endpoint: this sandbox speaks yolobatch's contract")
        return read(world, org_id, restaurant_id)

    return lookup


def _health_router() -> APIRouter:
    router = APIRouter(prefix="/_sandbox")

    @router.get("/health")
    async def health() -> dict[str, bool]:
        return {"ok": True}

    return router


ADMIN_HEADER = "X-Sandbox-Admin-Token"


async def _admin_only(request: Request) -> None:
    """With an admin token configured, the control surface answers only to it. A custom header also means
    another site's page cannot send it: a browser would need a CORS preflight, which is never granted."""
    expected = sandbox_of(request).settings.admin_token
    sent = request.headers.get(ADMIN_HEADER, "")
    if expected is not None and not hmac.compare_digest(sent.encode(), expected.encode()):
        raise StarletteHTTPException(401, f"the sandbox's control surface needs the {ADMIN_HEADER} header")


def _control_router() -> APIRouter:
    """Observability and fault control for tests and demos: no faults, no latency; admin token if set."""
    router = APIRouter(prefix="/_sandbox", dependencies=[Depends(_admin_only)])

    @router.get("/calls")
    async def calls(request: Request, endpoint: str | None = None, restaurant_id: str | None = None) -> Any:
        return sandbox_of(request).world.calls.view(endpoint, restaurant_id)

    @router.get("/state")
    async def state(request: Request) -> dict[str, Any]:
        return sandbox_of(request).world.snapshot()

    @router.post("/reset")
    async def reset(request: Request) -> dict[str, bool]:
        sandbox_of(request).reset()
        return {"ok": True}

    @router.post("/platform-restaurants")
    async def seed_restaurant(request: Request) -> Any:
        """Seed a restaurant (and its menus) under the platform's own id, for the original contract."""
        try:
            seed_request = original.SeedRequest.model_validate_json(await request.body())
        except ValidationError as exc:
            return fail(400, f"Invalid restaurant: {exc}").to_response()
        world = sandbox_of(request).world
        async with world.lock:
            original.seed(world, seed_request)
        return {"ok": True, "restaurantId": seed_request.restaurant_id, "menus": sorted(seed_request.menus)}

    @router.post("/faults")
    async def add_fault(request: Request) -> Any:
        try:
            plan_request = FaultPlanRequest.model_validate_json(await request.body())
        except ValidationError as exc:
            return fail(400, f"Invalid fault plan: {exc}").to_response()
        world = sandbox_of(request).world
        async with world.lock:
            plan = world.faults.add(plan_request)
        return plan.view()

    @router.get("/faults")
    async def list_faults(request: Request) -> list[dict[str, Any]]:
        return [plan.view() for plan in sandbox_of(request).world.faults.plans()]

    @router.delete("/faults")
    async def clear_faults(request: Request) -> dict[str, Any]:
        world = sandbox_of(request).world
        async with world.lock:
            cleared = world.faults.clear()
        return {"ok": True, "cleared": cleared}

    return router
