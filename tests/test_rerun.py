"""Run again (issue 17 item 1): a finished restaurant's completed call runs once more, as a new generation
with a new idempotency key, audited with who and why. The sandbox's call log is the proof: exactly one new
call per call re-run, and nothing else sent."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from dataclasses import dataclass

import httpx
import pytest
from playwright.async_api import expect
from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    StartWorkflowInput,
    WorkflowExecutionStatus,
    WorkflowHandle,
)
from temporalio.service import RPCError, RPCStatusCode

from tests.conftest import batch_of, database_urls, make_store, settings_for
from tests.engine_helpers import all_settled, calls, create, fault, launch, wait_until, worker
from tests.test_api import serving
from tests.test_installations import _wait_for, finish, start, user_env
from tests.web_helpers import ORG as WEB_ORG
from tests.web_helpers import chromium, log_in, shot
from tests.web_helpers import serving as web_serving
from yolobatch.cli import sandbox_settings
from yolobatch.devtools.demo import demo_batch
from yolobatch.engine.contracts import rerun_workflow_id
from yolobatch.engine.devserver import free_port
from yolobatch.engine.reconcile import reconcile
from yolobatch.http.context import AppContext
from yolobatch.service.rerun import rerun
from yolobatch.settings import Settings
from yolobatch.store.repository import Store

ORG = "test-org"


def posted(world, job_id: str) -> list[dict]:
    return [c for c in calls(world, restaurant_id=job_id) if c["method"] == "POST"]


async def until_job(store, job_id: str, status: str, event: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        job = store.job(job_id)
        kinds = [e.kind for e in store.events(job_id=job_id)]
        if job.status == status and event in kinds:
            return
        assert time.monotonic() < deadline, (job.status, kinds[-5:])
        await asyncio.sleep(0.2)


@dataclass
class Finished:
    http: httpx.AsyncClient
    store: Store
    job_id: str
    batch_id: str
    client: Client
    settings: Settings


@pytest.fixture(params=database_urls())
async def registered(request, dev_server, world, tmp_path):
    """A restaurant registered end to end, and the API (over HTTP) with a worker running."""
    store = make_store(request.param, tmp_path, schema="yolobatch_rerun")
    client = await Client.connect(dev_server.address)
    settings = settings_for(store, world, tmp_path, **sandbox_settings(world.url))
    batch_id, (job_id,) = create(store, batch_of(1))
    headers = {"Authorization": f"Bearer {store.create_token(ORG, 'rerun')}"}
    ctx = AppContext(settings=settings, store=store, client=client, sandbox_url=world.url)
    async with worker(client, store, settings), serving(ctx) as base:
        await launch(client, store, settings, batch_id)
        progress = await wait_until(store, batch_id, all_settled)
        assert progress["status"] == "completed", progress
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as http:
            yield Finished(http, store, job_id, batch_id, client, settings)


@pytest.fixture
def finished(registered):
    return registered.http, registered.store, registered.job_id


async def test_a_completed_call_runs_again_once_with_a_new_key_and_is_audited(finished, world):
    http, store, job_id = finished
    before = posted(world, job_id)
    assert f"{job_id}/websiteConfig/0" in {c["idempotency_key"] for c in before}

    # The colours were wrong: revise them, then run the website configuration again.
    revised = await http.patch(
        f"/api/jobs/{job_id}/config", json={"changes": {"website.primaryColor": "#123456"}}
    )
    assert revised.status_code == 200, revised.text
    answer = await http.post(
        f"/api/jobs/{job_id}/rerun", json={"sub_step": "websiteConfig", "reason": "brand colours fixed"}
    )
    assert answer.status_code == 202, answer.text
    assert answer.json()["sub_steps"] == ["websiteConfig"]
    assert answer.json()["generations"] == {"websiteConfig": 1}
    await until_job(store, job_id, "completed", "rerun_completed")

    new = posted(world, job_id)[len(before) :]
    assert [c["idempotency_key"] for c in new] == [f"{job_id}/websiteConfig/1"]  # exactly one new call
    assert "#123456" in str(new[0]["payload"])  # it sent the revised colours
    detail = (await http.get(f"/api/jobs/{job_id}")).json()
    website = detail["sub_steps"]["websiteConfig"]
    assert (website["status"], website["generation"]) == ("completed", 1)
    assert detail["status"] == "completed"

    (audit,) = (await http.get(f"/api/jobs/{job_id}/reruns")).json()
    assert audit["sub_step"] == "websiteConfig" and audit["reason"] == "brand colours fixed"
    assert audit["actor"] == "api:rerun", audit  # the channel and the name of the caller's token
    assert audit["requested_at"] and audit["sub_steps"] == ["websiteConfig"]
    kinds = [e.kind for e in store.events(job_id=job_id)]
    assert kinds.index("rerun_requested") < kinds.index("rerun_started") < kinds.index("rerun_completed")


async def test_with_dependents_every_completed_dependent_runs_again_once(finished, world):
    http, store, job_id = finished
    before = posted(world, job_id)
    answer = await http.post(
        f"/api/jobs/{job_id}/rerun",
        json={"sub_step": "menuImport", "with_dependents": True, "reason": "menu prices fixed"},
    )
    assert answer.status_code == 202, answer.text
    again = answer.json()["sub_steps"]
    assert again[0] == "menuImport" and set(again) > {"menuImport"}, again  # its dependents ran first time
    await until_job(store, job_id, "completed", "rerun_completed")
    new = posted(world, job_id)[len(before) :]
    assert sorted(c["idempotency_key"] for c in new) == sorted(f"{job_id}/{key}/1" for key in again)


async def until_reruns_settled(store, job_id: str, status: str, count: int, timeout: float = 60) -> None:
    """Wait until `count` re-runs of the job ended (completed, failed or cancelled) and it is `status`."""
    ends = ("rerun_completed", "rerun_failed", "rerun_cancelled")
    deadline = time.monotonic() + timeout
    while True:
        job = store.job(job_id)
        ended = [e.kind for e in store.events(job_id=job_id) if e.kind in ends]
        if job.status == status and len(ended) >= count:
            return
        assert time.monotonic() < deadline, (job.status, ended)
        await asyncio.sleep(0.2)


def website_keys(world, job_id: str) -> list[str]:
    return [c["idempotency_key"] for c in posted(world, job_id) if "/websiteConfig/" in c["idempotency_key"]]


async def run_again(http: httpx.AsyncClient, job_id: str, sub_step: str, **extra) -> dict:
    answer = await http.post(
        f"/api/jobs/{job_id}/rerun", json={"sub_step": sub_step, "reason": "fixed", **extra}
    )
    assert answer.status_code == 202, answer.text
    return answer.json()


async def test_reconcile_keeps_what_a_rerun_did_and_the_pace_keeps_the_first_completion(registered, world):
    """Review R1/R7: after a re-run the closed onboarding workflow still says generation 0; the re-run's
    workflow is the newer truth, so reconcile finds nothing to repair and the next re-run sends a new key.
    The batch's pace still shows the restaurant completing when it first did."""
    f = registered
    first_completed = f.store.batch_pace(f.batch_id, ORG).completions
    assert len(first_completed) == 1
    assert (await run_again(f.http, f.job_id, "websiteConfig"))["generations"] == {"websiteConfig": 1}
    await until_reruns_settled(f.store, f.job_id, "completed", 1)

    report = await reconcile(f.client, f.store, batch_id=f.batch_id)
    assert (report.drift, report.unreachable, report.repaired) == ([], {}, 0)
    assert f.store.sub_step(f.job_id, "websiteConfig").generation == 1

    assert (await run_again(f.http, f.job_id, "websiteConfig"))["generations"] == {"websiteConfig": 2}
    await until_reruns_settled(f.store, f.job_id, "completed", 2)
    keys = [
        c["idempotency_key"] for c in posted(world, f.job_id) if "/websiteConfig/" in c["idempotency_key"]
    ]
    assert keys == [f"{f.job_id}/websiteConfig/{generation}" for generation in (0, 1, 2)]
    assert not any(c.get("replayed") for c in calls(world, restaurant_id=f.job_id))  # each one really ran
    assert f.store.batch_pace(f.batch_id, ORG).completions == first_completed


async def test_a_running_rerun_is_left_alone_by_reconcile_and_cancelled_with_its_restaurant(
    registered, world
):
    """Review R1/R5: while a re-run's call is in flight the restaurant is running (not the closed
    onboarding's `completed`); cancelling the restaurant cancels the re-run, and its call shows cancelled."""
    f = registered
    fault(world, "configure-website", "timeout", restaurant_id=f.job_id)  # the answer never comes
    await run_again(f.http, f.job_id, "websiteConfig")
    deadline = time.monotonic() + 30
    while f.store.sub_step(f.job_id, "websiteConfig").status != "running":
        assert time.monotonic() < deadline, f.store.sub_step(f.job_id, "websiteConfig").status
        await asyncio.sleep(0.1)

    during = await reconcile(f.client, f.store, batch_id=f.batch_id, settle_seconds=0)
    assert (during.drift, during.repaired) == ([], 0)
    assert f.store.job(f.job_id).status == "running"

    cancelled = await f.http.post(f"/api/jobs/{f.job_id}/cancel", json={"reason": "wrong restaurant"})
    assert cancelled.status_code == 200, cancelled.text
    await until_reruns_settled(f.store, f.job_id, "cancelled", 1)
    website = f.store.sub_step(f.job_id, "websiteConfig")
    assert (website.status, website.generation) == ("cancelled", 1)
    (rerun_id,) = f.store.rerun_ids(f.job_id)
    described = await f.client.get_workflow_handle(rerun_workflow_id(rerun_id)).describe()
    assert described.status == WorkflowExecutionStatus.CANCELED
    after = await reconcile(f.client, f.store, batch_id=f.batch_id)
    assert (after.drift, after.unreachable) == ([], {})


async def test_a_failed_rerun_leaves_the_calls_that_depend_on_it_pending_not_completed(registered, world):
    """Review R5: menuImport fails on its re-run; its dependents were not sent again, so they must not keep
    reading `completed` (their old run's result) as if re-run: they are pending at the new generation."""
    f = registered
    fault(world, "import-menu-direct", "success_false", restaurant_id=f.job_id)
    again = (await run_again(f.http, f.job_id, "menuImport", with_dependents=True))["sub_steps"]
    assert again == ["menuImport", "optionSets", "itemTags"], again
    await until_reruns_settled(f.store, f.job_id, "action_required", 1)
    rows = {key: f.store.sub_step(f.job_id, key) for key in again}
    assert (rows["menuImport"].status, rows["menuImport"].generation) == ("failed", 1)
    for key in ("optionSets", "itemTags"):
        assert (rows[key].status, rows[key].generation) == ("pending", 1), key
    sent = [c["idempotency_key"] for c in posted(world, f.job_id)]
    assert not any(key.endswith(("/optionSets/1", "/itemTags/1")) for key in sent), sent
    report = await reconcile(f.client, f.store, batch_id=f.batch_id)
    assert (report.drift, report.unreachable) == ([], {})

    # Its onboarding workflow has ended: a retry is refused saying what to do instead (was "no workflow").
    retry = await f.http.post(f"/api/jobs/{f.job_id}/steps/menuImport/retry", json={"reason": "x"})
    assert retry.status_code == 409 and "run it again" in retry.json()["detail"], retry.text
    # Run again alone, menuImport would leave its dependents pending under a completed restaurant: refused.
    alone = await f.http.post(f"/api/jobs/{f.job_id}/rerun", json={"sub_step": "menuImport", "reason": "x"})
    assert alone.status_code == 409 and "optionSets, itemTags did not run again" in alone.json()["detail"]
    # With its dependents, the waiting ones go with it, each sent once under a fresh key.
    again = (await run_again(f.http, f.job_id, "menuImport", with_dependents=True))["sub_steps"]
    assert again == ["menuImport", "optionSets", "itemTags"], again
    await until_reruns_settled(f.store, f.job_id, "completed", 2)
    for key in again:
        row = f.store.sub_step(f.job_id, key)
        assert (row.status, row.generation) == ("completed", 2), key
    sent = [c["idempotency_key"] for c in posted(world, f.job_id)]
    assert [k for k in sent if k.endswith("/2")] == [f"{f.job_id}/{key}/2" for key in again], sent


class LostAnswer(Interceptor):
    """The engine's answer to a start is lost: before the request reaches it (`before`) or after it
    accepted the start (`after`), as a deadline or a dropped connection does."""

    def __init__(self, when: str) -> None:
        self.when = when

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        when = self.when

        class Outbound(OutboundInterceptor):
            async def start_workflow(self, input: StartWorkflowInput) -> WorkflowHandle:
                if when == "after":
                    await super().start_workflow(input)
                raise RPCError("deadline exceeded", RPCStatusCode.DEADLINE_EXCEEDED, b"")

        return Outbound(next)


async def test_an_ambiguous_start_keeps_the_rerun_and_a_refused_one_restores_the_restaurant(
    registered, world, dev_server
):
    """Review R4: the re-run's start may fail after the engine accepted it; the restaurant must not go back
    to completed while its re-run runs. A start that never reached the engine restores the restaurant as
    it was, finished time included."""
    f = registered
    before = f.store.job(f.job_id)
    accepted = await Client.connect(dev_server.address, interceptors=[LostAnswer("after")])
    started = await rerun(
        accepted,
        f.store,
        f.settings,
        f.job_id,
        "websiteConfig",
        with_dependents=False,
        reason="colours",
        actor="test",
    )
    assert started.generations == {"websiteConfig": 1}
    await until_reruns_settled(f.store, f.job_id, "completed", 1)
    assert website_keys(world, f.job_id) == [f"{f.job_id}/websiteConfig/0", f"{f.job_id}/websiteConfig/1"]

    finished_at = f.store.job(f.job_id).finished_at
    assert finished_at is not None and finished_at != before.finished_at
    lost = await Client.connect(dev_server.address, interceptors=[LostAnswer("before")])
    with pytest.raises(RPCError):
        await rerun(
            lost,
            f.store,
            f.settings,
            f.job_id,
            "websiteConfig",
            with_dependents=False,
            reason="colours",
            actor="test",
        )
    restored = f.store.job(f.job_id)
    assert (restored.status, restored.finished_at) == ("completed", finished_at)
    assert len(f.store.rerun_ids(f.job_id)) == 2  # the audit keeps the request that failed
    # The abandoned re-run changed nothing: the completed one is the newest truth.
    report = await reconcile(f.client, f.store, batch_id=f.batch_id)
    assert (report.drift, report.unreachable) == ([], {})


async def test_a_rerun_is_refused_without_a_reason_for_an_unknown_call_or_an_unfinished_restaurant(
    finished,
):
    http, store, job_id = finished
    url = f"/api/jobs/{job_id}/rerun"
    no_reason = await http.post(url, json={"sub_step": "websiteConfig", "reason": ""})
    assert no_reason.status_code == 422
    unknown = await http.post(url, json={"sub_step": "everything", "reason": "why not"})
    assert unknown.status_code == 422
    # A restaurant that has not finished: its failed calls are retried, not re-run.
    _, (pending,) = create(store, batch_of(1))
    refused = await http.post(f"/api/jobs/{pending}/rerun", json={"sub_step": "websiteConfig", "reason": "x"})
    assert refused.status_code == 409 and "pending" in refused.json()["detail"], refused.text
    assert store.reruns(pending) == [] and store.job(pending).status == "pending"


async def test_a_call_that_creates_or_that_its_rule_skips_is_not_run_again(finished, world):
    """Review R2: a create call under a new key would make a second account or restaurant; a call its rule
    skips now (disabled in a revised config) has nothing to send. Both refused, naming why; nothing sent."""
    http, store, job_id = finished
    url, before = f"/api/jobs/{job_id}/rerun", posted(world, job_id)
    for key in ("cloudwaitressAccount", "restaurantRegistration", "createOnboardingUser"):
        refused = await http.post(url, json={"sub_step": key, "reason": "again"})
        assert refused.status_code == 409 and "second one" in refused.json()["detail"], refused.text
    # The website is now done by hand: the revised config disables the call, so a re-run has nothing to do.
    store.edit_config(job_id, {"stepsEnabled.websiteConfig": False}, "test")
    rule = await http.post(url, json={"sub_step": "websiteConfig", "reason": "again"})
    assert rule.status_code == 409, rule.text
    assert "would be skipped now (Disabled in config)" in rule.json()["detail"]
    assert store.reruns(job_id) == [] and store.job(job_id).status == "completed"
    assert posted(world, job_id) == before


async def test_the_cli_reruns_a_call_of_a_finished_restaurant_on_the_running_engine(tmp_path):
    """`yolobatch rerun` against `yolobatch up`, as an operator types it: one new call in the sandbox."""
    data_dir, port, log = tmp_path / "data", free_port(), tmp_path / "up.log"
    up = ["up", "--sandbox", "--time-scale", "0.01", "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "yolobatch", *up],
            env=user_env(data_dir),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        await _wait_for(lambda: "Ctrl-C stops everything" in log.read_text(), process, log)
        token = (data_dir / "local-token").read_text().strip()
        async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"}) as api:
            created = await api.post("/api/batches", json={**demo_batch(1), "start": True})
            assert created.status_code == 201, created.text
            batch_id = created.json()["batch_id"]
            job_id = await _first_job_when_done(api, batch_id)
            log_url = f"{base}/sandbox/_sandbox/calls"
            admin = {"X-Sandbox-Admin-Token": (data_dir / "sandbox-admin-token").read_text().strip()}
            query = {"restaurant_id": job_id}
            before = (await api.get(log_url, params=query, headers=admin)).json()

            no_reason = start(data_dir, "rerun", job_id, "websiteConfig")
            code, out, err = await asyncio.to_thread(finish, no_reason)
            assert code == 1 and "reason is required" in out + err, out + err
            rerun = start(data_dir, "rerun", job_id, "websiteConfig", "--reason", "colours fixed")
            code, out, err = await asyncio.to_thread(finish, rerun)
            assert code == 0, out + err
            assert "websiteConfig (generation 1)" in out + err, out + err
            await _first_job_when_done(api, batch_id, event="rerun_completed")
            after = (await api.get(log_url, params=query, headers=admin)).json()
            new = [c["idempotency_key"] for c in after[len(before) :] if c["method"] == "POST"]
            assert new == [f"{job_id}/websiteConfig/1"]
            (audit,) = (await api.get(f"/api/jobs/{job_id}/reruns")).json()
            assert (audit["actor"], audit["reason"]) == ("cli", "colours fixed")
    finally:
        process.terminate()
        process.wait(60)


async def _first_job_when_done(api: httpx.AsyncClient, batch_id: str, event: str | None = None) -> str:
    deadline = time.monotonic() + 120
    while True:
        detail = (await api.get(f"/api/batches/{batch_id}")).json()
        job = detail["jobs"][0]
        done = detail["status"] == "completed"
        if done and event:
            audit = (await api.get(f"/api/jobs/{job['job_id']}")).json()["events"]
            done = any(entry["kind"] == event for entry in audit)
        if done:
            return job["job_id"]
        assert time.monotonic() < deadline, detail["status"]
        await asyncio.sleep(0.3)


@pytest.fixture
async def dash(dev_server, world, store, tmp_path):
    client = await Client.connect(dev_server.address)
    settings = settings_for(store, world, tmp_path, **sandbox_settings(world.url))
    async with web_serving(client, store, settings, world) as running:
        yield running


async def test_the_drawer_runs_a_call_again_with_a_reason(dash, world):
    store = dash.store
    batch_id = store.create_batch(WEB_ORG, "drawer", batch_of(1).restaurants)
    (job_id,) = [j.job_id for j in store.job_summaries(batch_id)]
    async with chromium() as browser:
        page = await (await browser.new_context(viewport={"width": 1280, "height": 900})).new_page()
        await log_in(page, dash)
        await page.goto(f"{dash.url}/batches/{batch_id}")
        await page.get_by_role("button", name="Start batch").click()
        await wait_until(store, batch_id, all_settled)
        before = posted(world, job_id)

        await page.goto(f"{dash.url}/batches/{batch_id}")
        await page.locator("tr.row").get_by_role("link").first.click()
        call = page.locator("#drawer details.call", has_text="websiteConfig")
        await call.locator("summary").click()
        await call.get_by_role("button", name="Run again").click()  # no reason: the browser asks for one
        assert store.reruns(job_id) == []
        await call.get_by_placeholder("Why it runs again (required)").fill("logo replaced")
        await shot(page, "drawer-rerun")
        await call.get_by_role("button", name="Run again").click()
        await expect(page.locator("#drawer .flash.ok")).to_contain_text("Running again: websiteConfig")
        await until_job(store, job_id, "completed", "rerun_completed")

    new = posted(world, job_id)[len(before) :]
    assert [c["idempotency_key"] for c in new] == [f"{job_id}/websiteConfig/1"]
    (audit,) = store.reruns(job_id)
    assert (audit.actor, audit.reason) == ("dashboard:dashboard-test", "logo replaced")


def test_on_the_original_service_a_call_that_adds_rather_than_sets_is_not_run_again():
    """The original service has no idempotency keys and adds a second payment method, option sets and tags
    when sent again; the contract platform's calls set state, so a re-run after a fix is what it is for."""
    from types import SimpleNamespace

    from yolobatch.domain.plan import PLAN, SubStep
    from yolobatch.service.rerun import _why_not

    rows = {spec.key.value: SimpleNamespace(status="completed", response={}) for spec in PLAN}
    config = demo_batch(1)["restaurants"][0]["config"]
    payment = SubStep.PAYMENT_CONFIG
    assert "a second payment method" in (_why_not(payment, rows, {payment}, config, "original") or "")
    assert _why_not(payment, rows, {payment}, config, "contract") is None
    website = SubStep.WEBSITE_CONFIG
    assert _why_not(website, rows, {website}, config, "original") is None  # sets colours: run it again
    rows["codeGeneration"] = SimpleNamespace(status="failed", response=None)
    assert (
        _why_not(website, rows, {website}, config, "contract")
        == "websiteConfig needs codeGeneration, which is failed"
    )
