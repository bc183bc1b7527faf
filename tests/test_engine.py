"""The step-6 engine end to end: real dev server, real database, the sandbox over real HTTP."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest
from temporalio.client import Client

from tests.conftest import batch_of, database_urls, make_store, settings_for
from tests.engine_helpers import (
    all_settled,
    calls,
    create,
    fault,
    launch,
    peak_overlap,
    state,
    sub_step_is,
    wait_until,
    worker,
)
from yolobatch.domain.plan import PLAN
from yolobatch.service.control import DecisionRejected, cancel_job, decide

REGISTRATION_CALLS = 12


@pytest.fixture
async def client(dev_server) -> Client:
    return await Client.connect(dev_server.address)


def _by_endpoint(call_log):
    return Counter(call["endpoint"] for call in call_log)


@pytest.mark.parametrize("db", database_urls())
async def test_batch_registers_every_restaurant_once_in_dependency_order(db, client, world, tmp_path: Path):
    store = make_store(db, tmp_path)
    settings = settings_for(store, world, tmp_path)
    batch_id, job_ids = create(store, batch_of(5))
    async with worker(client, store, settings):
        await launch(client, store, settings, batch_id)
        progress = await wait_until(store, batch_id, all_settled)

    assert progress["status"] == "completed", progress
    for job in progress["jobs"]:
        assert {s["status"] for s in job["sub_steps"].values()} == {"completed"}, job
    assert state(world)["duplicates"] == []
    for job_id in job_ids:
        log = [c for c in calls(world, restaurant_id=job_id) if c["method"] == "POST"]
        assert len(log) == REGISTRATION_CALLS, _by_endpoint(log)
        assert all(c["idempotency_key"].startswith(f"{job_id}/") for c in log)
        at = {c["endpoint"]: c for c in log}
        # True dependencies, no phase barriers: each call starts only after what it needs has finished.
        for later, earlier in [
            ("register-restaurant", "register-account"),
            ("configure-website", "generate-code-injections"),
            ("configure-website", "register-restaurant"),
            ("import-menu-direct", "upload-images"),
            ("update-onboarding-record", "configure-payment"),
            ("update-onboarding-record", "configure-website"),
            ("update-onboarding-record", "create-onboarding-user"),
            ("add-option-sets", "import-menu-direct"),
            ("add-item-tags", "import-menu-direct"),
        ]:
            assert at[later]["started_at"] >= at[earlier]["finished_at"], (later, earlier)
        # ...and not phases: option sets may start before the slow website configuration has finished.
        sync_payload = at["update-onboarding-record"]["payload"]
        assert sync_payload["updates"].get("hostedLogoUrl"), "website result must reach the onboarding sync"
        assert at["register-account"]["payload"]["password"] == "********"  # the sandbox log is redacted

    events = store.events(batch_id=batch_id)
    assert Counter(e.kind for e in events)["job_completed"] == 5


async def test_a_batch_larger_than_the_window_keeps_that_many_restaurants_in_progress(
    client, world, store, tmp_path
):
    """Issue 18: a 10 000-restaurant batch must not start 10 000 workflows at once (each worker caches 1 000;
    beyond that every workflow task replays its history). With a window of 3, 8 restaurants all complete,
    never more than 3 at a time, and the window is used (not one at a time)."""
    settings = settings_for(store, world, tmp_path, active_restaurants=3)
    batch_id, job_ids = create(store, batch_of(8))
    async with worker(client, store, settings):
        await launch(client, store, settings, batch_id)
        progress = await wait_until(store, batch_id, all_settled)

    assert progress["status"] == "completed", progress
    spans = [(store.job(job_id).started_at, store.job(job_id).finished_at) for job_id in job_ids]
    assert all(start and end for start, end in spans), spans
    assert peak_overlap(spans) == 3, spans
    assert state(world)["duplicates"] == []


def test_the_window_is_shared_evenly_by_batches_in_progress(store):
    first, first_jobs = create(store, batch_of(6))
    second, _ = create(store, batch_of(6))
    store.mark_batch_started(first)
    assert store.start_room(first, 4)[0] == 4
    for job_id in first_jobs[:3]:
        store.mark_step_6_started(job_id)
    assert store.start_room(first, 4)[0] == 1
    store.mark_batch_started(second)  # two batches now share the window: 2 each
    assert store.start_room(first, 4)[0] == 0
    assert store.start_room(second, 4)[0] == 1  # only 1 left in the window while the first holds 3
    for job_id in first_jobs[:3]:
        store.record_job(job_id, "action_required")  # waiting for a person: out of the window
    assert store.start_room(first, 4)[0] == 2
    assert store.start_room(second, 4)[0] == 2


async def test_disabled_and_unmet_sub_steps_are_skipped_with_reasons(client, world, store, tmp_path):
    def no_menu_no_onboarding(restaurant):
        restaurant.pop("menu")
        restaurant["config"]["menu"] = {}
        restaurant["config"]["onboarding"] = {"createOnboardingUser": False, "syncOnboardingRecord": False}
        restaurant["config"]["stepsEnabled"] = {"servicesConfig": False}

    settings = settings_for(store, world, tmp_path)
    batch_id, (job_id,) = create(store, batch_of(1, no_menu_no_onboarding))
    async with worker(client, store, settings):
        await launch(client, store, settings, batch_id)
        progress = await wait_until(store, batch_id, all_settled)

    sub = progress["jobs"][0]["sub_steps"]
    assert progress["status"] == "completed"
    assert sub["uploadImages"]["reason"] == "No menu selected or image upload disabled"
    assert sub["menuImport"]["reason"] == "No menu selected"
    assert sub["optionSets"]["reason"] == "Menu import failed or skipped"
    assert sub["createOnboardingUser"]["reason"] == "Onboarding user creation disabled"
    assert sub["syncOnboardingUser"]["reason"] == "Onboarding sync disabled or user not created"
    assert sub["servicesConfig"]["reason"] == "Disabled in config"
    called = set(_by_endpoint(calls(world, restaurant_id=job_id)))
    assert called == {
        "register-account",
        "generate-code-injections",
        "register-restaurant",
        "configure-website",
        "configure-payment",
    }


@pytest.mark.reliability
async def test_transient_failures_are_retried_with_the_same_idempotency_key(client, world, store, tmp_path):
    settings = settings_for(store, world, tmp_path)
    batch_id, (job_a, job_b) = create(store, batch_of(2))
    fault(world, "configure-services", "500", restaurant_id=job_a, times=2)
    fault(world, "register-restaurant", "429", restaurant_id=job_b, retry_after=1)
    fault(world, "configure-payment", "garbage", restaurant_id=job_b)
    async with worker(client, store, settings):
        await launch(client, store, settings, batch_id)
        progress = await wait_until(store, batch_id, all_settled)

    assert progress["status"] == "completed", progress
    services = calls(world, restaurant_id=job_a, endpoint="configure-services")
    assert [c["status_code"] for c in services] == [500, 500, 200]
    assert len({c["idempotency_key"] for c in services}) == 1
    registration = calls(world, restaurant_id=job_b, endpoint="register-restaurant")
    assert [c["status_code"] for c in registration] == [429, 200]
    # Retry-After: 1 s was honoured although the scaled backoff would have retried at once.
    assert registration[1]["started_at"] - registration[0]["finished_at"] >= 0.9
    assert [c["status_code"] for c in calls(world, restaurant_id=job_b, endpoint="configure-payment")] == [
        200,
        200,
    ]
    assert progress["jobs"][0]["sub_steps"]["servicesConfig"]["attempts"] == 3
    assert state(world)["duplicates"] == []


@pytest.mark.reliability
async def test_a_timeout_after_the_side_effect_is_replayed_not_repeated(client, world, store, tmp_path):
    settings = settings_for(store, world, tmp_path)
    batch_id, (job_id,) = create(store, batch_of(1))
    fault(world, "register-restaurant", "timeout", restaurant_id=job_id)
    async with worker(client, store, settings):
        await launch(client, store, settings, batch_id)
        progress = await wait_until(store, batch_id, all_settled)

    assert progress["status"] == "completed"
    log = calls(world, restaurant_id=job_id, endpoint="register-restaurant")
    assert len(log) >= 2 and any(c["replayed"] for c in log)
    assert state(world)["restaurants"][job_id]["registrations"] == 1
    assert state(world)["duplicates"] == []


@pytest.mark.reliability
async def test_success_false_fails_the_step_then_a_person_retries_it(client, world, store, tmp_path):
    settings = settings_for(store, world, tmp_path)
    batch_id, (job_id,) = create(store, batch_of(1))
    fault(world, "import-menu-direct", "success_false", restaurant_id=job_id)
    async with worker(client, store, settings):
        await launch(client, store, settings, batch_id)
        progress = await wait_until(store, batch_id, sub_step_is(0, "menuImport", "failed"))
        progress = await wait_until(store, batch_id, lambda p: p["jobs"][0]["status"] == "action_required")
        assert progress["status"] == "action_required"
        sub = progress["jobs"][0]["sub_steps"]
        assert "success: false" in sub["menuImport"]["error"]
        assert sub["optionSets"]["status"] == "pending" and sub["itemTags"]["status"] == "pending"
        # A body that says it failed is not retried blindly: one call only.
        assert len(calls(world, restaurant_id=job_id, endpoint="import-menu-direct")) == 1

        with pytest.raises(DecisionRejected):
            await decide(client, store, job_id, "retry", "servicesConfig", actor="tester")
        with pytest.raises(DecisionRejected):
            await decide(client, store, job_id, "mark_done", "menuImport", actor="tester")  # no reason
        await decide(client, store, job_id, "retry", "menuImport", actor="tester", reason="menu fixed")
        progress = await wait_until(store, batch_id, all_settled)

    assert progress["status"] == "completed"
    imports = calls(world, restaurant_id=job_id, endpoint="import-menu-direct")
    assert [c["idempotency_key"] for c in imports] == [f"{job_id}/menuImport/0", f"{job_id}/menuImport/1"]
    assert progress["jobs"][0]["sub_steps"]["menuImport"]["generation"] == 1
    audit = [e for e in store.events(job_id=job_id) if e.kind == "sub_step_retry"]
    assert len(audit) == 1 and audit[0].actor == "tester" and "menu fixed" in audit[0].message


async def test_skip_and_mark_done_release_dependents(client, world, store, tmp_path):
    settings = settings_for(store, world, tmp_path)
    batch_id, (job_id,) = create(store, batch_of(1))
    fault(world, "configure-services", "400", restaurant_id=job_id)  # 4xx: not retried
    fault(world, "configure-payment", "400", restaurant_id=job_id)
    async with worker(client, store, settings):
        await launch(client, store, settings, batch_id)
        await wait_until(store, batch_id, sub_step_is(0, "servicesConfig", "failed"))
        assert len(calls(world, restaurant_id=job_id, endpoint="configure-services")) == 1
        await decide(client, store, job_id, "mark_done", "servicesConfig", actor="ops", reason="set by hand")
        await wait_until(store, batch_id, sub_step_is(0, "paymentConfig", "failed"))
        await decide(client, store, job_id, "skip", "paymentConfig", actor="ops", reason="no Stripe yet")
        progress = await wait_until(store, batch_id, all_settled)

    sub = progress["jobs"][0]["sub_steps"]
    assert progress["status"] == "completed"
    assert sub["servicesConfig"]["status"] == "completed" and sub["servicesConfig"]["reason"] == "set by hand"
    assert sub["paymentConfig"]["status"] == "skipped" and sub["paymentConfig"]["reason"] == "no Stripe yet"
    assert sub["syncOnboardingUser"]["status"] == "completed"


async def test_warnings_complete_the_step_visibly(client, world, store, tmp_path):
    settings = settings_for(store, world, tmp_path)
    batch_id, (job_id,) = create(store, batch_of(1))
    fault(world, "configure-website", "success_false", restaurant_id=job_id)
    async with worker(client, store, settings):
        await launch(client, store, settings, batch_id)
        progress = await wait_until(store, batch_id, all_settled)
    website = progress["jobs"][0]["sub_steps"]["websiteConfig"]
    assert website["status"] == "completed" and "completed with warnings" in website["warning"]


async def test_cancel_a_restaurant(client, world, store, tmp_path):
    settings = settings_for(store, world, tmp_path)
    batch_id, (job_id,) = create(store, batch_of(1))
    fault(world, "add-option-sets", "500", restaurant_id=job_id, times=100)
    async with worker(client, store, settings):
        await launch(client, store, settings, batch_id)
        await wait_until(store, batch_id, lambda p: p["jobs"][0]["sub_steps"]["optionSets"]["attempts"] >= 1)
        await cancel_job(client, store, job_id, actor="ops", reason="owner withdrew")
        progress = await wait_until(store, batch_id, all_settled)
    job = progress["jobs"][0]
    assert job["status"] == "cancelled"
    assert job["sub_steps"]["optionSets"]["status"] == "cancelled"
    assert job["sub_steps"]["menuImport"]["status"] == "completed"
    kinds = {(e.kind, e.actor) for e in store.events(job_id=job_id)}
    assert ("cancel_requested", "ops") in kinds and ("job_cancelled", "system") in kinds


@pytest.mark.reliability
async def test_account_rate_limit_and_global_cap_hold_at_the_platform(client, world, store, tmp_path):
    # 1 account per 2 minutes at time scale 0.01 = one per 1.2 s; at most 3 platform calls at once. The
    # gaps are measured where the platform receives the calls, so they carry the delivery delays of a
    # loaded machine (tens to a couple of hundred ms): against a 0.6 s spacing that noise alone broke the
    # 80 % bound now and then; against 1.2 s the same bound holds, and still fails if spacing is lost.
    interval = 1.2
    settings = settings_for(store, world, tmp_path, accounts_per_minute=0.5, platform_concurrency=3)
    batch_id, _ = create(store, batch_of(6))
    async with worker(client, store, settings):
        await launch(client, store, settings, batch_id)
        progress = await wait_until(store, batch_id, all_settled, timeout=180)
    assert progress["status"] == "completed"
    log = calls(world)
    starts = sorted(c["started_at"] for c in log if c["endpoint"] == "register-account")
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert len(starts) == 6 and min(gaps) >= interval * 0.8, gaps
    platform = [c for c in log if c["endpoint"] != "register-account" and c["method"] == "POST"]
    edges = sorted([(c["started_at"], 1) for c in platform] + [(c["finished_at"], -1) for c in platform])
    in_flight = peak = 0
    for _, delta in edges:
        in_flight += delta
        peak = max(peak, in_flight)
    assert peak <= 3, peak
    assert len(PLAN) == REGISTRATION_CALLS


@pytest.mark.reliability
async def test_a_batch_started_later_is_not_queued_behind_an_earlier_one(client, world, store, tmp_path):
    """Fairness keys per batch: with one platform slot, a second batch's calls interleave with the first
    batch's queued calls of the same priority instead of waiting for all of them (plain FIFO)."""
    settings = settings_for(store, world, tmp_path, platform_concurrency=1, accounts_per_minute=6000.0)
    first, first_jobs = create(store, batch_of(6))
    second, second_jobs = create(store, batch_of(1))
    async with worker(client, store, settings):
        await launch(client, store, settings, first)
        while not any(calls(world, restaurant_id=j) for j in first_jobs):
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # every restaurant of the first batch has queued its first calls
        await launch(client, store, settings, second)
        await wait_until(store, second, all_settled, timeout=120)
        await wait_until(store, first, all_settled, timeout=120)
    codes = sorted(
        (c["started_at"], c["restaurant_id"])
        for c in calls(world)
        if c["endpoint"] == "generate-code-injections"
    )
    order = [job for _, job in codes if job in (*first_jobs, *second_jobs)]
    after = len(order) - 1 - order.index(second_jobs[0])
    # FIFO (measured with one fairness key for all) puts it after all six of the first batch's; with a key
    # per batch it came second.
    assert after >= 2, order
