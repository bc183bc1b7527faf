"""Steps 1-5 end to end: store pages, registry, human choices and config review, then registration."""

from __future__ import annotations

import asyncio
import json

import pytest
from temporalio.client import Client

from tests.conftest import settings_for
from tests.engine_helpers import all_settled, create, fault, launch, state, wait_until, worker
from yolobatch.cli import sandbox_settings
from yolobatch.devtools.demo import demo_pipeline_batch
from yolobatch.domain.batch_input import parse_batch
from yolobatch.engine.contracts import Approval, CompanyChoice
from yolobatch.service.control import DecisionRejected, approve_config, bulk_approve, choose_company, decide

JAX, PIZZA, DRAGON, KIWI, SPICE, TACO = range(6)


@pytest.fixture
async def client(dev_server) -> Client:
    return await Client.connect(dev_server.address)


def pipeline_batch(world, count=6, mutate=None):
    data = demo_pipeline_batch(count, world.url)
    for row in data["restaurants"]:
        if mutate:
            mutate(row)
    return parse_batch(json.dumps(data))


async def wait_for_event(store, job_id: str, kind: str, count: int = 1) -> None:
    for _ in range(600):
        if sum(e.kind == kind for e in store.events(job_id=job_id)) >= count:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{kind} did not happen {count} times")


def step(progress, job: int, number: int) -> dict:
    return progress["jobs"][job]["steps"][str(number)]


def waiting_at(job: int, number: int):
    return lambda p: step(p, job, number)["status"] == "action_required"


async def test_yolo_pipeline_from_store_pages_to_registered_stores(client, world, store, tmp_path):
    settings = settings_for(store, world, tmp_path, **sandbox_settings(world.url))
    store.ensure_org("test-org")
    batch = pipeline_batch(world)
    batch_id = store.create_batch("test-org", batch.name, batch.restaurants, options={"yolo": True})
    async with worker(client, store, settings):
        await launch(client, store, settings, batch_id)
        progress = await wait_until(store, batch_id, all_settled, timeout=180)

    assert progress["status"] == "completed", {j["restaurant_name"]: j["steps"] for j in progress["jobs"]}
    assert step(progress, JAX, 3)["reason"].startswith("Auto-selected JAX BURGER SHACK LIMITED")
    assert step(progress, PIZZA, 3)["reason"] == "Company 9429041000038 given in the input"
    assert step(progress, DRAGON, 3)["status"] == "skipped"  # no registry match
    assert "not certain" in step(progress, TACO, 3)["reason"]  # ambiguous: YOLO does not guess
    assert all(step(progress, j, 5)["reason"].startswith("Auto-approved") for j in range(6))
    jax = progress["jobs"][JAX]["job_id"]
    details = store.company_details(jax)
    assert details["legal_name"] == "JAX BURGER SHACK LIMITED" and details["contact_person"]
    review = store.config_review(jax)
    assert review["config"]["website"]["primaryColor"] == "#D62828"  # from the logo
    assert review["config"]["account"]["password"] == "********"
    sandbox = state(world)
    assert sandbox["duplicates"] == []
    assert sandbox["restaurants"][jax]["menu_imports"] == 1  # the extracted menu was imported


async def test_people_choose_search_again_enter_manually_and_approve(client, world, store, tmp_path):
    settings = settings_for(store, world, tmp_path, **sandbox_settings(world.url))
    batch_id, jobs = create(store, pipeline_batch(world, mutate=lambda row: row.pop("companyNumber", None)))
    async with worker(client, store, settings):
        await launch(client, store, settings, batch_id)
        await wait_until(store, batch_id, waiting_at(PIZZA, 3))
        numbers = [c["number"] for c in store.candidates(jobs[PIZZA])]
        assert len(numbers) >= 2
        with pytest.raises(DecisionRejected, match="not one of the candidates"):
            await choose_company(client, store, jobs[PIZZA], CompanyChoice("choose", number="123"))
        search_again = CompanyChoice("retry_search", terms={"name": "Pizza Palace CBD"}, actor="ana")
        await choose_company(client, store, jobs[PIZZA], search_again)
        with pytest.raises(DecisionRejected, match="no company choice is awaited"):
            await choose_company(client, store, jobs[PIZZA], search_again)  # answered already
        await wait_for_event(store, jobs[PIZZA], "step3_action_required", count=2)
        await choose_company(
            client, store, jobs[PIZZA], CompanyChoice("choose", number=numbers[0], actor="ana")
        )

        await wait_until(store, batch_id, waiting_at(TACO, 3))
        manual = {"contact_person": "Rosa Diaz", "legal_name": "TACO LOCO HOLDINGS LIMITED"}
        await choose_company(client, store, jobs[TACO], CompanyChoice("manual", details=manual, actor="ana"))
        await wait_until(store, batch_id, waiting_at(DRAGON, 3))
        await choose_company(client, store, jobs[DRAGON], CompanyChoice("no_company", actor="ana"))

        for job in range(6):
            await wait_until(store, batch_id, waiting_at(job, 5), timeout=120)
            await approve_config(client, store, jobs[job], Approval(actor="ana", reason="looks right"))
        progress = await wait_until(store, batch_id, all_settled, timeout=180)

    assert progress["status"] == "completed"
    assert step(progress, PIZZA, 3)["reason"] == "Chosen by ana"
    assert store.company_details(jobs[TACO])["contact_person"] == "Rosa Diaz"
    assert step(progress, DRAGON, 4)["status"] == "skipped"
    assert store.config_review(jobs[JAX])["approved_by"] == "ana"
    audit = {(e.kind, e.actor) for e in store.events(job_id=jobs[PIZZA])}
    assert ("companySelection_retry_search", "ana") in audit and ("config_approve", "ana") in audit


async def test_an_invalid_config_waits_until_a_person_fixes_it(client, world, store, tmp_path):
    settings = settings_for(store, world, tmp_path, **sandbox_settings(world.url))
    store.ensure_org("test-org")

    def no_email(row):
        row.pop("email")
        if row["name"] == "Golden Dragon Noodle House":  # a page without contact details, no company
            row["storeUrl"] = f"{world.url}/stores/_no-menu"

    batch = pipeline_batch(world, count=3, mutate=no_email)
    # The page without a menu goes on without one (the batch's policy): this test is about step 5.
    options = {"yolo": True, "menu_policy": "continue"}
    batch_id = store.create_batch("test-org", batch.name, batch.restaurants, options=options)
    jobs = [j.job_id for j in store.batch_progress(batch_id).jobs]
    async with worker(client, store, settings):
        await launch(client, store, settings, batch_id)
        # Golden Dragon has no company, so no published email either: YOLO cannot approve it.
        progress = await wait_until(store, batch_id, waiting_at(DRAGON, 5), timeout=120)
        assert "account.email" in step(progress, DRAGON, 5)["reason"]
        with pytest.raises(ValueError, match="not a config field"):
            store.edit_config(jobs[DRAGON], {"email": "x@y.z"})
        store.edit_config(jobs[DRAGON], {"account.email": "owner@golden-dragon.co.nz"})
        await approve_config(client, store, jobs[DRAGON], Approval(actor="ana"))
        progress = await wait_until(store, batch_id, all_settled, timeout=120)
    assert progress["jobs"][DRAGON]["status"] == "completed"


async def test_copy_to_all_and_bulk_approve(client, world, store, tmp_path):
    settings = settings_for(store, world, tmp_path, **sandbox_settings(world.url))
    data = demo_pipeline_batch(5, world.url)
    data["restaurants"] = [data["restaurants"][i] for i in (JAX, KIWI, SPICE)]  # clear registry matches
    batch_id, jobs = create(store, parse_batch(json.dumps(data)))
    async with worker(client, store, settings):
        await launch(client, store, settings, batch_id)
        for index in range(3):
            await wait_until(store, batch_id, waiting_at(index, 5))
        store.edit_config(jobs[0], {"website.itemLayout": "list", "payment.includeStripeLink": True})
        assert sorted(store.copy_config_to_batch(jobs[0])) == sorted(jobs[1:])
        outcomes = await bulk_approve(client, store, batch_id, actor="lead")
        assert sorted(outcomes) == sorted(jobs) and all("accepted" in o for o in outcomes.values())
        progress = await wait_until(store, batch_id, all_settled, timeout=120)
    assert progress["status"] == "completed"
    kiwi = store.config_review(jobs[1])
    assert kiwi["config"]["website"]["itemLayout"] == "list" and kiwi["approved_by"] == "lead"
    assert kiwi["config"]["account"]["email"] == data["restaurants"][1]["email"]


async def test_a_failed_search_is_shown_then_retried_by_a_person(client, world, store, tmp_path):
    settings = settings_for(store, world, tmp_path, **sandbox_settings(world.url))
    store.ensure_org("test-org")
    batch = pipeline_batch(world, count=1)
    batch_id = store.create_batch("test-org", batch.name, batch.restaurants, options={"yolo": True})
    (job_id,) = [j.job_id for j in store.batch_progress(batch_id).jobs]
    # Refused (not retried automatically, never "zero results"); scoped to this restaurant's search term.
    fault(world, "nzbn-search", "400", restaurant_id="Jax Burger Shack")
    async with worker(client, store, settings):
        await launch(client, store, settings, batch_id)
        # The step's failure and the restaurant's status are two writes: wait for both.
        progress = await wait_until(
            store,
            batch_id,
            lambda p: step(p, 0, 2)["status"] == "failed" and p["jobs"][0]["status"] == "action_required",
        )
        assert "400" in step(progress, 0, 2)["error"]
        await decide(client, store, job_id, "retry", "companySearch", actor="ana")
        progress = await wait_until(store, batch_id, all_settled, timeout=120)
    assert progress["status"] == "completed"
    assert step(progress, 0, 3)["reason"].startswith("Auto-selected")
