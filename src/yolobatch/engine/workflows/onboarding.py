"""`RestaurantOnboarding`: one restaurant's step 6, the 12 registration calls as a dependency graph.

Each sub-step is an asyncio task created in plan order; it waits for its dependencies' tasks, then runs its
call. There are no phase barriers. A call that exhausts its retries leaves the sub-step `failed` and the
restaurant `action_required`; its dependents simply keep waiting until a person retries, skips or marks it
done (updates). The read model in the database is written through the `record` activity, as the typed
transitions of `records.py`; steps 1-5 (when the restaurant starts from its store page) are `Pipeline`'s.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from temporalio import workflow
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
    )
    from yolobatch.engine.guarded_call import OUTCOME_UNKNOWN
    from yolobatch.engine.workflows.calls import error_message, error_type, execute_call
    from yolobatch.engine.workflows.pipeline import WAITING, Pipeline, StepState
    from yolobatch.engine.workflows.records import CallChanged, Event, JobChanged, Recorder, StepChanged


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
class RestaurantOnboarding:
    @workflow.init
    def __init__(self, inp: OnboardingInput) -> None:
        # Built from the input before any update can arrive, so validators see whole state.
        self._inp = inp
        self._states = {spec.key: SubStepState() for spec in PLAN}
        self._steps: dict[int, StepState] = {spec.number: StepState() for spec in PIPELINE_STEPS}
        self._config: dict[str, Any] = inp.config
        self._job_status = JobStatus.PENDING
        self._record = Recorder(inp)
        self._pipeline = Pipeline(inp, self._steps, self._record, self._refresh_job_status)

    @workflow.run
    async def run(self, inp: OnboardingInput) -> str:
        try:
            if inp.pipeline:
                await self._record(JobChanged(JobStatus.RUNNING, event=Event("job_started", "Started")))
                self._config = await self._pipeline.run()
                await self._record(StepChanged(6, "running", event=Event("step6_started")))
                await self._step_6()
            else:
                # The job's start is recorded by whoever starts this workflow (`start_onboarding`), not
                # here: an activity per restaurant cost a dispatch and a workflow task for one write.
                await self._step_6()
        except asyncio.CancelledError:
            # Cancellation of the workflow: settle the read model, then let the cancellation through.
            await self._settle_cancelled()
            raise
        self._job_status = JobStatus.COMPLETED
        warnings = [k for k, s in self._states.items() if s.warning]
        message = "Step 6 completed" + (f" with warnings in {', '.join(warnings)}" if warnings else "")
        await self._record(
            JobChanged(
                JobStatus.COMPLETED, event=Event("job_completed", message), step=6, step_status="completed"
            )
        )
        return JobStatus.COMPLETED

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
                await self._record(CallChanged(key, SubStepStatus.CANCELLED, state.generation))
        self._job_status = JobStatus.CANCELLED
        await self._record(JobChanged(JobStatus.CANCELLED, event=Event("job_cancelled", "Cancelled")))

    # -- the graph ---------------------------------------------------------------------------------------

    async def _sub_step(self, spec: SubStepSpec, tasks: dict[SubStep, asyncio.Task[Outcome]]) -> Outcome:
        deps = {need: await tasks[need] for need in spec.needs}
        state = self._states[spec.key]
        reason = skip_reason(spec.key, self._config, deps)
        if reason:
            state.status, state.reason = SubStepStatus.SKIPPED, reason
            await self._record(CallChanged(spec.key, SubStepStatus.SKIPPED, state.generation, reason=reason))
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
                decided = await self._fail_and_wait(spec.key, error_message(err), status)
                if decided is not None:
                    return decided
                continue
            # `platform_call` recorded its own success, so dependents start at once.
            state.status, state.warning = SubStepStatus.COMPLETED, output.warning
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
        await self._record(CallChanged(key, status, state.generation, error=error))
        await self._refresh_job_status()
        await workflow.wait_condition(lambda: state.decision is not None)
        assert state.decision is not None  # the condition just waited for
        action, decision = state.decision
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
        reason = state.reason if outcome else None
        event = Event(f"sub_step_{action}", audit, decision.actor)
        await self._record(CallChanged(key, status, state.generation, reason=reason, event=event))
        await self._refresh_job_status()
        return outcome

    async def _refresh_job_status(self) -> None:
        waiting = [k.value for k, s in self._states.items() if s.status in WAITING_SUB_STEP_STATUSES]
        waiting += [name for name, step in STEP_BY_KEY.items() if self._steps[step].status in WAITING]
        status = JobStatus.ACTION_REQUIRED if waiting else JobStatus.RUNNING
        if status != self._job_status:
            self._job_status = status
            error = f"Waiting for a person: {', '.join(waiting)}" if waiting else None
            await self._record(JobChanged(status, error))

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
            self._pipeline.validate_step_decision(decision)
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
        self._pipeline.validate_choice(choice)

    @workflow.update
    async def answer_menu(self, answer: MenuAnswer) -> str:
        self._steps[Step.EXTRACTION].decision = ("menu", answer)
        return f"{answer.action} accepted"

    @answer_menu.validator
    def _validate_answer_menu(self, answer: MenuAnswer) -> None:
        self._pipeline.validate_menu_answer(answer)

    @workflow.update
    async def approve_config(self, approval: Approval) -> str:
        self._steps[Step.CONFIG].decision = ("approve", approval)
        return "approval accepted"

    @approve_config.validator
    def _validate_approve_config(self, approval: Approval) -> None:
        self._pipeline.validate_approval(approval)

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
