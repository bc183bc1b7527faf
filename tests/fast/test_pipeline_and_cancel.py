"""Steps 1-5's decisions (company selection, config approval) and cancellation while a call runs."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.exceptions import CancelledError

from tests.fast.doubles import FULL_CONFIG, Doubles, start, until, workers
from yolobatch.domain.plan import SubStep
from yolobatch.engine.contracts import Approval, CompanyChoice, StepOutput
from yolobatch.engine.workflows.onboarding import RestaurantOnboarding

CANDIDATES = [
    {"number": "111", "name": "Kai Ltd", "score": 97.0},
    {"number": "222", "name": "Kai Holdings", "score": 91.0},
]


def pipeline_doubles(*, unambiguous: bool) -> Doubles:
    return Doubles(
        answers={
            "extract_store": StepOutput(summary={"items": 3}),
            "search_companies": StepOutput(summary={"candidates": CANDIDATES, "unambiguous": unambiguous}),
            "company_details": StepOutput(summary={"name": "Kai Ltd"}),
            "prepare_config": StepOutput(summary={"errors": []}, ok=True),
            "approve_config": StepOutput(summary={"config": FULL_CONFIG}, ok=True),
        }
    )


def numbers_looked_up(doubles: Doubles) -> list[str | None]:
    return [arg.number for name, arg in doubles.lookups if name == "company_details"]


async def test_yolo_takes_an_unambiguous_company_and_approves_a_valid_config_alone(client):
    doubles = pipeline_doubles(unambiguous=True)
    async with workers(client, doubles) as queues:
        handle = await start(client, queues, pipeline=True, yolo=True)
        assert await handle.result() == "completed"
        progress = await handle.query(RestaurantOnboarding.progress)
    assert progress.steps == {str(n): "completed" for n in range(1, 6)}
    assert numbers_looked_up(doubles) == ["111"]
    assert [arg.actor for name, arg in doubles.lookups if name == "approve_config"] == ["yolo-mode"]
    assert not any(r.step_status == "action_required" for r in doubles.records)


async def test_an_ambiguous_match_and_a_review_wait_for_a_person(client):
    doubles = pipeline_doubles(unambiguous=False)
    async with workers(client, doubles) as queues:
        handle = await start(client, queues, pipeline=True, yolo=False)
        progress = await until(handle, lambda p: p.steps["3"] == "action_required")
        assert progress.job_status == "action_required"
        assert not numbers_looked_up(doubles)
        refused = (
            CompanyChoice("choose", number="999", actor="di"),  # not a candidate
            CompanyChoice("guess", actor="di"),
            CompanyChoice("manual", details={}, actor="di"),  # no contact person
        )
        for choice in refused:
            with pytest.raises(WorkflowUpdateFailedError):
                await handle.execute_update(RestaurantOnboarding.select_company, choice)
        with pytest.raises(WorkflowUpdateFailedError):  # no review is awaited yet
            await handle.execute_update(RestaurantOnboarding.approve_config, Approval(actor="di"))

        await handle.execute_update(
            RestaurantOnboarding.select_company, CompanyChoice("choose", number="222", actor="di")
        )
        await until(handle, lambda p: p.steps["5"] == "action_required")
        assert numbers_looked_up(doubles) == ["222"]
        assert not any(name == "approve_config" for name, _ in doubles.lookups)
        await handle.execute_update(RestaurantOnboarding.approve_config, Approval(actor="di", reason="ok"))
        assert await handle.result() == "completed"
    assert [arg.actor for name, arg in doubles.lookups if name == "approve_config"] == ["di"]


async def test_yolo_never_guesses_an_ambiguous_company(client):
    doubles = pipeline_doubles(unambiguous=False)
    async with workers(client, doubles) as queues:
        handle = await start(client, queues, pipeline=True, yolo=True)
        assert await handle.result() == "completed"
        progress = await handle.query(RestaurantOnboarding.progress)
    assert progress.steps["3"] == "skipped"
    assert progress.steps["4"] == "skipped"
    assert not numbers_looked_up(doubles)


async def test_cancelling_while_a_call_runs_ends_the_workflow(client):
    running = SubStep.RESTAURANT_REGISTRATION.value
    doubles = Doubles(blocking={running})
    async with workers(client, doubles) as queues:
        handle = await start(client, queues)
        await until(handle, lambda p: bool(doubles.started(running)))
        await handle.cancel()
        # The pitfall: a cancelled activity surfaces as an ActivityError; were it taken for a failure,
        # the workflow would wait for a person forever instead of ending.
        with pytest.raises(WorkflowFailureError) as failure:
            await asyncio.wait_for(handle.result(), timeout=15)
        assert isinstance(failure.value.cause, CancelledError)
        progress = await handle.query(RestaurantOnboarding.progress)
    assert doubles.cancelled == [running]
    assert progress.job_status == "cancelled"
    assert progress.sub_steps[running]["status"] == "cancelled"
    assert not doubles.started(SubStep.WEBSITE_CONFIG.value)
    assert any(r.event_kind == "job_cancelled" for r in doubles.records)
