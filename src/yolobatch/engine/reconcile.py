"""`yolobatch reconcile`: compare the read model with the engine's truth, and repair the difference.

Workflows decide; activities then write what they decided into the read model (jobs, job_steps, sub_steps)
that the dashboard, the API and `status` read. A database restored from a backup, a hand edit or a bug can
leave the two apart. The workflows are the truth: each is asked (query `progress`, which also works on
finished workflows) what it believes, and each difference is written back only where the row still reads
what was compared, so an activity's write landing meanwhile wins over ours. A workflow that never started
is started. Events cannot be rebuilt from the engine: each repaired job gets a `reconciled` event instead.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio.client import Client, WorkflowExecutionStatus, WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode

from yolobatch.domain.statuses import SETTLED_SUB_STEP_STATUSES, JobStatus, SubStepStatus
from yolobatch.domain.steps import STEP_KEYS
from yolobatch.engine.contracts import (
    Tuning,
    onboarding_workflow_id,
    rerun_workflow_id,
    starter_workflow_id,
)
from yolobatch.engine.starter import start_onboarding
from yolobatch.engine.workflows.onboarding import Progress, RestaurantOnboarding
from yolobatch.engine.workflows.pipeline import WAITING
from yolobatch.engine.workflows.rerun import SubStepRerun
from yolobatch.store.repository import JobSnapshot, Store

# Seen at different moments by the workflow (which queues a call) and the read model (which records its
# start): the same thing as far as drift goes.
IN_PROGRESS = frozenset({"pending", "queued", "running"})
PAGE_SIZE = 200
QUERIES_IN_FLIGHT = 16
QUERY_TIMEOUT = timedelta(seconds=10)
# A running workflow's newest transition may still be on its way to the database: a difference on a
# running workflow counts only if it is still there this much later.
SETTLE_SECONDS = 2.0
MISSING = "missing"


@dataclass(frozen=True)
class Drift:
    job_id: str
    field: str  # "status", "step 3", "sub-step menuImport" or "workflow"
    read_model: str
    engine: str


@dataclass
class ReconcileReport:
    jobs_checked: int = 0
    drift: list[Drift] = field(default_factory=list)
    repaired: int = 0  # rows written back (and workflows started)
    unreachable: dict[str, str] = field(default_factory=dict)  # job id -> why its workflow gave no answer


@dataclass(frozen=True)
class _EngineView:
    running: bool
    progress: Progress | None  # None: the workflow does not exist
    starting: bool = False  # not yet, but the batch's starter is still at work: no drift
    rerunning: bool = False  # a re-run's workflow is at work on it: no drift


async def reconcile(
    client: Client,
    store: Store,
    *,
    batch_id: str | None = None,
    repair: bool = True,
    tuning: Tuning | None = None,
    settle_seconds: float = SETTLE_SECONDS,
) -> ReconcileReport:
    """Check every restaurant of started batches (or of one batch); with `repair`, write the engine's truth
    back. Needs a worker: queries run on workers. `tuning` is what a never-started workflow starts with."""
    report = ReconcileReport()
    gate = asyncio.Semaphore(QUERIES_IN_FLIGHT)

    async def compare_all(snapshots: list[JobSnapshot]) -> dict[str, _Comparison]:
        found = await asyncio.gather(*(_compare(client, snapshot, gate, report) for snapshot in snapshots))
        return {comparison.snapshot.job_id: comparison for comparison in found}

    after = ""
    while page := await asyncio.to_thread(
        store.job_snapshots, batch_id=batch_id, after_job_id=after, limit=PAGE_SIZE
    ):
        after = page[-1].job_id
        report.jobs_checked += len(page)
        results = await compare_all(page)
        # A running workflow's difference is looked at again: its write may have been on its way.
        unsettled = sorted(job_id for job_id, c in results.items() if c.drift and c.view.running)
        if unsettled and settle_seconds:
            await asyncio.sleep(settle_seconds)
            results |= await compare_all(await asyncio.to_thread(store.job_snapshots, job_ids=unsettled))
        for comparison in results.values():
            if comparison.drift:
                report.drift.extend(comparison.drift)
                if repair:
                    report.repaired += await _repair(client, store, comparison, tuning)
    return report


@dataclass(frozen=True)
class _Comparison:
    snapshot: JobSnapshot
    view: _EngineView
    drift: list[Drift]


async def _compare(
    client: Client, snapshot: JobSnapshot, gate: asyncio.Semaphore, report: ReconcileReport
) -> _Comparison:
    async with gate:
        try:
            view = await _engine_view(client, snapshot)
        # No worker answering, engine unreachable, or a workflow that cannot answer the query.
        except (RPCError, RuntimeError, WorkflowQueryFailedError) as exc:
            report.unreachable[snapshot.job_id] = str(exc) or type(exc).__name__
            return _Comparison(snapshot, _EngineView(running=False, progress=None), [])
    return _Comparison(snapshot, view, _differences(snapshot, view))


async def _engine_view(client: Client, snapshot: JobSnapshot) -> _EngineView:
    handle = client.get_workflow_handle(onboarding_workflow_id(snapshot.job_id))
    try:
        description = await handle.describe(rpc_timeout=QUERY_TIMEOUT)
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        # Not started yet is no drift while the batch's starter is still starting restaurants.
        if snapshot.status == JobStatus.PENDING and await _starter_running(client, snapshot.batch_id):
            return _EngineView(running=True, progress=None, starting=True)
        return _EngineView(running=False, progress=None)
    running = description.status == WorkflowExecutionStatus.RUNNING
    progress = await handle.query(RestaurantOnboarding.progress, rpc_timeout=QUERY_TIMEOUT)
    if running and progress.job_status == JobStatus.PENDING:
        progress.job_status = JobStatus.RUNNING  # the workflow only tracks a change away from running
    if description.status in STOPPED:
        _stopped(progress)
    # Re-runs came after the onboarding closed: each one's calls and the job status it left are newer truth.
    for rerun_id in snapshot.reruns:
        rerun = client.get_workflow_handle(rerun_workflow_id(rerun_id))
        try:
            rerun_description = await rerun.describe(rpc_timeout=QUERY_TIMEOUT)
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            continue  # its start was refused: it changed nothing
        if rerun_description.status == WorkflowExecutionStatus.RUNNING:
            # It writes the read model as it goes: nothing to compare until it settles.
            return _EngineView(running=True, progress=progress, rerunning=True)
        rerun_progress = await rerun.query(SubStepRerun.progress, rpc_timeout=QUERY_TIMEOUT)
        if rerun_description.status in STOPPED:
            _stopped(rerun_progress)
        progress.sub_steps.update(rerun_progress.sub_steps)
        progress.job_status = rerun_progress.job_status
    return _EngineView(running=running, progress=progress)


STOPPED = (
    WorkflowExecutionStatus.TERMINATED,
    WorkflowExecutionStatus.FAILED,
    WorkflowExecutionStatus.TIMED_OUT,
)


def _stopped(progress: Progress) -> None:
    """Stopped from outside (or crashed): nothing will happen any more, so it is cancelled."""
    progress.job_status = JobStatus.CANCELLED
    for sub_step in progress.sub_steps.values():
        if sub_step["status"] not in SETTLED_SUB_STEP_STATUSES:
            sub_step["status"] = SubStepStatus.CANCELLED


async def _starter_running(client: Client, batch_id: str) -> bool:
    try:
        starter = await client.get_workflow_handle(starter_workflow_id(batch_id)).describe(
            rpc_timeout=QUERY_TIMEOUT
        )
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return starter.status == WorkflowExecutionStatus.RUNNING


def _same(read_model: str, engine: str) -> bool:
    return read_model == engine or (read_model in IN_PROGRESS and engine in IN_PROGRESS)


def _differences(snapshot: JobSnapshot, view: _EngineView) -> list[Drift]:
    job_id = snapshot.job_id
    if view.starting or view.rerunning:
        return []
    if view.progress is None:
        return [Drift(job_id, "workflow", snapshot.status, MISSING)]
    progress = view.progress
    drift = _unapproved(snapshot)
    if not _same(snapshot.status, progress.job_status):
        drift.append(Drift(job_id, "status", snapshot.status, progress.job_status))
    for step, status in sorted(snapshot.steps.items()):
        engine = progress.steps.get(str(step))
        if engine is not None and not _same(status, engine):
            drift.append(Drift(job_id, f"step {step}", status, engine))
    for key, (status, generation) in snapshot.sub_steps.items():
        call = progress.sub_steps.get(key)
        if call is None:
            continue
        if not _same(status, call["status"]) or generation != call["generation"]:
            drift.append(
                Drift(
                    job_id,
                    f"sub-step {key}",
                    f"{status} (generation {generation})",
                    f"{call['status']} (generation {call['generation']})",
                )
            )
    return drift


def _unapproved(snapshot: JobSnapshot) -> list[Drift]:
    """A restaurant of the full pipeline registers only with an approved config (a ready-made config
    arrives approved by its uploader). Calls that ran without one: the engine cannot say what was
    approved, so this is reported for a person, never repaired."""
    if 5 not in snapshot.steps or snapshot.config_approved:
        return []
    ran = sorted(k for k, (status, _) in snapshot.sub_steps.items() if status not in ("pending", "cancelled"))
    if not ran:
        return []
    state = "no config" if snapshot.config_approved is None else "config not approved"
    return [Drift(snapshot.job_id, "config approval", state, f"calls ran: {', '.join(ran)}")]


async def _repair(client: Client, store: Store, comparison: _Comparison, tuning: Tuning | None) -> int:
    snapshot, progress, drift = comparison.snapshot, comparison.view.progress, comparison.drift
    job_id = snapshot.job_id
    if progress is None:
        if tuning is None:
            return 0
        await start_onboarding(client, store, snapshot.batch_id, job_id, snapshot.org_id, tuning)
        fixed = 1
    else:
        fixed = await asyncio.to_thread(_write_back, store, snapshot, progress, drift)
    if fixed:
        changes = "; ".join(f"{d.field}: {d.read_model} -> {d.engine}" for d in drift)
        await asyncio.to_thread(
            store.add_event,
            snapshot.org_id,
            snapshot.batch_id,
            job_id,
            "reconciled",
            f"Read model repaired from the engine: {changes}",
            actor="reconcile",
        )
    return fixed


def _write_back(store: Store, snapshot: JobSnapshot, progress: Progress, drift: list[Drift]) -> int:
    fixed = 0
    job_id = snapshot.job_id
    with store.transaction():
        for difference in drift:
            if difference.field == "status":
                fixed += store.repair_job_status(
                    job_id, expected=snapshot.status, status=progress.job_status, error=_job_error(progress)
                )
            elif difference.field.startswith("step "):
                step = int(difference.field.removeprefix("step "))
                engine_status = progress.steps[str(step)]
                fixed += store.repair_step(job_id, step, expected=snapshot.steps[step], status=engine_status)
            elif difference.field.startswith("sub-step "):
                key = difference.field.removeprefix("sub-step ")
                engine = progress.sub_steps[key]
                values = {
                    name: engine.get(name) for name in ("status", "generation", "reason", "error", "warning")
                }
                fixed += store.repair_sub_step(job_id, key, expected=snapshot.sub_steps[key], values=values)
    return fixed


def _job_error(progress: Progress) -> str | None:
    if progress.job_status != JobStatus.ACTION_REQUIRED:
        return None
    waiting = [key for key, s in progress.sub_steps.items() if s["status"] == SubStepStatus.FAILED]
    waiting += [STEP_KEYS[int(step)] for step, status in progress.steps.items() if status in WAITING]
    return f"Waiting for a person: {', '.join(waiting)}"
