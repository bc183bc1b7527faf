"""The path of every `/api` request: auth, body, idempotency, faults, latency, handler, call log."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from yolobatch.devtools.sandbox import idempotency
from yolobatch.devtools.sandbox.calls import CallRecord
from yolobatch.devtools.sandbox.catalog import NOMINAL_SECONDS
from yolobatch.devtools.sandbox.faults import Fault, warning_reply
from yolobatch.devtools.sandbox.original import complete_body
from yolobatch.devtools.sandbox.protocol import Call, Handler, Reply, fail
from yolobatch.devtools.sandbox.state import Sandbox, World

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 5 * 1024 * 1024
SERVICE_KEY_HEADER = "X-Service-Key"
ORG_HEADER = "X-Organisation-ID"
DISCONNECT_POLL_SECONDS = 0.05


def sandbox_of(request: Request) -> Sandbox:
    return request.app.state.sandbox


def _org_id(request: Request) -> str | None:
    return (request.headers.get(ORG_HEADER) or "").strip() or None


def _idempotency_key(request: Request) -> str | None:
    return (request.headers.get(idempotency.HEADER) or "").strip() or None


def authenticate(request: Request, service_key: str) -> Reply | None:
    presented = request.headers.get(SERVICE_KEY_HEADER, "")
    if not hmac.compare_digest(presented.encode(), service_key.encode()):
        return fail(401, "Invalid or missing X-Service-Key")
    if _org_id(request) is None:
        return fail(401, "Missing X-Organisation-ID")
    return None


async def read_json_object(request: Request) -> dict[str, Any] | Reply:
    size, chunks = 0, []
    # The whole body is drained even past the limit (without keeping it), so the client is not cut off
    # mid-upload and reliably receives the 413.
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size <= MAX_BODY_BYTES:
                chunks.append(chunk)
    except ClientDisconnect:
        return fail(400, "Client disconnected while sending the request body")
    if size > MAX_BODY_BYTES:
        return fail(413, f"Request body exceeds {MAX_BODY_BYTES} bytes")
    try:
        body = json.loads(b"".join(chunks))
    except ValueError:
        return fail(400, "Request body must be valid JSON")
    if not isinstance(body, dict):
        return fail(400, "Request body must be a JSON object")
    return body


async def handle_operation(request: Request, endpoint: str, handler: Handler) -> Response:
    # Captured once: a reset during this request must not split it across two worlds.
    world = sandbox_of(request).world
    record = world.calls.open(
        request.method, endpoint, request.url.path, _org_id(request), _idempotency_key(request)
    )
    world.calls.enter(endpoint)
    try:
        reply = await _operate(request, world, endpoint, handler, record)
    finally:
        world.calls.leave(endpoint)
    record.finish(reply.status)
    return reply.to_response()


async def handle_lookup(request: Request, endpoint: str, lookup: Callable[[World, str], Reply]) -> Response:
    """Read-only `/api` GETs: authenticated and logged, but without faults, latency or concurrency gauges."""
    world = sandbox_of(request).world
    org_id = _org_id(request)
    record = world.calls.open(request.method, endpoint, request.url.path, org_id, None)
    reply = authenticate(request, world.settings.service_key) or lookup(world, org_id or "")
    record.finish(reply.status)
    return reply.to_response()


async def _operate(
    request: Request, world: World, endpoint: str, handler: Handler, record: CallRecord
) -> Reply:
    rejection = authenticate(request, world.settings.service_key)
    if rejection is not None:
        return rejection
    body = await read_json_object(request)
    if isinstance(body, Reply):
        return body
    record.attach_payload(body)
    if world.settings.contract == "original" and endpoint == "upload-images":
        pass  # its body is `{}`: the restaurant is found through the menu in the path
    elif record.restaurant_id is None or not record.restaurant_id.strip():
        return fail(400, "restaurantId is required")
    org_id = _org_id(request) or ""
    original = world.settings.contract == "original"
    if original:
        completed = complete_body(world, endpoint, org_id, body, dict(request.path_params))
        if isinstance(completed, Reply):
            return completed
        body = completed
    call = Call(world, endpoint, org_id, str(body["restaurantId"]), body, dict(request.path_params))
    # The original service ignores idempotency keys: every repeat runs again (and is counted as a duplicate).
    key = None if original else _idempotency_key(request)
    if key is None:
        reply, fault = await _execute(call, handler)
    else:
        request_fingerprint = idempotency.fingerprint(request.method, request.url.path, body)
        async with world.lock:
            admission = world.idempotency.admit(org_id, key, request_fingerprint)
        if admission is not None:
            record.replayed = admission.replayed
            return admission.reply
        reply, fault = await _execute_claimed(call, handler, key)
    record.fault = fault.kind if fault is not None else None
    if fault is not None and fault.kind == "timeout":
        # The side effect is done and the answer stored; only its delivery is lost.
        await _withhold_answer(request, world.settings.hang_seconds)
    return reply


async def _execute_claimed(call: Call, handler: Handler, key: str) -> tuple[Reply, Fault | None]:
    settled = False
    try:
        reply, fault = await _execute(call, handler)
        async with call.world.lock:
            call.world.idempotency.settle(call.org_id, key, reply)
        settled = True
    finally:
        if not settled:
            # Cancelled mid-flight (server shutdown): nothing was stored, so a retry must run again.
            call.world.idempotency.release(call.org_id, key)
    return reply, fault


async def _execute(call: Call, handler: Handler) -> tuple[Reply, Fault | None]:
    fault = call.world.faults.draw(call.endpoint, call.restaurant_id)
    if fault is not None and fault.is_transport:
        return fault.transport_reply(), fault
    if fault is not None and fault.kind == "success_false":
        await call.work(NOMINAL_SECONDS[call.endpoint])
        return warning_reply(call.endpoint), fault
    try:
        return await handler(call), fault
    except Exception as exc:  # a sandbox bug must reach the client as a 500, like the original's errors
        logger.exception("sandbox handler for %s failed", call.endpoint)
        return fail(500, f"Sandbox internal error: {exc}"), fault


async def _withhold_answer(request: Request, seconds: float) -> None:
    """Hang like a stuck upstream, but stop as soon as the client has given up waiting."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (remaining := deadline - loop.time()) > 0:
        if await request.is_disconnected():
            return
        await asyncio.sleep(min(DISCONNECT_POLL_SECONDS, remaining))


async def serve_scripted(
    request: Request,
    endpoint: str,
    subject: str,
    answer: Callable[[Fault | None], Awaitable[Reply]],
    refuse: Callable[[World], Reply | None] | None = None,
) -> Response:
    """A read-only GET outside the platform (registries, store pages), with scripted faults only.

    Logged like platform calls, but outside the in-flight gauges, which measure the platform's load.
    `refuse` (authentication) answers before any fault is taken; transport faults answer at once;
    otherwise `answer` gets the fault (to handle kinds of its own) and a "timeout" then withholds it.
    """
    world = sandbox_of(request).world
    record = world.calls.open(request.method, endpoint, request.url.path, None, None)
    record.payload = dict(request.query_params)
    reply = refuse(world) if refuse is not None else None
    if reply is None:
        fault = world.faults.scripted(endpoint, subject)
        record.fault = fault.kind if fault is not None else None
        if fault is not None and fault.is_transport:
            reply = fault.transport_reply()
        else:
            reply = await answer(fault)
            if fault is not None and fault.kind == "timeout":
                await _withhold_answer(request, world.settings.hang_seconds)
    record.finish(reply.status)
    return reply.to_response()
