"""Limits on failed authentication, per client address."""

from __future__ import annotations

import time
from collections import deque


class AuthFailureLimit:
    """Invalid tokens per client address: after `limit` within `window` seconds, that address gets 429 for
    any token until the oldest failure ages out. Tokens are 256-bit random, so this is about noise and
    defence in depth, not guessability. Kept per API process (each process counts its own)."""

    def __init__(self, limit: int = 20, window: float = 60.0, max_clients: int = 10_000) -> None:
        self.limit, self.window, self._max_clients = limit, window, max_clients
        self._failures: dict[str, deque[float]] = {}

    def retry_after(self, client: str) -> float | None:
        """Seconds until `client` may try again, or None when it may try now."""
        if client not in self._failures:
            return None
        failures = self._recent(client)
        if len(failures) < self.limit:
            return None
        return max(1.0, failures[0] + self.window - time.monotonic())

    def failed(self, client: str) -> None:
        if client not in self._failures and len(self._failures) >= self._max_clients:
            self._failures.pop(next(iter(self._failures)))  # forget the longest-known address
        self._recent(client).append(time.monotonic())

    def _recent(self, client: str) -> deque[float]:
        failures = self._failures.setdefault(client, deque())
        while failures and failures[0] < time.monotonic() - self.window:
            failures.popleft()
        return failures
