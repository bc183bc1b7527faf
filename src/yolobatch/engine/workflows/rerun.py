"""`SubStepRerun`: a person runs completed registration calls of a finished restaurant again (after fixing
colours, the menu...). Each call is sent once more under a new generation, so with a new idempotency key;
the calls not re-run keep their results. A call that fails (after its automatic retries) leaves the
restaurant waiting for a person, who may re-run it again; the calls of the re-run that depend on it are
not sent and go back to pending, so nobody mistakes their old results for re-run ones. Cancelling the
restaurant cancels its re-run. Its `progress` query is what `yolobatch reconcile` takes as the truth of
the calls it ran."""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, CancelledError

with workflow.unsafe.imports_passed_through():
    from yolobatch.domain.plan import SPECS, SubStep, all_dependents
    from yolobatch.domain.statuses import JobStatus, SubStepStatus
    from yolobatch.engine.activities import StoreActivities
    from yolobatch.engine.contracts import RerunInput, SubStepRecord
    from yolobatch.engine.guarded_call import OUTCOME_UNKNOWN
    from yolobatch.engine.workflows.calls import error_message, error_type, execute_call
    from yolobatch.engine.workflows.onboarding import Progress
    from yolobatch.engine.workflows.records import RECORD_TIMEOUT


@workflow.defn(name="SubStepRerun")
class SubStepRerun:
    def __init__(self) -> None:
        self._input: RerunInput | None = None
        self._seq = 0
        self._job_status: str = JobStatus.RUNNING
        # What this re-run did to each of its calls (what `yolobatch reconcile` compares the read model with).
        self._calls: dict[str, dict[str, Any]] = {}

    @workflow.run
    async def run(self, inp: RerunInput) -> str:
        self._input = inp
        keys = ", ".join(inp.sub_steps)
        try:
            # The job is running from here on, whatever a caller that lost the start's answer did with it.
            await self._record(
                job_status=JobStatus.RUNNING,
                event_kind="rerun_started",
                event=f"Re-running {keys}: {inp.reason}",
            )
            failed = await self._run_calls(inp)
        except asyncio.CancelledError:
            # The restaurant was cancelled: settle the read model, then let the cancellation through.
            await self._settle_cancelled(inp)
            raise
        if failed:
            return SubStepStatus.FAILED
        self._job_status = JobStatus.COMPLETED
        await self._record(
            job_status=JobStatus.COMPLETED, event_kind="rerun_completed", event=f"Re-ran {keys}"
        )
        return SubStepStatus.COMPLETED

    @workflow.query
    def progress(self) -> Progress:
        """This re-run's calls and the job status it leaves (also answered once the re-run closed)."""
        return Progress(job_status=self._job_status, sub_steps={k: dict(v) for k, v in self._calls.items()})

    async def _run_calls(self, inp: RerunInput) -> bool:
        """Run each call in order; returns whether one failed. The calls that depend on a failed one are
        not sent (they would use what failed) and go back to pending; the others still run."""
        context: dict[str, Any] = dict(inp.context)
        blocked: dict[str, str] = {}  # call -> the failed call it depends on
        failures: list[tuple[str, str]] = []
        for key in inp.sub_steps:
            if key in blocked:
                await self._not_rerun(inp, [key], f"{blocked[key]} failed")
                continue
            generation = inp.generations[key]
            self._set(key, SubStepStatus.QUEUED, generation)
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
                if isinstance(err.cause, CancelledError):
                    # Cancellation is no failure to wait on: the cleanup in `run` must see it.
                    raise asyncio.CancelledError() from err
                error = error_message(err)
                unknown = error_type(err) == OUTCOME_UNKNOWN
                status = SubStepStatus.OUTCOME_UNKNOWN if unknown else SubStepStatus.FAILED
                self._set(key, status, generation, error=error)
                await self._record(key, status=status, generation=generation, error=error)
                failures.append((key, error))
                for dependent in all_dependents(SubStep(key)):
                    blocked.setdefault(dependent.value, key)
                continue
            self._set(key, SubStepStatus.COMPLETED, generation)
            context.update(output.context)
        if not failures:
            return False
        message = "; ".join(f"Re-run of {key} failed: {error}" for key, error in failures)
        self._job_status = JobStatus.ACTION_REQUIRED
        await self._record(
            job_status=JobStatus.ACTION_REQUIRED, job_error=message, event_kind="rerun_failed", event=message
        )
        return True

    async def _not_rerun(self, inp: RerunInput, keys: list[str], why: str) -> None:
        """Calls of this re-run that were never sent go back to pending, at the new generation (its key
        unused): their old results came before what was fixed, so they must not read as re-run (and a
        re-run of the failed call with its dependents is what runs them)."""
        for key in keys:
            generation = inp.generations[key]
            self._set(key, SubStepStatus.PENDING, generation)
            await self._record(
                key,
                status=SubStepStatus.PENDING,
                generation=generation,
                event_kind="rerun_not_run",
                event=f"{key} not re-run: {why}",
            )

    async def _settle_cancelled(self, inp: RerunInput) -> None:
        running = [k for k in inp.sub_steps if self._calls.get(k, {}).get("status") == SubStepStatus.QUEUED]
        for key in running:
            generation = inp.generations[key]
            self._set(key, SubStepStatus.CANCELLED, generation)
            await self._record(key, status=SubStepStatus.CANCELLED, generation=generation)
        await self._not_rerun(inp, [k for k in inp.sub_steps if k not in self._calls], "cancelled")
        self._job_status = JobStatus.CANCELLED
        await self._record(
            job_status=JobStatus.CANCELLED, event_kind="rerun_cancelled", event="Re-run cancelled"
        )

    def _set(self, key: str, status: str, generation: int, error: str | None = None) -> None:
        self._calls[key] = {
            "status": status,
            "generation": generation,
            "reason": None,
            "error": error,
            "warning": None,
        }

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
        try:
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
        except ActivityError as err:
            if isinstance(err.cause, CancelledError):
                raise asyncio.CancelledError() from err  # cancelled while writing: the same cleanup
            raise
