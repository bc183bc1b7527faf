"""Fetching as a browser would: charsets, compressed bodies (bombs included) and the optional render in
headless Chromium, each against a real local HTTP server."""

from __future__ import annotations

import gzip
import json
import tracemalloc
import zlib
from collections.abc import Iterator

import brotli
import httpx
import pytest
from temporalio.testing import ActivityEnvironment

from tests.page_server import PageServer, Served, page_server
from yolobatch.domain.batch_input import parse_batch
from yolobatch.domain.extraction import ExtractionResult
from yolobatch.engine.contracts import LookupInput
from yolobatch.engine.pipeline_activities import PipelineActivities
from yolobatch.integrations.extraction import ExtractionError, UrlGuard, extract_store, fetch_page
from yolobatch.integrations.extraction.decoding import StreamDecoder, decode_html
from yolobatch.integrations.extraction.render import RenderOptions
from yolobatch.settings import Settings
from yolobatch.store.repository import Store

SHIFT_JIS_PAGE = '<meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS"><p>牛タン定食 ①</p>'
# Legacy XHTML: an XML declaration naming the byte encoding, then schema.org JSON-LD.
SJIS_JSONLD = """<?xml version="1.0" encoding="Shift_JIS"?>
<html xmlns="http://www.w3.org/1999/xhtml"><head>
<meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS" />
<script type="application/ld+json">{"@context": "https://schema.org", "@type": "Menu", "hasMenuSection": [
 {"@type": "MenuSection", "name": "定食", "hasMenuItem": [
  {"@type": "MenuItem", "name": "牛タン定食（松）",
   "offers": {"@type": "Offer", "price": "2980", "priceCurrency": "JPY"}}]}]}
</script></head><body><h1>牛たん</h1></body></html>"""
BOMB_DECODED = 500 * 1024 * 1024  # 500 MB of zeros: ~0.5 MB gzip, the size the security review used
PAGE = "<html><body><h2>Plats</h2><ul><li><strong>Crème brûlée</strong> <span class=price>7,50 €</span></li>"


def _brotli_bomb() -> bytes:
    packer = brotli.Compressor(quality=5)
    zeros = b"\0" * (1 << 20)
    parts = [packer.process(b"<html><body>")]
    parts += [packer.process(zeros) for _ in range(BOMB_DECODED >> 20)]
    return b"".join([*parts, packer.finish()])  # about 1 KB on the wire


def _bomb(wbits: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    zeros = b"\0" * (1 << 20)
    parts = [packer.compress(b"<html><body>")]
    parts += [packer.compress(zeros) for _ in range(BOMB_DECODED >> 20)]
    return b"".join([*parts, packer.flush()])


@pytest.fixture(scope="module")
def server() -> Iterator[PageServer]:
    gzip_bomb = _bomb(16 + zlib.MAX_WBITS)
    routes = {
        "/bomb-gzip": Served(gzip_bomb, headers={"Content-Encoding": "gzip"}),
        "/bomb-deflate-raw": Served(_bomb(-zlib.MAX_WBITS), headers={"Content-Encoding": "deflate"}),
        # Two codings: a bomb inside a gzip stream, each layer bounded on its own.
        "/bomb-twice": Served(gzip.compress(gzip_bomb, 1), headers={"Content-Encoding": "gzip, gzip"}),
        "/page-gzip": Served(gzip.compress(PAGE.encode()), headers={"Content-Encoding": "gzip"}),
        "/page-deflate": Served(zlib.compress(PAGE.encode()), headers={"Content-Encoding": "deflate"}),
        "/bomb-brotli": Served(_brotli_bomb(), headers={"Content-Encoding": "br"}),
        "/page-brotli": Served(brotli.compress(PAGE.encode()), headers={"Content-Encoding": "br"}),
        "/page-zstd": Served(b"(\xb5/\xfd\x00Xhello", headers={"Content-Encoding": "zstd"}),
        "/page-broken-brotli": Served(b"\xff\xff\xff\xff", headers={"Content-Encoding": "br"}),
        "/page-broken-gzip": Served(
            b"\x1f\x8b\x08\0\0\0\0\0\0\x03\xff\xff\xff", headers={"Content-Encoding": "gzip"}
        ),
        "/sjis-jsonld": Served(SJIS_JSONLD.encode("cp932"), content_type="text/html"),
        "/latin1": Served(PAGE.encode("cp1252"), content_type="text/html; charset=ISO-8859-1"),
    }
    with page_server(routes) as running:
        yield running


async def _fetch(server: PageServer, path: str, **kwargs) -> str:
    guard = UrlGuard(allowed_hosts=frozenset({server.netloc}))
    async with httpx.AsyncClient() as http:
        page = await fetch_page(f"{server.url}{path}", http=http, guard=guard, **kwargs)
    return page.text


# -- compressed bodies ------------------------------------------------------------------------------------


@pytest.mark.security
@pytest.mark.parametrize("path", ["/bomb-gzip", "/bomb-deflate-raw", "/bomb-twice", "/bomb-brotli"])
async def test_a_compression_bomb_stops_at_the_cap_with_bounded_memory(server: PageServer, path: str) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(ExtractionError) as caught:
            await _fetch(server, path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert caught.value.code == "too_large"
    # The 5 MB cap plus one decoded chunk; httpx's own decoder inflated a whole network read at once.
    assert peak < 20_000_000, f"peak {peak / 1e6:.1f} MB while refusing a bomb"


async def test_compressed_pages_decode(server: PageServer) -> None:
    assert await _fetch(server, "/page-gzip") == PAGE
    assert await _fetch(server, "/page-deflate") == PAGE
    assert await _fetch(server, "/page-brotli") == PAGE


@pytest.mark.parametrize("path", ["/page-zstd", "/page-broken-gzip", "/page-broken-brotli"])
async def test_an_unasked_or_broken_coding_is_a_clear_error(server: PageServer, path: str) -> None:
    with pytest.raises(ExtractionError) as caught:
        await _fetch(server, path)
    assert caught.value.code == "bad_encoding"


def test_stream_decoder_emits_bounded_chunks_and_the_whole_body() -> None:
    body = b"menu " * 200_000  # 1 MB, compresses to a few KB: one feed holds the whole stream
    decoder = StreamDecoder("deflate")
    chunks = [*decoder.feed(zlib.compress(body)), *decoder.flush()]
    assert b"".join(chunks) == body
    assert len(chunks) > 10 and max(map(len, chunks)) <= 64 * 1024
    raw = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    decoder = StreamDecoder("deflate")  # raw deflate, as some servers send it
    assert b"".join(decoder.feed(raw.compress(body) + raw.flush())) == body


# -- charsets ---------------------------------------------------------------------------------------------


async def test_a_declared_latin1_page_decodes_as_windows_1252(server: PageServer) -> None:
    # Browsers read ISO-8859-1 as windows-1252: the euro sign (0x80) exists only there.
    text = await _fetch(server, "/latin1")
    assert "7,50 €" in text and "Crème brûlée" in text


async def test_structured_data_survives_an_xml_encoding_declaration(server: PageServer) -> None:
    guard = UrlGuard(allowed_hosts=frozenset({server.netloc}))
    async with httpx.AsyncClient() as http:
        result = await extract_store(f"{server.url}/sjis-jsonld", http=http, guard=guard)
    assert result.source == "jsonld" and result.menu is not None
    assert [(i.name, str(i.price)) for i in result.menu.items()] == [("牛タン定食（松）", "2980.00")]


@pytest.mark.parametrize(
    ("body", "content_type", "text"),
    [
        # The header wins over the page's own declaration.
        (
            '<meta charset="shift_jis"><p>Œuf €</p>'.encode("cp1252"),
            "text/html; charset=windows-1252",
            "Œuf €",
        ),
        # http-equiv in a page served without a charset; Shift_JIS read as browsers do (cp932).
        (SHIFT_JIS_PAGE.encode("cp932"), "text/html", "牛タン定食 ①"),
        # A byte-order mark beats the header.
        (
            b"\xff\xfe" + "<p>Café – مقهى</p>".encode("utf-16-le"),
            "text/html; charset=iso-8859-1",
            "Café – مقهى",
        ),
        (b"\xef\xbb\xbf<p>Caf\xc3\xa9</p>", "text/html", "Café"),
        # A <meta> saying UTF-16 in ASCII bytes is read as UTF-8, as the HTML standard says.
        ('<meta charset="utf-16"><p>Café</p>'.encode(), "text/html", "<p>Café</p>"),
        # Nothing declared: UTF-8 when valid, else windows-1252 (the legacy default).
        ("<p>Tiramisù 6€</p>".encode(), "text/html", "Tiramisù 6€"),
        ("<p>Tiramisù 6€</p>".encode("cp1252"), "text/html", "Tiramisù 6€"),
        ("<p>Tiramisù 6€</p>".encode("cp1252"), "", "Tiramisù 6€"),
    ],
)
def test_charset_rules(body: bytes, content_type: str, text: str) -> None:
    _encoding, decoded = decode_html(body, content_type)
    assert text in decoded


# -- rendering in headless Chromium ---------------------------------------------------------------------

MENU_JSON = {
    "categories": [
        {"name": "Noodles", "items": [{"name": "Dan Dan Noodles", "price": "$14.50"}]},
        {"name": "Dumplings", "items": [{"name": "Pork & Chive Dumplings", "price": "$11.00"}]},
    ]
}
# The menu exists only once /app.js has fetched /api/menu.json and built the DOM; the page also asks
# for a private address (another local port the guard does not allow): by fetch, WebSocket and image.
APP_JS = """
fetch('HONEYPOT/steal').catch(() => {});
// Route interception does not see WebSockets; the browser must not open one to a private address.
try { new WebSocket('HONEYPOT/socket'.replace('http', 'ws')); } catch (e) {}
// A GraphQL-style POST, as script-built menus often load theirs.
const query = {method: 'POST', headers: {'Content-Type': 'application/json'}, body: '{"query": "menu"}'};
fetch('/api/menu.json', query).then(r => r.json()).then(data => {
  const root = document.getElementById('menu');
  root.textContent = '';
  for (const category of data.categories) {
    const heading = document.createElement('h2');
    heading.textContent = category.name;
    root.appendChild(heading);
    const list = document.createElement('ul');
    for (const item of category.items) {
      const row = document.createElement('li');
      row.innerHTML = '<strong></strong> <span class="price"></span>';
      row.querySelector('strong').textContent = item.name;
      row.querySelector('.price').textContent = item.price;
      list.appendChild(row);
    }
    root.appendChild(list);
  }
});
"""
SPA_PAGE = """<!doctype html><html><head><title>Noodle Bar</title>
<script src="/app.js" defer></script></head><body><h1>Noodle Bar</h1>
<div id="menu">Loading the menu…</div><img src="HONEYPOT/pixel.png" alt=""></body></html>"""


@pytest.fixture(scope="module")
def spa() -> Iterator[tuple[PageServer, PageServer]]:
    with page_server({"/pixel.png": Served(b"", "image/png"), "/steal": Served(b"{}")}) as honeypot:
        routes = {
            "/": Served(SPA_PAGE.replace("HONEYPOT", honeypot.url).encode()),
            "/app.js": Served(APP_JS.replace("HONEYPOT", honeypot.url).encode(), "text/javascript"),
            "/api/menu.json": Served(json.dumps(MENU_JSON).encode(), "application/json"),
        }
        with page_server(routes) as site:
            yield site, honeypot


async def _extract_spa(site: PageServer, render: RenderOptions | None) -> ExtractionResult:
    guard = UrlGuard(allowed_hosts=frozenset({site.netloc}))
    async with httpx.AsyncClient() as http:
        return await extract_store(f"{site.url}/", http=http, guard=guard, render=render)


async def test_a_script_built_menu_needs_the_render(spa: tuple[PageServer, PageServer]) -> None:
    site, honeypot = spa
    static = await _extract_spa(site, None)
    assert static.menu is None and not static.rendered
    assert "no_menu" in static.warning_codes()

    site.requests.clear()
    result = await _extract_spa(site, RenderOptions(timeout=60))
    assert result.rendered
    # The browser was handed the page already fetched, not sent for it again.
    assert site.requests.count("GET /") == 1
    assert result.menu is not None, result.warnings
    assert [(c.name, [(i.name, str(i.price)) for i in c.items]) for c in result.menu.categories] == [
        ("Noodles", [("Dan Dan Noodles", "14.50")]),
        ("Dumplings", [("Pork & Chive Dumplings", "11.00")]),
    ]
    # Every request of the browser went through the fetch here: the site saw them, the honeypot none.
    assert {"GET /app.js", "POST /api/menu.json"} <= set(site.requests)
    assert honeypot.requests == [], honeypot.requests
    blocked = [w for w in result.warnings if w.code == "render_blocked_requests"]
    assert len(blocked) == 1 and f"{honeypot.url}/steal" in blocked[0].message


async def test_the_render_has_a_byte_budget(spa: tuple[PageServer, PageServer]) -> None:
    site, _ = spa
    # Room for the script (the page itself is handed over), not for the menu the script fetches.
    budget = len(site.routes["/app.js"].body) + 10
    result = await _extract_spa(site, RenderOptions(timeout=60, max_bytes=budget))
    assert result.rendered and result.menu is None
    assert "render_over_budget" in result.warning_codes()


async def test_a_missing_browser_leaves_the_static_result_with_a_warning(
    spa: tuple[PageServer, PageServer],
) -> None:
    site, _ = spa
    result = await _extract_spa(site, RenderOptions(chromium_path="/nonexistent/chromium"))
    assert result.menu is None and not result.rendered
    failed = [w.message for w in result.warnings if w.code == "render_failed"]
    assert failed and "apt-get install chromium" in failed[0]


async def test_step_1_in_the_engine_renders_when_the_setting_says_so(
    spa: tuple[PageServer, PageServer], store: Store, tmp_path
) -> None:
    """The extract_store activity (the worker's step 1) reads YOLOBATCH_RENDER_PAGES from its settings."""
    site, _ = spa
    batch = parse_batch(json.dumps({"restaurants": [{"name": "Noodle Bar", "storeUrl": f"{site.url}/"}]}))
    store.ensure_org("render-org")
    batch_id = store.create_batch("render-org", batch.name, batch.restaurants)
    [(_, job_id, _)] = store.job_ids_page(batch_id, -1, 10)
    summaries = {}
    for render in (False, True):
        settings = Settings(
            data_dir=tmp_path,
            database_url=store.engine.url.render_as_string(hide_password=False),
            fetch_allowed_hosts=[site.netloc],
            render_pages=render,
        )
        async with httpx.AsyncClient() as http:
            activities = PipelineActivities(store, http, settings)
            output = await ActivityEnvironment().run(activities.extract_store, LookupInput(job_id))
        summaries[render] = output.summary
    assert (summaries[False]["items"], summaries[False]["rendered"]) == (0, False)
    assert (summaries[True]["items"], summaries[True]["rendered"]) == (2, True)
    assert store.extraction(job_id)["rendered"] is True
