"""Slow clients against a real uvicorn on a loopback port: a client that trickles a request's head or body
is disconnected within its deadline, and a flood of open connections gets 503s instead of exhausting the
process, which keeps serving once they are gone."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from temporalio.client import Client

from yolobatch.engine.devserver import free_port
from yolobatch.http.app import create_app
from yolobatch.http.context import AppContext
from yolobatch.http.serving import MAX_HEAD_BYTES, server_config
from yolobatch.settings import Settings

HEAD_TIMEOUT = 1.0
BODY_IDLE_TIMEOUT = 0.6
BODY_TIMEOUT = 2.0
MAX_CONNECTIONS = 40
SLOW_CLIENTS = 60
# Generous: the deadlines are 1-2 s; a loaded 2-core machine may take a while to notice and close.
CLOSED_WITHIN = 10.0


@contextlib.asynccontextmanager
async def serving(settings: Settings, ctx: AppContext) -> AsyncIterator[int]:
    port = free_port()
    server = uvicorn.Server(server_config(create_app(ctx), "127.0.0.1", port, settings))
    server.install_signal_handlers = lambda: None
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    try:
        yield port
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def port(dev_server, store, tmp_path) -> AsyncIterator[int]:
    settings = Settings(
        data_dir=tmp_path,
        database_url=store.engine.url.render_as_string(hide_password=False),
        http_head_timeout=HEAD_TIMEOUT,
        http_body_idle_timeout=BODY_IDLE_TIMEOUT,
        http_body_timeout=BODY_TIMEOUT,
        http_max_connections=MAX_CONNECTIONS,
    )
    client = await Client.connect(dev_server.address)
    async with serving(settings, AppContext(settings=settings, store=store, client=client)) as bound:
        yield bound


async def trickle(port: int, head: bytes, then: bytes, every: float) -> float:
    """Send `head` at once, then `then` one byte every `every` seconds; the seconds until the server
    closed the connection (or CLOSED_WITHIN + 1 if it never did)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    try:
        writer.write(head)
        await writer.drain()
        for byte in then:
            writer.write(bytes([byte]))
            await writer.drain()
            try:
                if await asyncio.wait_for(reader.read(4096), every) == b"":
                    return time.monotonic() - started
            except TimeoutError:
                pass
            if time.monotonic() - started > CLOSED_WITHIN:
                break
        return CLOSED_WITHIN + 1
    except (ConnectionResetError, BrokenPipeError):
        return time.monotonic() - started
    finally:
        writer.close()


async def healthy(port: int) -> int:
    async with httpx.AsyncClient(timeout=10) as http:
        return (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code


@pytest.mark.security
async def test_clients_trickling_headers_are_disconnected(port):
    header_bytes = b"X-Slow: " + b"a" * 400 + b"\r\n\r\n"
    closed = await asyncio.gather(
        *(
            trickle(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n", header_bytes, every=0.2)
            for _ in range(SLOW_CLIENTS)
        )
    )
    assert max(closed) < CLOSED_WITHIN, sorted(closed)
    assert min(closed) >= HEAD_TIMEOUT * 0.9, sorted(closed)  # not refused before their time
    assert await healthy(port) == 200


@pytest.mark.security
async def test_clients_trickling_or_stalling_a_body_are_disconnected(port):
    head = (
        b"POST /api/batches HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer nope\r\n"
        b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
    )
    # A byte every 0.2 s never pauses too long but never finishes: the total deadline ends it.
    trickled = await trickle(port, head, b"{" * 200, every=0.2)
    assert BODY_TIMEOUT * 0.9 <= trickled < CLOSED_WITHIN, trickled
    # A body that stops: the pause allowance ends it.
    stalled = await trickle(port, head + b'{"restaurants": ', b" ", every=CLOSED_WITHIN)
    assert BODY_IDLE_TIMEOUT * 0.9 <= stalled < BODY_TIMEOUT, stalled
    assert await healthy(port) == 200


@pytest.mark.security
async def test_a_flood_of_connections_gets_503_then_the_server_recovers(port):
    flood = [await asyncio.open_connection("127.0.0.1", port) for _ in range(MAX_CONNECTIONS + 5)]
    try:
        assert await healthy(port) == 503
    finally:
        for _, writer in flood:
            writer.close()
    # The idle ones would also have been closed by the head deadline; either way the server recovers.
    for _ in range(100):
        if await healthy(port) == 200:
            break
        await asyncio.sleep(0.1)
    assert await healthy(port) == 200


@pytest.mark.security
async def test_a_request_head_growing_past_its_limit_is_refused(port):
    """A head that keeps coming without ending is refused once it passes the limit, before its deadline:
    memory per connection stays bounded."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (MAX_HEAD_BYTES + 1))
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(200), CLOSED_WITHIN)
    finally:
        writer.close()
    assert answer.startswith(b"HTTP/1.1 400"), answer
    assert time.monotonic() - started < HEAD_TIMEOUT
    assert await healthy(port) == 200
