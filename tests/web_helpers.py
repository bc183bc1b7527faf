"""The dashboard under test: the real app on a real port (uvicorn in this event loop) and system Chromium."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn
from playwright.async_api import Browser, Locator, Page, async_playwright, expect
from temporalio.client import Client

from tests.engine_helpers import worker
from yolobatch.engine.devserver import free_port
from yolobatch.http.app import create_app
from yolobatch.http.context import AppContext
from yolobatch.settings import Settings
from yolobatch.store.access import Access
from yolobatch.store.repository import Store

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-output" / "screenshots"
DOC_SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"  # committed
ORG = "web-org"

# Each expectation that follows a click waits for a server round trip; on a busy machine (a benchmark
# beside the suite) that took over Playwright's 5 s default. A real failure still fails, 20 s later.
expect.set_options(timeout=20_000)


@dataclass
class Dashboard:
    url: str
    token: str
    store: Store
    world: object
    session: str  # a logged-in session id of `token`, for the cookie of plain HTTP clients


def open_session(store: Store, token: str) -> str:
    """A dashboard session of `token`, as /login opens one (the cookie's value; never the token)."""
    access = Access(store)
    caller = access.token_caller(token)
    assert caller is not None, "not a live token"
    return access.open_session(caller, timedelta(hours=1))


@contextlib.asynccontextmanager
async def serving(client: Client, store: Store, settings: Settings, world) -> AsyncIterator[Dashboard]:
    """The app with a worker, on a free port, for the duration of the block."""
    store.ensure_org(ORG)
    token = store.create_token(ORG, "dashboard-test")
    app = create_app(AppContext(settings, store, client, world.url))
    port = free_port()
    # Open SSE streams never end by themselves, so shutdown must not wait for them.
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.05)
    try:
        async with worker(client, store, settings):
            yield Dashboard(f"http://127.0.0.1:{port}", token, store, world, open_session(store, token))
    finally:
        server.should_exit = True
        await task


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """The system Chromium; a missing browser is a failure, never a skip (we never download one)."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"{CHROMIUM} is missing: install the distribution's chromium package (apt-get install chromium)"
        )
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


@contextlib.asynccontextmanager
async def browser_page() -> AsyncIterator[Page]:
    """A page of the system Chromium at a laptop's size, for the length of the block."""
    async with chromium() as browser:
        context = await browser.new_context(viewport={"width": 1280, "height": 900})
        yield await context.new_page()
        await context.close()


async def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


async def doc_shot(target: Page | Locator, name: str) -> None:
    """A screenshot for docs/screenshots/ (committed: the README shows what the pictures look like)."""
    DOC_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await target.screenshot(path=str(DOC_SCREENSHOTS / f"{name}.png"))


async def log_in(page: Page, dash: Dashboard) -> None:
    await page.goto(f"{dash.url}/login")
    await page.fill("input[name=token]", dash.token)
    await page.click("main button[type=submit]")
    await page.wait_for_url(f"{dash.url}/")


async def login_csrf(http: httpx.AsyncClient) -> dict[str, str]:
    """The login form's CSRF field, as a browser gets it: GET /login sets the pre-login cookie."""
    form = (await http.get("/login")).text
    match = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', form)
    assert match, form
    return {"csrf_token": match.group(1)}
