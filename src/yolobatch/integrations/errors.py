"""What every client of the outside world raises, so the engine treats all of them alike."""

from __future__ import annotations

import math
from typing import Any


class ExternalCallError(Exception):
    """A call that did not give a usable answer. `retryable` says whether trying again can help;
    `retry_after` is the wait the other side asked for (seconds), when it said."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        status_code: int | None = None,
        retry_after: float | None = None,
        response: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.status_code = status_code
        self.retry_after = retry_after
        self.response = response


def retry_after_seconds(value: str | None) -> float | None:
    """The `Retry-After` header in seconds; None for a missing, negative or HTTP-date value (rare from APIs;
    the caller falls back to its own backoff)."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None
