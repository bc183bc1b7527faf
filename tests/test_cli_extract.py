"""`yolobatch extract URL|FILE`: step 1's preview, through the real CLI (Typer's runner) and real HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.page_server import PageServer, Served, page_server
from tests.test_extraction_fetch_render import APP_JS, MENU_JSON, SPA_PAGE
from yolobatch.cli import app

CORPUS = Path(__file__).resolve().parent / "fixtures" / "real"
LATIN1 = CORPUS / "enc-cp1252-declared-latin1.html"
JSONLD_PAGE = """<html><head><title>Kiwi Grill</title>
<link rel="icon" href="/favicon.ico">
<script type="application/ld+json">{"@context": "https://schema.org", "@type": "Restaurant",
 "name": "Kiwi Grill", "telephone": "+64 9 555 0199",
 "hasMenu": {"@type": "Menu", "hasMenuSection": [{"@type": "MenuSection", "name": "Burgers",
   "hasMenuItem": [{"@type": "MenuItem", "name": "Kiwi Burger \\u001b[31mHOT\\u001b[0m",
     "offers": {"@type": "Offer", "price": "16.50", "priceCurrency": "NZD"}}]}]}}</script>
</head><body><h1>Kiwi Grill</h1></body></html>"""


@pytest.fixture(scope="module")
def site() -> Iterator[PageServer]:
    routes = {
        "/menu": Served(JSONLD_PAGE.encode()),
        "/empty": Served(b"<html><body><h1>Opening soon</h1></body></html>"),
        "/spa": Served(SPA_PAGE.replace("HONEYPOT", "http://10.0.0.1").encode()),
        "/app.js": Served(APP_JS.replace("HONEYPOT", "http://10.0.0.1").encode(), "text/javascript"),
        "/api/menu.json": Served(json.dumps(MENU_JSON).encode(), "application/json"),
    }
    with page_server(routes) as running:
        yield running


def _run(*args: str, allowed: str | None = None) -> tuple[int, str, str]:
    env = {"YOLOBATCH_FETCH_ALLOWED_HOSTS": json.dumps([allowed] if allowed else [])}
    result = CliRunner().invoke(app, ["extract", *args], env=env)
    return result.exit_code, result.stdout, result.stderr


def test_a_file_is_read_as_if_fetched_from_its_url() -> None:
    code, out, _ = _run(str(LATIN1), "--url", "https://www.absinthe-cafe.example/menu-hiver.php")
    assert code == 0, out
    assert "strategy: dom" in out
    assert "menu: 3 categories, 12 items" in out
    # windows-1252 bytes declared ISO-8859-1, decoded as a browser would; entities decoded too.
    assert "22.00  Filet de bœuf façon Rossini" in out
    assert "14.50  Suprême de poulet à la thaï, riz basmati" in out
    assert "Les Desserts (3)" in out and "no_logo" in out


def test_json_is_the_extraction_result() -> None:
    code, out, _ = _run(str(CORPUS / "enc-shift-jis.html"), "--json")
    assert code == 0
    result = json.loads(out)
    assert result["source"] == "dom" and result["rendered"] is False
    names = [item["name"] for category in result["menu"]["categories"] for item in category["items"]]
    assert names[0] == "牛タン定食（松）" and len(names) == 7
    assert result["url"].startswith("file://")


def test_a_url_goes_through_the_guard_and_prints_everything(site: PageServer) -> None:
    code, out, _ = _run(f"{site.url}/menu", allowed=site.netloc)
    assert code == 0, out
    assert "strategy: jsonld" in out and "16.50" in out
    assert "phone: +64 9 555 0199" in out
    assert f"favicon: {site.url}/favicon.ico" in out
    # An escape sequence from the page is shown, not sent to the terminal.
    assert "\x1b" not in out


def test_a_private_address_is_refused(site: PageServer) -> None:
    code, out, err = _run(f"{site.url}/menu")
    assert code == 2
    assert "ssrf_refused" in err and site.requests.count("GET /menu") <= 1


def test_no_menu_exits_1(site: PageServer) -> None:
    code, out, _ = _run(f"{site.url}/empty", allowed=site.netloc)
    assert code == 1
    assert "no menu found" in out and "no_menu" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["/nonexistent/menu.html"], "Cannot read /nonexistent/menu.html"),
        (["ftp://example.com/menu"], "only http and https"),
        ([str(LATIN1), "--url", "javascript:alert(1)"], "is not an http(s) URL"),
        (["https://example.com/", "--url", "https://example.com/"], "--url is for a FILE"),
        ([str(CORPUS)], "is not a file"),
    ],
)
def test_bad_input_exits_2(args: list[str], message: str) -> None:
    code, _, err = _run(*args)
    assert code == 2
    assert message in err


def test_render_flag_reads_a_script_built_menu(site: PageServer) -> None:
    code, out, _ = _run(f"{site.url}/spa", allowed=site.netloc)
    assert code == 1
    code, out, _ = _run(f"{site.url}/spa", "--render", allowed=site.netloc)
    assert code == 0, out
    assert "(rendered in headless Chromium)" in out and "14.50  Dan Dan Noodles" in out
    assert "render_blocked_requests" in out and "http://10.0.0.1/steal" in out


def test_a_saved_file_renders_with_its_sites_requests(site: PageServer, tmp_path: Path) -> None:
    saved = tmp_path / "spa.html"
    saved.write_text(SPA_PAGE.replace("HONEYPOT", "http://10.0.0.1"), encoding="utf-8")
    code, _, err = _run(str(saved), "--render", allowed=site.netloc)
    assert code == 2 and "needs --url" in err
    code, out, _ = _run(str(saved), "--render", "--url", f"{site.url}/spa", allowed=site.netloc)
    assert code == 0, out
    assert "11.00  Pork & Chive Dumplings" in out and "(rendered in headless Chromium)" in out
