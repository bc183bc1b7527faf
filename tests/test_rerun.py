"""Run again (issue 17 item 1): a finished restaurant's completed call runs once more, as a new generation
with a new idempotency key, audited with who and why. The sandbox's call log is the proof: exactly one new
call per call re-run, and nothing else sent."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import httpx
import pytest
from playwright.async_api import expect
from temporalio.client import Client

from tests.conftest import batch_of, database_urls, make_store, settings_for
from tests.engine_helpers import all_settled, calls, create, launch, wait_until, worker
from tests.test_api import serving
from tests.test_installations import _wait_for, finish, start, user_env
from tests.web_helpers import ORG as WEB_ORG
from tests.web_helpers import chromium, log_in, shot
from tests.web_helpers import serving as web_serving
from yolobatch.cli import sandbox_settings
from yolobatch.devtools.demo import demo_batch
from yolobatch.engine.devserver import free_port
from yolobatch.http.context import AppContext

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


@pytest.fixture(params=database_urls())
async def finished(request, dev_server, world, tmp_path):
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
            yield http, store, job_id


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
