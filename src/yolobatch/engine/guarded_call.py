"""A registration call on a platform that does not honour idempotency: never sent twice without asking.

Temporal's own retry would send the same request again after a timeout or a lost answer; on the original
service that creates a second restaurant or a second Stripe method. So on such a platform the activity
retries only failures that were certainly before any effect (connection refused, 4xx, 429 — Retry-After
honoured), and after an ambiguous one (timeout or connection lost after sending, 5xx) it first asks the
platform through a read (`PlatformPort.verify`): done → completed; not done → send again; no read → the
sub-step waits for a person as `outcome_unknown`. Every failure it hands to Temporal is non-retryable.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from temporalio.exceptions import ApplicationError

from yolobatch.domain.plan import SubStep
from yolobatch.integrations.registration.client import CallFailed, CallResult
from yolobatch.integrations.registration.outcomes import classify
from yolobatch.integrations.registration.payloads import Request
from yolobatch.integrations.registration.port import PlatformPort, Verification

OUTCOME_UNKNOWN = "OutcomeUnknown"  # the ApplicationError type the workflow parks as `outcome_unknown`
NON_RETRYABLE = "NonRetryable"
VERIFIED_WARNING = "verified after an ambiguous answer: the platform's read says it was done"
VERIFY_READ_ATTEMPTS = 3  # a failing read is retried (a read has no effect), then the outcome stays unknown
UNLIMITED_ROUNDS_CAP = 10  # when the retry policy says "unlimited", sends of one activity attempt stop here


@dataclass
class Guarded:
    """The result of a guarded call: the platform's answer, or None when a read showed it was done."""

    result: CallResult | None
    verified: bool = False


def unknown_error(key: SubStep, why: str) -> ApplicationError:
    return ApplicationError(
        f"{key}: {why}; the platform has no read that says whether it took effect. Check the platform's "
        "portal, then mark it done or retry it",
        type=OUTCOME_UNKNOWN,
        non_retryable=True,
    )


def failed_error(message: str) -> ApplicationError:
    return ApplicationError(message, type=NON_RETRYABLE, non_retryable=True)


async def verify(ask: Callable[[], Awaitable[Verification]]) -> Verification:
    """The platform's read, retried a few times on its own failure; `unknown` when it keeps failing."""
    for attempt in range(VERIFY_READ_ATTEMPTS):
        try:
            return await ask()
        except CallFailed:
            if attempt + 1 == VERIFY_READ_ATTEMPTS:
                return "unknown"
            await asyncio.sleep(0.2 * 2**attempt)
    return "unknown"


async def guarded_call(
    port: PlatformPort,
    key: SubStep,
    request: Request,
    idempotency_key: str,
    *,
    earlier_attempt_died: bool,
    max_rounds: int,
    backoff: float,
    poll_interval: float,
    ask: Callable[[], Awaitable[Verification]],
    before_send: Callable[[], Awaitable[None]],
    on_failure: Callable[[int, CallFailed], Awaitable[None]],
    deadline: float | None = None,
) -> Guarded:
    """Send `request` at most as often as the platform's answers and reads allow (module docstring).

    `earlier_attempt_died`: Temporal started this activity again, so an earlier attempt ended without
    reporting (worker killed, heartbeat lost) — possibly mid-call — and its effect must be asked first.
    `deadline` (time.monotonic()): when this attempt will be timed out; a wait past it fails the call
    instead, since Temporal's next attempt would have to treat the clean refusal as a lost worker.
    """
    if earlier_attempt_died:
        verdict = await verify(ask)
        if verdict == "done":
            return Guarded(None, verified=True)
        if verdict == "unknown":
            raise unknown_error(key, "an earlier attempt stopped mid-call (worker lost)")
    rounds = max_rounds if max_rounds > 0 else UNLIMITED_ROUNDS_CAP
    for round_ in range(1, rounds + 1):
        await before_send()
        try:
            return Guarded(await port.call(key, request, idempotency_key, poll_interval))
        except CallFailed as failure:
            await on_failure(round_, failure)
            if not failure.retryable:
                raise failed_error(failure.message) from None
            if classify(failure) == "ambiguous":
                verdict = await verify(ask)
                if verdict == "done":
                    return Guarded(None, verified=True)
                if verdict == "unknown":
                    raise unknown_error(key, f"ambiguous answer ({failure.message})") from None
            if round_ == rounds:
                raise failed_error(f"{failure.message} (after {rounds} attempts)") from None
            if failure.retry_after is not None:
                delay = failure.retry_after
            else:
                delay = random.uniform(0.5, 1.5) * backoff * 2 ** (round_ - 1)
            if deadline is not None and time.monotonic() + delay >= deadline:
                raise failed_error(
                    f"{failure.message}; waiting {delay:.1f} s more would outlast this attempt"
                ) from None
            await asyncio.sleep(delay)
    raise AssertionError("unreachable: the last round returns or raises")
