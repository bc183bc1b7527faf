"""The HTTP API over real HTTP: auth, organisation isolation, validation, actions, SSE, operations."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import text, update
from temporalio.client import Client

from tests.conftest import POSTGRES_URL, SECRET_KEY, batch_of, make_store, settings_for
from tests.engine_helpers import all_settled, fault, sub_step_is, wait_until, worker
from tests.web_helpers import login_csrf, open_session
from yolobatch.cli import sandbox_settings
from yolobatch.devtools.demo import demo_batch, demo_pipeline_batch
from yolobatch.domain.batch_input import RestaurantInput
from yolobatch.domain.plan import PLAN
from yolobatch.engine.contracts import starter_workflow_id
from yolobatch.engine.devserver import free_port
from yolobatch.engine.reconcile import reconcile
from yolobatch.http.app import create_app
from yolobatch.http.context import AppContext
from yolobatch.settings import Settings
from yolobatch.store.tables import RegistrationConfigRow

EXAMPLES = Path(__file__).parent.parent / "examples"


@contextlib.asynccontextmanager
async def serving(ctx: AppContext) -> AsyncIterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(ctx), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    server.install_signal_handlers = lambda: None
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def api(dev_server, world, store, tmp_path):
    """(base URL, org A headers, org B headers, store), with a worker running."""
    client = await Client.connect(dev_server.address)
    settings = settings_for(store, world, tmp_path, **sandbox_settings(world.url))
    for org in ("org-a", "org-b"):
        store.ensure_org(org)
    a = {"Authorization": f"Bearer {store.create_token('org-a', 'test')}"}
    b = {"Authorization": f"Bearer {store.create_token('org-b', 'test')}"}
    ctx = AppContext(settings=settings, store=store, client=client, sandbox_url=world.url)
    async with worker(client, store, settings), serving(ctx) as base:
        yield base, a, b, store


def plain(world, count: int = 2) -> list[dict]:
    return demo_pipeline_batch(count, world.url)["restaurants"]


def api_routes(schema: dict) -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        if path.startswith("/api/")
        for method in operations
    ]


# A valid body for each route that needs one, so that only the organisation check can refuse.
BODIES = {
    "/company": {"action": "no_company"},
    "/config": {"changes": {"website.itemLayout": "list"}},
    "/revise": {"changes": {"website.itemLayout": "list"}, "reason": "owner asked"},
    "/reveal-password": {"reason": "owner locked out"},
    "/batches": {"restaurants": [{"name": "A", "storeUrl": "https://a.example"}]},
    "/org/platform": {"url": "https://platform.example", "key": "k", "contract": "original"},
    "/rerun": {"sub_step": "websiteConfig", "reason": "colours fixed"},
}
# Routes that take a form (a file upload beside it), with valid fields.
FORMS = {"/menu": {"action": "continue"}}


def body_for(path: str) -> dict:
    return next((b for suffix, b in BODIES.items() if path.endswith(suffix)), {})


@pytest.mark.security
async def test_every_route_needs_a_valid_token(api):
    base, _, _, _ = api
    async with httpx.AsyncClient(base_url=base) as http:
        routes = api_routes((await http.get("/openapi.json")).json())
        assert len(routes) == 29  # every API route; a new one joins this test automatically
        for index, (method, path) in enumerate(routes):
            concrete = path.replace("{step}", "servicesConfig").replace("{action}", "retry")
            concrete = concrete.replace("{token_id}", "x")
            concrete = concrete.replace("{batch_id}", "x").replace("{job_id}", "x")
            # A claimed prefix per route: more routes than the invalid-token limit must not turn 401 to 429.
            for headers in ({}, {"Authorization": f"Bearer {index:03d}-nope"}):
                response = await http.request(method, concrete, headers=headers, json=body_for(path))
                assert response.status_code == 401, (method, path, response.text)
        assert (await http.get("/healthz")).json() == {"status": "ok"}


@pytest.mark.security
async def test_no_route_reaches_another_organisations_batch_or_restaurant(api, world):
    base, a, b, store = api
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        created = await http.post("/api/batches", json={"restaurants": plain(world, 1)}, headers=a)
        batch_id = created.json()["batch_id"]
        job_id = store.batch_progress(batch_id).jobs[0].job_id
        routes = api_routes((await http.get("/openapi.json")).json())
        scoped = [(m, p) for m, p in routes if "{batch_id}" in p or "{job_id}" in p]
        assert len(scoped) == 19
        for method, path in scoped:
            concrete = path.replace("{step}", "servicesConfig").replace("{action}", "retry")
            concrete = concrete.replace("{batch_id}", batch_id).replace("{job_id}", job_id)
            form = next((f for suffix, f in FORMS.items() if path.endswith(suffix)), None)
            sent = {"data": form} if form else {"json": body_for(path)}
            response = await http.request(method, concrete, headers=b, **sent)
            assert response.status_code == 404, (method, path, response.status_code, response.text)
        # ...and the batch is untouched: still a draft of organisation A.
        assert (await http.get(f"/api/batches/{batch_id}", headers=a)).json()["status"] == "draft"


async def test_create_run_and_read_a_yolo_batch_and_nobody_else_sees_it(api, world):
    base, a, b, store = api
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        body = {"name": "API batch", "restaurants": plain(world), "options": {"yolo": True}, "start": True}
        created = await http.post("/api/batches", json=body, headers=a)
        assert created.status_code == 201, created.text
        batch_id = created.json()["batch_id"]
        progress = await wait_until(store, batch_id, all_settled, timeout=120)
        assert progress["status"] == "completed"

        listed = (await http.get("/api/batches", headers=a)).json()
        assert listed["total"] == 1 and listed["items"][0]["counts"] == {"completed": 2}
        assert (await http.get("/api/batches", headers=b)).json()["total"] == 0
        original = (await http.get(f"/api/registration-batches/{batch_id}/progress", headers=a)).json()
        assert original["percentage"] == 100.0 and original["batch"]["completed_restaurants"] == 2
        job_id = original["restaurants"][0]["job_id"]
        detail = (await http.get(f"/api/jobs/{job_id}", headers=a)).json()
        assert detail["config"]["config"]["account"]["password"] == "********"
        assert detail["sub_steps"]["restaurantRegistration"]["status"] == "completed"
        secret = store.config_wire(job_id)["account"]["password"]
        assert secret not in json.dumps(detail)  # requests and responses are stored redacted

        # Another organisation gets 404 everywhere, exactly like an unknown id.
        for path in (
            f"/api/batches/{batch_id}",
            f"/api/jobs/{job_id}",
            f"/api/registration-batches/{batch_id}/progress",
        ):
            assert (await http.get(path, headers=b)).status_code == 404
        answer = await http.post(f"/api/jobs/{job_id}/company", json={"action": "no_company"}, headers=b)
        assert answer.status_code == 404
        assert (await http.post(f"/api/batches/{batch_id}/cancel", headers=b)).status_code == 404


async def test_bad_input_is_refused_row_by_row_and_creates_nothing(api, world):
    base, a, _, _ = api
    rows = plain(world, 3)
    rows[1]["storeUrl"] = "not a url"
    rows[2]["email"] = "nope"
    async with httpx.AsyncClient(base_url=base) as http:
        refused = await http.post("/api/batches", json={"restaurants": rows}, headers=a)
        assert refused.status_code == 422
        problems = [error["detail"] for error in refused.json()["errors"]]
        assert any(p.startswith("restaurant 2") and "storeUrl" in p for p in problems)
        assert any(p.startswith("restaurant 3") and "email" in p for p in problems)
        csv = "name,storeUrl\nA,https://a.example\nB,ftp://nope\n"
        upload = await http.post("/api/batches/upload", files={"file": ("b.csv", csv)}, headers=a)
        assert upload.status_code == 422 and upload.json()["errors"][0]["detail"].startswith("row 3")
        huge = await http.post(
            "/api/batches/upload", files={"file": ("big.csv", "x" * 12_000_000)}, headers=a
        )
        assert huge.status_code == 413
        assert (await http.post("/api/batches", json={"restaurants": []}, headers=a)).status_code == 422
        assert (await http.get("/api/batches", headers=a)).json()["total"] == 0


@pytest.mark.security
async def test_people_answer_through_the_api_and_repeats_are_harmless(api, world):
    base, a, _, store = api
    rows = plain(world, 2)
    rows[1].pop("companyNumber")  # Pizza Palace CBD: a person chooses
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        upload_csv = "name,storeUrl,city,email\n" + "\n".join(
            f"{r['name']},{r['storeUrl']},{r['city']},{r['email']}" for r in rows
        )
        created = await http.post(
            "/api/batches/upload", files={"file": ("w.csv", upload_csv)}, data={"start": "true"}, headers=a
        )
        assert created.status_code == 201, created.text
        batch_id = created.json()["batch_id"]
        jobs = [j.job_id for j in store.batch_progress(batch_id).jobs]
        await wait_until(store, batch_id, lambda p: p["jobs"][1]["steps"]["3"]["status"] == "action_required")
        number = (await http.get(f"/api/jobs/{jobs[1]}", headers=a)).json()["candidates"][0]["number"]
        bad = await http.post(
            f"/api/jobs/{jobs[1]}/company", json={"action": "choose", "number": "x"}, headers=a
        )
        assert bad.status_code == 409 and "not one of the candidates" in bad.json()["detail"]
        choose = {"action": "choose", "number": number}
        assert (await http.post(f"/api/jobs/{jobs[1]}/company", json=choose, headers=a)).status_code == 200
        again = await http.post(f"/api/jobs/{jobs[1]}/company", json=choose, headers=a)
        assert again.status_code == 409  # already answered: refused, nothing happens twice

        for index in (0, 1):
            await wait_until(
                store, batch_id, lambda p, i=index: p["jobs"][i]["steps"]["5"]["status"] == "action_required"
            )
        edit = await http.patch(
            f"/api/jobs/{jobs[0]}/config", json={"changes": {"website.itemLayout": "list"}}, headers=a
        )
        assert edit.status_code == 200 and edit.json()["errors"] == []
        wrong = await http.patch(f"/api/jobs/{jobs[0]}/config", json={"changes": {"nope": 1}}, headers=a)
        assert wrong.status_code == 422
        copied = await http.post(f"/api/jobs/{jobs[0]}/config/copy-to-all", headers=a)
        assert copied.json()["updated"] == [jobs[1]]
        approved = await http.post(f"/api/batches/{batch_id}/approve-all", headers=a)
        assert sorted(approved.json()) == sorted(jobs)
        progress = await wait_until(store, batch_id, all_settled, timeout=120)
    assert progress["status"] == "completed"
    assert store.config_review(jobs[1])["config"]["website"]["itemLayout"] == "list"

    # Every human action is in the audit log, with who (the caller's token name) and when.
    audit = [e for e in store.events(batch_id=batch_id) if e.actor == "api:test"]
    kinds = [e.kind for e in audit]
    for kind in (
        "batch_created",
        "batch_started",
        "companySelection_choose",
        "config_edited",
        "config_copied",
    ):
        assert kind in kinds, kinds
    assert kinds.count("config_approve") == 2, kinds
    assert all(e.created_at is not None for e in audit)
    edited = next(e for e in audit if e.kind == "config_edited")
    assert edited.job_id == jobs[0] and edited.message == "Edited website.itemLayout"


async def test_drafts_can_be_deleted_started_batches_cannot(api, world):
    base, a, _, _ = api
    async with httpx.AsyncClient(base_url=base) as http:
        draft = (await http.post("/api/batches", json={"restaurants": plain(world, 1)}, headers=a)).json()
        assert (await http.delete(f"/api/batches/{draft['batch_id']}", headers=a)).status_code == 204
        assert (await http.get(f"/api/batches/{draft['batch_id']}", headers=a)).status_code == 404
        body = {"restaurants": plain(world, 1), "start": True, "options": {"yolo": True}}
        started = (await http.post("/api/batches", json=body, headers=a)).json()
        assert (await http.delete(f"/api/batches/{started['batch_id']}", headers=a)).status_code == 409


@pytest.mark.security
async def test_events_stream_live_and_only_the_callers(api, world):
    base, a, b, store = api
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        body = {"restaurants": plain(world, 1), "start": True, "options": {"yolo": True}}
        batch_id = (await http.post("/api/batches", json=body, headers=a)).json()["batch_id"]
        seen: list[dict] = []
        async with http.stream("GET", "/api/events", params={"batch_id": batch_id}, headers=a) as stream:
            async for line in stream.aiter_lines():
                if line.startswith("data: "):
                    seen.append(json.loads(line[6:]))
                if any(e["kind"] == "job_completed" for e in seen):
                    break
        assert seen[0]["kind"] == "batch_created" and all(e["batch_id"] == batch_id for e in seen)
        assert (await http.get("/api/events", params={"batch_id": batch_id}, headers=b)).status_code == 404


async def test_operations_endpoints(api):
    base, a, _, _ = api
    async with httpx.AsyncClient(base_url=base) as http:
        ready = await http.get("/readyz")
        assert ready.status_code == 200 and ready.json()["temporal"] == "ok"
        # Metrics count every organisation's restaurants: served on the metrics port, not here, to anyone.
        assert (await http.get("/metrics")).status_code == 404
        assert (await http.get("/metrics", headers=a)).status_code == 404
        schema = (await http.get("/openapi.json")).json()
        assert "/api/batches" in schema["paths"] and "/api/events" in schema["paths"]


async def test_a_resent_retry_with_the_same_idempotency_key_retries_once(api, world):
    base, a, _, store = api
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        body = {"restaurants": plain(world, 1), "options": {"yolo": True}}
        batch_id = (await http.post("/api/batches", json=body, headers=a)).json()["batch_id"]
        (job_id,) = [j.job_id for j in store.batch_progress(batch_id).jobs]
        fault = {"endpoint": "configure-services", "fault": "400", "restaurant_id": job_id}
        httpx.post(f"{world.url}/_sandbox/faults", json=fault).raise_for_status()
        await http.post(f"/api/batches/{batch_id}/start", headers=a)
        await wait_until(
            store, batch_id, lambda p: p["jobs"][0]["sub_steps"]["servicesConfig"]["status"] == "failed", 120
        )
        headers = a | {"Idempotency-Key": "retry-services-1"}
        url = f"/api/jobs/{job_id}/steps/servicesConfig/retry"
        first = await http.post(url, json={"reason": "fixed"}, headers=headers)
        second = await http.post(url, json={"reason": "fixed"}, headers=headers)
        assert first.status_code == second.status_code == 200, second.text
        progress = await wait_until(store, batch_id, all_settled, timeout=120)
    assert progress["status"] == "completed"
    assert progress["jobs"][0]["sub_steps"]["servicesConfig"]["generation"] == 1
    services = httpx.get(f"{world.url}/_sandbox/calls", params={"endpoint": "configure-services"}).json()
    assert len([c for c in services if c["restaurant_id"] == job_id]) == 2


@pytest.mark.reliability
async def test_a_create_resent_with_its_idempotency_key_makes_one_batch(api, world):
    base, a, b, store = api
    body = {"name": "resent", "restaurants": plain(world, 2)}
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        key = {**a, "Idempotency-Key": "create-1"}
        first = await http.post("/api/batches", json=body, headers=key)
        again = await http.post("/api/batches", json=body, headers=key)
        assert first.status_code == again.status_code == 201, again.text
        assert first.json() == again.json()
        other = await http.post("/api/batches", json={**body, "name": "other"}, headers=key)
        assert other.status_code == 409 and "different batch" in other.json()["detail"]
        # Keys belong to an organisation: another one may use the same key for its own batch.
        theirs = await http.post("/api/batches", json=body, headers={**b, "Idempotency-Key": "create-1"})
        assert theirs.status_code == 201 and theirs.json()["batch_id"] != first.json()["batch_id"]

        csv = "name,storeUrl,city\nUpload Cafe,https://upload.example/menu,Auckland\n"
        upload = {**a, "Idempotency-Key": "upload-1"}
        sent = [
            await http.post("/api/batches/upload", files={"file": ("u.csv", csv)}, headers=upload)
            for _ in range(2)
        ]
        assert sent[0].json()["batch_id"] == sent[1].json()["batch_id"]
    names = [batch.name for batch in store.list_batches("org-a")[0]]
    assert sorted(names) == ["resent", "u"]


async def test_batch_detail_is_paged_and_filtered(api):
    base, a, b, store = api
    store.ensure_org("org-a")
    batch_id = store.create_batch("org-a", "big", batch_of(150).restaurants)
    ids = [j.job_id for j in store.job_summaries(batch_id)]
    store.record_job(ids[3], "completed")
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        page = (
            await http.get(f"/api/batches/{batch_id}", params={"offset": 100, "limit": 30}, headers=a)
        ).json()
        assert [j["job_id"] for j in page["jobs"]] == ids[100:130]
        assert page["total"] == 150 and page["page"]["matching"] == 150
        assert len((await http.get(f"/api/batches/{batch_id}", headers=a)).json()["jobs"]) == 100  # default
        done = (await http.get(f"/api/batches/{batch_id}", params={"state": "done"}, headers=a)).json()
        assert [j["job_id"] for j in done["jobs"]] == [ids[3]] and done["state_counts"]["done"] == 1
        for bad in ({"state": "finished"}, {"limit": 0}, {"limit": 1001}, {"offset": -1}):
            answer = await http.get(f"/api/batches/{batch_id}", params=bad, headers=a)
            assert answer.status_code == 422, bad
        original = (await http.get(f"/api/registration-batches/{batch_id}/progress", headers=a)).json()
        assert [r["job_id"] for r in original["restaurants"]] == ids  # the original's shape: all of them
        assert original["batch"]["completed_restaurants"] == 1
        assert (await http.get(f"/api/batches/{batch_id}", params={"limit": 5}, headers=b)).status_code == 404


@pytest.mark.security
async def test_invalid_tokens_are_limited_per_claimed_prefix_and_address_and_a_valid_token_never_refused(api):
    base, a, b, _ = api
    async with httpx.AsyncClient(base_url=base) as http:
        for attempt in range(20):
            wrong = await http.get("/api/batches", headers={"Authorization": f"Bearer yb_guess{attempt}"})
            assert wrong.status_code == 401
        blocked = await http.get("/api/batches", headers={"Authorization": "Bearer yb_guess20"})
        assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) >= 1
        # Users behind the same address (a proxy, an office) are not locked out: valid tokens always work,
        # through the API and the login form, and other (invalid) prefixes are counted apart.
        assert (await http.get("/api/batches", headers=a)).status_code == 200
        assert (await http.get("/api/batches", headers=b)).status_code == 200
        page = await http.post("/login", data={"token": a["Authorization"][7:], **await login_csrf(http)})
        assert page.status_code == 303, page.text
        other = await http.get("/api/batches", headers={"Authorization": "Bearer yb_other"})
        assert other.status_code == 401
        form = await http.post("/login", data={"token": "yb_guess21", **await login_csrf(http)})
        assert form.status_code == 429 and "too many invalid tokens" in form.text
        assert (await http.get("/healthz")).status_code == 200  # the service itself stays up


PLANTED = "Planted-Secret-Pw-7731!"


@pytest.mark.security
async def test_planted_secrets_never_leave_the_encrypted_column(api, world, caplog, structured_log):
    """A batch whose passwords are a planted value runs to completion, with one refused call retried by a
    person; then the logs (as records, and as the JSON lines a deployment ships), every table, every GET
    route and every dashboard page are searched for it."""
    caplog.set_level(logging.DEBUG)
    base, a, _, store = api

    restaurants = demo_batch(2)["restaurants"]
    for index, restaurant in enumerate(restaurants):
        config = restaurant["config"]
        config["account"]["password"] = config["onboarding"]["userPassword"] = PLANTED
        tag = f"+planted{uuid.uuid4().hex[:6]}{index}@"  # owners unique to this run
        config["account"]["email"] = config["account"]["email"].replace("@", tag)
        config["onboarding"]["userEmail"] = config["onboarding"]["userEmail"].replace("@", tag)
    token = a["Authorization"][7:]
    async with httpx.AsyncClient(base_url=base, timeout=30, headers=a) as http:
        created = await http.post("/api/batches", json={"name": "planted", "restaurants": restaurants})
        assert created.status_code == 201, created.text
        batch_id = created.json()["batch_id"]
        job_id = store.job_summaries(batch_id)[0].job_id
        fault(world, "register-account", "400", restaurant_id=job_id)  # an error message to search too
        assert (await http.post(f"/api/batches/{batch_id}/start")).status_code == 200
        await wait_until(store, batch_id, sub_step_is(0, "cloudwaitressAccount", "failed"), timeout=120)
        retried = await http.post(f"/api/jobs/{job_id}/steps/cloudwaitressAccount/retry", json={"reason": ""})
        assert retried.status_code == 200, retried.text
        progress = await wait_until(store, batch_id, all_settled, timeout=120)
        assert progress["status"] == "completed"
        assert store.config_wire(job_id)["account"]["password"] == PLANTED  # it is stored, encrypted

        shipped = structured_log.getvalue()
        assert f'"job_id": "{job_id}"' in shipped and "call failed, no retry left" in shipped  # it did log
        seen = [caplog.text, shipped]
        for path in (
            "/api/batches",
            f"/api/batches/{batch_id}",
            f"/api/jobs/{job_id}",
            f"/api/registration-batches/{batch_id}/progress",
        ):
            seen.append((await http.get(path)).text)
        http.cookies.set("yb_session", open_session(store, token))
        for page in ("/", f"/batches/{batch_id}", f"/jobs/{job_id}/drawer", "/inbox"):
            response = await http.get(page)
            assert response.status_code == 200, page
            seen.append(response.text)
    with store.engine.connect() as connection:
        for table in store_tables():
            seen.extend(str(row) for row in connection.execute(text(f"SELECT * FROM {table}")))
    leaks = [s for s in seen if PLANTED in s or token in s]
    assert not leaks, leaks[0][:500]
    assert any(job_id in s for s in seen)  # the search did look at this batch


def store_tables() -> list[str]:
    from yolobatch.store.tables import Base

    return list(Base.metadata.tables)


# -- issue 16: answers for finished batches, config review and revision, progress figures -------------


async def test_a_finished_batch_resent_or_started_again_answers_instead_of_failing(api, world, dev_server):
    base, a, _, store = api
    body = {"name": "finished", "restaurants": plain(world, 1), "start": True, "options": {"yolo": True}}
    client = await Client.connect(dev_server.address)
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        key = {**a, "Idempotency-Key": "finished-1"}
        first = await http.post("/api/batches", json=body, headers=key)
        assert first.status_code == 201, first.text
        batch_id = first.json()["batch_id"]
        await client.get_workflow_handle(starter_workflow_id(batch_id)).result()
        assert (await wait_until(store, batch_id, all_settled))["status"] == "completed"

        again = await http.post("/api/batches", json=body, headers=key)
        assert again.status_code == 201 and again.json() == first.json(), again.text
        start = await http.post(f"/api/batches/{batch_id}/start", headers=a)
        assert start.status_code == 200 and start.json() == {"result": "already started"}, start.text
    assert store.batch_progress(batch_id).status == "completed"


async def test_config_fields_are_checked_frozen_once_approved_and_revised_on_purpose(api, world, dev_server):
    base, a, _, store = api
    body = {"name": "review", "restaurants": plain(world, 1), "start": True}
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        batch_id = (await http.post("/api/batches", json=body, headers=a)).json()["batch_id"]
        (job_id,) = [j.job_id for j in store.job_summaries(batch_id)]
        await wait_until(store, batch_id, lambda p: p["jobs"][0]["steps"]["5"]["status"] == "action_required")
        config = f"/api/jobs/{job_id}/config"

        unknown = await http.patch(config, json={"changes": {"website.nope": 1}}, headers=a)
        assert unknown.status_code == 422 and "'website.nope' is not a config field" in unknown.text
        assert "nope" not in json.dumps(store.config_review(job_id))  # not stored

        invalid = await http.patch(config, json={"changes": {"account.email": "not-an-email"}}, headers=a)
        assert invalid.status_code == 200 and invalid.json()["errors"], invalid.text
        refused = await http.post(f"{config}/approve", json={}, headers=a)
        assert refused.status_code == 422 and "account.email" in refused.json()["detail"], refused.text
        in_bulk = (await http.post(f"/api/batches/{batch_id}/approve-all", headers=a)).json()
        assert in_bulk[job_id].startswith("not approved: the config is not valid"), in_bulk
        assert "account.email" in in_bulk[job_id]

        fixed = await http.patch(config, json={"changes": {"account.email": "owner@jax.example"}}, headers=a)
        assert fixed.json()["errors"] == []
        approved = await http.post(f"{config}/approve", json={"reason": "checked"}, headers=a)
        assert approved.status_code == 200, approved.text
        assert (await wait_until(store, batch_id, all_settled))["status"] == "completed"

        frozen = await http.patch(config, json={"changes": {"website.itemLayout": "list"}}, headers=a)
        assert frozen.status_code == 409 and "frozen" in frozen.json()["detail"], frozen.text
        revise = f"{config}/revise"
        change = {"website.itemLayout": "list"}
        no_reason = await http.post(revise, json={"changes": change, "reason": ""}, headers=a)
        assert no_reason.status_code == 422
        bad = await http.post(revise, json={"changes": {"account.email": "x"}, "reason": "typo"}, headers=a)
        assert bad.status_code == 422 and "account.email" in bad.json()["detail"]
        revised = await http.post(revise, json={"changes": change, "reason": "owner asked"}, headers=a)
        assert revised.status_code == 200 and revised.json()["version"] == 2, revised.text
    review = store.config_review(job_id)
    assert review["version"] == 2 and review["approved_by"] == "api:test"
    assert review["config"]["website"]["itemLayout"] == "list"
    (event,) = [e for e in store.events(job_id=job_id) if e.kind == "config_revised"]
    assert event.actor == "api:test" and event.data == {
        "version": 2,
        "fields": ["website.itemLayout"],
        "reason": "owner asked",
    }

    # Registration calls that ran without an approved config: reconcile reports it (nothing to repair).
    client = await Client.connect(dev_server.address)
    assert not (await reconcile(client, store, batch_id=batch_id, repair=False)).drift
    with store.transaction() as s:
        s.execute(update(RegistrationConfigRow).values(approved_at=None, approved_by=None))
    report = await reconcile(client, store, batch_id=batch_id, repair=False)
    assert [(d.field, d.read_model) for d in report.drift] == [("config approval", "config not approved")]


# GET /:id/progress in the original (reference §6.2): these fields, these types, always all present.
ORIGINAL_PROGRESS_FIELDS = {
    "success": bool,
    "status": str,
    "progress_percent": int,
    "current_step": int,
    "step_requiring_action": (int, type(None)),
    "restaurants_summary": dict,
    "last_updated": str,
}
# The original's batch statuses (reference §2.1): what its pollers (§6.4) switch on.
ORIGINAL_BATCH_STATUSES = {"pending", "in_progress", "action_required", "completed", "failed", "cancelled"}


def _assert_original_progress(
    body: dict, *, status: str, percent: int, current_step: int, step_requiring_action, summary: dict
) -> None:
    """The original's /progress fields, one by one, with the original's meanings; yolobatch's own
    fields (batch, percentage, restaurants) are only ever added beside them."""
    for field, kind in ORIGINAL_PROGRESS_FIELDS.items():
        assert isinstance(body[field], kind) and not (kind is int and isinstance(body[field], bool)), field
    assert body["success"] is True
    assert body["status"] == status and status in ORIGINAL_BATCH_STATUSES
    summary_body = body["restaurants_summary"]
    assert summary_body == summary
    # The original's formulas: in_progress = total - completed - failed; percent = round(done / total).
    total, done, failed = summary["total"], summary["completed"], summary["failed"]
    assert summary_body["in_progress"] == total - done - failed
    assert body["progress_percent"] == percent == int(100 * (done + failed) / total + 0.5)
    assert body["current_step"] == current_step and 1 <= current_step <= 6
    assert body["step_requiring_action"] == step_requiring_action
    updated = datetime.fromisoformat(body["last_updated"])
    assert updated.tzinfo is not None and updated <= datetime.now(UTC)
    assert set(body) - set(ORIGINAL_PROGRESS_FIELDS) == {"batch", "percentage", "restaurants"}


def _set_pipeline_job(store, job_id: str, *, steps: dict[int, str], calls: str, status: str) -> None:
    for step, step_status in steps.items():
        store.record_step(job_id, step, "running")
        store.record_step(job_id, step, step_status)
    for spec in PLAN:
        store.record_sub_step(job_id, spec.key.value, calls, 0)
    store.record_job(job_id, status)


async def test_progress_tells_waiting_from_failed_names_the_waiting_step_and_ends_at_100(api):
    base, a, _, store = api
    restaurants = [
        RestaurantInput.model_validate({"name": name, "storeUrl": f"https://{name.lower()}.example"})
        for name in ("Waiting", "Failed", "Done", "Cancelled")
    ]
    batch_id = store.create_batch("org-a", "progress", restaurants)
    store.mark_batch_started(batch_id)
    waiting, failed, done, cancelled = [j.job_id for j in store.job_summaries(batch_id)]
    # Waiting for a company choice: step 2 ran last (current_step 2), step 3 waits for a person.
    _set_pipeline_job(
        store, waiting, steps={1: "completed", 2: "completed"}, calls="pending", status="running"
    )
    store.record_step(waiting, 3, "action_required")
    store.record_job(waiting, "action_required")
    all_done = {n: "completed" for n in range(1, 6)}
    _set_pipeline_job(store, failed, steps=all_done, calls="completed", status="action_required")
    store.record_sub_step(failed, "menuImport", "failed", 1, error="HTTP 400")
    _set_pipeline_job(store, done, steps=all_done, calls="completed", status="completed")
    store.record_sub_step(done, "paymentConfig", "completed", 1, warning="Stripe not connected")
    _set_pipeline_job(store, cancelled, steps={1: "completed"}, calls="cancelled", status="cancelled")

    url = f"/api/registration-batches/{batch_id}/progress"
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        progress = (await http.get(url, headers=a)).json()
        _assert_original_progress(
            progress,
            status="action_required",
            percent=50,  # (1 completed + 1 finished unregistered) of 4, as the original rounds it
            current_step=3,  # the slowest unfinished restaurant (Waiting) is at step 3
            step_requiring_action=3,
            summary={"total": 4, "completed": 1, "failed": 1, "in_progress": 2},
        )
        assert progress["batch"]["failed_restaurants"] == 1
        assert progress["batch"]["waiting_restaurants"] == 1
        assert progress["batch"]["restaurants_with_warnings"] == 1
        by_name = {r["name"]: r for r in progress["restaurants"]}
        assert by_name["Waiting"]["step_requiring_action"] == 3
        assert by_name["Failed"]["step_requiring_action"] == 6
        assert by_name["Done"]["warnings"] == {"paymentConfig": "Stripe not connected"}
        assert progress["step_requiring_action"] == 3

        detail = (await http.get(f"/api/batches/{batch_id}", headers=a)).json()
        assert detail["with_warnings"] == 1

        # A person's skip or mark done must say why, on every channel.
        for action in ("skip", "mark_done"):
            decide = f"/api/jobs/{failed}/steps/menuImport/{action}"
            empty = await http.post(decide, json={"reason": "  "}, headers=a)
            assert empty.status_code == 422 and "reason is required" in empty.json()["detail"], empty.text

        for job_id in (waiting, failed):
            _set_pipeline_job(store, job_id, steps=all_done, calls="completed", status="completed")
        finished = (await http.get(url, headers=a)).json()
        draft_id = store.create_batch("org-a", "not started", restaurants[:3])
        draft = (await http.get(f"/api/registration-batches/{draft_id}/progress", headers=a)).json()
    _assert_original_progress(
        finished,
        status="completed",
        percent=100,
        current_step=6,
        step_requiring_action=None,
        summary={"total": 4, "completed": 3, "failed": 1, "in_progress": 0},
    )
    updated = [datetime.fromisoformat(body["last_updated"]) for body in (progress, finished)]
    assert updated == sorted(updated)
    _assert_original_progress(
        draft,
        status="pending",
        percent=0,
        current_step=draft["restaurants"][0]["current_step"],
        step_requiring_action=None,
        summary={"total": 3, "completed": 0, "failed": 0, "in_progress": 3},
    )
    assert finished["percentage"] == 100.0
    assert finished["batch"]["status"] == "completed_with_cancellations"
    assert finished["step_requiring_action"] is None


@pytest.mark.postgres
@pytest.mark.reliability
@pytest.mark.skipif(not POSTGRES_URL, reason="YOLOBATCH_TEST_POSTGRES_URL not set")
async def test_events_that_commit_out_of_order_are_all_delivered_once(dev_server, tmp_path):
    """On PostgreSQL an event's id is taken at insert, not at commit: writers holding lower ids while a
    later one commits must still reach a live feed that has already moved past them."""
    store = make_store("postgres", tmp_path, schema="yolobatch_event_order")
    store.ensure_org("org-a")
    headers = {"Authorization": f"Bearer {store.create_token('org-a', 'feed')}"}
    settings = Settings(
        data_dir=tmp_path,
        database_url=store.engine.url.render_as_string(hide_password=False),
        secret_key=SECRET_KEY,
    )
    ctx = AppContext(settings=settings, store=store, client=await Client.connect(dev_server.address))
    holding, release = threading.Barrier(4), threading.Event()

    def slow(n: int) -> None:
        with store.transaction():
            store.add_event("org-a", None, None, "slow", f"slow {n}: an early id, committed late")
            holding.wait(10)
            release.wait(30)

    async with (
        serving(ctx) as base,
        httpx.AsyncClient(base_url=base, timeout=30) as http,
        http.stream("GET", "/api/events", headers=headers) as stream,
    ):
        lines = stream.aiter_lines()
        seen: list[dict] = []

        async def until(count: int) -> None:
            while len(seen) < count:
                line = await lines.__anext__()
                if line.startswith("data: "):
                    seen.append(json.loads(line[6:]))

        writers = [threading.Thread(target=slow, args=(n,)) for n in range(3)]
        for writer in writers:
            writer.start()
        await asyncio.to_thread(holding.wait, 10)  # three ids taken, none committed
        for n in range(3):
            await asyncio.to_thread(store.add_event, "org-a", None, None, "fast", f"fast {n}")
        await asyncio.wait_for(until(3), 20)
        release.set()
        for writer in writers:
            await asyncio.to_thread(writer.join)
        await asyncio.wait_for(until(6), 20)
    assert sorted(e["kind"] for e in seen) == ["fast"] * 3 + ["slow"] * 3
    assert len({e["id"] for e in seen}) == 6
    ids = {kind: [e["id"] for e in seen if e["kind"] == kind] for kind in ("slow", "fast")}
    assert max(ids["slow"]) < min(ids["fast"])  # the slow ones really committed out of order
