"""`RestaurantOnboarding`: one restaurant's step 6, the 12 registration calls as a dependency graph.

Each sub-step is an asyncio task created in plan order; it waits for its dependencies' tasks, then runs its
call. There are no phase barriers. A call that exhausts its retries leaves the sub-step `failed` and the
restaurant `action_required`; its dependents simply keep waiting until a person retries, skips or marks it
done (updates). The read model in the database is written through the `record` local activity.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError

with workflow.unsafe.imports_passed_through():
    from yolobatch.domain.plan import (
        PLAN,
        Outcome,
        SubStep,
        SubStepSpec,
        skip_reason,
    )
    from yolobatch.domain.statuses import WAITING_SUB_STEP_STATUSES, JobStatus, SubStepStatus
    from yolobatch.domain.steps import PIPELINE_STEPS, STEP_BY_KEY, Step
    from yolobatch.engine.contracts import (
        Approval,
        CallOutput,
        CompanyChoice,
        Decision,
        MenuAnswer,
        OnboardingInput,
        Queues,
        SubStepRecord,
    )
    from yolobatch.engine.guarded_call import OUTCOME_UNKNOWN
    from yolobatch.engine.workflows.calls import error_message, error_type, execute_call
    from yolobatch.engine.workflows.pipeline import WAITING, PipelineMixin, StepState

PIPELINE_PATCH = "pipeline-steps-1-5"  # histories recorded before steps 1-5 existed replay without them
# Read-model writes off the calls' critical path: the first record of a step-6 job is an ordinary activity,
# and a call's success is recorded by `platform_call` itself instead of a local activity after it.
FAST_RECORDS_PATCH = "records-off-critical-path"
RECORD_TIMEOUT = timedelta(seconds=30)


@dataclass
class SubStepState:
    status: str = SubStepStatus.PENDING
    generation: int = 0
    reason: str | None = None
    error: str | None = None
    warning: str | None = None
    decision: tuple[str, Decision] | None = None  # set by an update, consumed by the waiting task


@dataclass
class Progress:
    job_status: str
    sub_steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    steps: dict[str, str] = field(default_factory=dict)  # "1".."5" -> status (pipeline jobs only)


@workflow.defn(name="RestaurantOnboarding")
class RestaurantOnboarding(PipelineMixin):
    def __init__(self) -> None:
        self._input: OnboardingInput | None = None
        self._states = {spec.key: SubStepState() for spec in PLAN}
        self._steps = {spec.number: StepState() for spec in PIPELINE_STEPS}
        self._config: dict[str, Any] = {}
        self._job_status = JobStatus.PENDING

    @workflow.run
    async def run(self, inp: OnboardingInput) -> str:
        self._input = inp
        self._config = inp.config
        try:
            if inp.pipeline and workflow.patched(PIPELINE_PATCH):
                await self._record(
                    None, job_status=JobStatus.RUNNING, event_kind="job_started", event="Started"
                )
                self._config = await self._pipeline()
                await self._record(None, step=6, step_status="running", event_kind="step6_started")
                await self._step_6()
            elif workflow.patched(FAST_RECORDS_PATCH):
                # A local activity holds back every command of its workflow task, here the first calls;
                # an ordinary activity is scheduled together with them.
                started = asyncio.ensure_future(self._record_step_6_started(local=False))
                await self._step_6()
                await started
            else:
                await self._record_step_6_started(local=True)
                await self._step_6()
        except asyncio.CancelledError:
            # Cancellation of the workflow: settle the read model, then let the cancellation through.
            await self._settle_cancelled()
            raise
        self._job_status = JobStatus.COMPLETED
        warnings = [k for k, s in self._states.items() if s.warning]
        message = "Step 6 completed" + (f" with warnings in {', '.join(warnings)}" if warnings else "")
        await self._record(
            None,
            job_status=JobStatus.COMPLETED,
            event_kind="job_completed",
            event=message,
            step=6,
            step_status="completed",
        )
        return JobStatus.COMPLETED

    async def _record_step_6_started(self, *, local: bool) -> None:
        await self._record(
            None,
            job_status=JobStatus.RUNNING,
            event_kind="job_started",
            event="Step 6 started",
            step=6,
            step_status="running",
            local=local,
        )

    async def _step_6(self) -> None:
        tasks: dict[SubStep, asyncio.Task[Outcome]] = {}
        for spec in PLAN:
            tasks[spec.key] = asyncio.create_task(self._sub_step(spec, tasks))
        try:
            await asyncio.gather(*tasks.values())
        except asyncio.CancelledError:
            for task in tasks.values():
                task.cancel()
            raise

    async def _settle_cancelled(self) -> None:
        for key, state in self._states.items():
            if state.status not in (SubStepStatus.COMPLETED, SubStepStatus.SKIPPED):
                state.status = SubStepStatus.CANCELLED
                await self._record(key, status=SubStepStatus.CANCELLED)
        self._job_status = JobStatus.CANCELLED
        await self._record(
            None, job_status=JobStatus.CANCELLED, event_kind="job_cancelled", event="Cancelled"
        )

    # -- the graph ---------------------------------------------------------------------------------------

    async def _sub_step(self, spec: SubStepSpec, tasks: dict[SubStep, asyncio.Task[Outcome]]) -> Outcome:
        deps = {need: await tasks[need] for need in spec.needs}
        state = self._states[spec.key]
        reason = skip_reason(spec.key, self._config, deps)
        if reason:
            state.status, state.reason = SubStepStatus.SKIPPED, reason
            await self._record(spec.key, status=SubStepStatus.SKIPPED, reason=reason)
            return Outcome(SubStepStatus.SKIPPED, {})
        context: dict[str, Any] = {}
        for outcome in deps.values():
            context.update(outcome.result)
        while True:
            state.status, state.error = SubStepStatus.QUEUED, None
            try:
                output = await self._call(spec, state.generation, context)
            except ActivityError as err:
                if isinstance(err.cause, CancelledError):
                    # A cancelled workflow must not wait for a person; surface it as cancellation so the
                    # run's cleanup sees it whichever sub-step noticed first.
                    raise asyncio.CancelledError() from err
                # A guarded call whose effect nobody can tell waits for a person as `outcome_unknown`.
                status = (
                    SubStepStatus.OUTCOME_UNKNOWN
                    if error_type(err) == OUTCOME_UNKNOWN
                    else SubStepStatus.FAILED
                )
                outcome = await self._fail_and_wait(spec.key, error_message(err), status)
                if outcome is not None:
                    return outcome
                continue
            state.status, state.warning = SubStepStatus.COMPLETED, output.warning
            if not workflow.patched(FAST_RECORDS_PATCH):
                # Since the patch, `platform_call` records its own success, so dependents start at once.
                await self._record(spec.key, status=SubStepStatus.COMPLETED, warning=output.warning)
            return Outcome(SubStepStatus.COMPLETED, output.context)

    async def _call(self, spec: SubStepSpec, generation: int, context: dict[str, Any]) -> CallOutput:
        inp = self._inp
        return await execute_call(
            spec, generation, context, inp.job_id, inp.batch_id, inp.tuning, inp.queue_prefix
        )

    async def _fail_and_wait(
        self, key: SubStep, error: str, status: SubStepStatus = SubStepStatus.FAILED
    ) -> Outcome | None:
        """Mark `key` failed (or outcome_unknown), wait for a person, apply the decision. None means: run
        it again."""
        state = self._states[key]
        state.status, state.error, state.decision = status, error, None
        await self._record(key, status=status, error=error)
        await self._refresh_job_status()
        await workflow.wait_condition(lambda: state.decision is not None)
        action, decision = state.decision  # type: ignore[misc]
        state.decision = None
        state.status = SubStepStatus.QUEUED  # answered: refuse a second answer until it fails again
        audit = f"{action} by {decision.actor}" + (f": {decision.reason}" if decision.reason else "")
        outcome: Outcome | None
        if action == "retry":
            state.generation += 1
            state.status, state.error = SubStepStatus.QUEUED, None
            status, outcome = SubStepStatus.QUEUED, None
        elif action == "skip":
            state.status, state.reason = SubStepStatus.SKIPPED, decision.reason or "Skipped by a person"
            status, outcome = SubStepStatus.SKIPPED, Outcome(SubStepStatus.SKIPPED, {})
        else:
            state.status, state.reason = SubStepStatus.COMPLETED, decision.reason
            status, outcome = SubStepStatus.COMPLETED, Outcome(SubStepStatus.COMPLETED, {})
        await self._record(
            key,
            status=status,
            reason=state.reason if outcome else None,
            event_kind=f"sub_step_{action}",
            event=audit,
            actor=decision.actor,
        )
        await self._refresh_job_status()
        return outcome

    async def _refresh_job_status(self) -> None:
        waiting = [k.value for k, s in self._states.items() if s.status in WAITING_SUB_STEP_STATUSES]
        waiting += [name for name, step in STEP_BY_KEY.items() if self._steps[step].status in WAITING]
        status = JobStatus.ACTION_REQUIRED if waiting else JobStatus.RUNNING
        if status != self._job_status:
            self._job_status = status
            error = f"Waiting for a person: {', '.join(waiting)}" if waiting else None
            await self._record(None, job_status=status, job_error=error)

    # -- human input -------------------------------------------------------------------------------------

    @workflow.update
    async def retry_step(self, decision: Decision) -> str:
        return self._decide("retry", decision)

    @workflow.update
    async def skip_step(self, decision: Decision) -> str:
        return self._decide("skip", decision)

    @workflow.update
    async def mark_step_done(self, decision: Decision) -> str:
        return self._decide("mark_done", decision)

    @retry_step.validator
    def _validate_retry(self, decision: Decision) -> None:
        self._validate(decision, needs_reason=False)

    @skip_step.validator
    def _validate_skip(self, decision: Decision) -> None:
        self._validate(decision, needs_reason=False, skipping=True)

    @mark_step_done.validator
    def _validate_mark_done(self, decision: Decision) -> None:
        self._validate(decision, needs_reason=True)

    def _validate(self, decision: Decision, *, needs_reason: bool, skipping: bool = False) -> None:
        if decision.sub_step in STEP_BY_KEY:
            if needs_reason:
                raise ApplicationError("only registration calls can be marked done", type="InvalidDecision")
            self._validate_step_decision(decision)
            return
        try:
            key = SubStep(decision.sub_step)
        except ValueError:
            raise ApplicationError(
                f"unknown sub-step {decision.sub_step!r}", type="InvalidDecision"
            ) from None
        state = self._states[key]
        if state.status not in WAITING_SUB_STEP_STATUSES or state.decision is not None:
            raise ApplicationError(
                f"{key} is {state.status}; only a failed sub-step can be retried, skipped or marked done",
                type="InvalidDecision",
            )
        if state.status == SubStepStatus.OUTCOME_UNKNOWN:
            # Nobody knows whether the platform did it: a person must look first and say what they saw.
            if skipping:
                raise ApplicationError(
                    f"{key} is outcome_unknown: check the platform's portal, then mark it done or retry it",
                    type="InvalidDecision",
                )
            needs_reason = True
        if needs_reason and not decision.reason.strip():
            what = (
                "deciding an outcome_unknown sub-step (what the portal showed)"
                if state.status == SubStepStatus.OUTCOME_UNKNOWN
                else "marking a sub-step done"
            )
            raise ApplicationError(f"{what} needs a reason", type="InvalidDecision")

    def _decide(self, action: str, decision: Decision) -> str:
        if decision.sub_step in STEP_BY_KEY:
            self._steps[STEP_BY_KEY[decision.sub_step]].decision = (action, decision)
        else:
            self._states[SubStep(decision.sub_step)].decision = (action, decision)
        return f"{action} accepted for {decision.sub_step}"

    @workflow.update
    async def select_company(self, choice: CompanyChoice) -> str:
        self._steps[Step.COMPANY_SELECTION].decision = ("choice", choice)
        return f"{choice.action} accepted"

    @select_company.validator
    def _validate_select_company(self, choice: CompanyChoice) -> None:
        self._validate_choice(choice)

    @workflow.update
    async def answer_menu(self, answer: MenuAnswer) -> str:
        self._steps[Step.EXTRACTION].decision = ("menu", answer)
        return f"{answer.action} accepted"

    @answer_menu.validator
    def _validate_answer_menu(self, answer: MenuAnswer) -> None:
        self._validate_menu_answer(answer)

    @workflow.update
    async def approve_config(self, approval: Approval) -> str:
        self._steps[Step.CONFIG].decision = ("approve", approval)
        return "approval accepted"

    @approve_config.validator
    def _validate_approve_config(self, approval: Approval) -> None:
        self._validate_approval(approval)

    @workflow.query
    def progress(self) -> Progress:
        return Progress(
            job_status=self._job_status,
            sub_steps={
                key.value: {
                    "status": s.status,
                    "generation": s.generation,
                    "reason": s.reason,
                    "error": s.error,
                    "warning": s.warning,
                }
                for key, s in self._states.items()
            },
            steps={str(step): state.status for step, state in self._steps.items()}
            if self._inp.pipeline
            else {},
        )

    # -- read model --------------------------------------------------------------------------------------

    @property
    def _inp(self) -> OnboardingInput:
        assert self._input is not None
        return self._input

    async def _record(
        self,
        key: SubStep | None,
        *,
        status: str | None = None,
        reason: str | None = None,
        error: str | None = None,
        warning: str | None = None,
        job_status: str | None = None,
        job_error: str | None = None,
        event_kind: str | None = None,
        event: str = "",
        actor: str = "system",
        step: int | None = None,
        step_status: str | None = None,
        step_reason: str | None = None,
        step_result: dict[str, Any] | None = None,
        local: bool = True,
    ) -> None:
        inp = self._inp
        generation = self._states[key].generation if key else 0
        kind = event_kind or (f"sub_step_{status}" if key else f"job_{job_status}" if job_status else None)
        # Unique per transition, so a retried or replayed write adds no second event.
        seq = workflow.info().get_current_history_length()
        record = SubStepRecord(
            job_id=inp.job_id,
            org_id=inp.org_id,
            batch_id=inp.batch_id,
            sub_step=key.value if key else None,
            status=status,
            generation=generation,
            reason=reason,
            error=error,
            warning=warning,
            job_status=job_status,
            job_error=job_error,
            event_kind=kind,
            event_message=event or error or warning or reason or "",
            actor=actor,
            step=step,
            step_status=step_status,
            step_reason=step_reason,
            step_result=step_result,
            dedupe_key=f"{workflow.info().workflow_id}/{workflow.info().run_id}/{seq}/{kind}/{key or ''}",
        )
        if local:
            await workflow.execute_local_activity(
                "record",
                record,
                start_to_close_timeout=RECORD_TIMEOUT,
                retry_policy=RetryPolicy(maximum_attempts=0),
            )
        else:
            await workflow.execute_activity(
                "record",
                record,
                task_queue=Queues(self._inp.queue_prefix).workflows,
                start_to_close_timeout=RECORD_TIMEOUT,
                retry_policy=RetryPolicy(maximum_attempts=0),
            )
