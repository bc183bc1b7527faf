"""Restaurant store pages for step 1 (menu & branding extraction), served by the sandbox.

`GET /stores/{slug}` serves the ten demo restaurants (slug = demo menu id without `menu-`), each as one
of four page kinds (see `store_page_html`), with a Pillow-drawn logo in the restaurant's colours and a
favicon. The `_`-prefixed slugs are hostile pages that exercise the extractor's refusals.

The Uber Eats-kind stores serve their items' option groups as Uber Eats does, on `POST
/_p/api/getMenuItemV1` ({storeUuid, menuItemUuid, ...}; endpoint "store-item" for faults and the call log).

The page and its logo are logged in the call log and take scripted faults (`POST /_sandbox/faults` with
endpoint "store-page" or "store-logo"; `restaurant_id` narrows a plan to one slug), like the registries.
A "success_false" plan has no meaning for a web page: it is used up and logged, and the page served as usual.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from PIL import Image, ImageDraw

from yolobatch.devtools.demo import demo_batch
from yolobatch.devtools.sandbox.faults import Fault
from yolobatch.devtools.sandbox.pipeline import serve_scripted
from yolobatch.devtools.sandbox.protocol import Reply, fail
from yolobatch.devtools.sandbox.store_page_html import RENDERERS, page_kind, ubereats_item

LOGO_SIZE = 200
# Logos of these demo indexes sit on an opaque white square; the rest are transparent PNGs.
WHITE_BACKGROUND = frozenset({0, 4, 8})
HUGE_BYTES = 6_500_000
CHUNK = b"<!-- " + b"x" * 65_000 + b" -->\n"
METADATA_URL = "http://169.254.169.254/latest/meta-data/"


@lru_cache(maxsize=1)
def store_restaurants() -> dict[str, tuple[int, dict[str, Any]]]:
    """slug → (demo index, demo restaurant)."""
    restaurants = demo_batch()["restaurants"]
    return {r["menu"]["id"].removeprefix("menu-"): (i, r) for i, r in enumerate(restaurants)}


def _restaurant(slug: str) -> tuple[int, dict[str, Any]] | Reply:
    """The store, or the 404 that the app's error handler would give for an unknown slug."""
    found = store_restaurants().get(slug)
    return fail(404, f"No store {slug!r}") if found is None else found


def _hex(value: str) -> tuple[int, int, int]:
    value = value.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


@lru_cache(maxsize=32)
def logo_png(index: int, primary: str, secondary: str, size: int = LOGO_SIZE) -> bytes:
    """A disc of the primary colour with a secondary band: primary clearly dominates by area.

    Drawn without anti-aliasing so that the colours in the file are exactly the brand's.
    """
    background = (255, 255, 255, 255) if index in WHITE_BACKGROUND else (0, 0, 0, 0)
    image = Image.new("RGBA", (size, size), background)
    draw = ImageDraw.Draw(image)
    margin = size // 20
    draw.ellipse((margin, margin, size - margin, size - margin), fill=(*_hex(primary), 255))
    band = size // 5
    draw.rectangle(
        (size // 5, size // 2 - band // 2, size - size // 5, size // 2 + band // 2),
        fill=(*_hex(secondary), 255),
    )
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@lru_cache(maxsize=32)
def favicon_ico(index: int, primary: str, secondary: str) -> bytes:
    with Image.open(io.BytesIO(logo_png(index, primary, secondary))) as logo:
        out = io.BytesIO()
        logo.save(out, format="ICO", sizes=[(32, 32)])
    return out.getvalue()


def _huge_body() -> Iterator[bytes]:
    yield b"<!doctype html><html><head><title>Huge</title></head><body>"
    sent = 0
    while sent < HUGE_BYTES:
        yield CHUNK
        sent += len(CHUNK)
    yield b"</body></html>"


INVALID_JSON_PAGE = """<!doctype html><html><head><title>Half-deployed store</title></head><body>
<script id="__NEXT_DATA__" type="application/json">{"props": {"pageProps": {"store": {"title": "Broken",
"catalog": [{"title": "Mains", "items": [</script>
<main><h2>Today</h2><ul>
<li class="dish"><h3>Market Fish</h3><span class="price">Market price</span></li>
<li class="dish"><h3>Soup of the Day\nPlus small</h3><p>Ask our staff (12)</p>
<span class="price">$9.50</span></li>
</ul></main></body></html>"""

NO_MENU_PAGE = """<!doctype html><html><head><title>Opening soon</title>
<meta property="og:image" content="/stores/jax-burger-shack/logo.png"></head>
<body><h1>Opening soon</h1><p>Our menu is coming. Follow us for news.</p></body></html>"""


def router() -> APIRouter:
    routes = APIRouter(prefix="/stores")

    # Hostile pages first: `/stores/{slug}` would otherwise swallow them.
    @routes.get("/_huge")
    async def huge() -> Response:
        # Streamed without Content-Length: the reader must cap the body itself.
        return StreamingResponse(_huge_body(), media_type="text/html")

    @routes.get("/_invalid-json")
    async def invalid_json() -> Response:
        return HTMLResponse(INVALID_JSON_PAGE)

    @routes.get("/_no-menu")
    async def no_menu() -> Response:
        return HTMLResponse(NO_MENU_PAGE)

    @routes.get("/_redirect-loop")
    async def redirect_loop(hop: int = 0) -> Response:
        return RedirectResponse(f"/stores/_redirect-loop?hop={hop + 1}", status_code=302)

    @routes.get("/_not-html")
    async def not_html() -> Response:
        return Response(
            b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\n%%EOF\n", media_type="application/pdf"
        )

    @routes.get("/_redirect-private")
    async def redirect_private() -> Response:
        return RedirectResponse(METADATA_URL, status_code=302)

    @routes.get("/_moved/{slug}")
    async def moved(slug: str) -> Response:
        return RedirectResponse(f"/stores/{slug}", status_code=301)

    @routes.get("/{slug}")
    async def store_page(slug: str, request: Request) -> Response:
        async def answer(fault: Fault | None) -> Reply:
            found = _restaurant(slug)
            if isinstance(found, Reply):
                return found
            index, restaurant = found
            html = RENDERERS[page_kind(index)](restaurant, index, slug)
            return Reply(200, raw=html.encode(), media_type="text/html")

        return await serve_scripted(request, "store-page", slug, answer)

    @routes.get("/{slug}/logo.png")
    async def logo(slug: str, request: Request) -> Response:
        async def answer(fault: Fault | None) -> Reply:
            found = _restaurant(slug)
            if isinstance(found, Reply):
                return found
            index, restaurant = found
            website = restaurant["config"]["website"]
            png = logo_png(index, website["primaryColor"], website["secondaryColor"])
            return Reply(200, raw=png, media_type="image/png")

        return await serve_scripted(request, "store-logo", slug, answer)

    @routes.get("/{slug}/favicon.ico")
    async def favicon(slug: str) -> Response:
        found = _restaurant(slug)
        if isinstance(found, Reply):
            return found.to_response()
        index, restaurant = found
        website = restaurant["config"]["website"]
        icon = favicon_ico(index, website["primaryColor"], website["secondaryColor"])
        return Response(icon, media_type="image/x-icon")

    return routes


def item_router() -> APIRouter:
    routes = APIRouter()

    @routes.post("/_p/api/getMenuItemV1")
    async def menu_item(request: Request, payload: dict[str, Any] = Body(default_factory=dict)) -> Response:
        slug = str(payload.get("storeUuid") or "")

        async def answer(fault: Fault | None) -> Reply:
            found = _restaurant(slug)
            if isinstance(found, Reply):
                return found
            _index, restaurant = found
            item = ubereats_item(restaurant, slug, str(payload.get("menuItemUuid") or ""))
            if item is None:
                return fail(404, "No such item")
            return Reply(200, body=item)

        return await serve_scripted(request, "store-item", slug, answer)

    return routes
