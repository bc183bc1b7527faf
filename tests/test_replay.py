"""Replay: the workflows' code must replay every recorded history deterministically.

`tests/histories/*.json` were recorded from earlier versions of the code (regenerate them only on purpose:
`YOLOBATCH_RECORD_HISTORIES=1 pytest tests/test_replay.py`). A change to the graph that breaks running
workflows fails here. No deployment of yolobatch exists yet, so a deliberate change re-records the
histories rather than adding `workflow.patched()` branches; once one exists, such changes need them.
Activity, workflow and update names must stay stable either way.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from temporalio.client import Client, WorkflowHistory
from temporalio.worker import Replayer

from tests.conftest import batch_of, settings_for
from tests.engine_helpers import all_settled, create, fault, launch, sub_step_is, wait_until, worker
from yolobatch.engine.contracts import onboarding_workflow_id, starter_workflow_id
from yolobatch.engine.worker import WORKFLOWS
from yolobatch.service.control import decide

HISTORIES = Path(__file__).parent / "histories"
pytestmark = pytest.mark.reliability  # upgrades: new code must replay what the old code recorded


async def test_fresh_and_recorded_histories_replay(dev_server, world, store, tmp_path):
    client = await Client.connect(dev_server.address)
    settings = settings_for(store, world, tmp_path)
    batch_id, (job_id, other_id) = create(store, batch_of(2))
    fault(world, "configure-payment", "400", restaurant_id=job_id)
    fault(world, "configure-services", "503", restaurant_id=other_id)
    async with worker(client, store, settings):
        await launch(client, store, settings, batch_id)
        await wait_until(store, batch_id, sub_step_is(0, "paymentConfig", "failed"))
        await decide(client, store, job_id, "retry", "paymentConfig", actor="replay-test")
        await wait_until(store, batch_id, all_settled)

    fresh = {
        "onboarding-with-retry": await client.get_workflow_handle(
            onboarding_workflow_id(job_id)
        ).fetch_history(),
        "onboarding-transient": await client.get_workflow_handle(
            onboarding_workflow_id(other_id)
        ).fetch_history(),
        "batch-starter": await client.get_workflow_handle(starter_workflow_id(batch_id)).fetch_history(),
    }
    if os.environ.get("YOLOBATCH_RECORD_HISTORIES"):
        for name, history in fresh.items():
            (HISTORIES / f"{name}.json").write_text(history.to_json())

    recorded = [
        WorkflowHistory.from_json(path.stem, path.read_text()) for path in sorted(HISTORIES.glob("*.json"))
    ]
    assert len(recorded) >= 3, "recorded histories are missing"
    replayer = Replayer(workflows=WORKFLOWS)
    for history in [*fresh.values(), *recorded]:
        result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
        assert result.replay_failure is None


async def test_pipeline_histories_replay(dev_server, world, store, tmp_path):
    """Steps 1-5 with a person's company choice and config approval, fresh and recorded."""
    import json

    from yolobatch.cli import sandbox_settings
    from yolobatch.devtools.demo import demo_pipeline_batch
    from yolobatch.domain.batch_input import parse_batch
    from yolobatch.engine.contracts import Approval, CompanyChoice
    from yolobatch.service.control import approve_config, choose_company

    client = await Client.connect(dev_server.address)
    settings = settings_for(store, world, tmp_path, **sandbox_settings(world.url))
    data = demo_pipeline_batch(2, world.url)
    data["restaurants"][1].pop("companyNumber")  # Pizza Palace CBD: ambiguous, a person chooses
    batch_id, (jax, pizza) = create(store, parse_batch(json.dumps(data)))
    async with worker(client, store, settings):
        await launch(client, store, settings, batch_id)
        await wait_until(store, batch_id, lambda p: p["jobs"][1]["steps"]["3"]["status"] == "action_required")
        number = store.candidates(pizza)[0]["number"]
        await choose_company(client, store, pizza, CompanyChoice("choose", number=number, actor="replay"))
        for job_id, index in ((jax, 0), (pizza, 1)):
            await wait_until(
                store, batch_id, lambda p, i=index: p["jobs"][i]["steps"]["5"]["status"] == "action_required"
            )
            await approve_config(client, store, job_id, Approval(actor="replay"))
        await wait_until(store, batch_id, all_settled)

    history = await client.get_workflow_handle(onboarding_workflow_id(pizza)).fetch_history()
    if os.environ.get("YOLOBATCH_RECORD_HISTORIES"):
        (HISTORIES / "pipeline-choose-approve.json").write_text(history.to_json())
    recorded = HISTORIES / "pipeline-choose-approve.json"
    replayer = Replayer(workflows=WORKFLOWS)
    for item in (history, WorkflowHistory.from_json("pipeline", recorded.read_text())):
        result = await replayer.replay_workflow(item, raise_on_replay_failure=True)
        assert result.replay_failure is None


async def test_menu_gate_and_rerun_histories_replay(dev_server, world, store, tmp_path):
    """#17's workflow paths: the menu gate's wait and answer (`answer_menu`), and a re-run of a finished
    restaurant's call (`SubStepRerun`), fresh and recorded."""
    import json

    from tests.engine_helpers import ORG
    from yolobatch.cli import sandbox_settings
    from yolobatch.devtools.demo import demo_pipeline_batch
    from yolobatch.domain.batch_input import parse_batch
    from yolobatch.engine.contracts import rerun_workflow_id
    from yolobatch.service.menu_gate import answer_menu
    from yolobatch.service.rerun import rerun

    client = await Client.connect(dev_server.address)
    settings = settings_for(store, world, tmp_path, **sandbox_settings(world.url))
    data = demo_pipeline_batch(2, world.url)
    data["restaurants"] = data["restaurants"][1:]  # Pizza Palace CBD, its page without a menu
    data["restaurants"][0]["storeUrl"] = f"{world.url}/stores/_no-menu?for=pizza"
    batch = parse_batch(json.dumps(data))
    store.ensure_org(ORG)
    batch_id = store.create_batch(ORG, batch.name, batch.restaurants, options={"yolo": True})
    (job_id,) = [job.job_id for job in store.job_summaries(batch_id)]
    async with worker(client, store, settings):
        await launch(client, store, settings, batch_id)
        await wait_until(store, batch_id, lambda p: p["jobs"][0]["steps"]["1"]["status"] == "action_required")
        await answer_menu(client, store, job_id, "continue", actor="replay")
        await wait_until(store, batch_id, lambda p: p["jobs"][0]["status"] == "completed")
        started = await rerun(
            client,
            store,
            settings,
            job_id,
            "websiteConfig",
            with_dependents=False,
            reason="replay",
            actor="replay",
        )
        rerun_handle = client.get_workflow_handle(rerun_workflow_id(started.rerun_id))
        assert await rerun_handle.result() == "completed"

    fresh = {
        "menu-gate-continue": await client.get_workflow_handle(
            onboarding_workflow_id(job_id)
        ).fetch_history(),
        "rerun-website-config": await rerun_handle.fetch_history(),
    }
    if os.environ.get("YOLOBATCH_RECORD_HISTORIES"):
        for name, history in fresh.items():
            (HISTORIES / f"{name}.json").write_text(history.to_json())
    replayer = Replayer(workflows=WORKFLOWS)
    for name, history in fresh.items():
        recorded = WorkflowHistory.from_json(name, (HISTORIES / f"{name}.json").read_text())
        for item in (history, recorded):
            result = await replayer.replay_workflow(item, raise_on_replay_failure=True)
            assert result.replay_failure is None
