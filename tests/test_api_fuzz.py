"""OpenAPI fuzzing (schemathesis): no operation of the API answers 5xx, whatever it is sent.

The real app runs on a real port (uvicorn, in a thread with its own event loop) over a real SQLite store
and a real Temporal client (the session's dev server; no worker, so workflows are started but never run).
Every generated request is sent twice: once as generated (random ids: 404s, validation), and once with the
ids of a real batch and restaurant, so the handlers behind the lookups are fuzzed too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from sqlalchemy import text
from temporalio.client import Client
from temporalio.service import RPCError

from tests.conftest import ENGINE_SCALE, FUZZ_BUDGET, SECRET_KEY, asgi_client, batch_of, make_store
from yolobatch.domain.batch_input import parse_batch
from yolobatch.engine.contracts import starter_workflow_id
from yolobatch.engine.devserver import free_port, start_dev_server
from yolobatch.http.app import create_app
from yolobatch.http.context import AppContext
from yolobatch.settings import Settings
from yolobatch.store.repository import Store

pytestmark = pytest.mark.reliability
ORG = "org-fuzz"

# The schema only: requests go to the live app below. The event feed streams forever, so it is fuzzed
# by its own test rather than by schemathesis (which reads whole bodies).
SCHEMA = schemathesis.openapi.from_dict(create_app(None).openapi()).exclude(path="/api/events")  # type: ignore[arg-type]


@dataclass
class LiveApi:
    """The app on a real port, with the ids of real rows for the fuzzer to aim at."""

    store: Store
    temporal_address: str
    data_dir: Path
    port: int = field(default_factory=free_port)
    token: str = ""
    batch_id: str = ""
    job_id: str = ""
    server: uvicorn.Server | None = None
    thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def start(self) -> None:
        self.store.ensure_org(ORG)
        self.token = self.store.create_token(ORG, "fuzz")
        # A draft batch of ready restaurants: their configs exist, so config edits reach the store.
        ready = batch_of(2)
        self.batch_id = self.store.create_batch(ORG, "fuzz target", ready.restaurants)
        self.job_id = self.store.batch_progress(self.batch_id).jobs[0].job_id
        self.thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not (self.server and self.server.started):
            assert time.monotonic() < deadline, "the API did not start"
            time.sleep(0.05)

    async def _serve(self) -> None:
        # The Temporal client lives in this thread's event loop, like the app that uses it.
        client = await Client.connect(self.temporal_address)
        settings = Settings(
            data_dir=self.data_dir,
            database_url=self.store.engine.url.render_as_string(hide_password=False),
            secret_key=SECRET_KEY,
            time_scale=ENGINE_SCALE,
        )
        app = create_app(AppContext(settings=settings, store=self.store, client=client))
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="critical", lifespan="off")
        self.server = uvicorn.Server(config)
        self.server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        await self.server.serve()
        # The fuzzer started batches; no worker ran them. End their starters so that another module's
        # worker on the same dev server never picks them up (their batches are not in its database).
        with self.store.engine.connect() as connection:
            batch_ids = list(connection.execute(text("SELECT id FROM batches")).scalars())
        for batch_id in batch_ids:
            with contextlib.suppress(RPCError):
                await client.get_workflow_handle(starter_workflow_id(batch_id)).terminate("fuzzing over")

    def stop(self) -> None:
        if self.server:
            self.server.should_exit = True
        if self.thread:
            self.thread.join(timeout=60)

    def fresh_draft(self) -> str:
        """A new draft batch, for the calls that delete or start the one they are given."""
        data = {"restaurants": [{"name": "Fuzz Draft", "storeUrl": "https://draft.example/menu"}]}
        return self.store.create_batch(ORG, "fuzz draft", parse_batch(json.dumps(data)).restaurants)


@pytest.fixture(scope="module")
def live(dev_server, tmp_path_factory) -> Iterator[LiveApi]:
    root = tmp_path_factory.mktemp("fuzz")
    api = LiveApi(make_store("sqlite", root), dev_server.address, root)
    api.start()
    yield api
    api.stop()


def aimed_at_real_rows(case: schemathesis.Case, live: LiveApi) -> bool:
    """Point the case's ids at real rows; False when it has none to point."""
    params = case.path_parameters or {}
    if not {"batch_id", "job_id"} & set(params):
        return False
    if "batch_id" in params:
        mutating = case.method.upper() == "DELETE" or case.path.endswith(("/start", "/cancel"))
        params["batch_id"] = live.fresh_draft() if mutating else live.batch_id
    if "job_id" in params:
        params["job_id"] = live.job_id
    return True


@SCHEMA.parametrize()
@settings(max_examples=25 * FUZZ_BUDGET, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_operation_answers_a_server_error(case: schemathesis.Case, live: LiveApi) -> None:
    case.call_and_validate(base_url=live.url, headers=live.headers, checks=[not_a_server_error], timeout=60)
    if aimed_at_real_rows(case, live):
        case.call_and_validate(
            base_url=live.url, headers=live.headers, checks=[not_a_server_error], timeout=60
        )


# Header values as HTTP can carry them: visible Latin-1 bytes, no surrounding blanks.
header_text = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=30
).map(lambda value: value.encode("latin-1"))


@settings(max_examples=40 * FUZZ_BUDGET, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    batch_id=st.none() | st.just("real") | st.text(max_size=40),
    after=st.none() | st.integers(min_value=-(2**70), max_value=2**70) | st.text(max_size=10),
    last_event_id=st.none() | header_text | st.integers(0, 2**80).map(lambda n: str(n).encode()),
)
def test_the_event_feed_never_answers_a_server_error(
    live: LiveApi, batch_id: str | None, after: Any, last_event_id: bytes | None
) -> None:
    params = {k: v for k, v in {"batch_id": batch_id, "after": after}.items() if v is not None}
    if params.get("batch_id") == "real":
        params["batch_id"] = live.batch_id
    headers: dict[str, Any] = dict(live.headers)
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    with httpx.stream(
        "GET", f"{live.url}/api/events", params=params, headers=headers, timeout=30
    ) as response:
        assert response.status_code < 500, response.read()
        if response.status_code == 200:
            # The first events (or the keep-alive) arrive: the feed works, not just its status line.
            first = next(response.iter_text())
            assert first.startswith("retry:")


@pytest.mark.parametrize(
    ("path", "params", "headers"),
    [
        pytest.param("/api/batches", {"offset": 10**20}, {}, id="batches-offset-beyond-64-bits"),
        pytest.param("/api/batches/{batch}", {"offset": 2**63}, {}, id="batch-offset-beyond-64-bits"),
        pytest.param("/api/events", {"after": 2**64}, {}, id="events-after-beyond-64-bits"),
        pytest.param(
            "/api/events", {}, {"Last-Event-ID": "²".encode("latin-1")}, id="last-event-id-superscript-digit"
        ),
        pytest.param("/api/events", {}, {"Last-Event-ID": "9" * 30}, id="last-event-id-beyond-64-bits"),
    ],
)
def test_integers_beyond_what_the_database_holds_are_refused_or_ignored(
    live: LiveApi, path: str, params: dict[str, Any], headers: dict[str, Any]
) -> None:
    """Values the fuzzer seldom draws, each a 500 (or a feed that died mid-stream) before it was bounded."""
    url = live.url + path.replace("{batch}", live.batch_id)
    with httpx.stream("GET", url, params=params, headers=live.headers | headers, timeout=30) as response:
        assert response.status_code in (200, 422), response.read()
        if path == "/api/events" and response.status_code == 200:
            chunks = response.iter_text()
            assert next(chunks).startswith("retry:")
            assert next(chunks)  # the feed's first query ran: an events page or a keep-alive


async def test_without_the_engine_its_operations_answer_503_and_the_rest_still_works(tmp_path: Path) -> None:
    """A Temporal server that has gone away: what needs it answers 503 (try again later), never 500, and
    reading and creating batches still work."""
    server = await start_dev_server(tmp_path / "temporal", free_port())
    client = await Client.connect(server.address)
    server.stop()  # the engine goes away after the API connected, as in an outage
    store = make_store("sqlite", tmp_path)
    store.ensure_org(ORG)
    token = store.create_token(ORG, "outage")
    settings_ = Settings(data_dir=tmp_path, secret_key=SECRET_KEY, time_scale=ENGINE_SCALE)
    app = create_app(AppContext(settings=settings_, store=store, client=client))
    ready = batch_of(1)
    batch_id = store.create_batch(ORG, "outage", ready.restaurants)
    async with asgi_client(app, token) as http:
        started = await http.post(f"/api/batches/{batch_id}/start")
        assert started.status_code == 503, started.text
        assert "engine" in started.json()["detail"] and started.headers["Retry-After"]
        # A create that asked to start answers 503 after creating the batch; resent with its key, it makes
        # no second batch.
        body = {"name": "resent", "restaurants": [{"name": "Cafe", "storeUrl": "https://c.example/"}]}
        for _ in range(2):
            resent = await http.post(
                "/api/batches", json={**body, "start": True}, headers={"Idempotency-Key": "k1"}
            )
            assert resent.status_code == 503, resent.text
        assert [b.name for b in store.list_batches(ORG)[0]].count("resent") == 1
        # A person's action on a restaurant says "try again", not "no such workflow" (404).
        job_id = store.batch_progress(batch_id).jobs[0].job_id
        for action in ("cancel", "steps/menuImport/retry", "config/approve"):
            answer = await http.post(f"/api/jobs/{job_id}/{action}", json={})
            assert answer.status_code == 503, (action, answer.status_code, answer.text)
        ready_check = await http.get("/readyz")
        assert ready_check.status_code == 503 and ready_check.json()["temporal"].startswith("error")
        # What does not need the engine is unaffected.
        assert (await http.get(f"/api/batches/{batch_id}")).status_code == 200
        upload = "name,storeUrl\nOutage Cafe,https://outage.example/menu\n"
        created = await http.post("/api/batches/upload", files={"file": ("o.csv", upload)})
        assert created.status_code == 201, created.text
