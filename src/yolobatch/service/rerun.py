"""Run again: a person re-runs a completed (or skipped) registration call of a finished restaurant, with or
without the calls that depend on it, after fixing what it sends (colours, the menu...). The one path the
API, the dashboard and the CLI take. Each call runs as a new generation, so with a new idempotency key:
the platform does it again, exactly once per call."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.service import RPCError, RPCStatusCode

from yolobatch.domain.plan import PLAN, SPECS, Outcome, SubStep, all_dependents, skip_reason
from yolobatch.domain.statuses import JobStatus, SubStepStatus
from yolobatch.engine.contracts import Queues, RerunInput, rerun_workflow_id
from yolobatch.integrations.registration.payloads import context_from_response
from yolobatch.service.control import DecisionRejected, tuning_for
from yolobatch.settings import Settings
from yolobatch.store.repository import Store
from yolobatch.store.reruns import RerunRefused

# A call that ran (or was skipped, or marked done) can run again. A failed call of a finished restaurant
# exists only after a re-run failed: running it again is how that restaurant goes on.
RERUNNABLE = (SubStepStatus.COMPLETED, SubStepStatus.SKIPPED)
AFTER_FAILED_RERUN = (SubStepStatus.FAILED, SubStepStatus.OUTCOME_UNKNOWN)


# Calls that create what the store is: run again under a new idempotency key, any platform would create a
# second account, restaurant or user. Fixing one of them is done on the platform, not by a re-run.
CREATES = {
    SubStep.CLOUDWAITRESS_ACCOUNT: "the account",
    SubStep.RESTAURANT_REGISTRATION: "the restaurant",
    SubStep.CREATE_ONBOARDING_USER: "the onboarding user",
}
# The original service adds rather than replaces for these (integrations/registration/port.py): a second
# Stripe method, a second copy of every option set and tag. Its other calls set state, so sending them
# again after a fix is what a re-run is for.
ADDS_ON_ORIGINAL = {
    SubStep.PAYMENT_CONFIG: "a second payment method",
    SubStep.OPTION_SETS: "a second copy of every option set",
    SubStep.ITEM_TAGS: "a second copy of every tag",
}


def _contract_of(store: Store, org_id: str, settings: Settings) -> str:
    own = store.org_platform(org_id)
    return own.contract if own else settings.registration_contract


def _why_not(
    key: SubStep,
    rows: dict[str, Any],
    running_again: set[SubStep],
    config: dict[str, Any],
    contract: str,
) -> str | None:
    """Why `key` cannot run again now, or None. `running_again`: the calls of this re-run (they run first,
    in plan order, so they count as completed for the calls that need them)."""
    if key in CREATES:
        return (
            f"{key} creates {CREATES[key]}: run again it would create a second one (change it on the "
            "platform itself)"
        )
    if contract == "original" and key in ADDS_ON_ORIGINAL:
        return (
            f"{key} cannot run again on this organisation's platform (the original service): it would add "
            f"{ADDS_ON_ORIGINAL[key]}"
        )
    deps: dict[SubStep, Outcome] = {}
    for need in SPECS[key].needs:
        row = rows[need.value]
        status = SubStepStatus.COMPLETED if need in running_again else row.status
        if status not in (SubStepStatus.COMPLETED, SubStepStatus.SKIPPED):
            return f"{key} needs {need}, which is {status}"
        deps[need] = Outcome(status=status, result=row.response or {})
    skipped = skip_reason(key, config, deps)
    if skipped:
        return f"{key} would be skipped now ({skipped}): nothing to run again"
    return None


@dataclass(frozen=True)
class RerunStarted:
    rerun_id: str
    sub_steps: list[str]  # what runs again, in plan order
    generations: dict[str, int]


async def rerun(
    client: Client,
    store: Store,
    settings: Settings,
    job_id: str,
    sub_step: str,
    *,
    with_dependents: bool,
    reason: str,
    actor: str,
    org: str | None = None,
) -> RerunStarted:
    """Re-run `sub_step` (and, with `with_dependents`, every completed call that depends on it). Raises
    `DecisionRejected` with the reason when it cannot run again now, `NotFound` for an unknown job."""
    if not reason.strip():
        raise DecisionRejected("say why it runs again: a reason is required to re-run")
    try:
        key = SubStep(sub_step)
    except ValueError:
        known = ", ".join(spec.key.value for spec in PLAN)
        raise DecisionRejected(f"unknown registration call {sub_step!r}; one of {known}") from None
    job = await asyncio.to_thread(store.job, job_id, org)
    rows = await asyncio.to_thread(store.sub_step_rows, job_id)
    rerun_after_failure = job.status == JobStatus.ACTION_REQUIRED and await asyncio.to_thread(
        store.has_reruns, job_id
    )
    if job.status != JobStatus.COMPLETED and not rerun_after_failure:
        raise DecisionRejected(
            f"the restaurant is {job.status}: only a finished restaurant's calls can be re-run "
            "(a failed call of a running one is retried instead)"
        )
    allowed = RERUNNABLE + (AFTER_FAILED_RERUN if rerun_after_failure else ())
    if rows[key.value].status not in allowed:
        raise DecisionRejected(
            f"{key} is {rows[key.value].status}: only a completed or skipped call can be re-run"
        )
    config = await asyncio.to_thread(store.public_config, job_id)
    contract = await asyncio.to_thread(_contract_of, store, job.org_id, settings)
    refusal = _why_not(key, rows, {key}, config, contract)
    if refusal:
        raise DecisionRejected(refusal)
    keys = [key]
    # After a re-run failed, the calls that depend on the failed one were not sent: they wait (pending) for
    # it to succeed, and run again with it.
    left_waiting = [
        dep
        for dep in all_dependents(key)
        if rerun_after_failure and rows[dep.value].status not in (*RERUNNABLE, SubStepStatus.CANCELLED)
    ]
    if left_waiting and not with_dependents:
        names = ", ".join(dep.value for dep in left_waiting)
        raise DecisionRejected(
            f"{names} did not run again after {key} failed: re-run {key} with its dependents"
        )
    if with_dependents:
        # Dependents that ran (not those skipped by a rule or waiting): they used what `key` produced. One
        # that could not run again now (its rule says skip, or it would duplicate on this platform) keeps its
        # result, and the answer says which ran.
        for dep in all_dependents(key):
            if (rows[dep.value].status == SubStepStatus.COMPLETED or dep in left_waiting) and not _why_not(
                dep, rows, {*keys, dep}, config, contract
            ):
                keys.append(dep)
    generations = {k.value: rows[k.value].generation + 1 for k in keys}
    # The ids the re-run calls need from the calls that are not re-run (restaurant id, code injection...).
    context: dict[str, object] = {}
    for spec in PLAN:
        row = rows[spec.key.value]
        if spec.key not in keys and row.status == SubStepStatus.COMPLETED and row.response:
            context.update(context_from_response(spec.key, row.response))
    try:
        rerun_id = await asyncio.to_thread(
            store.begin_rerun,
            job_id,
            sub_step=key.value,
            with_dependents=with_dependents,
            generations=generations,
            actor=actor,
            reason=reason.strip(),
            allowed=(JobStatus.COMPLETED, JobStatus.ACTION_REQUIRED)
            if rerun_after_failure
            else (JobStatus.COMPLETED,),
        )
    except RerunRefused as exc:
        raise DecisionRejected(str(exc)) from None
    queues = Queues((await asyncio.to_thread(store.installation)).task_queue_prefix)
    try:
        await client.start_workflow(
            "SubStepRerun",
            RerunInput(
                job_id=job_id,
                org_id=job.org_id,
                batch_id=job.batch_id,
                rerun_id=rerun_id,
                sub_steps=list(generations),
                generations=generations,
                context=context,
                actor=actor,
                reason=reason.strip(),
                tuning=tuning_for(settings),
                queue_prefix=queues.prefix,
            ),
            id=rerun_workflow_id(rerun_id),
            task_queue=queues.workflows,
            static_summary=f"re-run {', '.join(generations)} of {job.restaurant_name}"[:400],
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except Exception:
        # An error may come after the engine accepted the start (a deadline, the connection lost): then the
        # re-run runs, and putting the restaurant back would hide it. Only a workflow that does not exist
        # means nothing was sent; the audit keeps the request that failed.
        started = await _rerun_started(client, rerun_id)
        if started is False:
            await asyncio.to_thread(store.abandon_rerun, job_id, job.status, job.error, job.finished_at)
        if not started:
            raise
    return RerunStarted(rerun_id=rerun_id, sub_steps=list(generations), generations=generations)


DESCRIBE_TIMEOUT = timedelta(seconds=10)


async def _rerun_started(client: Client, rerun_id: str) -> bool | None:
    """Whether the re-run's workflow was started; None when the engine cannot say (unreachable): the
    restaurant then stays running until the workflow or `yolobatch reconcile` settles it, rather than
    showing finished while a call may be on its way."""
    try:
        await client.get_workflow_handle(rerun_workflow_id(rerun_id)).describe(rpc_timeout=DESCRIBE_TIMEOUT)
    except RPCError as err:
        return False if err.status == RPCStatusCode.NOT_FOUND else None
    except Exception:
        return None
    return True
