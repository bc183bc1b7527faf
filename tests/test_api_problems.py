"""API errors in one shape, RFC 9457 problem details, and an OpenAPI schema clients can rely on (issue 17,
item 10): every GET typed with an example, every error response the problem, the bearer scheme declared.

The errors are provoked over real HTTP against the real app and a real SQLite store; the app has no Temporal
client (None), which is also how the 500 is provoked: the engine-bound call fails inside the handler.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import SECRET_KEY
from tests.test_api import serving
from tests.web_helpers import open_session
from yolobatch.http.app import create_app
from yolobatch.http.context import AppContext
from yolobatch.http.problems import MEDIA_TYPE
from yolobatch.settings import Settings
from yolobatch.store.repository import Store

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance"}


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _declares_problem(spec: dict, content: dict | None) -> bool:
    """The problem, or a problem with extension members (e.g. a 409's `duplicates`), as problem+json."""
    if not content or list(content) != [MEDIA_TYPE]:
        return False
    named = _resolve(spec, content[MEDIA_TYPE]["schema"])
    problem = spec["components"]["schemas"]["Problem"]
    return set(problem["properties"]) <= set(named.get("properties", {})) and set(problem["required"]) <= set(
        named.get("required", [])
    )


def test_openapi_types_every_get_and_declares_every_error_as_a_problem() -> None:
    spec = create_app(None).openapi()  # type: ignore[arg-type]
    assert spec["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": spec["components"]["securitySchemes"]["bearer"]["description"],
    }
    untyped, unexampled, not_problems, unsecured, gets = [], [], [], [], 0
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            if path.startswith("/api/") and operation.get("security") != [{"bearer": []}]:
                unsecured.append(where)
            for code, response in operation["responses"].items():
                if int(code) >= 400 and not _declares_problem(spec, response.get("content")):
                    not_problems.append(f"{where} {code}")
            if method != "get":
                continue
            gets += 1
            content = operation["responses"]["200"].get("content", {})
            if not content:
                untyped.append(where)
            for media, body in content.items():
                schema = body.get("schema", {})
                if media.endswith("json"):
                    named = _resolve(spec, schema.get("items", schema))
                    if "properties" not in named:  # a bare dict is no response model
                        untyped.append(f"{where} {media}")
                    if "example" not in body and "example" not in named and "examples" not in named:
                        unexampled.append(f"{where} {media}")
                elif schema.get("type") != "string" or "example" not in body:
                    untyped.append(f"{where} {media}")
    assert gets >= 10
    assert untyped == [], f"GET without a response model: {untyped}"
    assert unexampled == [], f"GET without an example: {unexampled}"
    assert not_problems == [], f"error responses not declared as problems: {not_problems}"
    assert unsecured == [], f"API operations without the bearer scheme: {unsecured}"
    problem = spec["components"]["schemas"]["Problem"]
    assert PROBLEM_KEYS | {"errors"} <= set(problem["properties"])


@contextlib.asynccontextmanager
async def without_engine(store: Store, data_dir: Path, **settings: Any) -> AsyncIterator[str]:
    """The app on a real port over `store`, with no Temporal client: what needs the engine fails."""
    values = dict(
        data_dir=data_dir,
        database_url=store.engine.url.render_as_string(hide_password=False),
        secret_key=SECRET_KEY,
    )
    context = AppContext(settings=Settings(**values | settings), store=store, client=None)  # type: ignore[arg-type]
    async with serving(context) as base:
        yield base


@pytest.fixture
async def live(store, tmp_path):
    store.ensure_org("org-p")
    token = store.create_token("org-p", "problems")
    async with without_engine(store, tmp_path) as base:
        yield base, {"Authorization": f"Bearer {token}"}, store, token


def _is_problem(response: httpx.Response, status: int, path: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == MEDIA_TYPE, response.headers
    body = response.json()
    assert body["type"] == "about:blank" and body["status"] == status and body["instance"] == path, body
    assert body["title"] and isinstance(body["detail"], str) and body["detail"], body
    return body


async def test_every_api_error_is_a_problem_and_pages_keep_html(live) -> None:
    base, auth, store, token = live
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        _is_problem(await http.get("/api/batches"), 401, "/api/batches")
        _is_problem(await http.get("/api/no-such-route", headers=auth), 404, "/api/no-such-route")
        body = _is_problem(await http.get("/api/batches/nope", headers=auth), 404, "/api/batches/nope")
        assert "batch nope not found" in body["detail"]
        invalid = _is_problem(await http.get("/api/batches?limit=0", headers=auth), 422, "/api/batches")
        assert invalid["errors"][0]["pointer"] == "/query/limit", invalid
        # A validation problem points at the field and never echoes what was sent (it could be a secret).
        secret = {"restaurants": "hunter2-not-a-list"}
        echoed = _is_problem(await http.post("/api/batches", json=secret, headers=auth), 422, "/api/batches")
        assert echoed["errors"][0]["pointer"] == "/body/restaurants" and "hunter2" not in json.dumps(echoed)
        rows = {"restaurants": [{"name": "A", "storeUrl": "not a url"}, {"name": ""}]}
        refused = _is_problem(await http.post("/api/batches", json=rows, headers=auth), 422, "/api/batches")
        assert refused["detail"] == "the batch has problems; nothing was created"
        assert [e["detail"][:12] for e in refused["errors"]] == ["restaurant 1", "restaurant 2"], refused
        huge = await http.post("/api/batches", content=b"x" * 11_000_001, headers=auth)
        _is_problem(huge, 413, "/api/batches")
        # A cross-site request with a logged-in browser's cookie.
        cookie = {"Cookie": f"yb_session={open_session(store, token)}", "Origin": "https://evil.example"}
        _is_problem(await http.post("/api/batches", json=rows, headers=cookie), 403, "/api/batches")
        # Too many invalid tokens from one address: 429 with Retry-After.
        for _ in range(25):
            limited = await http.get("/api/batches", headers={"Authorization": "Bearer yb_wrongtoken"})
        _is_problem(limited, 429, "/api/batches")
        assert int(limited.headers["Retry-After"]) > 0
        # No engine behind this app: the call that needs it fails inside the handler, and the caller gets a
        # problem that tells nothing of the internals.
        draft = await http.post(
            "/api/batches",
            json={"restaurants": [{"name": "B", "storeUrl": "https://b.example"}]},
            headers=auth,
        )
        assert draft.status_code == 201, draft.text
        batch_id = draft.json()["batch_id"]
        crashed = _is_problem(
            await http.post(f"/api/batches/{batch_id}/start", headers=auth),
            500,
            f"/api/batches/{batch_id}/start",
        )
        assert "Traceback" not in json.dumps(crashed) and "NoneType" not in json.dumps(crashed)
        # Dashboard pages keep HTML errors.
        page = await http.get("/no-such-page", headers={"Accept": "text/html"})
        assert page.status_code == 404 and page.headers["content-type"].startswith("text/html"), page.text
        assert "<h1>404 Not Found</h1>" in page.text
