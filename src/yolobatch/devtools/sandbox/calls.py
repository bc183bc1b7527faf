"""The call log and concurrency gauges behind `/_sandbox/calls` and the `*in_flight*` state fields."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

MASK = "********"


def mask_passwords(value: Any) -> Any:
    """A copy of a JSON value with every password-named field masked: the log must never hold secrets."""
    if isinstance(value, dict):
        return {
            key: MASK if isinstance(key, str) and "password" in key.lower() else mask_passwords(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [mask_passwords(item) for item in value]
    return value


@dataclass
class CallRecord:
    seq: int
    method: str
    endpoint: str
    path: str
    org_id: str | None
    idempotency_key: str | None
    started_at: float
    restaurant_id: str | None = None
    status_code: int | None = None
    replayed: bool = False
    fault: str | None = None
    finished_at: float | None = None
    payload: Any = None

    def attach_payload(self, body: dict[str, Any]) -> None:
        self.payload = mask_passwords(body)
        restaurant_id = body.get("restaurantId")
        self.restaurant_id = restaurant_id if isinstance(restaurant_id, str) else None

    def finish(self, status_code: int) -> None:
        self.status_code = status_code
        self.finished_at = time.time()

    def view(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "method": self.method,
            "endpoint": self.endpoint,
            "path": self.path,
            "org_id": self.org_id,
            "restaurant_id": self.restaurant_id,
            "idempotency_key": self.idempotency_key,
            "status_code": self.status_code,
            "replayed": self.replayed,
            "fault": self.fault,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "payload": mask_passwords(self.payload),  # a copy, so callers cannot edit the log
        }


class CallLog:
    def __init__(self) -> None:
        self._records: list[CallRecord] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._in_flight_by_endpoint: Counter[str] = Counter()
        self.max_in_flight_by_endpoint: dict[str, int] = {}

    def open(
        self, method: str, endpoint: str, path: str, org_id: str | None, idempotency_key: str | None
    ) -> CallRecord:
        record = CallRecord(
            seq=len(self._records) + 1,
            method=method,
            endpoint=endpoint,
            path=path,
            org_id=org_id,
            idempotency_key=idempotency_key,
            started_at=time.time(),
        )
        self._records.append(record)
        return record

    def enter(self, endpoint: str) -> None:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self._in_flight_by_endpoint[endpoint] += 1
        current = self._in_flight_by_endpoint[endpoint]
        self.max_in_flight_by_endpoint[endpoint] = max(
            self.max_in_flight_by_endpoint.get(endpoint, 0), current
        )

    def leave(self, endpoint: str) -> None:
        self.in_flight -= 1
        self._in_flight_by_endpoint[endpoint] -= 1

    def view(self, endpoint: str | None = None, restaurant_id: str | None = None) -> list[dict[str, Any]]:
        return [
            record.view()
            for record in self._records
            if endpoint in (None, record.endpoint) and restaurant_id in (None, record.restaurant_id)
        ]
