"""Idempotency keys: replay completed answers, refuse reuse with another request or while executing."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, NamedTuple

from yolobatch.devtools.sandbox.protocol import Reply, fail

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"


def fingerprint(method: str, path: str, body: dict[str, Any]) -> str:
    """Same key, different endpoint or body is a different request — the key must not hide that."""
    canonical = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


class Admission(NamedTuple):
    reply: Reply
    replayed: bool


@dataclass
class _Entry:
    fingerprint: str
    reply: Reply | None = None  # None while the first request is still executing


class IdempotencyStore:
    """Entries keyed by (organisation, key); callers serialise `admit` and `settle` with the world lock."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], _Entry] = {}

    def admit(self, org_id: str, key: str, request_fingerprint: str) -> Admission | None:
        """None: the caller now owns the key and must `settle` or `release` it. Otherwise: answer this."""
        entry = self._entries.get((org_id, key))
        if entry is None:
            self._entries[(org_id, key)] = _Entry(request_fingerprint)
            return None
        # A mismatch is reported even while the first request runs: it is a client bug either way.
        if entry.fingerprint != request_fingerprint:
            return Admission(fail(422, "Idempotency-Key was already used with a different request"), False)
        if entry.reply is None:
            return Admission(fail(409, "A request with this Idempotency-Key is in progress"), False)
        return Admission(entry.reply.with_headers(**{REPLAYED_HEADER: "true"}), True)

    def settle(self, org_id: str, key: str, reply: Reply) -> None:
        if reply.storable:
            self._entries[(org_id, key)].reply = reply
        else:
            self.release(org_id, key)

    def release(self, org_id: str, key: str) -> None:
        self._entries.pop((org_id, key), None)
