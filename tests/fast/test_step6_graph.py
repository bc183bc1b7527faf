"""Step 6's decisions: the dependency graph, failures that block only dependents, people's answers."""

from __future__ import annotations

import pytest
from temporalio.client import WorkflowUpdateFailedError

from tests.fast.doubles import Doubles, start, until, workers
from yolobatch.domain.plan import PLAN, SubStep, all_dependents
from yolobatch.engine.contracts import Decision
from yolobatch.engine.workflows.onboarding import RestaurantOnboarding


def statuses(progress) -> dict[str, str]:
    return {key: s["status"] for key, s in progress.sub_steps.items()}


async def test_each_sub_step_starts_after_exactly_its_dependencies(client):
    doubles = Doubles()
    async with workers(client, doubles) as queues:
        handle = await start(client, queues)
        assert await handle.result() == "completed"
    for spec in PLAN:
        assert doubles.started(spec.key.value) == [0], spec.key
        for need in spec.needs:
            assert doubles.index("end", need.value) < doubles.index("start", spec.key.value), (spec.key, need)
    # A sub-step with no dependencies waits for nothing: every root starts before any dependent does.
    first_dependent = min(doubles.index("start", s.key.value) for s in PLAN if s.needs)
    assert all(doubles.index("start", s.key.value) < first_dependent for s in PLAN if not s.needs)


async def test_a_failure_blocks_exactly_its_dependents_and_a_retry_releases_them(client):
    failed = SubStep.PAYMENT_CONFIG
    blocked = set(all_dependents(failed))
    assert blocked == {SubStep.SYNC_ONBOARDING_USER}
    doubles = Doubles(failing={failed.value})
    async with workers(client, doubles) as queues:
        handle = await start(client, queues)
        others = {s.key.value for s in PLAN} - {failed.value} - {b.value for b in blocked}
        progress = await until(
            handle, lambda p: all(statuses(p)[k] == "completed" for k in others) and p.job_status != "running"
        )
        assert progress.job_status == "action_required"
        assert statuses(progress)[failed.value] == "failed"
        assert "refused by the double" in progress.sub_steps[failed.value]["error"]
        assert {statuses(progress)[b.value] for b in blocked} == {"pending"}
        assert all(not doubles.started(b.value) for b in blocked)

        # Validators refuse answers that make no sense, before anything changes.
        for update, decision in (
            (RestaurantOnboarding.mark_step_done, Decision(failed.value, reason=" ", actor="ann")),
            (RestaurantOnboarding.retry_step, Decision(SubStep.MENU_IMPORT.value, actor="ann")),
            (RestaurantOnboarding.skip_step, Decision("noSuchStep", actor="ann")),
        ):
            with pytest.raises(WorkflowUpdateFailedError):
                await handle.execute_update(update, decision)

        await handle.execute_update(RestaurantOnboarding.retry_step, Decision(failed.value, actor="ann"))
        assert await handle.result() == "completed"
    assert doubles.started(failed.value) == [0, 1]
    assert doubles.index("end", failed.value) < doubles.index("start", SubStep.SYNC_ONBOARDING_USER.value)
    assert any(r.event_kind == "sub_step_retry" and r.actor == "ann" for r in doubles.records)


async def test_a_skipped_failure_skips_the_dependents_that_need_its_success(client):
    doubles = Doubles(failing={SubStep.MENU_IMPORT.value})
    async with workers(client, doubles) as queues:
        handle = await start(client, queues)
        await until(handle, lambda p: statuses(p)[SubStep.MENU_IMPORT.value] == "failed")
        await handle.execute_update(
            RestaurantOnboarding.skip_step, Decision(SubStep.MENU_IMPORT.value, reason="no menu", actor="bo")
        )
        assert await handle.result() == "completed"
        progress = await handle.query(RestaurantOnboarding.progress)
    for key in (SubStep.OPTION_SETS, SubStep.ITEM_TAGS):
        assert statuses(progress)[key.value] == "skipped"
        assert not doubles.started(key.value)
    assert progress.sub_steps[SubStep.MENU_IMPORT.value]["reason"] == "no menu"


async def test_marked_done_releases_dependents_without_running_the_call_again(client):
    doubles = Doubles(failing={SubStep.CODE_GENERATION.value})
    async with workers(client, doubles) as queues:
        handle = await start(client, queues)
        await until(handle, lambda p: statuses(p)[SubStep.CODE_GENERATION.value] == "failed")
        await handle.execute_update(
            RestaurantOnboarding.mark_step_done,
            Decision(SubStep.CODE_GENERATION.value, reason="done by hand", actor="cy"),
        )
        assert await handle.result() == "completed"
        progress = await handle.query(RestaurantOnboarding.progress)
    assert doubles.started(SubStep.CODE_GENERATION.value) == [0]
    assert statuses(progress)[SubStep.WEBSITE_CONFIG.value] == "completed"
    assert doubles.started(SubStep.WEBSITE_CONFIG.value) == [0]
