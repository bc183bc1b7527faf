"""`yolobatch reconcile`: drift between the read model and the engine is found, reported and repaired."""

from __future__ import annotations

import asyncio
import sys

import pytest
from sqlalchemy import update
from temporalio.client import Client

from tests.conftest import batch_of, settings_for
from tests.engine_helpers import (
    all_completed,
    all_settled,
    create,
    fault,
    launch,
    service_env,
    wait_until,
    worker,
)
from yolobatch.engine.reconcile import reconcile
from yolobatch.store.reruns import RerunRefused
from yolobatch.store.tables import Job, JobStep, SubStepRow

pytestmark = pytest.mark.reliability


async def cli(dev_server, settings, *args: str, **env: str) -> tuple[int, str]:
    """Run `yolobatch ...` in its own process; this test's event loop keeps serving the worker meanwhile."""
    env = service_env(settings, dev_server.address, COLUMNS="200", **env)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "yolobatch",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 120)
    return process.returncode or 0, output.decode()


def corrupt(store, table, where, **values) -> None:
    with store.transaction() as s:
        assert s.execute(update(table).where(*where).values(**values)).rowcount == 1


def menu_import(job_id: str) -> list:
    return [SubStepRow.job_id == job_id, SubStepRow.key == "menuImport"]


async def test_reconcile_finds_reports_and_repairs_drift(dev_server, world, store, tmp_path):
    settings = settings_for(store, world, tmp_path)
    client = await Client.connect(dev_server.address)
    batch_id, job_ids = create(store, batch_of(20))
    waiting = job_ids[7]
    fault(world, "import-menu-direct", "success_false", restaurant_id=waiting)
    # Started in the database, but the process died before it reached the engine.
    orphan_batch, orphans = create(store, batch_of(2))
    store.mark_batch_started(orphan_batch)

    async with worker(client, store, settings):
        await launch(client, store, settings, batch_id)
        await wait_until(store, batch_id, all_settled, timeout=180)

        # Without drift, nothing is reported: the engine and the read model agree job by job.
        clean = await reconcile(client, store, batch_id=batch_id, repair=False)
        assert (clean.jobs_checked, clean.drift, clean.unreachable) == (20, [], {})

        done, other = job_ids[0], job_ids[1]
        corrupt(store, Job, [Job.id == done], status="running", finished_at=None)
        corrupt(
            store, SubStepRow, [SubStepRow.job_id == other, SubStepRow.key == "menuImport"], status="failed"
        )
        corrupt(store, Job, [Job.id == waiting], status="completed", error=None)
        corrupt(
            store, SubStepRow, [SubStepRow.job_id == waiting, SubStepRow.key == "menuImport"], generation=3
        )

        code, output = await cli(dev_server, settings, "reconcile", "--check")
        assert code == 1, output
        for line in (
            f"{done}  status: database running, engine completed",
            f"{other}  sub-step menuImport: database failed (generation 0), engine completed (generation 0)",
            f"{waiting}  status: database completed, engine action_required",
            f"{waiting}  sub-step menuImport: database failed (generation 3), engine failed (generation 0)",
            f"{orphans[0]}  workflow: database pending, engine missing",
        ):
            assert line in output, output
        assert "22 restaurants checked: 6 differences found." in output, output
        assert store.job(done).status == "running"  # --check changes nothing

        code, output = await cli(dev_server, settings, "reconcile")
        assert code == 1, output  # a difference remains
        # All but the generation the database has ahead of the engine: lowering it could make a later
        # re-run send a key already sent, so a person looks at that one.
        assert "6 differences found, 5 rows repaired" in output, output

        assert store.job(done).status == "completed" and store.job(done).finished_at is not None
        assert store.sub_step(other, "menuImport").status == "completed"
        assert store.job(waiting).status == "action_required"
        assert store.job(waiting).error == "Waiting for a person: menuImport"
        assert store.sub_step(waiting, "menuImport").generation == 3
        ahead = await reconcile(client, store, batch_id=batch_id, repair=False)
        assert [(d.job_id, d.field) for d in ahead.drift] == [(waiting, "sub-step menuImport")]
        corrupt(store, SubStepRow, menu_import(waiting), generation=0)  # the person's fix
        repaired = [e for e in store.events(job_id=done) if e.kind == "reconciled"]
        assert len(repaired) == 1 and repaired[0].actor == "reconcile"
        assert "status: running -> completed" in repaired[0].message

        # The restaurants that never reached the engine were started, and register normally.
        await wait_until(store, orphan_batch, all_completed, timeout=120)
        after = await reconcile(client, store, repair=False)
    assert (after.jobs_checked, after.drift, after.unreachable) == (22, [], {})


async def test_repair_never_overwrites_a_row_that_moved_meanwhile(store):
    """The write-back is conditional on what was compared: an activity's newer write wins."""
    batch_id, (job_id,) = create(store, batch_of(1))
    store.mark_batch_started(batch_id)
    (snapshot,) = store.job_snapshots(batch_id=batch_id)
    assert snapshot.status == "pending" and snapshot.sub_steps["menuImport"] == ("pending", 0)
    store.record_job(job_id, "running")  # the engine's own write lands first
    assert not store.repair_job_status(job_id, expected="pending", status="completed", error=None)
    assert store.job(job_id).status == "running"
    store.record_sub_step(job_id, "menuImport", "running", 0)
    assert not store.repair_sub_step(
        job_id, "menuImport", expected=("pending", 0), values={"status": "completed"}
    )
    assert store.sub_step(job_id, "menuImport").status == "running"
    corrupt(store, JobStep, [JobStep.job_id == job_id, JobStep.step == 6], status="running")
    assert not store.repair_step(job_id, 6, expected="pending", status="completed")


def test_a_repair_never_lowers_a_generation(store):
    """A generation ahead of the engine's (a re-run the engine's view missed, or a hand edit) is never
    written back lower: the next re-run would reuse a key already sent, and the platform would answer from
    the old result without doing anything."""
    batch_id, (job_id,) = create(store, batch_of(1))
    store.record_sub_step(job_id, "menuImport", "completed", 2)
    assert not store.repair_sub_step(
        job_id, "menuImport", expected=("completed", 2), values={"status": "completed", "generation": 1}
    )
    assert (store.sub_step(job_id, "menuImport").generation) == 2
    assert store.repair_sub_step(
        job_id, "menuImport", expected=("completed", 2), values={"status": "failed", "generation": 2}
    )
    assert store.sub_step(job_id, "menuImport").status == "failed"


def test_a_rerun_is_refused_when_a_call_moved_on_since_it_was_read(store):
    """Two re-runs (or a re-run and a repair) reading the same generation must not both send the next one:
    `begin_rerun` checks each call is still at the generation before its new one."""
    batch_id, (job_id,) = create(store, batch_of(1))
    store.record_job(job_id, "completed")
    store.record_sub_step(job_id, "websiteConfig", "completed", 1)  # re-run once meanwhile
    with pytest.raises(RerunRefused, match="websiteConfig changed meanwhile"):
        store.begin_rerun(
            job_id,
            sub_step="websiteConfig",
            with_dependents=False,
            generations={"websiteConfig": 1},
            actor="test",
            reason="colours",
            allowed=("completed",),
        )
    assert store.job(job_id).status == "completed" and store.rerun_ids(job_id) == []
    store.begin_rerun(
        job_id,
        sub_step="websiteConfig",
        with_dependents=False,
        generations={"websiteConfig": 2},
        actor="test",
        reason="colours",
        allowed=("completed",),
    )
    assert store.job(job_id).status == "running" and len(store.rerun_ids(job_id)) == 1
