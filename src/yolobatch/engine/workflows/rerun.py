"""`SubStepRerun`: a person runs completed registration calls of a finished restaurant again (after fixing
colours, the menu...). Each call is sent once more under a new generation, so with a new idempotency key;
the calls not re-run keep their results. A call that fails (after its automatic retries) ends the re-run
and leaves the restaurant waiting for a person, who may re-run it again."""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from yolobatch.domain.plan import SPECS, SubStep
    from yolobatch.domain.statuses import JobStatus, SubStepStatus
    from yolobatch.engine.activities import StoreActivities
    from yolobatch.engine.contracts import RerunInput, SubStepRecord
    from yolobatch.engine.guarded_call import OUTCOME_UNKNOWN
    from yolobatch.engine.workflows.calls import error_message, error_type, execute_call
    from yolobatch.engine.workflows.records import RECORD_TIMEOUT


@workflow.defn(name="SubStepRerun")
class SubStepRerun:
    def __init__(self) -> None:
        self._input: RerunInput | None = None
        self._seq = 0

    @workflow.run
    async def run(self, inp: RerunInput) -> str:
        self._input = inp
        keys = ", ".join(inp.sub_steps)
        await self._record(event_kind="rerun_started", event=f"Re-running {keys}: {inp.reason}")
        context: dict[str, Any] = dict(inp.context)
        for key in inp.sub_steps:
            generation = inp.generations[key]
            await self._record(key, status=SubStepStatus.QUEUED, generation=generation)
            try:
                output = await execute_call(
                    SPECS[SubStep(key)],
                    generation,
                    context,
                    inp.job_id,
                    inp.batch_id,
                    inp.tuning,
                    inp.queue_prefix,
                    rerun=True,
                )
            except ActivityError as err:
                error = error_message(err)
                unknown = error_type(err) == OUTCOME_UNKNOWN
                status = SubStepStatus.OUTCOME_UNKNOWN if unknown else SubStepStatus.FAILED
                await self._record(key, status=status, generation=generation, error=error)
                await self._record(
                    job_status=JobStatus.ACTION_REQUIRED,
                    job_error=f"Re-run of {key} failed: {error}",
                    event_kind="rerun_failed",
                    event=f"Re-run of {key} failed: {error}",
                )
                return SubStepStatus.FAILED
            context.update(output.context)
        await self._record(
            job_status=JobStatus.COMPLETED, event_kind="rerun_completed", event=f"Re-ran {keys}"
        )
        return SubStepStatus.COMPLETED

    async def _record(
        self,
        key: str | None = None,
        *,
        status: str | None = None,
        generation: int = 0,
        error: str | None = None,
        job_status: str | None = None,
        job_error: str | None = None,
        event_kind: str | None = None,
        event: str = "",
    ) -> None:
        inp = self._input
        assert inp is not None
        self._seq += 1
        kind = event_kind or (f"sub_step_{status}" if key else None)
        await workflow.execute_local_activity_method(
            StoreActivities.record,
            SubStepRecord(
                job_id=inp.job_id,
                org_id=inp.org_id,
                batch_id=inp.batch_id,
                sub_step=key,
                status=status,
                generation=generation,
                error=error,
                job_status=job_status,
                job_error=job_error,
                event_kind=kind,
                event_message=event or error or "",
                actor=inp.actor,
                # Unique per transition of this re-run: a retried or replayed write adds no second event.
                dedupe_key=f"rerun/{inp.rerun_id}/{self._seq}/{kind}/{key or ''}",
            ),
            start_to_close_timeout=RECORD_TIMEOUT,
            retry_policy=RetryPolicy(maximum_attempts=0),
        )
