"""Bad input of every kind (issue #5): uploads, configs, URLs, and upstream answers.

Every refusal must be a clear 4xx naming the problem (row and column where there is one), must create
nothing (the store's rows are counted before and after), and must leave the service healthy (health
checks answer and a valid upload still works). Upstream answers that are malformed, cut short or enormous
must become an `ExternalCallError` that says whether a retry can help, never a crash or unbounded memory.

The API runs in-process (FastAPI over httpx's ASGI transport) on a real SQLite store with a real Temporal
client; SSRF and upstream cases use real sockets: small HTTP servers in threads and the sandbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import csv
import io
import json
import socket
import sqlite3
import threading
import tracemalloc
import uuid
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest
from markupsafe import escape
from pydantic.alias_generators import to_camel
from sqlalchemy import text
from temporalio.client import Client

from tests.conftest import ENGINE_SCALE, SECRET_KEY, asgi_client, batch_of, make_store, settings_for
from tests.engine_helpers import wait_until, worker
from tests.xlsx_files import workbook
from yolobatch.cli import sandbox_settings
from yolobatch.devtools.demo import demo_batch
from yolobatch.devtools.sandbox.settings import SandboxSettings
from yolobatch.domain.batch_input import MAX_RESTAURANTS, MAX_UPLOAD_BYTES
from yolobatch.domain.company import SearchTerms
from yolobatch.domain.config import RegistrationConfig
from yolobatch.domain.plan import SubStep
from yolobatch.http.app import MAX_BODY_BYTES, create_app
from yolobatch.http.context import AppContext
from yolobatch.integrations.bounded import MAX_RESPONSE_BYTES
from yolobatch.integrations.errors import ExternalCallError
from yolobatch.integrations.extraction import ExtractionError, UrlGuard, extract_store
from yolobatch.integrations.registration.client import RegistrationClient
from yolobatch.integrations.registration.payloads import build_request
from yolobatch.integrations.registry import CompaniesHouseRegistry, NzbnRegistry, RegistryError
from yolobatch.settings import Settings
from yolobatch.store.repository import Store

ORG = "org-bad-input"
TABLES = ("batches", "jobs", "job_steps", "sub_steps", "registration_configs", "menus", "events")
VALID_CSV = "name,storeUrl,city\nStill Serving Cafe,https://still-serving.example/menu,Auckland\n"
REGISTRY_KEY = SandboxSettings().registry_api_key


# -- the API under test ----------------------------------------------------------------------------------


@dataclass
class Api:
    http: httpx.AsyncClient
    store: Store
    app: Any

    def counts(self) -> dict[str, int]:
        with self.store.engine.connect() as connection:
            return {t: connection.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}

    async def upload(self, filename: str, content: bytes | str, **form: str) -> httpx.Response:
        # These tests send the same few restaurants again and again into one organisation: forced, as the
        # duplicate check (tests/test_duplicates.py) would otherwise answer before the input is judged.
        form = {"force": "true", **form}
        return await self.http.post("/api/batches/upload", files={"file": (filename, content)}, data=form)

    async def refused(self, send: Callable[[], Any], status: int = 422) -> dict[str, Any]:
        """Send a bad request: it must be refused with `status`, create nothing, and harm nothing."""
        before = self.counts()
        response = await send()
        assert response.status_code == status, response.text
        assert self.counts() == before, "a refused request left rows behind"
        await self.still_serving()
        return response.json()

    async def still_serving(self) -> None:
        assert (await self.http.get("/healthz")).status_code == 200
        ready = await self.http.get("/readyz")
        assert ready.status_code == 200, ready.text
        ok = await self.upload("ok.csv", VALID_CSV)
        assert ok.status_code == 201, ok.text


@pytest.fixture(scope="module")
async def api(dev_server, tmp_path_factory) -> AsyncIterator[Api]:
    root = tmp_path_factory.mktemp("bad-input")
    store = make_store("sqlite", root)
    store.ensure_org(ORG)
    token = store.create_token(ORG, "bad-input")
    settings = Settings(
        data_dir=root,
        database_url=store.engine.url.render_as_string(hide_password=False),
        secret_key=SECRET_KEY,
        time_scale=ENGINE_SCALE,
    )
    client = await Client.connect(dev_server.address)
    app = create_app(AppContext(settings=settings, store=store, client=client))
    async with asgi_client(app, token) as http:
        yield Api(http, store, app)


EXAMPLES = Path(__file__).parent.parent / "examples"


def problem_list(body: dict[str, Any]) -> list[str]:
    """The input problems of a 422: an RFC 9457 problem's `errors`, one entry per problem."""
    return [error["detail"] for error in body["errors"]]


def problems_of(body: dict[str, Any]) -> str:
    return "\n".join(problem_list(body))


# -- uploads: encodings, shapes, rows --------------------------------------------------------------------

HEADER = "name,storeUrl,city\n"
ROW_A = "Alpha Diner,https://alpha.example/menu,Auckland\n"
ROW_B = "Beta Bistro,https://beta.example/menu,Wellington\n"
JSON_ROW = {"name": "Alpha Diner", "storeUrl": "https://alpha.example/menu"}


def deeply_nested(depth: int) -> bytes:
    return b'{"restaurants": ' + b"[" * depth + b"]" * depth + b"}"


BAD_UPLOADS = [
    pytest.param(
        "png.csv",
        b"\x89PNG\r\n\x1a\n" + bytes(range(0x80, 0xA0)) * 2,
        ["not UTF-8", "byte 1", "cp1252"],
        id="bytes-no-windows-code-page-decodes",
    ),
    pytest.param(
        "utf16le.csv", (HEADER + ROW_A).encode("utf-16-le"), ["not UTF-8", "NUL"], id="utf-16-without-bom"
    ),
    pytest.param("garbage.csv", bytes(range(256)) * 4, ["not UTF-8"], id="binary-garbage"),
    pytest.param(
        "menu.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64), ["not UTF-8"], id="png-renamed-csv"
    ),
    pytest.param(
        "nul.csv", (HEADER + "Alpha\x00Diner,https://a.example,X\n").encode(), ["NUL"], id="nul-byte"
    ),
    pytest.param("empty.csv", b"", ["choose a CSV or JSON file"], id="empty-file"),
    pytest.param(
        "old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64), [".xls", "save it as .xlsx"], id="old-xls"
    ),
    pytest.param("broken.xlsx", b"PK\x03\x04" + bytes(64), ["not a readable .xlsx"], id="truncated-xlsx"),
    pytest.param("blank.csv", b" \n\r\n\t\n", ["choose a CSV or JSON file"], id="whitespace-only"),
    pytest.param("header.csv", HEADER.encode(), ["no restaurant rows"], id="header-only"),
    pytest.param(
        "surrogate.json",
        b'{"name": "Week \\ud800", "restaurants": [{"name": "A", "storeUrl": "https://a.example"}]}',
        ["name: the batch name contains a lone surrogate"],
        id="lone-surrogate-in-an-uploaded-batch-name",
    ),
    # 30 000 columns took 24 s of a quadratic duplicate check, with every other request frozen.
    pytest.param(
        "wide.csv",
        ("name," + ",".join(f"c{i}" for i in range(30_000)) + "\nA\n").encode(),
        ["the header row has 30001 columns; at most 200 are allowed"],
        id="30000-columns",
    ),
    pytest.param(
        "noname.csv",
        b"storeUrl,city\nhttps://a.example,Auckland\n",
        ["'name' column"],
        id="missing-name-column",
    ),
    pytest.param(
        "nourl.csv",
        b"name,city\nAlpha Diner,Auckland\n",
        ["row 2 (Alpha Diner): row:", "storeUrl"],
        id="missing-storeUrl-column",
    ),
    pytest.param(
        "typo.csv",
        b"name,storeUrl,acount.email\nA,https://a.example,a@b.co\n",
        ["unknown column(s) acount.email"],
        id="unknown-column",
    ),
    pytest.param(
        "twice.csv",
        b"name,storeUrl,name\nA,https://a.example,B\n",
        ["column(s) name appear more than once"],
        id="duplicate-column",
    ),
    pytest.param(
        "cells.csv",
        (HEADER + ROW_A + "Beta,https://b.example,Wellington,extra\n").encode(),
        ["row 3: more cells than header columns"],
        id="more-cells-than-columns",
    ),
    pytest.param(
        "dupes.csv",
        (HEADER + ROW_A + ROW_B + ROW_A).encode(),
        ["row 4 (Alpha Diner): a duplicate of row 2"],
        id="duplicate-rows",
    ),
    pytest.param(
        "url.csv",
        (HEADER + ROW_A + "Beta,not a url,Wellington\n").encode(),
        ["row 3 (Beta): storeUrl:"],
        id="invalid-url-cell",
    ),
    pytest.param(
        "email.csv",
        b"name,storeUrl,email\nA,https://a.example,owner-at-a.example\n",
        ["row 2 (A): email:"],
        id="invalid-email-cell",
    ),
    pytest.param(
        "quote.csv",
        (HEADER + '"Alpha Diner,https://alpha.example,Auckland\n').encode(),
        ["row 2"],
        id="unbalanced-quote-swallows-the-row",
    ),
    pytest.param(
        "huge-cell.csv",
        (HEADER + ROW_A + "B," + "x" * 200_000 + ",C\n").encode(),
        ["row 3: a cell is longer than 131072 characters"],
        id="cell-over-csv-field-limit",
    ),
    pytest.param(
        "menus.csv",
        b"name,menu,account.email\nA,menus/a.json,a@b.co\n",
        ["row 2: menu: menu files cannot be read here"],
        id="menu-file-column-in-an-upload",
    ),
    pytest.param("bad.json", b'{"restaurants": [', ["not valid JSON", "line 1 column"], id="json-syntax"),
    pytest.param("deep.json", deeply_nested(100_000), ["nested too deeply"], id="json-nested-100k-deep"),
    pytest.param("scalar.json", b'"just a string"', ["expected a JSON object"], id="json-scalar"),
    pytest.param(
        "obj.json",
        b'{"restaurants": {"a": 1}}',
        ["'restaurants' must be a non-empty list"],
        id="json-no-list",
    ),
    pytest.param(
        "extra.json",
        json.dumps([{**JSON_ROW, "colour": "red"}]).encode(),
        ["restaurant 1 (Alpha Diner): colour: Extra inputs are not permitted"],
        id="json-unknown-field",
    ),
    pytest.param(
        "nul.json",
        json.dumps([{**JSON_ROW, "city": "Auck\x00land"}]).encode(),
        ["restaurant 1: city: contains a NUL character"],
        id="json-nul-escape",
    ),
    pytest.param(
        "dupes.json",
        json.dumps([JSON_ROW, JSON_ROW]).encode(),
        ["restaurant 2 (Alpha Diner): a duplicate of restaurant 1"],
        id="json-duplicate-rows",
    ),
    pytest.param(
        "long.json",
        json.dumps({"name": "x" * 201, "restaurants": [JSON_ROW]}).encode(),
        ["name: the batch name has more than 200 characters"],
        id="json-batch-name-too-long",
    ),
    pytest.param(
        "listname.json",
        json.dumps({"name": ["x"], "restaurants": [JSON_ROW]}).encode(),
        ["name: the batch name must be a string"],
        id="json-batch-name-not-a-string",
    ),
]


@pytest.mark.reliability
@pytest.mark.parametrize(("filename", "content", "expected"), BAD_UPLOADS)
async def test_a_bad_upload_is_refused_with_a_clear_reason_and_creates_nothing(
    api: Api, filename: str, content: bytes, expected: list[str]
) -> None:
    body = await api.refused(lambda: api.upload(filename, content))
    assert body["detail"] == "the batch has problems; nothing was created"
    for fragment in expected:
        assert fragment in problems_of(body), problem_list(body)


GOOD_UPLOADS = [
    # A byte-order mark (Excel's "CSV UTF-8") is not part of the first column's name.
    pytest.param("bom.csv", ("\ufeff" + HEADER + ROW_A).encode(), ["Alpha Diner"], id="utf-8-bom"),
    pytest.param(
        "crlf.csv",
        (HEADER + ROW_A + ROW_B).replace("\n", "\r\n").encode(),
        ["Alpha Diner", "Beta Bistro"],
        id="crlf",
    ),
    # Old Mac line ends used to reach the csv module as one long line (and answer 500).
    pytest.param(
        "cr.csv",
        (HEADER + ROW_A + ROW_B).replace("\n", "\r").encode(),
        ["Alpha Diner", "Beta Bistro"],
        id="bare-cr",
    ),
    pytest.param(
        "spaced.csv",
        b" name , storeUrl \n Alpha Diner , https://alpha.example \n",
        ["Alpha Diner"],
        id="spaces-around-cells",
    ),
    pytest.param(
        "quoted.csv",
        b'name,storeUrl\n"Alpha\nDiner, the",https://alpha.example\n',
        ["Alpha\nDiner, the"],
        id="quoted-newline-and-comma",
    ),
    pytest.param(
        "utf8.csv",
        "name,storeUrl\nCafé Crème 🍰,https://cafe.example\n".encode(),
        ["Café Crème 🍰"],
        id="utf-8-non-ascii",
    ),
    # What Excel saves: "CSV" on Windows is cp1252 (here with a semicolon list separator); "Unicode Text" is
    # UTF-16 with a byte-order mark and tabs. Both used to be refused as "not UTF-8".
    pytest.param(
        "latin1.csv",
        (HEADER + "Café Crème,https://cafe.example,Auckland\n").encode("cp1252"),
        ["Café Crème"],
        id="cp1252",
    ),
    pytest.param("utf16.csv", (HEADER + ROW_A).encode("utf-16"), ["Alpha Diner"], id="utf-16-with-bom"),
    pytest.param(
        "utf16be.txt",
        "\ufeff".encode("utf-16-be") + (HEADER + ROW_A).replace(",", "\t").encode("utf-16-be"),
        ["Alpha Diner"],
        id="utf-16-be-tabs",
    ),
    # The bundled examples of what staff have, through the upload API as through `yolobatch run`.
    pytest.param(
        "excel-export.csv",
        (EXAMPLES / "excel-export.csv").read_bytes().replace(b"{sandbox}", b"https://sandbox.example"),
        ["Jax Burger Shack", "Pizza Palace CBD (Café, lunch €12)", "Taco Loco"],
        id="excel-csv-semicolons-cp1252",
    ),
    pytest.param(
        "Restaurants.xlsx",
        workbook(
            {
                "Restaurants": [
                    ["Restaurant Name", "Store URL", "Phone Number", "NZBN"],
                    ["Café Kāpiti", "https://kapiti.example", 42981234, 9429041000038],
                ]
            }
        ),
        ["Café Kāpiti"],
        id="xlsx",
    ),
    # Too long for a batch name, but only a default for one: shortened rather than refused (was a 500).
    pytest.param(
        "x" * 300 + ".csv", (HEADER + ROW_A).encode(), ["Alpha Diner"], id="300-character-file-name"
    ),
]


@pytest.mark.reliability
@pytest.mark.parametrize(("filename", "content", "names"), GOOD_UPLOADS)
async def test_awkward_but_valid_uploads_are_accepted_as_written(
    api: Api, filename: str, content: bytes, names: list[str]
) -> None:
    created = await api.upload(filename, content)
    assert created.status_code == 201, created.text
    batch = (await api.http.get(f"/api/batches/{created.json()['batch_id']}")).json()
    assert [job["restaurant_name"] for job in batch["jobs"]] == names
    assert 1 <= len(batch["name"]) <= 200


def multipart(filename: str, size: int, boundary: str = "yolobatch-test-boundary") -> Iterator[bytes]:
    """A multipart upload of a `size`-byte CSV, produced in pieces (sent without a Content-Length)."""
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: text/csv\r\n\r\n" + HEADER
    ).encode()
    left = size - len(HEADER)
    while left > 0:
        piece = min(left, 1_000_000)
        yield b"x" * piece
        left -= piece
    yield f"\r\n--{boundary}--\r\n".encode()


async def chunked_upload(api: Api, size: int) -> httpx.Response:
    async def body() -> AsyncIterator[bytes]:
        for piece in multipart("big.csv", size):
            yield piece

    headers = {"Content-Type": "multipart/form-data; boundary=yolobatch-test-boundary"}
    return await api.http.post("/api/batches/upload", content=body(), headers=headers)


@pytest.mark.reliability
@pytest.mark.parametrize(
    ("send", "message"),
    [
        pytest.param(
            lambda api: api.upload("big.csv", HEADER + "x" * (MAX_UPLOAD_BYTES + 1 - len(HEADER))),
            "the file is larger than 10 MB",
            id="one-byte-over-10MB",
        ),
        pytest.param(
            lambda api: chunked_upload(api, MAX_UPLOAD_BYTES + 500_000),
            "the file is larger than 10 MB",
            id="over-10MB-without-content-length",
        ),
        pytest.param(
            lambda api: chunked_upload(api, 3 * MAX_BODY_BYTES),
            f"request body over {MAX_BODY_BYTES} bytes",
            id="over-body-limit-without-content-length",
        ),
        pytest.param(
            lambda api: api.upload("big.csv", "x" * (MAX_BODY_BYTES + 1)),
            f"request body over {MAX_BODY_BYTES} bytes",
            id="request-over-body-limit",
        ),
        pytest.param(
            lambda api: api.http.post(
                "/api/batches",
                content=b'{"restaurants": [' + b" " * MAX_BODY_BYTES + b"]}",
                headers={"Content-Type": "application/json"},
            ),
            f"request body over {MAX_BODY_BYTES} bytes",
            id="json-body-over-limit",
        ),
    ],
)
async def test_an_oversized_upload_is_a_413_with_a_clear_message(api: Api, send, message: str) -> None:
    body = await api.refused(lambda: send(api), status=413)
    assert body["detail"] == message


@pytest.mark.reliability
async def test_ten_thousand_rows_are_accepted_and_one_more_is_refused(api: Api) -> None:
    rows = "".join(f"Restaurant {i},https://r{i}.example/menu,Auckland\n" for i in range(MAX_RESTAURANTS + 1))
    over = HEADER + rows
    body = await api.refused(lambda: api.upload("10001.csv", over))
    assert problem_list(body) == [
        f"at most {MAX_RESTAURANTS} restaurants per batch, got {MAX_RESTAURANTS + 1}"
    ]

    exactly = over.rsplit("Restaurant 10000,", 1)[0]
    before = api.counts()["jobs"]
    created = await api.upload("10000.csv", exactly)
    assert created.status_code == 201, created.text
    assert created.json()["restaurants"] == MAX_RESTAURANTS
    assert api.counts()["jobs"] == before + MAX_RESTAURANTS
    page = (await api.http.get(f"/api/batches/{created.json()['batch_id']}", params={"limit": 1})).json()
    assert page["total"] == MAX_RESTAURANTS
    await api.still_serving()


@pytest.mark.reliability
async def test_a_big_upload_is_parsed_off_the_event_loop(api: Api) -> None:
    """Parsing 10 000 rows takes a while; meanwhile the event loop, which serves every other request of
    every organisation, must keep turning."""
    # Ready configs (the heaviest rows to validate), all valid but the last: a duplicate of the first.
    header = "name,account.email,account.password,restaurant.openingHours,website.cuisines\n"
    rows = [
        f"Restaurant {i},owner{i}@r{i}.example,Str0ng-enough-{i},Monday 11:00-21:30; Friday 10:00-23:00,"
        "Burgers;Fries\n"
        for i in range(MAX_RESTAURANTS - 1)
    ]
    lags: list[float] = []
    loop = asyncio.get_running_loop()

    async def probe() -> None:
        while True:
            before = loop.time()
            await asyncio.sleep(0.01)
            lags.append(loop.time() - before - 0.01)

    ticking = asyncio.create_task(probe())
    started = loop.time()
    try:
        refused = await api.upload("slow.csv", header + "".join(rows) + rows[0])
    finally:
        ticking.cancel()
    took = loop.time() - started
    assert refused.status_code == 422 and "a duplicate of row 2" in problems_of(refused.json())
    assert took > 0.5, f"the parse took {took:.2f} s: too quick to show anything"
    # Parsing on the loop stalls it for the whole parse (one lag ≈ the whole time); off the loop it only
    # competes for the GIL, which on a busy machine can still stall a tick for a good part of a second.
    assert max(lags) < took / 2, (max(lags), took)
    assert len(lags) >= 10, f"the loop turned only {len(lags)} times in {took:.2f} s"


@pytest.mark.reliability
async def test_one_organisations_big_upload_does_not_hold_up_anothers_reads(api: Api) -> None:
    """Every request checks its token; that check used to write (last use) under the store's write lock,
    so it queued behind a 10 000-row upload of another organisation."""
    api.store.ensure_org("org-reader")
    reader = {"Authorization": f"Bearer {api.store.create_token('org-reader', 'reader')}"}
    rows = "".join(f"Restaurant {i},https://r{i}.example/menu,Auckland\n" for i in range(MAX_RESTAURANTS))
    database = api.store.engine.url.database

    def writing() -> bool:
        """Whether a write transaction is open in the database right now (from outside the store)."""
        probe = sqlite3.connect(database, timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError:
            return True
        finally:
            probe.close()

    upload = asyncio.create_task(api.upload("big.csv", HEADER + rows))
    for _ in range(3000):
        if await asyncio.to_thread(writing) or upload.done():
            break
        await asyncio.sleep(0.005)
    assert not upload.done(), "the upload finished before its write could be observed"
    read = await api.http.get("/api/batches", headers=reader)
    still_writing = await asyncio.to_thread(writing)
    assert read.status_code == 200, read.text
    assert still_writing and not upload.done(), "the read waited for the other organisation's write"
    assert (await upload).status_code == 201


@pytest.mark.reliability
async def test_text_no_database_can_hold_is_refused_in_every_json_body(api: Api) -> None:
    """A lone surrogate (or NUL) in any JSON body is a 422 naming where it is, before anything is stored."""
    ready = demo_batch(1)
    created = await api.http.post("/api/batches", json={"restaurants": ready["restaurants"], "force": True})
    batch_id = created.json()["batch_id"]
    (job_id,) = [j.job_id for j in api.store.job_summaries(batch_id)]
    sends = {
        f"/api/jobs/{job_id}/config": (b'{"changes": {"website.theme": "d\\ud800rk"}}', "patch"),
        f"/api/jobs/{job_id}/steps/servicesConfig/skip": (b'{"reason": "why \\udc00"}', "post"),
        f"/api/jobs/{job_id}/company": (b'{"action": "no_company", "reason": "\\u0000"}', "post"),
    }
    headers = {"Content-Type": "application/json"}
    for url, (content, method) in sends.items():
        body = await api.refused(
            lambda url=url, content=content, method=method: api.http.request(
                method, url, content=content, headers=headers
            )
        )
        assert "lone surrogate" in json.dumps(body) or "NUL" in json.dumps(body), (url, body)


# -- the JSON endpoint -----------------------------------------------------------------------------------


def nested_restaurant(depth: int) -> bytes:
    return (
        b'{"restaurants": [{"name": "A", "storeUrl": "https://a.example", "x": '
        + (b"[" * depth + b"]" * depth)
        + b"}]}"
    )


BAD_JSON_BODIES = [
    pytest.param(b"not json at all", ["JSON decode error"], id="not-json"),
    pytest.param(
        json.dumps({"restaurants": []}).encode(), ["restaurants", "at least 1"], id="no-restaurants"
    ),
    pytest.param(
        json.dumps({"restaurants": "all of them"}).encode(),
        ["restaurants", "valid list"],
        id="restaurants-not-a-list",
    ),
    pytest.param(
        json.dumps({"name": "x" * 201, "restaurants": [JSON_ROW]}).encode(),
        ["name", "at most 200"],
        id="name-too-long",
    ),
    pytest.param(
        json.dumps({"restaurants": [JSON_ROW], "options": {"registry": "opencorporates"}}).encode(),
        ["registry", "nzbn"],
        id="unknown-registry",
    ),
    pytest.param(
        json.dumps({"restaurants": [JSON_ROW, JSON_ROW]}).encode(),
        ["restaurant 2 (Alpha Diner): a duplicate of restaurant 1"],
        id="duplicate-restaurants",
    ),
    pytest.param(
        json.dumps({"restaurants": [{**JSON_ROW, "name": "Al\x00pha"}]}).encode(),
        ["restaurant 1: name: contains a NUL character"],
        id="nul-in-name",
    ),
    # A lone surrogate is valid JSON, and was a 500 when the batch (or restaurant) was stored. The problem
    # points at the field and never echoes the input (it could be a password in a config).
    pytest.param(
        b'{"name": "Week \\ud800", "restaurants": [{"name": "A", "storeUrl": "https://a.example"}]}',
        ["/body/name", "unable to parse raw data as a unicode string"],
        id="lone-surrogate-in-batch-name",
    ),
    pytest.param(
        b'{"restaurants": [{"name": "A\\udfff", "storeUrl": "https://a.example"}]}',
        ["restaurant 1: name: contains a lone surrogate"],
        id="lone-surrogate-in-restaurant-name",
    ),
    pytest.param(
        json.dumps(
            {"restaurants": [{"name": "A", "storeUrl": "https://a.example", "config": {}, "menu": {}}]}
        ).encode(),
        ["config.account: Field required"],
        id="empty-config",
    ),
    # Too deep for the request's JSON decoder: FastAPI's own 400 (an upload says "nested too deeply").
    pytest.param(nested_restaurant(100_000), ["error parsing the body"], id="nested-100k-deep"),
]


@pytest.mark.reliability
@pytest.mark.parametrize(("content", "expected"), BAD_JSON_BODIES)
async def test_a_bad_json_batch_is_refused_with_a_clear_reason(
    api: Api, content: bytes, expected: list[str]
) -> None:
    body = await api.refused(
        lambda: api.http.post("/api/batches", content=content, headers={"Content-Type": "application/json"}),
        status=400 if b"[[[[" in content else 422,
    )
    for fragment in expected:
        assert fragment in json.dumps(body), body


# -- spreadsheet formulas --------------------------------------------------------------------------------

FORMULAS = ["=cmd|' /C calc'!A0", "+1+1", "@SUM(1)", "-2+3", '=HYPERLINK("http://evil.example","x")']


@pytest.mark.security
async def test_formula_like_cells_stay_inert_text_everywhere_they_are_shown(api: Api) -> None:
    """Cells that a spreadsheet would run as formulas. yolobatch stores them verbatim (a restaurant may
    really be called "-2+3"; "escaping" it would rename the live store), answers them as JSON strings,
    renders them HTML-escaped, and quotes them only in the one spreadsheet it writes: the CSV export."""
    lines = ["name,storeUrl,city"]
    for i, cell in enumerate(FORMULAS):
        quoted = '"' + cell.replace('"', '""') + '"'
        lines.append(f"{quoted},https://f{i}.example/menu,{quoted}")
    created = await api.upload("formulas.csv", "\n".join(lines) + "\n")
    assert created.status_code == 201, created.text
    batch_id = created.json()["batch_id"]

    batch = (await api.http.get(f"/api/batches/{batch_id}")).json()
    assert [job["restaurant_name"] for job in batch["jobs"]] == FORMULAS
    job = (await api.http.get(f"/api/jobs/{batch['jobs'][0]['job_id']}")).json()
    assert FORMULAS[0] in json.dumps(job)  # stored and answered exactly as given
    page = await api.http.get(f"/batches/{batch_id}")
    assert page.status_code == 200
    for cell in FORMULAS:
        assert str(escape(cell)) in page.text  # as Jinja escapes it
    assert "calc'!A0" not in page.text  # the quote arrives escaped, never raw

    exported = await api.http.get(f"/api/batches/{batch_id}/export", params={"format": "csv"})
    assert exported.status_code == 200, exported.text
    cells = [cell for row in csv.reader(io.StringIO(exported.text)) for cell in row]
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))]
    for cell in FORMULAS:
        assert "'" + cell in cells  # shown as the text it is, never run
    as_json = (await api.http.get(f"/api/batches/{batch_id}/export", params={"format": "json"})).text
    assert all(json.dumps(cell)[1:-1] in as_json for cell in FORMULAS)  # JSON keeps them verbatim


# -- every field of the registration config --------------------------------------------------------------

READY = demo_batch(1)["restaurants"][0]
TITLE = f"restaurant 1 ({READY['name']})"

# (pointer, invalid value, where the problem must be reported). One row per field at least.
BAD_CONFIG_FIELDS = [
    ("account.registerNewUser", "sometimes", "config.account.registerNewUser"),
    ("account.email", "owner-at-example", "config.account.email"),
    ("account.password", "short", "config.account.password"),
    ("account.phone", 6421000000, "config.account.phone"),
    ("restaurant.registrationMode", "brand_new", "config.restaurant.registrationMode"),
    ("restaurant.name", "x" * 201, "config.restaurant.name"),
    ("restaurant.phone", 6498000000, "config.restaurant.phone"),
    ("restaurant.address", ["170 Main Street"], "config.restaurant.address"),
    ("restaurant.city", {"name": "Auckland"}, "config.restaurant.city"),
    ("restaurant.subdomain", "Jax_Burgers!", "config.restaurant.subdomain"),
    (
        "restaurant.openingHours",
        [{"day": "Funday", "open": "11:00", "close": "21:30"}],
        "config.restaurant.openingHours.0.day",
    ),
    (
        "restaurant.openingHours",
        [{"day": "Monday", "open": "25:00", "close": "21:30"}],
        "config.restaurant.openingHours.0.open",
    ),
    ("restaurant.openingHours", "Monday 11:00-21:30", "config.restaurant.openingHours"),
    ("menu.selectedMenuId", "menu-of-another-restaurant", "config.menu.selectedMenuId"),
    ("menu.uploadImages", "sometimes", "config.menu.uploadImages"),
    ("menu.addOptionSets", "sometimes", "config.menu.addOptionSets"),
    ("menu.addItemTags", "sometimes", "config.menu.addItemTags"),
    ("website.theme", "neon", "config.website.theme"),
    ("website.cuisines", "burgers", "config.website.cuisines"),
    ("website.primaryColor", "red", "config.website.primaryColor"),
    ("website.secondaryColor", "#12345", "config.website.secondaryColor"),
    ("website.disableGradients", "sometimes", "config.website.disableGradients"),
    ("website.configureHeader", "sometimes", "config.website.configureHeader"),
    ("website.headerImageSource", "instagram_post", "config.website.headerImageSource"),
    ("website.headerLogoDarkTint", "purple", "config.website.headerLogoDarkTint"),
    ("website.headerLogoLightTint", "purple", "config.website.headerLogoLightTint"),
    ("website.navLogoDarkTint", "purple", "config.website.navLogoDarkTint"),
    ("website.navLogoLightTint", "purple", "config.website.navLogoLightTint"),
    ("website.navTextColor", "purple", "config.website.navTextColor"),
    ("website.cardTextColor", "purple", "config.website.cardTextColor"),
    ("website.itemLayout", "grid", "config.website.itemLayout"),
    ("website.logoUrl", "file:///etc/passwd", "config.website.logoUrl"),
    ("website.faviconUrl", "http://169.254.169.254/favicon.ico", "config.website.faviconUrl"),
    ("website.headerImageUrl", "http://localhost/header.jpg", "config.website.headerImageUrl"),
    ("company.legalName", 42, "config.company.legalName"),
    ("company.companyNumber", "9" * 41, "config.company.companyNumber"),
    ("company.nzbn", "9" * 41, "config.company.nzbn"),
    ("company.gstNumber", 42, "config.company.gstNumber"),
    ("company.directorName", 42, "config.company.directorName"),
    ("company.contactPhone", 42, "config.company.contactPhone"),
    ("platformRestaurantId", "../restaurants", "config.platformRestaurantId"),
    ("platformMenuId", "menu 1", "config.platformMenuId"),
    ("payment.includeStripeLink", "sometimes", "config.payment.includeStripeLink"),
    ("onboarding.createOnboardingUser", "sometimes", "config.onboarding.createOnboardingUser"),
    ("onboarding.syncOnboardingRecord", "sometimes", "config.onboarding.syncOnboardingRecord"),
    ("onboarding.userName", 42, "config.onboarding.userName"),
    (
        "onboarding.userName",
        None,
        "config.onboarding: Value error, onboarding.userName and onboarding.userEmail",
    ),
    ("onboarding.userEmail", "nope", "config.onboarding.userEmail"),
    ("onboarding.userPassword", 12345678, "config.onboarding.userPassword"),
    ("stepsEnabled", {"teleport": False}, "config.stepsEnabled.teleport"),
    ("stepsEnabled", {"menuImport": "sometimes"}, "config.stepsEnabled.menuImport"),
    ("stepsEnabled", ["menuImport"], "config.stepsEnabled"),
    ("account.pasword", "Typo12345!", "config.account.pasword: Extra inputs are not permitted"),
    ("account", None, "config.account"),
]


def with_value(pointer: str, value: Any) -> dict[str, Any]:
    row = copy.deepcopy(READY)
    section, _, field = pointer.partition(".")
    if field:
        row["config"].setdefault(section, {})[field] = value
    elif value is None:
        del row["config"][section]
    else:
        row["config"][section] = value
    return row


@pytest.mark.reliability
def test_the_config_table_covers_every_field() -> None:
    """A field added to the config later must get a row in the table above."""
    fields = set()
    for name, info in RegistrationConfig.model_fields.items():
        model = info.annotation
        if isinstance(model, type) and hasattr(model, "model_fields"):
            fields |= {f"{to_camel(name)}.{to_camel(sub)}" for sub in model.model_fields}
        else:
            fields.add(to_camel(name))
    assert fields <= {pointer for pointer, _, _ in BAD_CONFIG_FIELDS}


@pytest.mark.reliability
@pytest.mark.parametrize(
    ("pointer", "value", "where"),
    [pytest.param(p, v, w, id=f"{p}={json.dumps(v)[:24]}") for p, v, w in BAD_CONFIG_FIELDS],
)
async def test_an_invalid_config_field_is_named_and_nothing_is_created(
    api: Api, pointer: str, value: Any, where: str
) -> None:
    body = await api.refused(
        lambda: api.http.post("/api/batches", json={"restaurants": [with_value(pointer, value)]})
    )
    assert any(problem.startswith(f"{TITLE}: {where}") for problem in problem_list(body)), problem_list(body)
    # The secret itself is never echoed back in a problem.
    assert READY["config"]["account"]["password"] not in json.dumps(body)


@pytest.mark.reliability
@pytest.mark.parametrize(
    ("column", "cell", "where"),
    [
        ("website.primaryColor", "red", "row 2 (A): config.website.primaryColor"),
        ("restaurant.openingHours", "Monday all day", "row 2: restaurant.openingHours: 'Monday all day'"),
        ("restaurant.openingHours", "Funday 11:00-21:30", "row 2 (A): config.restaurant.openingHours.0.day"),
        ("stepsEnabled.teleport", "false", "row 2 (A): config.stepsEnabled.teleport"),
        ("account.email", "=1+1", "row 2 (A): config.account.email"),
    ],
)
async def test_an_invalid_config_cell_in_a_csv_names_its_row_and_column(
    api: Api, column: str, cell: str, where: str
) -> None:
    csv = f"name,account.email,account.password,{column}\nA,owner@a.example,Str0ng-enough!,{cell}\n"
    if column == "account.email":
        csv = f"name,account.password,{column}\nA,Str0ng-enough!,{cell}\n"
    body = await api.refused(lambda: api.upload("config.csv", csv))
    assert any(problem.startswith(where) for problem in problem_list(body)), problem_list(body)


# -- URLs: SSRF -------------------------------------------------------------------------------------------


class LocalServer(ThreadingHTTPServer):
    """A small real HTTP server in a thread; `answer(handler)` writes each response by hand."""

    daemon_threads = True

    def __init__(self, answer: Callable[[BaseHTTPRequestHandler], None], family=socket.AF_INET) -> None:
        self.address_family = family
        super().__init__(("::1" if family == socket.AF_INET6 else "127.0.0.1", 0), _Handler)
        self.answer = answer
        self.requests: list[str] = []
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def url(self) -> str:
        host = "[::1]" if self.address_family == socket.AF_INET6 else "127.0.0.1"
        return f"http://{host}:{self.port}"

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        server: LocalServer = self.server  # type: ignore[assignment]
        server.requests.append(f"{self.command} {self.path}")
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client hung up: fine
            server.answer(self)

    do_POST = do_GET

    def log_message(self, *args: Any) -> None:
        pass


def send(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: bytes,
    content_type: str = "application/json",
    *,
    length: int | None = None,
    headers: dict[str, str] | None = None,
) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body) if length is None else length))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


@pytest.fixture(scope="module")
def honeypot() -> Iterator[LocalServer]:
    """Stands for everything private: the metadata service, the database, the Temporal frontend. Nothing
    may ever reach it."""
    server = LocalServer(lambda h: send(h, 200, b"<html>instance secrets</html>", "text/html"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def honeypot6() -> Iterator[LocalServer | None]:
    try:
        server = LocalServer(lambda h: send(h, 200, b"<html>secrets</html>", "text/html"), socket.AF_INET6)
    except OSError:  # no IPv6 loopback on this machine: those rows are skipped
        yield None
        return
    yield server
    server.stop()


@pytest.fixture(scope="module")
def redirector() -> Iterator[LocalServer]:
    """An allowed (public-looking) site that redirects wherever `?to=` says, with the status in the path."""

    def answer(handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        target = parse_qs(parts.query)["to"][0]
        handler.send_response(int(parts.path.rsplit("/", 1)[1]))
        handler.send_header("Location", target)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    server = LocalServer(answer)
    yield server
    server.stop()


FAKE_DNS = {
    "internal.attacker.test": ["127.0.0.1"],
    "metadata.attacker.test": ["169.254.169.254"],
    "intranet.attacker.test": ["10.20.30.40"],
    "mixed.attacker.test": ["93.184.216.34", "127.0.0.1"],  # one public record is not enough
}


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Names that resolve to private addresses (the standard library's resolver answers for them)."""
    real = socket.getaddrinfo

    def resolve(host, port, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if name not in FAKE_DNS:
            return real(host, port, *args, **kwargs)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port or 80)) for ip in FAKE_DNS[name]]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)


# Private targets, by every spelling we know. `{hp}` is the honeypot's port, `{hp6}` its IPv6 twin's.
SSRF_URLS = [
    ("loopback", "http://127.0.0.1:{hp}/stores/x"),
    ("loopback-shorthand", "http://127.1:{hp}/"),
    ("loopback-decimal", "http://2130706433:{hp}/"),
    ("loopback-hex", "http://0x7f000001:{hp}/"),
    ("loopback-upper-case-scheme", "HTTP://127.0.0.1:{hp}/"),
    ("unspecified-0.0.0.0", "http://0.0.0.0:{hp}/"),
    ("localhost", "http://localhost:{hp}/"),
    ("userinfo-trick", "http://trusted.example@127.0.0.1:{hp}/"),
    ("fragment-trick", "http://127.0.0.1:{hp}#@trusted.example/"),
    ("ipv4-mapped-ipv6", "http://[::ffff:127.0.0.1]:{hp}/"),
    ("ipv6-loopback", "http://[::1]:{hp6}/"),
    ("cloud-metadata", "http://169.254.169.254/latest/meta-data/iam/security-credentials/"),
    ("private-10", "http://10.0.0.1/"),
    ("private-172", "http://172.16.0.1/"),
    ("private-192", "http://192.168.1.1/"),
    ("dns-to-loopback", "http://internal.attacker.test:{hp}/"),
    ("dns-to-metadata", "http://metadata.attacker.test/latest/meta-data/"),
    ("dns-to-private-10", "http://intranet.attacker.test/"),
    ("dns-public-and-private", "http://mixed.attacker.test:{hp}/"),
]


def fill(url: str, honeypot: LocalServer, honeypot6: LocalServer | None) -> str:
    # Without an IPv6 loopback there is no honeypot to count connections on, but the refusal is still
    # checked: the guard answers before any connection is tried (port 1: nothing would listen there).
    return url.format(hp=honeypot.port, hp6=honeypot6.port if honeypot6 else 1)


@pytest.mark.security
@pytest.mark.parametrize("url", [pytest.param(u, id=i) for i, u in SSRF_URLS])
async def test_step_1_never_fetches_a_private_address(
    url: str, honeypot: LocalServer, honeypot6: LocalServer | None, fake_dns: None
) -> None:
    """Step 1's fetch, with the production guard: refused before any connection is made."""
    target = fill(url, honeypot, honeypot6)
    before = (len(honeypot.requests), len(honeypot6.requests) if honeypot6 else 0)
    async with httpx.AsyncClient() as http:
        with pytest.raises(ExtractionError) as caught:
            await extract_store(target, http=http, guard=UrlGuard(), timeout=5)
    assert (caught.value.code, caught.value.retryable) == ("ssrf_refused", False), caught.value
    assert "non-public address" in caught.value.message
    assert (len(honeypot.requests), len(honeypot6.requests) if honeypot6 else 0) == before


REDIRECT_TARGETS = [
    *[(name, url) for name, url in SSRF_URLS if "{hp" in url or "169.254" in url or "metadata" in url],
    ("scheme-relative", "//127.0.0.1:{hp}/"),
    ("file-scheme", "file:///etc/passwd"),
    ("gopher-scheme", "gopher://127.0.0.1:{hp}/_SET%20x%201"),
]


@pytest.mark.security
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("url", [pytest.param(u, id=i) for i, u in REDIRECT_TARGETS])
async def test_a_redirect_into_private_space_is_refused(
    url: str, status: int, redirector: LocalServer, honeypot: LocalServer, honeypot6, fake_dns: None
) -> None:
    target = fill(url, honeypot, honeypot6)
    # The redirector is allowed as tests allow the sandbox; what it redirects to must pass the guard again.
    guard = UrlGuard(allowed_hosts=frozenset({f"127.0.0.1:{redirector.port}"}))
    seen = len(redirector.requests)
    before = (len(honeypot.requests), len(honeypot6.requests) if honeypot6 else 0)
    async with httpx.AsyncClient() as http:
        with pytest.raises(ExtractionError) as caught:
            await extract_store(
                f"{redirector.url}/r/{status}?to={quote(target, safe='')}", http=http, guard=guard
            )
    assert caught.value.code == "ssrf_refused", caught.value
    assert (
        len(redirector.requests) == seen + 1
    )  # the first hop was fetched: the redirect was what was refused
    assert (len(honeypot.requests), len(honeypot6.requests) if honeypot6 else 0) == before


@pytest.mark.security
@pytest.mark.parametrize(
    "url",
    [
        pytest.param("file:///etc/passwd", id="file"),
        pytest.param("gopher://127.0.0.1:6379/_INFO", id="gopher"),
        pytest.param("ftp://example.com/menu.pdf", id="ftp"),
        pytest.param("javascript:alert(1)", id="javascript"),
        pytest.param("data:text/html,<h1>menu</h1>", id="data"),
        pytest.param("//trusted.example/menu", id="scheme-relative"),
        pytest.param("http://", id="no-host"),
    ],
)
async def test_a_store_url_that_is_not_http_is_refused_at_upload(api: Api, url: str) -> None:
    body = await api.refused(lambda: api.upload("urls.csv", f'name,storeUrl\nA,"{url}"\n'))
    assert problem_list(body)[0].startswith("row 2 (A): storeUrl:"), problem_list(body)


@pytest.mark.security
async def test_private_store_urls_fail_step_1_in_a_running_batch_and_reach_nothing(
    api: Api, dev_server, world, honeypot: LocalServer, tmp_path: Path
) -> None:
    """Private addresses are valid URLs, so the upload takes them; the engine's fetch refuses them, the
    restaurant waits for a person with the reason, and nothing private was ever contacted."""
    settings = settings_for(api.store, world, tmp_path, **sandbox_settings(world.url))
    csv = (
        "name,storeUrl\n"
        f"Metadata Diner,http://169.254.169.254/latest/meta-data/\n"
        f"Loopback Bistro,http://127.0.0.1:{honeypot.port}/stores/x\n"
        f"Localhost Cafe,http://localhost:{honeypot.port}/\n"
    )
    before = len(honeypot.requests)
    client = await Client.connect(dev_server.address)
    async with worker(client, api.store, settings):
        created = await api.upload("private.csv", csv, start="true", yolo="true")
        assert created.status_code == 201, created.text
        progress = await wait_until(
            api.store,
            created.json()["batch_id"],
            lambda p: all(j["status"] == "action_required" for j in p["jobs"]),
            timeout=90,
        )
    for job in progress["jobs"]:
        extraction = job["steps"]["1"]
        assert extraction["status"] == "failed", job
        assert "Refusing" in extraction["error"] and "non-public address" in extraction["error"], extraction
    assert len(honeypot.requests) == before


# -- registry and platform answers: malformed, cut short, enormous ----------------------------------------

ENORMOUS = 50_000_000
PIECE = b'{"nzbn": "9429041000016", "entityName": "TACO LOCO LIMITED"},' * 1000  # ~60 KB


def stream(
    handler: BaseHTTPRequestHandler, status: int, *, declared: int | None = None, encoding: str | None = None
) -> None:
    """`ENORMOUS` bytes of JSON-looking text, produced piece by piece (the server holds ~60 KB at a time),
    until the client hangs up."""
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    if declared is not None:
        handler.send_header("Content-Length", str(declared))
    if encoding:
        handler.send_header("Content-Encoding", encoding)
    handler.end_headers()  # HTTP/1.0 without a length: the body ends when the connection closes
    if encoding == "gzip":
        # A compression bomb: 50 MB of zeros in ~50 KB on the wire.
        packer = zlib.compressobj(9, zlib.DEFLATED, 31)
        zeros = bytes(1_000_000)
        for _ in range(ENORMOUS // len(zeros)):
            handler.wfile.write(packer.compress(zeros))
        handler.wfile.write(packer.flush())
        return
    handler.wfile.write(b'{"items": [')
    for _ in range(ENORMOUS // len(PIECE)):
        handler.wfile.write(PIECE)


def cut_off(handler: BaseHTTPRequestHandler) -> None:
    # Promises 5 000 bytes, sends 40, and closes: a proxy that died mid-answer.
    send(handler, 200, b'{"items": [{"nzbn": "9429041000016", "ent', length=5_000)
    handler.close_connection = True


UPSTREAM: dict[str, Callable[[BaseHTTPRequestHandler], None]] = {
    "html-200": lambda h: send(h, 200, b"<html><body>502 Bad Gateway</body></html>", "text/html"),
    "empty-200": lambda h: send(h, 200, b""),
    "truncated-json": lambda h: send(h, 200, b'{"items": [{"nzbn": "94290410'),
    "nested-100k-deep": lambda h: send(h, 200, b"[" * 100_000 + b"]" * 100_000),
    "json-array": lambda h: send(h, 200, b"[1, 2, 3]"),
    "json-string": lambda h: send(h, 200, b'"OK"'),
    "cut-off-mid-body": cut_off,
    "enormous-streamed": lambda h: stream(h, 200),
    "enormous-declared": lambda h: stream(h, 200, declared=ENORMOUS),
    "gzip-bomb": lambda h: stream(h, 200, encoding="gzip"),
    "enormous-503": lambda h: stream(h, 503),
    "json-as-text-plain": lambda h: send(
        h,
        200,
        b'{"success": true, "items": [{"nzbn": "9429041000016", "entityName": "TACO LOCO LIMITED"}]}',
        "text/plain",
    ),
}


@pytest.fixture(scope="module")
def upstream() -> Iterator[LocalServer]:
    """A registry / platform that misbehaves as its first path segment says."""
    server = LocalServer(lambda h: UPSTREAM[h.path.split("/")[1]](h))
    yield server
    server.stop()


# (scenario, retryable, what the message must say). The same answers for both clients, where they apply.
BAD_ANSWERS = [
    ("html-200", True, "not JSON", "unreadable body"),
    ("empty-200", True, "not JSON", "unreadable body"),
    ("truncated-json", True, "not JSON", "unreadable body"),
    ("nested-100k-deep", True, "not JSON", "unreadable body"),
    ("json-array", True, "unexpected body", "expected a JSON object"),
    ("json-string", True, "unexpected body", "expected a JSON object"),
    ("cut-off-mid-body", True, "RemoteProtocolError", "RemoteProtocolError"),
    # Over the cap: the body is never read to its end. A 2xx will not change on retry; a 503 may.
    ("enormous-streamed", False, f"over {MAX_RESPONSE_BYTES} bytes", f"over {MAX_RESPONSE_BYTES} bytes"),
    ("enormous-declared", False, f"declares a {ENORMOUS}-byte body", f"declares a {ENORMOUS}-byte body"),
    ("gzip-bomb", False, f"over {MAX_RESPONSE_BYTES} bytes", f"over {MAX_RESPONSE_BYTES} bytes"),
    ("enormous-503", True, f"HTTP 503 with a body over {MAX_RESPONSE_BYTES}", "HTTP 503 with a body over"),
]
MEMORY_LIMIT = 30_000_000  # bytes allocated at the peak of one call; an uncapped read takes 100 MB here


@contextlib.contextmanager
def peak_memory() -> Iterator[list[int]]:
    peak: list[int] = []
    tracemalloc.start()
    try:
        yield peak
    finally:
        peak.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()


async def failure_of(call) -> tuple[ExternalCallError, int]:
    with peak_memory() as peak, pytest.raises(ExternalCallError) as caught:
        await call
    return caught.value, peak[0]


@pytest.mark.reliability
@pytest.mark.parametrize(
    ("scenario", "retryable", "message"), [pytest.param(s, r, m, id=s) for s, r, m, _ in BAD_ANSWERS]
)
async def test_a_broken_registry_answer_is_a_clear_registry_error(
    upstream: LocalServer, scenario: str, retryable: bool, message: str
) -> None:
    async with httpx.AsyncClient() as http:
        nzbn = NzbnRegistry(http, f"{upstream.url}/{scenario}", REGISTRY_KEY, timeout=30)
        error, peak = await failure_of(nzbn.search(SearchTerms(name="Taco Loco")))
    assert isinstance(error, RegistryError)
    assert error.retryable is retryable, error.message
    assert message in error.message, error.message
    assert error.message.startswith("NZBN GET /entities")
    assert REGISTRY_KEY not in error.message
    assert peak < MEMORY_LIMIT, f"{peak} bytes allocated"


PLATFORM_SECRETS = batch_of(1).restaurants[0]


@pytest.mark.reliability
@pytest.mark.parametrize(
    ("scenario", "retryable", "message"), [pytest.param(s, r, m, id=s) for s, r, _, m in BAD_ANSWERS]
)
async def test_a_broken_platform_answer_is_a_clear_call_failure(
    upstream: LocalServer, scenario: str, retryable: bool, message: str
) -> None:
    ready = PLATFORM_SECRETS
    request = build_request(SubStep.CLOUDWAITRESS_ACCOUNT, "job-1", ready.config, ready.menu, {})
    async with httpx.AsyncClient() as http:
        client = RegistrationClient(
            http, f"{upstream.url}/{scenario}", "svc-key-123", ORG, secrets=ready.config.secrets()
        )
        call = client.call(SubStep.CLOUDWAITRESS_ACCOUNT, request, "job-1/cloudwaitressAccount/0", 30)
        error, peak = await failure_of(call)
    assert error.retryable is retryable, error.message
    assert message in error.message, error.message
    assert "svc-key-123" not in error.message
    assert peak < MEMORY_LIMIT, f"{peak} bytes allocated"


@pytest.mark.reliability
async def test_valid_json_with_a_wrong_content_type_is_still_read(upstream: LocalServer) -> None:
    """The body decides, not the label: a gateway that says text/plain about real JSON is not an error."""
    ready = PLATFORM_SECRETS
    async with httpx.AsyncClient() as http:
        nzbn = NzbnRegistry(http, f"{upstream.url}/json-as-text-plain", REGISTRY_KEY)
        found = await nzbn.search(SearchTerms(name="Taco Loco"))
        platform = RegistrationClient(http, f"{upstream.url}/json-as-text-plain", "k", ORG)
        request = build_request(SubStep.CLOUDWAITRESS_ACCOUNT, "job-1", ready.config, ready.menu, {})
        result = await platform.call(
            SubStep.CLOUDWAITRESS_ACCOUNT, request, "job-1/cloudwaitressAccount/0", 10
        )
    assert [c.number for c in found] == ["9429041000016"]
    assert result.body["success"] is True and result.warning is None


def add_fault(world, endpoint: str, fault: str) -> None:
    httpx.post(f"{world.url}/_sandbox/faults", json={"endpoint": endpoint, "fault": fault}).raise_for_status()


async def nzbn_details(http: httpx.AsyncClient, world) -> Any:
    nzbn = NzbnRegistry(http, f"{world.url}/nzbn/v5", REGISTRY_KEY)
    found = await nzbn.search(SearchTerms(name="Jax Burger Shack"))  # no fault on the search itself
    return await nzbn.details(found[0].number)


async def nzbn_search(http: httpx.AsyncClient, world) -> Any:
    return await NzbnRegistry(http, f"{world.url}/nzbn/v5", REGISTRY_KEY).search(
        SearchTerms(name="Taco Loco")
    )


async def ch_details(http: httpx.AsyncClient, world) -> Any:
    house = CompaniesHouseRegistry(http, f"{world.url}/companies-house", REGISTRY_KEY)
    found = await house.search(SearchTerms(name="Sakura Sushi Bar"))  # no fault on the search itself
    return await house.details(found[0].number)


@pytest.mark.reliability
@pytest.mark.parametrize(
    ("endpoint", "fault", "lookup", "message"),
    [
        pytest.param("nzbn-search", "garbage", nzbn_search, "not JSON", id="nzbn-search-garbage"),
        pytest.param(
            "nzbn-search", "success_false", nzbn_search, "unexpected body", id="nzbn-search-success-false"
        ),
        pytest.param("nzbn-entity", "garbage", nzbn_details, "not JSON", id="nzbn-entity-garbage"),
        pytest.param(
            "nzbn-entity", "success_false", nzbn_details, "unexpected body", id="nzbn-entity-success-false"
        ),
        pytest.param(
            "ch-company", "success_false", ch_details, "unexpected body", id="ch-company-success-false"
        ),
        pytest.param("ch-officers", "garbage", ch_details, "not JSON", id="ch-officers-garbage"),
    ],
)
async def test_a_sandbox_registry_fault_is_a_retryable_error_never_an_empty_answer(
    world, endpoint: str, fault: str, lookup, message: str
) -> None:
    add_fault(world, endpoint, fault)
    async with httpx.AsyncClient() as http:
        with pytest.raises(RegistryError) as caught:
            await lookup(http, world)
        assert (caught.value.status_code, caught.value.retryable) == (200, True)
        assert message in caught.value.message
        assert await lookup(http, world)  # the plan is used up: the retry gets a real answer


@pytest.mark.reliability
async def test_a_sandbox_platform_garbage_answer_is_retryable_and_the_retry_succeeds(world) -> None:
    ready = batch_of(1).restaurants[0]  # a fresh owner, so the account is new to the sandbox
    request = build_request(SubStep.CLOUDWAITRESS_ACCOUNT, "job-g", ready.config, ready.menu, {})
    key = f"job-g-{uuid.uuid4().hex[:6]}/cloudwaitressAccount/0"
    add_fault(world, "register-account", "garbage")
    async with httpx.AsyncClient() as http:
        client = RegistrationClient(
            http, world.url, "sandbox-service-key", ORG, secrets=ready.config.secrets()
        )
        with pytest.raises(ExternalCallError) as caught:
            await client.call(SubStep.CLOUDWAITRESS_ACCOUNT, request, key, 10)
        assert caught.value.retryable and "unreadable body" in caught.value.message
        result = await client.call(SubStep.CLOUDWAITRESS_ACCOUNT, request, key, 10)
    assert result.body.get("success") is True
