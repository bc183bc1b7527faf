"""Optional render of a store page in headless Chromium, for pages that build their menu with JavaScript.

The browser never touches the network itself. Every request it makes (the page, scripts, API calls,
images) is intercepted and fetched here, through the same guarded, pinned, size-capped fetch as the
static page, then handed back to the browser; a refused one is aborted and recorded. A dead proxy for
everything else makes a request that escapes interception (a new kind of sub-resource, a WebSocket) fail
instead of reaching the machine's network. The whole render has a time budget, and all its responses
together a byte and a request budget.

Playwright is an optional dependency (`pip install 'yolobatch[render]'`); the browser is the system's
Chromium (Debian's `chromium` package), never one Playwright downloads.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from yolobatch.integrations.extraction.errors import ExtractionError
from yolobatch.integrations.extraction.fetch import Fetched, Post, fetch_bytes
from yolobatch.integrations.extraction.guard import UrlGuard
from yolobatch.settings import Settings

if TYPE_CHECKING:
    from playwright.async_api import Route

DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Nothing listens on port 9 ("discard"): a request that is not intercepted fails there. Loopback
    # is proxied too (Chromium bypasses the proxy for it by default).
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
]
# Request headers a page's script may set that the API it calls needs; cookies and the like stay out.
FORWARDED_HEADERS = frozenset({"accept", "accept-language", "content-type", "x-requested-with"})


class RenderError(Exception):
    """The render could not run or finish (no Playwright, no Chromium, out of time)."""


@dataclass(frozen=True)
class RenderOptions:
    chromium_path: str = DEFAULT_CHROMIUM
    timeout: float = 30.0  # the whole render: browser start, page, its requests, settling
    max_bytes: int = 20_000_000  # every response of the render together
    max_requests: int = 300
    settle: float = 0.5  # how long to wait, once the network is idle, before the DOM is read


def render_options(settings: Settings) -> RenderOptions | None:
    """The render budget a deployment chose, or None when rendering is off (the default)."""
    if not settings.render_pages:
        return None
    return RenderOptions(
        chromium_path=settings.chromium_path,
        timeout=settings.render_timeout_seconds,
        max_bytes=settings.render_max_bytes,
    )


@dataclass
class RenderedPage:
    url: str
    html: str
    requests: int = 0
    bytes: int = 0
    blocked: list[str] = field(default_factory=list)  # refused by the URL guard
    over_budget: list[str] = field(default_factory=list)


_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def _slot() -> asyncio.Semaphore:
    """One browser at a time per process: Chromium is heavy, and renders are a rare fallback."""
    loop = asyncio.get_running_loop()
    if loop not in _slots:
        _slots[loop] = asyncio.Semaphore(1)
    return _slots[loop]


async def render_page(
    url: str,
    *,
    http: httpx.AsyncClient,
    guard: UrlGuard,
    options: RenderOptions,
    document: str | None = None,
) -> RenderedPage:
    """The page's DOM after its scripts ran. Raises `RenderError`; refused requests are in `blocked`.

    `document`: the page's HTML, already fetched (or read from a file) and decoded; the browser is given
    it at `url` instead of fetching the page a second time. Its sub-requests are fetched as usual."""
    try:
        from playwright.async_api import Error as PlaywrightError
        from playwright.async_api import async_playwright
    except ImportError as exc:
        raise RenderError("rendering needs Playwright: pip install 'yolobatch[render]'") from exc
    if not os.access(options.chromium_path, os.X_OK):
        raise RenderError(
            f"rendering needs Chromium at {options.chromium_path} (apt-get install chromium); "
            "no browser is ever downloaded"
        )
    rendered = RenderedPage(url=url, html="")
    try:
        async with _slot(), asyncio.timeout(options.timeout), async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=options.chromium_path, args=CHROMIUM_ARGS)
            try:
                context = await browser.new_context(service_workers="block", accept_downloads=False)
                proxy = _Proxy(rendered, http, guard, options, document)
                await context.route("**/*", proxy.handle)
                page = await context.new_page()
                await page.goto(url, wait_until="load")
                await _settle(page, options)
                rendered.html = await page.content()
            finally:
                await browser.close()
    except TimeoutError as exc:
        raise RenderError(f"rendering {url} took longer than {options.timeout} s") from exc
    except PlaywrightError as exc:
        raise RenderError(f"rendering {url} failed: {exc.message.splitlines()[0]}") from exc
    return rendered


async def _settle(page: Any, options: RenderOptions) -> None:
    """Wait until the page's scripts stop fetching (no request for 0.5 s), then `settle` more for the DOM
    updates that follow the last response."""
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    # A page that polls forever never idles: after half the budget, read what it has built so far.
    with contextlib.suppress(PlaywrightTimeout):
        await page.wait_for_load_state("networkidle", timeout=options.timeout * 1000 / 2)
    await page.wait_for_timeout(options.settle * 1000)


class _Proxy:
    """Answers every request of the browser with a guarded fetch, within the render's budgets."""

    def __init__(
        self,
        rendered: RenderedPage,
        http: httpx.AsyncClient,
        guard: UrlGuard,
        options: RenderOptions,
        document: str | None,
    ) -> None:
        self._rendered = rendered
        self._http = http
        self._guard = guard
        self._options = options
        self._document = document
        # As many fetches at once as a browser opens to one host: bounds the bodies held side by side.
        self._fetching = asyncio.Semaphore(6)

    async def handle(self, route: Route) -> None:
        request = route.request
        rendered, options = self._rendered, self._options
        if self._document is not None and request.is_navigation_request():
            # The first navigation is the `goto` of the page itself (Chromium may have normalised its
            # URL, e.g. added a trailing slash). Decoded already, as a browser would: handed over as UTF-8,
            # which the header makes binding over the page's own <meta charset>.
            body, self._document = self._document.encode(), None
            await route.fulfill(status=200, content_type="text/html; charset=utf-8", body=body)
            return
        if rendered.requests >= options.max_requests:
            rendered.over_budget.append(request.url)
            await route.abort("blockedbyclient")
            return
        rendered.requests += 1
        async with self._fetching:
            await self._answer(route)

    async def _answer(self, route: Route) -> None:
        request = route.request
        rendered, options = self._rendered, self._options
        remaining = options.max_bytes - rendered.bytes
        if remaining <= 0:
            rendered.over_budget.append(request.url)
            await route.abort("blockedbyclient")
            return
        if request.method not in ("GET", "POST"):
            # A preview reads; a script's PUT or DELETE would change something on the site.
            await route.abort("blockedbyclient")
            return
        post = None
        if request.method == "POST":
            # The browser's own Content-Type replaces the JSON default of `Post` (one spelling of the name).
            headers = {
                ("Content-Type" if k.lower() == "content-type" else k): v
                for k, v in request.headers.items()
                if k.lower() in FORWARDED_HEADERS
            }
            post = Post(request.post_data_buffer or b"", headers)
        try:
            fetched = await fetch_bytes(
                request.url,
                http=self._http,
                guard=self._guard,
                accept=lambda _media_type: True,
                refusal="not_html",
                max_bytes=remaining,
                timeout=options.timeout,
                max_redirects=5,
                post=post,
            )
        except ExtractionError as exc:
            await self._refused(route, exc)
            return
        if rendered.bytes + len(fetched.body) > options.max_bytes:
            # Fetched side by side, each within what was left when it started: only one fits.
            rendered.over_budget.append(request.url)
            await route.abort("blockedbyclient")
            return
        rendered.bytes += len(fetched.body)
        await route.fulfill(status=fetched.status, headers=_headers(fetched), body=fetched.body)

    async def _refused(self, route: Route, exc: ExtractionError) -> None:
        if exc.code in ("ssrf_refused", "invalid_url"):
            self._rendered.blocked.append(route.request.url)
            await route.abort("blockedbyclient")
        elif exc.code == "too_large":
            self._rendered.over_budget.append(route.request.url)
            await route.abort("blockedbyclient")
        elif exc.code == "http_error" and exc.status is not None:
            await route.fulfill(status=exc.status, body=b"")
        else:
            await route.abort("failed")


def _headers(fetched: Fetched) -> dict[str, str]:
    # CORS guards a user's cookies; this browser has none, and a store page's own API is often on another
    # origin, whose real CORS headers `Fetched` does not keep.
    headers = {"access-control-allow-origin": "*"}
    if fetched.content_type:
        headers["content-type"] = fetched.content_type
    return headers
