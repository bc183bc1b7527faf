"""Was a failed call certainly before any effect on the platform, or might the effect have happened?

Pure: it looks only at the exception (and the transport error it wraps). The engine retries the first
kind freely; the second only where the operation is idempotent, else it verifies first (port.verify).
"""

from __future__ import annotations

from typing import Literal

import httpx

from yolobatch.domain.image_urls import UnsafeImageUrl
from yolobatch.integrations.errors import ExternalCallError
from yolobatch.integrations.registration.original_payloads import MissingPlatformId

Classification = Literal["before_effect", "ambiguous"]

# Nothing reached the service: no connection, or no free connection to send on.
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


def _transport_cause(exc: BaseException) -> BaseException | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, httpx.HTTPError):
            return current
        current = current.__cause__ or current.__context__
    return None


def classify(exc: BaseException) -> Classification:
    """`before_effect`: connection refused/unreachable, the request refused before it ran (4xx, 429, a
    request we would not build). `ambiguous`: timeout or connection lost after sending, 5xx, a 2xx whose
    body we could not use, or anything not recognised — the platform may have done it."""
    if isinstance(exc, UnsafeImageUrl | MissingPlatformId):
        return "before_effect"
    cause = _transport_cause(exc)
    if isinstance(cause, _NEVER_SENT):
        return "before_effect"
    if cause is not None:
        # Read/write timeouts, resets and protocol errors: the request may have been received and run.
        return "ambiguous"
    status = exc.status_code if isinstance(exc, ExternalCallError) else None
    if status is not None and 400 <= status < 500 and status != 408:
        # The service validated and refused (409: the same idempotency key is still running — no new effect).
        return "before_effect"
    return "ambiguous"


def may_retry_blind(classification: Classification, idempotent: bool) -> bool:
    """Retry without asking the platform first only when a repeat cannot duplicate the effect."""
    return classification == "before_effect" or idempotent
