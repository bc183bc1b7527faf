"""Activities: thin adapters from the workflows to the store, the registration API and Temporal itself."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError

from yolobatch.domain.image_urls import UnsafeImageUrl
from yolobatch.domain.org_platform import OrgPlatform
from yolobatch.domain.plan import SPECS, CallClass, SubStep
from yolobatch.domain.redaction import redact
from yolobatch.domain.statuses import SubStepStatus
from yolobatch.engine.attempts import AttemptEvent, AttemptLog
from yolobatch.engine.contracts import (
    CallInput,
    CallOutput,
    SubStepRecord,
)
from yolobatch.engine.guarded_call import VERIFIED_WARNING, failed_error, guarded_call
from yolobatch.integrations.errors import ExternalCallError
from yolobatch.integrations.registration.client import CallFailed, CallResult
from yolobatch.integrations.registration.original_payloads import MissingPlatformId
from yolobatch.integrations.registration.outputs import outputs_from_response
from yolobatch.integrations.registration.payloads import SENDS_MENU, context_from_response
from yolobatch.integrations.registration.port import (
    ContractName,
    PlatformPort,
    Verification,
    call_timeout,
    make_adapter,
)
from yolobatch.logs import get_logger, mark_logged
from yolobatch.store.repository import Registration, Store
from yolobatch.store.tables import utcnow

T = TypeVar("T")
log = get_logger(__name__)
HEARTBEAT_EVERY = 2.0  # seconds; the workflow's heartbeat timeout is 10 s
# A call still under way after this long gets its `running` note (with the request) in the read model; a
# quicker one is recorded once, at its outcome. Far below any real call (seconds), far above a local one.
RUNNING_NOTE_AFTER = 0.25


async def _with_heartbeats(work: Awaitable[T]) -> T:
    """Heartbeat while `work` runs, so a dead worker is noticed in seconds and cancellation arrives."""

    async def beat() -> None:
        while True:
            # Not at once: most calls end within the first interval, and a heartbeat costs a trip to Temporal.
            await asyncio.sleep(HEARTBEAT_EVERY)
            activity.heartbeat()

    beating = asyncio.create_task(beat())
    try:
        return await work
    finally:
        beating.cancel()


class RunningNote:
    """The `running` write of a call, started only if the call lasts `after` seconds (see _platform_call)."""

    def __init__(self, write: Callable[[], Awaitable[None]], after: float = RUNNING_NOTE_AFTER) -> None:
        self._write = write
        self._task: asyncio.Future[None] | None = None
        self._timer = asyncio.get_running_loop().call_later(after, self._start)

    def _start(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._write())
            self._task.add_done_callback(lambda task: task.cancelled() or task.exception())  # if abandoned

    async def written(self) -> None:
        """Write it now if it has not been (an outcome other than success follows it), and wait for it."""
        self._timer.cancel()
        self._start()
        assert self._task is not None
        await self._task

    async def settle(self) -> bool:
        """The call succeeded: True when nothing was written (the success write must carry the request);
        else waits for the write under way."""
        self._timer.cancel()
        if self._task is None:
            return True
        await self._task
        return False


class RegistrationActivities:
    def __init__(
        self,
        store: Store,
        http: httpx.AsyncClient,
        base_url: str,
        service_key: str,
        account_interval: float,
        contract: ContractName = "contract",
    ) -> None:
        self._store = store
        self._http = http
        self._base_url = base_url
        self._service_key = service_key
        self._account_interval = account_interval
        self._contract: ContractName = contract

    @activity.defn(name="platform_call")
    async def platform_call(self, inp: CallInput) -> CallOutput:
        return await _with_heartbeats(self._platform_call(inp))

    async def _platform_call(self, inp: CallInput) -> CallOutput:
        info = activity.info()
        key = SubStep(inp.sub_step)
        started_at = utcnow()
        # One query on one hop to a store thread (each hop wakes a thread and the event loop).
        registration, own = await asyncio.to_thread(
            self._store.call_facts, inp.job_id, with_menu=key in SENDS_MENU
        )
        port, service_key = self._port(registration, own, key, inp.timeout_seconds)
        log_context = {"batch_id": registration.batch_id, "job_id": inp.job_id, "sub_step": key.value}

        async def note(**fields: object) -> None:
            # Progress of this attempt for the read model; the workflow records how the sub-step ends.
            await asyncio.to_thread(
                self._store.record_sub_step,
                inp.job_id,
                key.value,
                SubStepStatus.RUNNING,
                inp.generation,
                attempts=info.attempt,
                **fields,
            )

        try:
            request = port.build(key, inp.job_id, registration.config, registration.menu, inp.context)
        except (UnsafeImageUrl, MissingPlatformId) as refused:
            # Retrying cannot help: the restaurant's data must change first (a person's retry re-reads it).
            await note(error=str(refused))
            raise logged(failed_error(str(refused)), **log_context) from None
        # `running` (with the request sent) is written only once the call has lasted RUNNING_NOTE_AFTER: a
        # quicker call records its request and start with its outcome, in one write instead of two. Either
        # way it is written while the call is under way (the slot is held for the call, not for a database
        # write) and lands before the outcome's note, so the read model never goes backwards.
        secrets = [service_key, *registration.config.secrets()]
        redacted = redact(request.json, secrets)
        running = RunningNote(lambda: note(request=redacted, started_at=started_at))
        # Stable across automatic retries and crashes; a person's explicit retry bumps the generation.
        idempotency_key = f"{inp.job_id}/{key.value}/{inp.generation}"
        poll_interval = max(0.05, inp.backoff_seconds / 2)
        sends = AttemptLog(self._store, registration, inp.job_id, key.value, inp.generation)

        async def wait_turn() -> None:
            if SPECS[key].call_class == CallClass.ACCOUNTS:
                await sends.at_gate(self._wait_for_turn(CallClass.ACCOUNTS, self._account_interval))
            sends.sending()

        async def failed_round(round_: int, failure: CallFailed) -> None:
            await sends.failed(failure)
            await running.written()
            await note(
                error=f"attempt {info.attempt}.{round_}: {failure.message}",
                response=failure.response if isinstance(failure.response, dict) else None,
            )

        async def ask() -> Verification:
            if (
                inp.rerun
            ):  # the read shows the first run's effect: this send's stays unknown (a person decides)
                return "unknown"
            return await port.verify(key, inp.job_id, registration.config)

        if not port.is_idempotent(key):
            policy = info.retry_policy
            try:
                guarded = await guarded_call(
                    port,
                    key,
                    request,
                    idempotency_key,
                    earlier_attempt_died=info.attempt > 1,
                    max_rounds=policy.maximum_attempts if policy else 0,
                    backoff=inp.backoff_seconds,
                    poll_interval=poll_interval,
                    ask=ask,
                    before_send=wait_turn,
                    on_failure=failed_round,
                    deadline=attempt_deadline(info),
                )
            except ApplicationError as error:
                await running.written()
                raise logged(error, **log_context) from None
            if guarded.result is not None:
                sent = sends.ended("ok", status_code=guarded.result.status_code)
                result, context = guarded.result, context_from_response(key, guarded.result.body)
            else:
                sent = sends.ended("ok", message=VERIFIED_WARNING, verified=True)
                context = await self._recovered_context(port, key, registration, log_context)
                # What the platform's read gave back stands for the lost answer: recorded, a later re-run of a
                # dependent (and the outputs) can use it, as this run's dependents do.
                result = CallResult(status_code=200, body=context, warning=VERIFIED_WARNING)
            unwritten = await running.settle()
            started = {"request": redacted, "started_at": started_at} if unwritten else {}
            await asyncio.to_thread(
                self._record_success, registration, inp, info.attempt, result, started, sends, sent
            )
            return CallOutput(context=context, warning=result.warning, replayed=False)

        await wait_turn()
        try:
            result = await port.call(key, request, idempotency_key, poll_interval)
        except CallFailed as failure:
            await failed_round(1, failure)
            refusal = as_application_error(failure, inp.backoff_seconds, info.attempt)
            raise logged(refusal, **log_context) from None
        sent = sends.ended("ok", status_code=result.status_code)
        unwritten = await running.settle()
        started = {"request": redacted, "started_at": started_at} if unwritten else {}
        await asyncio.to_thread(
            self._record_success, registration, inp, info.attempt, result, started, sends, sent
        )
        return CallOutput(
            context=context_from_response(key, result.body), warning=result.warning, replayed=result.replayed
        )

    async def _recovered_context(
        self, port: PlatformPort, key: SubStep, registration: Registration, log_context: dict[str, str]
    ) -> dict[str, Any]:
        try:
            return await port.recovered_context(key, registration.config)
        except CallFailed as failure:
            # Done on the platform, but its result could not be read back: retrying the read is safe.
            error = ApplicationError(f"{key} was done; reading its result failed: {failure.message}")
            raise logged(error, **log_context) from None

    def _port(
        self, registration: Registration, own: OrgPlatform | None, key: SubStep, timeout: float
    ) -> tuple[PlatformPort, str]:
        """The organisation's own platform (URL, key, contract), else this process's default one."""
        url, service_key, contract = (
            (own.url, own.service_key, own.contract)
            if own
            else (self._base_url, self._service_key, self._contract)
        )
        port = make_adapter(
            contract,
            self._http,
            url,
            service_key,
            registration.org_id,
            secrets=registration.config.secrets(),
            # The workflow's timeout for this call is call_timeout scaled (and floored); keep exactly it.
            timeout_scale=timeout / call_timeout(key),
        )
        return port, service_key

    def _record_success(
        self,
        registration: Registration,
        inp: CallInput,
        attempt: int,
        result: CallResult,
        started: dict[str, Any],
        sends: AttemptLog,
        sent: AttemptEvent,
    ) -> None:
        """The sub-step is completed: the workflow takes this result as it is (so it need not record it
        itself, which would hold back the calls that were waiting for this one). `started`: the request and
        start time, when no `running` note wrote them; `sent`: the send that succeeded, for the timeline."""
        key = inp.sub_step
        with self._store.transaction():
            self._store.record_sub_step(
                inp.job_id,
                key,
                SubStepStatus.COMPLETED,
                inp.generation,
                attempts=attempt,
                response=result.body,
                warning=result.warning,
                reason=None,
                error=None,
                **started,
            )
            # In the same transaction: the outputs exist exactly when the sub-step reads completed.
            self._store.record_outputs(inp.job_id, outputs_from_response(SubStep(key), result.body))
            self._store.add_event(
                registration.org_id,
                registration.batch_id,
                inp.job_id,
                f"sub_step_{SubStepStatus.COMPLETED}",
                result.warning or "",
                sub_step=key,
                dedupe_key=f"{inp.job_id}/{key}/{inp.generation}/completed",
            )
            sends.write(sent)

    async def _wait_for_turn(self, call_class: str, interval: float) -> None:
        # The task queue's server-side rate limit admits short bursts; the platform's rule (the original's:
        # >= 60 s between the starts of consecutive calls) does not, so each start takes its own spaced
        # slot from the database, then checks it against the actual start of the call before it: one that
        # started late holds this one back by as much (a late start used to shorten the gap by up to 5 %).
        start_at = await asyncio.to_thread(self._store.reserve_start, call_class, interval)
        await asyncio.sleep(max(0.0, start_at - time.time()))
        while (wait := await asyncio.to_thread(self._store.confirm_start, call_class, interval)) > 0:
            await asyncio.sleep(wait)


def attempt_deadline(info: activity.Info) -> float | None:
    """When Temporal will time this attempt out, on time.monotonic()'s clock (with a little slack)."""
    if info.start_to_close_timeout is None:
        return None
    elapsed = (datetime.now(UTC) - info.started_time).total_seconds()
    return time.monotonic() + 0.9 * info.start_to_close_timeout.total_seconds() - max(0.0, elapsed)


def as_application_error(failure: ExternalCallError, backoff: float, attempt: int) -> ApplicationError:
    """How Temporal should treat an outside call's failure: never again, or again after a jittered backoff
    (or exactly when the other side asked, via Retry-After)."""
    if not failure.retryable:
        return ApplicationError(failure.message, type="NonRetryable", non_retryable=True)
    if failure.retry_after is not None:
        delay = failure.retry_after
    else:
        # Exponential backoff with full jitter, so restaurants that failed together do not retry together.
        delay = random.uniform(0.5, 1.5) * backoff * 2 ** (attempt - 1)
    return ApplicationError(failure.message, type="Retryable", next_retry_delay=timedelta(seconds=delay))


def logged(error: ApplicationError, *, batch_id: str, job_id: str, sub_step: str) -> ApplicationError:
    """Logs an outside call's failure as one line with its context, and returns it to be raised: INFO while
    Temporal will try again, WARNING when this was the last attempt (a person decides next). The SDK's own
    record of it, a traceback, is dropped (`yolobatch.logs.ExpectedActivityFailures`)."""
    info = activity.info()
    policy = info.retry_policy
    last = error.non_retryable or bool(
        policy and policy.maximum_attempts and info.attempt >= policy.maximum_attempts
    )
    context = {
        "batch_id": batch_id,
        "job_id": job_id,
        "sub_step": sub_step,
        "attempt": info.attempt,
        "error": error.message,
    }
    if last:
        log.warning("call failed, no retry left", retryable=not error.non_retryable, **context)
    else:
        delay = error.next_retry_delay.total_seconds() if error.next_retry_delay else None
        log.info("call failed, retrying", retry_in_seconds=delay and round(delay, 3), **context)
    mark_logged(error)
    return error


class StoreActivities:
    def __init__(self, store: Store) -> None:
        self._store = store

    @activity.defn(name="record")
    def record(self, rec: SubStepRecord) -> None:
        """Apply one read-model transition in one transaction. Idempotent: a retried or replayed call
        changes nothing more."""
        with self._store.transaction():
            self._apply(rec)

    def _apply(self, rec: SubStepRecord) -> None:
        if rec.sub_step and rec.status:
            fields: dict[str, object] = {}
            if rec.status in (SubStepStatus.COMPLETED, SubStepStatus.SKIPPED):
                fields["reason"] = rec.reason
                fields["warning"] = rec.warning
                fields["error"] = None
            if rec.status == SubStepStatus.FAILED:
                fields["error"] = rec.error
            if rec.status == SubStepStatus.QUEUED:
                fields |= {"error": None, "started_at": None, "finished_at": None, "attempts": 0}
            self._store.record_sub_step(rec.job_id, rec.sub_step, rec.status, rec.generation, **fields)
        if rec.step and rec.step_status:
            self._store.record_step(
                rec.job_id,
                rec.step,
                rec.step_status,
                reason=rec.step_reason,
                error=rec.job_error if rec.step_status == "failed" else None,
                result=rec.step_result,
            )
        if rec.job_status:
            self._store.record_job(rec.job_id, rec.job_status, rec.job_error)
        if rec.event_kind:
            self._store.add_event(
                rec.org_id,
                rec.batch_id,
                rec.job_id,
                rec.event_kind,
                rec.event_message,
                actor=rec.actor,
                sub_step=rec.sub_step,
                dedupe_key=rec.dedupe_key,
            )
