"""The read model's transitions as the onboarding workflow states them, and the writer that sends them to
the `record` activity.

One small dataclass per kind of change (a call, a pipeline step, the job, an audit entry) instead of one
writer with fifteen optional keywords: each says only what that change can carry. They all become one
`SubStepRecord` (the activity's stable contract), stamped with a dedupe key unique to the transition so a
retried or replayed write adds no second event.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from yolobatch.domain.plan import SubStep
    from yolobatch.engine.activities import StoreActivities
    from yolobatch.engine.contracts import OnboardingInput, Queues, SubStepRecord

RECORD_TIMEOUT = timedelta(seconds=30)


@dataclass(frozen=True)
class Event:
    """An entry of the job's audit log; the message defaults to what the change says."""

    kind: str
    message: str = ""
    actor: str = "system"


@dataclass(frozen=True)
class CallChanged:
    """A registration call (step 6 sub-step) moved to `status`."""

    key: SubStep
    status: str
    generation: int
    reason: str | None = None
    error: str | None = None
    warning: str | None = None
    event: Event | None = None

    def onto(self, base: SubStepRecord) -> SubStepRecord:
        event = self.event or Event(f"sub_step_{self.status}")
        return replace(
            base,
            sub_step=self.key.value,
            status=self.status,
            generation=self.generation,
            reason=self.reason,
            error=self.error,
            warning=self.warning,
            event_kind=event.kind,
            event_message=event.message or self.error or self.warning or self.reason or "",
            actor=event.actor,
        )


@dataclass(frozen=True)
class StepChanged:
    """A pipeline step (1-5, or 6 as a whole) moved to `status`; `error` is also the job's error."""

    step: int
    status: str
    reason: str | None = None
    error: str | None = None
    result: dict[str, Any] | None = None
    event: Event | None = None

    def onto(self, base: SubStepRecord) -> SubStepRecord:
        return replace(
            base,
            step=self.step,
            step_status=self.status,
            step_reason=self.reason,
            step_result=self.result,
            job_error=self.error,
            event_kind=self.event.kind if self.event else None,
            event_message=(self.event.message if self.event else "") or self.error or "",
        )


@dataclass(frozen=True)
class JobChanged:
    """The restaurant's job moved to `status`; `step` closes or opens a step with it (step 6's start and
    end)."""

    status: str
    error: str | None = None
    event: Event | None = None
    step: int | None = None
    step_status: str | None = None

    def onto(self, base: SubStepRecord) -> SubStepRecord:
        event = self.event or Event(f"job_{self.status}")
        return replace(
            base,
            job_status=self.status,
            job_error=self.error,
            step=self.step,
            step_status=self.step_status,
            event_kind=event.kind,
            event_message=event.message,
            actor=event.actor,
        )


@dataclass(frozen=True)
class Audited:
    """A person's decision on a pipeline step, for the audit log only."""

    event: Event

    def onto(self, base: SubStepRecord) -> SubStepRecord:
        return replace(
            base, event_kind=self.event.kind, event_message=self.event.message, actor=self.event.actor
        )


Transition = CallChanged | StepChanged | JobChanged | Audited


class Recorder:
    """Writes the workflow's transitions to the read model through the `record` activity."""

    def __init__(self, inp: OnboardingInput) -> None:
        self._inp = inp

    async def __call__(self, change: Transition, *, local: bool = True) -> None:
        info = workflow.info()
        # Unique per transition, so a retried or replayed write adds no second event.
        seq = info.get_current_history_length()
        record = change.onto(
            SubStepRecord(job_id=self._inp.job_id, org_id=self._inp.org_id, batch_id=self._inp.batch_id)
        )
        key = record.sub_step or ""
        record = replace(
            record, dedupe_key=f"{info.workflow_id}/{info.run_id}/{seq}/{record.event_kind}/{key}"
        )
        retry = RetryPolicy(maximum_attempts=0)
        if local:
            await workflow.execute_local_activity_method(
                StoreActivities.record, record, start_to_close_timeout=RECORD_TIMEOUT, retry_policy=retry
            )
        else:
            # An ordinary activity is scheduled together with the workflow task's other commands; a local
            # one would hold them back (the first calls of step 6).
            await workflow.execute_activity_method(
                StoreActivities.record,
                record,
                task_queue=Queues(self._inp.queue_prefix).workflows,
                start_to_close_timeout=RECORD_TIMEOUT,
                retry_policy=retry,
            )
