"""Reliability under faults and crashes (issue #5, parts 2 and 5): 20+ restaurants each, the sandbox's audit
as the oracle.

In every case: each restaurant ends where it must (completed, or waiting for a person), no create call ran
twice with effect (the sandbox counts side effects per restaurant), no event is missing from the audit log,
and the read model agrees with the engine (`reconcile` finds no drift).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from tests.conftest import ENGINE_SCALE, SANDBOX_SCALE, batch_of, settings_for
from tests.engine_helpers import (
    ORG,
    all_completed,
    all_settled_and_idle,
    audit_gaps,
    calls,
    completed_calls,
    create,
    fault,
    launch,
    spawn_api,
    spawn_worker,
    state,
    stop,
    wait_ready,
    wait_until,
    worker,
)
from yolobatch.cli import sandbox_settings
from yolobatch.devtools.demo import demo_pipeline_batch
from yolobatch.devtools.sandbox.server import RunningSandbox, start_in_thread
from yolobatch.devtools.sandbox.settings import SandboxSettings
from yolobatch.domain.batch_input import BatchInput, parse_batch
from yolobatch.domain.plan import SPECS, SubStep
from yolobatch.engine.devserver import free_port, start_dev_server
from yolobatch.engine.reconcile import reconcile
from yolobatch.service.control import decide
from yolobatch.settings import Settings
from yolobatch.store.repository import Store

pytestmark = pytest.mark.reliability

COUNT = 24
CALLS_PER_RESTAURANT = 12
PEOPLE_VIA_API = "api:"  # the API names its callers "api:<token name>" in the audit log


@pytest.fixture
async def client(dev_server) -> Client:
    return await Client.connect(dev_server.address)


@contextlib.contextmanager
def own_sandbox(**knobs: Any) -> Iterator[RunningSandbox]:
    """A sandbox of the test's own: its seed and fault rates must not leak into other tests."""
    sandbox = start_in_thread(SandboxSettings(**({"time_scale": SANDBOX_SCALE, "jitter": 0.1} | knobs)))
    try:
        yield sandbox
    finally:
        sandbox.stop()


def is_platform_call(call: dict[str, Any]) -> bool:
    """A registration call: a POST with a side effect. Uber Eats-style store pages are read with a POST too
    (`getMenuItemV1`, endpoint "store-item"), but that read has no effect to duplicate."""
    return call["method"] == "POST" and call["endpoint"] != "store-item"


def post_calls(sandbox) -> list[dict[str, Any]]:
    return [c for c in calls(sandbox) if is_platform_call(c)]


def executions_with_effect(call_log: list[dict[str, Any]]) -> Counter:
    """Per idempotency key: how many calls the platform executed and answered 2xx (not replayed)."""
    return Counter(
        c["idempotency_key"]
        for c in call_log
        if is_platform_call(c) and not c["replayed"] and 200 <= (c["status_code"] or 0) < 300
    )


def assert_no_duplicates(sandbox, job_ids: list[str]) -> dict[str, Any]:
    world = state(sandbox)
    assert world["duplicates"] == [], world["duplicates"]
    for job_id in job_ids:
        assert world["restaurants"][job_id]["registrations"] == 1, world["restaurants"][job_id]
    repeated = {k: n for k, n in executions_with_effect(calls(sandbox)).items() if n > 1}
    assert repeated == {}, repeated
    return world


def assert_audit_complete(store: Store, progress: dict[str, Any], *, pipeline: bool = False) -> None:
    gaps = {j["restaurant_name"]: audit_gaps(store, j, pipeline=pipeline) for j in progress["jobs"]}
    assert {name: g for name, g in gaps.items() if g} == {}


async def assert_engine_agrees(client: Client, store: Store, batch_id: str, count: int) -> None:
    """The read model's counts are the engine's: reconcile (which queries the workflows) finds no drift."""
    report = await reconcile(client, store, batch_id=batch_id, repair=False)
    assert report.jobs_checked == count
    assert not report.unreachable, report.unreachable
    assert report.drift == [], report.drift
    progress = store.batch_progress(batch_id)
    assert sum(progress["counts"].values()) == count


def pipeline_rows(sandbox_url: str, count: int, keep=lambda row: True, mutate=lambda row: None) -> BatchInput:
    """`count` plain restaurants (the whole pipeline): the demo's rows for which `keep(row)` holds."""
    rows = [row for row in demo_pipeline_batch(count * 3, sandbox_url)["restaurants"] if keep(row)][:count]
    assert len(rows) == count
    for row in rows:
        mutate(row)
    return parse_batch(json.dumps({"name": "reliability", "restaurants": rows}))


def step_status(job: dict[str, Any], number: int) -> str:
    return job["steps"].get(str(number), {}).get("status", "pending")


def waiting_at(progress: dict[str, Any], number: int) -> list[str]:
    return [j["job_id"] for j in progress["jobs"] if step_status(j, number) == "action_required"]


def api_client(port: int, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}, timeout=60
    )


def process_settings(store: Store, sandbox, tmp_path: Path, **overrides: Any) -> Settings:
    """Settings of worker and API processes: the whole pipeline against `sandbox`."""
    return settings_for(
        store,
        sandbox,
        tmp_path,
        **(sandbox_settings(sandbox.url) | {"platform_concurrency": 12, "lease_ttl_seconds": 3} | overrides),
    )


# -- 1. seeded downstream faults ----------------------------------------------------------------------------


async def test_seeded_faults_are_absorbed_and_scripted_failures_wait_for_a_person(client, store, tmp_path):
    retry_after = 1.0
    knobs = dict(
        seed=20240605,
        fault_rate_5xx=0.10,
        fault_rate_429=0.05,
        fault_rate_timeout=0.03,
        retry_after_seconds=retry_after,
        # Longer than the engine's 3 s call timeout (so the answer is really lost), short for shutdown.
        hang_seconds=4.0,
    )
    with own_sandbox(**knobs) as sandbox:
        # The platform's 429s carry Retry-After (checked once, outside the batch).
        fault(sandbox, "configure-services", "429", restaurant_id="probe")
        probe = httpx.post(
            f"{sandbox.url}/api/registration/configure-services",
            json={"restaurantId": "probe"},
            headers={"X-Service-Key": "sandbox-service-key", "X-Organisation-ID": "probe"},
        )
        assert probe.status_code == 429 and probe.headers["Retry-After"] == "1"

        # Enough attempts that transient faults are absorbed (8 faults in a row: ~1e-6 per call).
        settings = settings_for(store, sandbox, tmp_path, retry_attempts=8)
        batch_id, job_ids = create(store, batch_of(COUNT))
        menu_refused = job_ids[0:COUNT:8]  # a menu import "with warnings" imported nothing: a failure
        website_warned = job_ids[1:COUNT:8]  # a website "with warnings" is done: completed, visibly
        for job_id in menu_refused:
            fault(sandbox, "import-menu-direct", "success_false", restaurant_id=job_id)
        for job_id in website_warned:
            fault(sandbox, "configure-website", "success_false", restaurant_id=job_id)

        started = time.monotonic()
        async with worker(client, store, settings):
            await launch(client, store, settings, batch_id)
            progress = await wait_until(store, batch_id, all_settled_and_idle, timeout=90)
            first_pass = time.monotonic() - started

            by_id = {j["job_id"]: j for j in progress["jobs"]}
            for job_id in job_ids:
                job, sub = by_id[job_id], by_id[job_id]["sub_steps"]
                if job_id in menu_refused:
                    assert job["status"] == "action_required", job
                    assert sub["menuImport"]["status"] == "failed"
                    assert "success: false" in sub["menuImport"]["error"]
                    assert sub["optionSets"]["status"] == sub["itemTags"]["status"] == "pending"
                    others = {
                        k: s["status"]
                        for k, s in sub.items()
                        if k not in ("menuImport", "optionSets", "itemTags")
                    }
                    assert set(others.values()) == {"completed"}, others
                else:
                    assert job["status"] == "completed", job
                    assert {s["status"] for s in sub.values()} == {"completed"}, sub
                if job_id in website_warned:
                    assert "completed with warnings" in sub["websiteConfig"]["warning"]

            log = post_calls(sandbox)
            faults = Counter(c["fault"] for c in log if c["fault"])
            for kind in ("503", "429", "timeout"):
                assert faults[kind] >= 1, faults  # the seed produced every kind of transient fault

            by_key: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for c in sorted(log, key=lambda c: c["seq"]):
                by_key[c["idempotency_key"]].append(c)
            # 429: the retry came no sooner than Retry-After, although the scaled backoff is ~0.05 s.
            waits = []
            for attempts in by_key.values():
                for answered, retry in zip(attempts, attempts[1:], strict=False):
                    if answered["status_code"] == 429:
                        waits.append(retry["started_at"] - answered["finished_at"])
            assert waits and min(waits) >= retry_after * 0.95, waits
            # A timeout after the side effect: the retry got the stored answer, nothing ran twice.
            lost_answers = [
                (key, attempts)
                for key, attempts in by_key.items()
                if any(c["fault"] == "timeout" for c in attempts)
            ]
            replayed_after_timeout = 0
            for key, attempts in lost_answers:
                first = next(i for i, c in enumerate(attempts) if c["fault"] == "timeout")
                later = attempts[first + 1 :]
                assert all(c["replayed"] or c["status_code"] >= 400 for c in later), (key, later)
                replayed_after_timeout += any(c["replayed"] for c in later)
            assert replayed_after_timeout >= 1, lost_answers
            assert_no_duplicates(sandbox, job_ids)

            # A person retries the refused imports (a new idempotency key); everything completes.
            for job_id in menu_refused:
                await decide(client, store, job_id, "retry", "menuImport", actor="ops", reason="menu fixed")
            progress = await wait_until(store, batch_id, all_completed, timeout=60)
            assert progress["status"] == "completed"

            world = assert_no_duplicates(sandbox, job_ids)
            assert all(world["restaurants"][j]["menu_imports"] == 1 for j in job_ids)
            for job_id in menu_refused:
                keys = [
                    c["idempotency_key"]
                    for c in calls(sandbox, restaurant_id=job_id, endpoint="import-menu-direct")
                ]
                assert keys[0] == f"{job_id}/menuImport/0" and set(keys[1:]) == {f"{job_id}/menuImport/1"}
                retries = [e for e in store.events(job_id=job_id) if e.kind == "sub_step_retry"]
                assert [(e.actor, e.sub_step) for e in retries] == [("ops", "menuImport")]
            assert_audit_complete(store, progress)
            await assert_engine_agrees(client, store, batch_id, COUNT)
        print(
            f"\nfaults: {dict(faults)} over {len(log)} calls; 429 waits >= {min(waits):.2f} s; "
            f"{replayed_after_timeout} lost answers replayed; first pass {first_pass:.1f} s"
        )


# -- 2. the API killed while it handles a bulk approval ------------------------------------------------------

NEEDS_CHOICE = ("Golden Dragon", "Taco Loco")  # no registry match / two level matches: a person chooses


async def test_api_killed_during_bulk_approve_then_repeated_approves_each_restaurant_once(
    dev_server, client, world, store, tmp_path
):
    settings = process_settings(store, world, tmp_path)
    batch = pipeline_rows(world.url, COUNT, lambda row: not row["name"].startswith(NEEDS_CHOICE))
    batch_id, job_ids = create(store, batch)
    token = store.create_token(ORG, "reliability")
    log = tmp_path / "api.log"
    port = free_port()
    api = spawn_api(settings, dev_server.address, port, log)
    try:
        async with worker(client, store, settings):
            await wait_ready(f"http://127.0.0.1:{port}", api, log)
            async with api_client(port, token) as http:
                (await http.post(f"/api/batches/{batch_id}/start")).raise_for_status()
                await wait_until(store, batch_id, lambda p: len(waiting_at(p, 5)) == COUNT, timeout=60)

                # Approve all, and kill -9 the API once the first approval has reached a workflow.
                request = asyncio.create_task(http.post(f"/api/batches/{batch_id}/approve-all"))
                deadline = time.monotonic() + 30
                while not any(e.kind == "config_approve" for e in store.events(batch_id=batch_id)):
                    assert not request.done(), "the request ended before any approval was recorded"
                    assert time.monotonic() < deadline, "no approval was recorded"
                    await asyncio.sleep(0.01)
                api.kill()
                api.wait()
                with pytest.raises(httpx.HTTPError):
                    await request  # the answer never came
            await asyncio.sleep(1.0)  # approvals already sent to workflows land in the audit log
            approved_before = {
                e.job_id for e in store.events(batch_id=batch_id) if e.kind == "config_approve"
            }
            assert 0 < len(approved_before) < COUNT, len(approved_before)

            port = free_port()
            api = spawn_api(settings, dev_server.address, port, log)
            await wait_ready(f"http://127.0.0.1:{port}", api, log)
            async with api_client(port, token) as http:
                response = await http.post(f"/api/batches/{batch_id}/approve-all")
                response.raise_for_status()
                outcomes = response.json()
            # Approved before the kill: refused now ("no config review is awaited"), or no longer listed.
            accepted = {job_id for job_id, outcome in outcomes.items() if "accepted" in outcome}
            assert not accepted & approved_before, outcomes
            progress = await wait_until(store, batch_id, all_completed, timeout=90)

            assert_no_duplicates(world, job_ids)
            actors = set()
            for job in progress["jobs"]:
                approvals = [e for e in store.events(job_id=job["job_id"]) if e.kind == "config_approve"]
                assert len(approvals) == 1, approvals
                actor = approvals[0].actor
                assert actor.startswith(PEOPLE_VIA_API) and approvals[0].created_at is not None
                assert store.config_review(job["job_id"])["approved_by"] == actor
                assert job["steps"]["5"]["reason"] == f"Approved by {actor}", job["steps"]["5"]
                actors.add(actor)
            assert len(actors) == 1, actors  # one caller, before and after the restart
            assert_audit_complete(store, progress, pipeline=True)
            await assert_engine_agrees(client, store, batch_id, COUNT)
    finally:
        code = stop(api)
    assert code == 0, log.read_text()[-3000:]
    print(f"\n{len(approved_before)} of {COUNT} approved when the API was killed; the rest after its restart")


# -- 3. everything restarted with a batch half done and choices pending -------------------------------------

PEOPLES_DECISIONS = ("config_approve", "companySelection_choose", "companySelection_no_company")


async def test_restart_of_worker_api_and_temporal_with_choices_pending(world, store, tmp_path):
    data_dir, temporal_port = tmp_path / "temporal", free_port()
    server = await start_dev_server(data_dir, temporal_port)
    settings = process_settings(store, world, tmp_path)

    def no_company_number(row: dict[str, Any]) -> None:
        row.pop("companyNumber", None)  # Pizza Palace CBD: two companies ranked level, a person chooses

    # 16 restaurants with one clear company; 8 where a person must choose (Pizza Palace, Taco Loco: level
    # matches; Golden Dragon: none).
    batch_id, job_ids = create(store, pipeline_rows(world.url, COUNT, mutate=no_company_number))
    token = store.create_token(ORG, "reliability")
    worker_log, api_log = tmp_path / "worker.log", tmp_path / "api.log"
    processes = []

    def start_services(api_port: int) -> None:
        processes[:] = [
            spawn_worker(settings, server.address, worker_log),
            spawn_api(settings, server.address, api_port, api_log),
        ]

    try:
        port = free_port()
        start_services(port)
        await wait_ready(f"http://127.0.0.1:{port}", processes[1], api_log)
        async with api_client(port, token) as http:
            (await http.post(f"/api/batches/{batch_id}/start")).raise_for_status()
            progress = await wait_until(
                store, batch_id, lambda p: len(waiting_at(p, 3)) + len(waiting_at(p, 5)) == COUNT, timeout=60
            )
            choosing = waiting_at(progress, 3)
            assert 4 <= len(choosing) <= COUNT // 2, choosing
            (await http.post(f"/api/batches/{batch_id}/approve-all")).raise_for_status()
        running = COUNT - len(choosing)

        # Half of the approved restaurants' calls done, people's company choices pending: kill everything.
        half = running * CALLS_PER_RESTAURANT // 2
        await wait_until(store, batch_id, lambda p: completed_calls(p) >= half, timeout=60)
        for process in processes:
            process.kill()
        server.kill()
        for process in processes:
            process.wait()
        before = store.batch_progress(batch_id)
        assert completed_calls(before) < running * CALLS_PER_RESTAURANT, "the kill came too late"
        assert sorted(waiting_at(before, 3)) == sorted(choosing)

        server = await start_dev_server(data_dir, temporal_port)  # same SQLite file, same port
        port = free_port()
        start_services(port)
        await wait_ready(f"http://127.0.0.1:{port}", processes[1], api_log)
        async with api_client(port, token) as http:
            for job_id in choosing:
                candidates = store.candidates(job_id)
                answer = (
                    {"action": "choose", "number": candidates[0]["number"], "reason": "trades under it"}
                    if candidates
                    else {"action": "no_company", "reason": "a sole trader"}
                )
                (await http.post(f"/api/jobs/{job_id}/company", json=answer)).raise_for_status()
            await wait_until(store, batch_id, lambda p: len(waiting_at(p, 5)) == len(choosing), timeout=60)
            outcomes = (await http.post(f"/api/batches/{batch_id}/approve-all")).raise_for_status().json()
            assert sorted(outcomes) == sorted(choosing) and all("accepted" in o for o in outcomes.values())
            progress = await wait_until(store, batch_id, all_completed, timeout=90)

        assert_no_duplicates(world, job_ids)
        for job_id in job_ids:
            decided = [e for e in store.events(job_id=job_id) if e.kind in PEOPLES_DECISIONS]
            assert all(e.actor.startswith(PEOPLE_VIA_API) for e in decided), decided
            kinds = Counter(e.kind for e in decided)
            choices = kinds["companySelection_choose"] + kinds["companySelection_no_company"]
            assert kinds["config_approve"] == 1 and choices == int(job_id in choosing), kinds
        assert_audit_complete(store, progress, pipeline=True)
        client = await Client.connect(server.address)
        await assert_engine_agrees(client, store, batch_id, COUNT)
    finally:
        codes = [stop(process) for process in processes]
        server.stop()
    assert codes == [0, 0], (worker_log.read_text()[-2000:], api_log.read_text()[-2000:])
    done = completed_calls(before)
    print(f"\n{len(choosing)} choices pending, {done} of {running * 12} calls done at the kill")


# -- 4. graceful shutdown ------------------------------------------------------------------------------------


async def test_sigterm_lets_calls_in_flight_finish_and_a_second_worker_takes_over(
    dev_server, client, store, tmp_path
):
    grace = 10.0
    # Calls of 0.3-2.2 s (website configuration the longest), well inside the engine's timeouts at twice
    # the usual scale (website: 6 s), so that none times out on a busy machine and is sent again.
    with own_sandbox(time_scale=0.01) as sandbox:
        settings = settings_for(
            store,
            sandbox,
            tmp_path,
            time_scale=2 * ENGINE_SCALE,
            platform_concurrency=12,
            lease_ttl_seconds=3,
        )
        batch_id, job_ids = create(store, batch_of(COUNT))
        log = tmp_path / "worker.log"
        first = spawn_worker(settings, dev_server.address, log, YOLOBATCH_SHUTDOWN_GRACE_SECONDS=str(grace))
        try:
            await launch(client, store, settings, batch_id)
            deadline = time.monotonic() + 60
            while True:
                log_now = post_calls(sandbox)
                running = [c for c in log_now if c["finished_at"] is None]
                # Past the start, with long calls (website, registration...) among those in flight.
                if len(log_now) - len(running) >= 40 and len(running) >= 6:
                    break
                assert time.monotonic() < deadline, f"no calls in flight: {len(log_now)} calls"
                await asyncio.sleep(0.02)
            signalled = time.time()
            first.send_signal(signal.SIGTERM)
            code = await asyncio.to_thread(first.wait, grace + 5)
            exited = time.time()
        finally:
            stop(first, 5)
        assert code == 0, log.read_text()[-3000:]
        assert exited - signalled < grace, exited - signalled

        after = {c["seq"]: c for c in calls(sandbox)}
        progress = store.batch_progress(batch_id)
        assert not all_completed(progress), "SIGTERM came too late to prove anything"
        by_id = {j["job_id"]: j for j in progress["jobs"]}
        for call in running:
            done = after[call["seq"]]
            job_id, key, generation = call["idempotency_key"].split("/")
            # Finished and answered before the worker exited, and recorded by it...
            assert done["status_code"] == 200 and done["finished_at"] <= exited, done
            sub = by_id[job_id]["sub_steps"][key]
            assert sub["status"] == "completed" and sub["attempts"] == 1, (key, sub)
        # ...so never sent again: one execution per key, no replay of an abandoned call.
        in_flight_keys = {c["idempotency_key"] for c in running}
        sent = Counter(c["idempotency_key"] for c in after.values() if is_platform_call(c))
        assert {k: sent[k] for k in in_flight_keys if sent[k] != 1} == {}

        async with worker(client, store, settings):
            progress = await wait_until(store, batch_id, all_completed, timeout=90)
            assert_no_duplicates(sandbox, job_ids)
            final_log = post_calls(sandbox)
            sent = Counter(c["idempotency_key"] for c in final_log)
            assert {k: n for k, n in sent.items() if n != 1} == {}  # no fault, no crash: nothing sent twice
            # No new work was taken after SIGTERM: a call whose dependencies finished only after SIGTERM was
            # scheduled after it, so the first worker must have left it to the second (started after exit).
            unblocked = became_ready_between(final_log, signalled, exited)
            assert unblocked, "no call became ready during the shutdown: nothing shows new work was refused"
            taken = [c for c in unblocked if c["started_at"] < exited]
            assert taken == [], taken
            assert_audit_complete(store, progress)
            await assert_engine_agrees(client, store, batch_id, COUNT)
        print(
            f"\n{len(running)} calls in flight at SIGTERM; the worker exited after "
            f"{exited - signalled:.2f} s; {len(unblocked)} calls they unblocked waited for the second"
        )


def became_ready_between(call_log, start: float, end: float) -> list[dict[str, Any]]:
    """The calls whose last dependency's call finished between `start` and `end` (wall clock)."""
    first_calls: dict[tuple[str, str], dict[str, Any]] = {}
    for call in sorted((c for c in call_log if is_platform_call(c)), key=lambda c: c["seq"]):
        job_id, key, _ = call["idempotency_key"].split("/")
        first_calls.setdefault((job_id, key), call)
    ready_late = []
    for (job_id, key), call in first_calls.items():
        needs = [first_calls.get((job_id, need.value)) for need in SPECS[SubStep(key)].needs]
        if needs and all(needs) and start < max(n["finished_at"] for n in needs) <= end:
            ready_late.append(call)
    return ready_late
