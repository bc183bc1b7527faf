"""Steps 1-5 of `RestaurantOnboarding`: extraction, company search and choice, details, config.

A collaborator of the workflow: it is given the workflow's input, the steps' state (which the workflow's
update handlers and query read too), the read-model writer and the job-status refresh. Machines do what
they can; a person is asked only when the company match is uncertain or the config needs review (unless
the batch runs in YOLO mode), and every wait is a durable workflow wait, not a worker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError

with workflow.unsafe.imports_passed_through():
    from yolobatch.domain.steps import STEP_BY_KEY, STEP_KEYS, Step
    from yolobatch.engine.contracts import (
        MENU_ACTIONS,
        Approval,
        CompanyChoice,
        Decision,
        LookupInput,
        MenuAnswer,
        OnboardingInput,
        Queues,
        StepOutput,
    )
    from yolobatch.engine.pipeline_activities import PipelineActivities
    from yolobatch.engine.workflows.records import Audited, Event, Recorder, StepChanged

CHOICES = ("choose", "retry_search", "manual", "no_company")
NO_MENU = "No menu found: upload a menu file, retry extraction with a render, or continue without a menu"
WAITING = ("failed", "action_required")


@dataclass
class StepState:
    status: str = "pending"
    reason: str | None = None
    error: str | None = None
    # ("retry"|"skip", Decision) | ("choice", ...) | ("approve", ...) | ("menu", MenuAnswer)
    decision: tuple[str, Any] | None = None
    candidates: tuple[str, ...] = ()  # company numbers offered at step 3


# Steps 1-5 activities, sync (database work in a thread) or async (HTTP).
Lookup = (
    Callable[[PipelineActivities, LookupInput], Awaitable[StepOutput]]
    | Callable[[PipelineActivities, LookupInput], StepOutput]
)


class Pipeline:
    def __init__(
        self,
        inp: OnboardingInput,
        steps: dict[int, StepState],
        record: Recorder,
        refresh_job_status: Callable[[], Awaitable[None]],
    ) -> None:
        self._inp = inp
        self._steps = steps
        self._record = record
        self._refresh_job_status = refresh_job_status

    async def run(self) -> dict[str, Any]:
        """Run steps 1-5; return the approved config (secrets masked) for step 6."""
        await self._step_1_extraction()
        number, details = await self._steps_2_3_company()
        await self._step_4_details(number, details)
        return await self._step_5_config()

    # -- steps -------------------------------------------------------------------------------------------

    async def _step_1_extraction(self) -> None:
        output = await self._lookup(1, PipelineActivities.extract_store, LookupInput(self._inp.job_id))
        # No menu found: registering without one is a store customers cannot order from, so a person
        # decides (as the original blocked), unless the batch's policy says to go on.
        while output is not None and not output.summary.get("items") and self._inp.menu_policy == "wait":
            answer = await self._wait_for_menu(output.summary)
            if answer.action == "retry_render":
                output = await self._lookup(
                    1, PipelineActivities.extract_store, LookupInput(self._inp.job_id, render=True)
                )
                continue
            if answer.action == "uploaded":
                await self._lookup(
                    1,
                    PipelineActivities.adopt_menu,
                    LookupInput(self._inp.job_id, upload_id=answer.upload_id),
                )
            reason = (
                f"Menu uploaded by {answer.actor}"
                if answer.action == "uploaded"
                else f"Continued without a menu by {answer.actor}"
            )
            summary = {**output.summary, "menu": answer.action}
            await self._set_step(Step.EXTRACTION, "completed", reason=reason, result=summary)
            return
        if output is not None:
            await self._set_step(Step.EXTRACTION, "completed", result=output.summary)

    async def _steps_2_3_company(self) -> tuple[str | None, dict[str, Any] | None]:
        terms: dict[str, Any] | None = None
        while True:
            found = await self._lookup(
                2, PipelineActivities.search_companies, LookupInput(self._inp.job_id, terms=terms)
            )
            if found is None:  # skipped by a person: no company
                await self._set_step(Step.COMPANY_SELECTION, "skipped", reason="Company search skipped")
                return None, None
            candidates = found.summary.get("candidates", [])
            await self._set_step(Step.COMPANY_SEARCH, "completed", result={"candidates": len(candidates)})
            top = candidates[0] if candidates else None
            given = self._inp.company_number
            if given and terms is None and given in [c["number"] for c in candidates]:
                reason = f"Company {given} given in the input"
                await self._set_step(
                    Step.COMPANY_SELECTION, "completed", reason=reason, result={"number": given}
                )
                return given, None
            if top and found.summary.get("unambiguous") and self._inp.auto_select:
                reason = f"Auto-selected {top['name']} (score {top['score']:.0f}, clearly ahead)"
                await self._set_step(
                    Step.COMPANY_SELECTION, "completed", reason=reason, result={"number": top["number"]}
                )
                return top["number"], None
            if self._inp.yolo:
                why = "no registry match" if not candidates else "the match is not certain"
                await self._set_step(
                    Step.COMPANY_SELECTION, "skipped", reason=f"No company: {why} (YOLO mode does not guess)"
                )
                return None, None
            choice = await self._wait_for_choice([c["number"] for c in candidates])
            if choice.action == "retry_search":
                terms = choice.terms
                continue
            if choice.action == "choose":
                return choice.number, None
            if choice.action == "manual":
                return None, choice.details
            return None, None

    async def _step_4_details(self, number: str | None, details: dict[str, Any] | None) -> None:
        if details is not None:
            await self._lookup(
                4, PipelineActivities.save_manual_details, LookupInput(self._inp.job_id, details=details)
            )
            await self._set_step(Step.COMPANY_DETAILS, "completed", reason="Entered by a person")
        elif number is None:
            await self._set_step(Step.COMPANY_DETAILS, "skipped", reason="No company selected")
        else:
            output = await self._lookup(
                4, PipelineActivities.company_details, LookupInput(self._inp.job_id, number=number)
            )
            if output is not None:
                await self._set_step(Step.COMPANY_DETAILS, "completed", result=output.summary)

    async def _step_5_config(self) -> dict[str, Any]:
        review = await self._lookup(5, PipelineActivities.prepare_config, LookupInput(self._inp.job_id))
        if review is None:
            raise ApplicationError("step 5 was skipped: a restaurant cannot register without a config")
        approver = "yolo-mode" if self._inp.yolo and review.ok else None
        reason = "Auto-approved (YOLO mode)" if approver else None
        while True:
            if approver is None:
                problems = review.summary.get("errors", [])
                waiting = "Fix the config: " + "; ".join(problems) if problems else "Review the config"
                approval = await self._wait_for_approval(waiting)
                approver, reason = approval.actor, approval.reason or "Approved"
            result = await self._lookup(
                5, PipelineActivities.approve_config, LookupInput(self._inp.job_id, actor=approver)
            )
            if result is not None and result.ok:
                await self._set_step(Step.CONFIG, "completed", reason=f"{reason} by {approver}")
                return result.summary["config"]
            review, approver = result or review, None

    # -- machinery ---------------------------------------------------------------------------------------

    async def _lookup(self, step: int, activity: Lookup, arg: LookupInput) -> StepOutput | None:
        """Run a pipeline activity; after its retries, wait for a person (retry again, or skip → None)."""
        tuning = self._inp.tuning
        # The activity's method name is its registered name (stable: recorded histories name it).
        name = activity.__name__
        while True:
            await self._set_step(step, "running")
            try:
                return await workflow.execute_activity_method(
                    activity,
                    arg,
                    task_queue=Queues(self._inp.queue_prefix).lookup,
                    activity_id=f"{STEP_KEYS[step]}/{name}/{workflow.info().get_current_history_length()}",
                    start_to_close_timeout=timedelta(seconds=max(15.0, 180 * tuning.time_scale)),
                    heartbeat_timeout=timedelta(seconds=30),
                    retry_policy=RetryPolicy(
                        initial_interval=timedelta(seconds=max(0.05, 2.0 * tuning.time_scale)),
                        maximum_interval=timedelta(seconds=max(1.0, 60 * tuning.time_scale)),
                        maximum_attempts=tuning.retry_attempts,
                        non_retryable_error_types=["NonRetryable"],
                    ),
                )
            except ActivityError as err:
                if isinstance(err.cause, CancelledError):
                    raise asyncio.CancelledError() from err
                cause = err.cause
                message = cause.message if isinstance(cause, ApplicationError) else str(cause or err)
                action = await self._wait_for_step_decision(step, message)
                if action == "skip":
                    return None

    async def _set_step(
        self,
        step: int,
        status: str,
        *,
        reason: str | None = None,
        error: str | None = None,
        result: dict[str, Any] | None = None,
    ) -> None:
        state = self._steps[step]
        state.status, state.reason, state.error = status, reason, error
        await self._record(
            StepChanged(
                step,
                status,
                reason,
                error,
                result,
                event=Event(f"step{step}_{status}", reason or error or ""),
            )
        )
        await self._refresh_job_status()

    async def _wait_for_step_decision(self, step: int, error: str) -> str:
        state = self._steps[step]
        await self._set_step(step, "failed", error=error)
        await workflow.wait_condition(lambda: state.decision is not None)
        assert state.decision is not None  # the condition just waited for
        (action, decision), state.decision = state.decision, None
        state.status = "pending"  # answered: a second answer must be refused until we ask again
        await self._audit(step, action, decision.actor, decision.reason)
        if action == "skip":
            await self._set_step(step, "skipped", reason=decision.reason or "Skipped by a person")
        return action

    async def _wait_for_choice(self, numbers: list[str]) -> CompanyChoice:
        state = self._steps[Step.COMPANY_SELECTION]
        state.candidates = tuple(numbers)
        reason = "Choose the company" if numbers else "No registry match: search again, enter it, or none"
        await self._set_step(Step.COMPANY_SELECTION, "action_required", reason=reason)
        await workflow.wait_condition(lambda: state.decision is not None)
        assert state.decision is not None  # the condition just waited for
        (_, choice), state.decision = state.decision, None
        state.status = "pending"
        await self._audit(3, choice.action, choice.actor, choice.reason or (choice.number or ""))
        if choice.action == "choose":
            await self._set_step(
                3, "completed", reason=f"Chosen by {choice.actor}", result={"number": choice.number}
            )
        elif choice.action == "manual":
            await self._set_step(
                Step.COMPANY_SELECTION, "completed", reason=f"Entered manually by {choice.actor}"
            )
        elif choice.action == "no_company":
            await self._set_step(
                Step.COMPANY_SELECTION, "skipped", reason=f"No company, decided by {choice.actor}"
            )
        return choice

    async def _wait_for_menu(self, summary: dict[str, Any]) -> MenuAnswer:
        state = self._steps[Step.EXTRACTION]
        reason = NO_MENU + (" (the page was rendered)" if summary.get("rendered") else "")
        await self._set_step(Step.EXTRACTION, "action_required", reason=reason, result=summary)
        await workflow.wait_condition(lambda: state.decision is not None)
        assert state.decision is not None  # the condition just waited for
        (_, answer), state.decision = state.decision, None
        state.status = "pending"  # answered: a second answer must be refused until we ask again
        await self._audit(Step.EXTRACTION, f"menu_{answer.action}", answer.actor, answer.reason)
        return answer

    async def _wait_for_approval(self, reason: str) -> Approval:
        state = self._steps[Step.CONFIG]
        await self._set_step(Step.CONFIG, "action_required", reason=reason)
        await workflow.wait_condition(lambda: state.decision is not None)
        assert state.decision is not None  # the condition just waited for
        (_, approval), state.decision = state.decision, None
        state.status = "pending"
        await self._audit(5, "approve", approval.actor, approval.reason)
        return approval

    async def _audit(self, step: int, action: str, actor: str, reason: str) -> None:
        message = f"{action} by {actor}" + (f": {reason}" if reason else "")
        await self._record(Audited(Event(f"{STEP_KEYS[step]}_{action}", message, actor)))

    # -- validation of human input (called from the workflow's update validators) ------------------------

    def validate_step_decision(self, decision: Decision) -> int:
        step = STEP_BY_KEY.get(decision.sub_step)
        if step is None:
            raise ApplicationError(f"unknown step or sub-step {decision.sub_step!r}", type="InvalidDecision")
        state = self._steps[step]
        if state.status != "failed" or state.decision is not None:
            raise ApplicationError(
                f"{decision.sub_step} is {state.status}; only a failed step can be retried or skipped",
                type="InvalidDecision",
            )
        return step

    def validate_choice(self, choice: CompanyChoice) -> None:
        state = self._steps[Step.COMPANY_SELECTION]
        if state.status != "action_required" or state.decision is not None:
            raise ApplicationError(
                f"no company choice is awaited (step 3 is {state.status})", type="InvalidDecision"
            )
        if choice.action not in CHOICES:
            raise ApplicationError(f"action must be one of {', '.join(CHOICES)}", type="InvalidDecision")
        if choice.action == "choose" and choice.number not in state.candidates:
            raise ApplicationError(f"{choice.number!r} is not one of the candidates", type="InvalidDecision")
        if choice.action == "retry_search" and not (choice.terms or {}).get("name", "").strip():
            raise ApplicationError("a new search needs at least a name", type="InvalidDecision")
        if choice.action == "manual" and not (choice.details or {}).get("contact_person", "").strip():
            raise ApplicationError("manual details need at least a contact_person", type="InvalidDecision")

    def validate_menu_answer(self, answer: MenuAnswer) -> None:
        state = self._steps[Step.EXTRACTION]
        if state.status != "action_required" or state.decision is not None:
            raise ApplicationError(
                f"no menu decision is awaited (step 1 is {state.status})", type="InvalidDecision"
            )
        if answer.action not in MENU_ACTIONS:
            raise ApplicationError(f"action must be one of {', '.join(MENU_ACTIONS)}", type="InvalidDecision")
        if (answer.action == "uploaded") != (answer.upload_id is not None):
            raise ApplicationError("an uploaded menu comes with its upload's id", type="InvalidDecision")

    def validate_approval(self, approval: Approval) -> None:
        state = self._steps[Step.CONFIG]
        if state.status != "action_required" or state.decision is not None:
            raise ApplicationError(
                f"no config review is awaited (step 5 is {state.status})", type="InvalidDecision"
            )
