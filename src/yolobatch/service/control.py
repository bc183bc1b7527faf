"""What people (CLI, API) ask of the engine: start a batch, decide on a failed sub-step, cancel."""

from __future__ import annotations

import asyncio
from typing import Any, Literal, TypeVar

from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.workflow import UpdateMethodMultiParam

from yolobatch.domain.derive import validate_config
from yolobatch.domain.statuses import TERMINAL_JOB_STATUSES
from yolobatch.domain.steps import STEP_BY_KEY
from yolobatch.engine.contracts import (
    Approval,
    CompanyChoice,
    Decision,
    Queues,
    StarterInput,
    Tuning,
    onboarding_workflow_id,
    rerun_workflow_id,
    starter_workflow_id,
)
from yolobatch.engine.starter import BATCH_ID
from yolobatch.engine.workflows.batch_starter import BatchStarter
from yolobatch.engine.workflows.onboarding import RestaurantOnboarding
from yolobatch.settings import Settings
from yolobatch.store.repository import NotFound, Store

Action = Literal["retry", "skip", "mark_done"]
UPDATES: dict[Action, UpdateMethodMultiParam[[RestaurantOnboarding, Decision], str]] = {
    "retry": RestaurantOnboarding.retry_step,
    "skip": RestaurantOnboarding.skip_step,
    "mark_done": RestaurantOnboarding.mark_step_done,
}
Arg = TypeVar("Arg")
# Every decision that lets a restaurant go on without the work done says why (the audit log keeps it).
NEEDS_REASON: dict[str, str] = {
    "skip": "say why it is skipped: a reason is required to skip",
    "mark_done": "say why it is done: a reason is required to mark it done",
}


def action_named(action: str) -> Action | None:
    """`action` as one of the decisions a person can take on a failed step, else None."""
    return next((known for known in UPDATES if known == action), None)


def missing_reason(action: str, reason: str) -> str | None:
    """Why `action` cannot go ahead without a reason, or None: shells ask it before reaching the engine."""
    return NEEDS_REASON[action] if action in NEEDS_REASON and not reason.strip() else None


class DecisionRejected(ValueError):
    """The workflow refused the decision (e.g. the sub-step is not failed)."""


def tuning_for(settings: Settings) -> Tuning:
    """The engine knobs a batch is started with, from this process's settings."""
    return Tuning(time_scale=settings.time_scale, retry_attempts=settings.retry_attempts)


async def start_batch(
    client: Client, store: Store, batch_id: str, tuning: Tuning | None = None, *, actor: str = "system"
) -> str:
    """Start (idempotently) the starter workflow that launches one onboarding workflow per restaurant.
    Returns "started", or "already started" when its starter has already run to the end."""
    batch = await asyncio.to_thread(store.batch, batch_id)
    await asyncio.to_thread(store.mark_batch_started, batch_id, actor)
    queues = Queues((await asyncio.to_thread(store.installation)).task_queue_prefix)
    try:
        await client.start_workflow(
            BatchStarter.run,
            StarterInput(batch_id=batch_id, tuning=tuning or Tuning()),
            id=starter_workflow_id(batch_id),
            task_queue=queues.workflows,
            static_summary=f"starts the restaurants of batch {batch.name}"[:400],
            search_attributes=TypedSearchAttributes([SearchAttributePair(BATCH_ID, batch_id)]),
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        )
    except WorkflowAlreadyStartedError:
        # The starter completed: every restaurant was started (and may have finished). Starting again is
        # the harmless no-op the API documents, not an error.
        return "already started"
    return "started"


async def decide(
    client: Client,
    store: Store,
    job_id: str,
    action: Action,
    sub_step: str,
    *,
    reason: str = "",
    actor: str,
    request_id: str | None = None,
) -> str:
    """Send a person's decision to the restaurant's workflow. `request_id` makes a resend harmless."""
    if problem := missing_reason(action, reason):
        raise DecisionRejected(problem)
    if sub_step not in STEP_BY_KEY and await asyncio.to_thread(store.has_reruns, job_id):
        # Its onboarding workflow has ended: a call that failed when run again is run again, with a reason.
        raise DecisionRejected(
            f"{sub_step} failed when run again: run it again (the restaurant's Run again, POST "
            f"/api/jobs/{job_id}/rerun or `yolobatch rerun`) rather than {action.replace('_', ' ')}"
        )
    if sub_step in STEP_BY_KEY:  # a pipeline step (extraction, companySearch, ...)
        update_id = await _question_id(store, job_id, f"{action}/{sub_step}")
    else:
        row = await asyncio.to_thread(store.sub_step, job_id, sub_step)
        update_id = f"{action}/{sub_step}/{row.generation}"
    decision = Decision(sub_step=sub_step, reason=reason, actor=actor)
    return await _update(client, job_id, UPDATES[action], decision, request_id or update_id)


async def choose_company(client: Client, store: Store, job_id: str, choice: CompanyChoice) -> str:
    """Answer step 3: choose a candidate, search again, enter details by hand, or no company."""
    update_id = await _question_id(store, job_id, f"company/{choice.action}")
    return await _update(client, job_id, RestaurantOnboarding.select_company, choice, update_id)


async def approve_config(client: Client, store: Store, job_id: str, approval: Approval) -> str:
    """Approve step 5's config (edit it in the store first; the workflow re-validates what is stored).
    An invalid config is refused here with its reasons: the workflow would accept the approval, find the
    config invalid and wait again, and the person would never learn why."""
    try:
        wire = await asyncio.to_thread(store.config_wire, job_id)
    except NotFound:
        raise DecisionRejected("this restaurant has no config yet (step 5 has not run)") from None
    _, errors = validate_config(wire)
    if errors:
        raise DecisionRejected("the config is not valid, fix it first: " + "; ".join(errors))
    return await _update(
        client,
        job_id,
        RestaurantOnboarding.approve_config,
        approval,
        await _question_id(store, job_id, "approve"),
    )


async def bulk_approve(client: Client, store: Store, batch_id: str, *, actor: str) -> dict[str, str]:
    """Approve every config of the batch that waits for review; returns job id -> outcome."""
    outcomes: dict[str, str] = {}
    for job_id in await asyncio.to_thread(store.awaiting_review, batch_id):
        try:
            outcomes[job_id] = await approve_config(client, store, job_id, Approval(actor=actor))
        except (DecisionRejected, NotFound) as exc:
            outcomes[job_id] = f"not approved: {exc}"
    return outcomes


async def _question_id(store: Store, job_id: str, key: str) -> str:
    """One id per question asked (the job's event count moves on with each), so a resent answer to the
    same question is deduplicated by Temporal, while the next question gets a fresh id."""
    await asyncio.to_thread(store.job, job_id)
    events = await asyncio.to_thread(store.events, job_id=job_id)
    return f"{key}/{len(events)}"


async def _update(
    client: Client,
    job_id: str,
    update: UpdateMethodMultiParam[[RestaurantOnboarding, Arg], str],
    arg: Arg,
    update_id: str,
) -> str:
    try:
        return await client.get_workflow_handle(onboarding_workflow_id(job_id)).execute_update(
            update, arg, id=update_id
        )
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        if isinstance(cause, ApplicationError):
            raise DecisionRejected(cause.message) from None
        raise
    except RPCError as err:
        raise _no_workflow(job_id, err) from None


def _no_workflow(job_id: str, err: RPCError) -> Exception:
    """NotFound when the engine says the workflow is not there; any other RPC error (the engine is down,
    overloaded) is raised as it is, for the API to answer 503 rather than a misleading 404."""
    if err.status == RPCStatusCode.NOT_FOUND:
        return NotFound(f"job {job_id} has no running workflow: {err.message}")
    return err


async def cancel_batch(client: Client, store: Store, batch_id: str, *, actor: str) -> int:
    """Cancel every restaurant of the batch that has not finished; returns how many were asked to stop."""
    jobs = await asyncio.to_thread(store.job_summaries, batch_id)
    cancelled = 0
    for job in jobs:
        if job.status in TERMINAL_JOB_STATUSES:
            continue
        try:
            await cancel_job(client, store, job.job_id, actor=actor, reason="batch cancelled")
            cancelled += 1
        except NotFound:
            pass  # not started yet, or already finished
    return cancelled


async def cancel_job(client: Client, store: Store, job_id: str, *, actor: str, reason: str = "") -> None:
    """Cancel a restaurant's workflow: calls in flight are cancelled, nothing new starts (audit-logged)."""
    job = await asyncio.to_thread(store.job, job_id)
    # A finished restaurant being re-run has its onboarding workflow closed: the re-run is what runs.
    handle = await _running_rerun(client, store, job_id) or client.get_workflow_handle(
        onboarding_workflow_id(job_id)
    )
    try:
        await handle.cancel()
    except RPCError as err:
        raise _no_workflow(job_id, err) from None
    message = "Cancellation requested" + (f": {reason}" if reason else "")
    await asyncio.to_thread(
        store.add_event, job.org_id, job.batch_id, job_id, "cancel_requested", message, actor=actor
    )


async def _running_rerun(client: Client, store: Store, job_id: str) -> WorkflowHandle[Any, Any] | None:
    """The job's newest re-run's workflow if it is running (only the newest can be: a re-run starts only
    once the restaurant settled)."""
    rerun_ids = await asyncio.to_thread(store.rerun_ids, job_id)
    if not rerun_ids:
        return None
    handle = client.get_workflow_handle(rerun_workflow_id(rerun_ids[-1]))
    try:
        description = await handle.describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return None  # its start was refused: nothing runs
        raise
    return handle if description.status == WorkflowExecutionStatus.RUNNING else None
