"""One registration call as a workflow runs it: the `platform_call` activity with its queue, timeouts,
retry policy and priority. Shared by the onboarding workflow and the re-run workflow, so a re-run call is
sent exactly as the first one was (only its generation, hence its idempotency key, differs)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import Priority, RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from yolobatch.domain.plan import CallClass, SubStep, SubStepSpec, priority_key
    from yolobatch.engine.activities import RegistrationActivities
    from yolobatch.engine.contracts import CallInput, CallOutput, Queues, Tuning
    from yolobatch.integrations.registration.port import call_timeout

ACCOUNT_TURN_ALLOWANCE = 3600.0  # seconds (unscaled) an account call may wait for its turn
MIN_CALL_TIMEOUT = 3.0  # seconds: below this, scaled timeouts would fail on a busy machine
HEARTBEAT_TIMEOUT = timedelta(seconds=10)


async def execute_call(
    spec: SubStepSpec,
    generation: int,
    context: dict[str, Any],
    job_id: str,
    batch_id: str,
    tuning: Tuning,
    queue_prefix: str,
    rerun: bool = False,
) -> CallOutput:
    # A margin over the service's own limit: it gives up (and answers) first, instead of a race that
    # turns clean failures into ambiguous ones.
    timeout = max(MIN_CALL_TIMEOUT, call_timeout(spec.key, tuning.time_scale))
    backoff = max(0.05, 2.0 * tuning.time_scale)
    # Polling an asynchronous image upload may outlast the call itself.
    per_send = timeout * (4 if spec.key == SubStep.UPLOAD_IMAGES else 1) + 5
    # On a platform that ignores idempotency keys, one attempt of the activity retries what failed
    # before any effect itself (and verifies ambiguous answers), so it may send several times.
    sends = max(1, tuning.retry_attempts)
    schedule = per_send * sends + backoff * 2**sends
    queues = Queues(queue_prefix)
    accounts = spec.call_class == CallClass.ACCOUNTS
    queue = queues.accounts if accounts else queues.platform
    if accounts:
        # An account call may first wait its turn at the platform-wide rate gate (one per worker
        # ahead of it); heartbeats, not this bound, detect a dead worker.
        schedule += ACCOUNT_TURN_ALLOWANCE * tuning.time_scale
    return await workflow.execute_activity_method(
        RegistrationActivities.platform_call,
        CallInput(
            job_id=job_id,
            sub_step=spec.key.value,
            generation=generation,
            context=context,
            timeout_seconds=timeout,
            backoff_seconds=backoff,
            rerun=rerun,
        ),
        task_queue=queue,
        activity_id=f"{spec.key.value}/{generation}",
        start_to_close_timeout=timedelta(seconds=schedule),
        heartbeat_timeout=HEARTBEAT_TIMEOUT,
        retry_policy=RetryPolicy(
            initial_interval=timedelta(seconds=max(0.05, 2.0 * tuning.time_scale)),
            backoff_coefficient=2.0,
            maximum_interval=timedelta(seconds=max(1.0, 60 * tuning.time_scale)),
            maximum_attempts=tuning.retry_attempts,
            non_retryable_error_types=["NonRetryable"],
        ),
        priority=Priority(priority_key=priority_key(spec.key), fairness_key=batch_id),
    )


def error_type(err: ActivityError) -> str | None:
    cause = err.cause
    while cause is not None and not isinstance(cause, ApplicationError):
        cause = cause.__cause__  # what temporalio's `.cause` returns, on any exception
    return cause.type if isinstance(cause, ApplicationError) else None


def error_message(err: ActivityError) -> str:
    cause = err.cause
    while cause is not None and cause.__cause__ is not None and not isinstance(cause, ApplicationError):
        cause = cause.__cause__
    if isinstance(cause, ApplicationError):
        return cause.message
    return str(cause or err)
