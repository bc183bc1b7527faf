"""Fault injection: scripted plans (`/_sandbox/faults`) first, then seeded random faults."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from yolobatch.devtools.sandbox.catalog import OPERATIONS, REGISTRY_ENDPOINTS, STORE_PAGE_ENDPOINTS
from yolobatch.devtools.sandbox.protocol import Reply, fail
from yolobatch.devtools.sandbox.settings import SandboxSettings

FaultKind = Literal["500", "503", "429", "400", "timeout", "success_false", "garbage"]

# Answered at once, before any side effect, and never stored for idempotent replay.
TRANSPORT_FAULTS = frozenset({"500", "503", "429", "400", "garbage"})


class FaultPlanRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    endpoint: str
    restaurant_id: str | None = None
    fault: FaultKind
    times: int = Field(default=1, ge=1)
    retry_after: float | None = Field(default=None, ge=0)

    @field_validator("endpoint")
    @classmethod
    def _known_endpoint(cls, value: str) -> str:
        known = OPERATIONS | REGISTRY_ENDPOINTS | STORE_PAGE_ENDPOINTS
        if value not in known:
            raise ValueError(f"unknown endpoint {value!r}; expected one of {sorted(known)}")
        return value


@dataclass
class FaultPlan:
    id: str
    endpoint: str
    restaurant_id: str | None
    fault: str
    times: int
    retry_after: float | None
    used: int = 0

    @property
    def remaining(self) -> int:
        return self.times - self.used

    def matches(self, endpoint: str, restaurant_id: str) -> bool:
        return (
            self.remaining > 0 and self.endpoint == endpoint and self.restaurant_id in (None, restaurant_id)
        )

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "endpoint": self.endpoint,
            "restaurant_id": self.restaurant_id,
            "fault": self.fault,
            "times": self.times,
            "used": self.used,
            "remaining": self.remaining,
            "retry_after": self.retry_after,
        }


@dataclass(frozen=True)
class Fault:
    kind: str
    retry_after: float
    plan_id: str | None = None  # None: drawn at random

    @property
    def is_transport(self) -> bool:
        return self.kind in TRANSPORT_FAULTS

    def transport_reply(self) -> Reply:
        if self.kind == "garbage":
            return Reply(200, raw=b"<html>Bad Gateway</html>", media_type="text/html")
        if self.kind == "429":
            return fail(429, "Too many requests (sandbox fault)").with_headers(
                **{"Retry-After": str(math.ceil(self.retry_after))}
            )
        messages = {"500": "Internal server error", "503": "Service unavailable", "400": "Bad request"}
        return fail(int(self.kind), f"{messages[self.kind]} (sandbox fault)")


def warning_reply(endpoint: str) -> Reply:
    """The original's `200 {success: false}` answers, which its batch engine counted as success."""
    subject = "Import" if endpoint == "import-menu-direct" else endpoint.replace("-", " ").capitalize()
    return Reply(200, {"success": False, "message": f"{subject} completed with warnings"})


class FaultBook:
    def __init__(self, settings: SandboxSettings, rng: random.Random) -> None:
        self._settings = settings
        self._rng = rng
        self._plans: list[FaultPlan] = []

    def add(self, request: FaultPlanRequest) -> FaultPlan:
        plan = FaultPlan(
            id=f"F{len(self._plans) + 1}",
            endpoint=request.endpoint,
            restaurant_id=request.restaurant_id,
            fault=request.fault,
            times=request.times,
            retry_after=request.retry_after,
        )
        self._plans.append(plan)
        return plan

    def plans(self) -> list[FaultPlan]:
        return list(self._plans)

    def clear(self) -> int:
        cleared = len(self._plans)
        self._plans.clear()
        return cleared

    def scripted(self, endpoint: str, subject: str) -> Fault | None:
        """The next scripted fault for this call, if any; consumes no random draw, so lookups that only
        take scripted faults (the registries) never shift the random fate of registration calls."""
        for plan in self._plans:
            if plan.matches(endpoint, subject):
                plan.used += 1
                retry_after = (
                    self._settings.retry_after_seconds if plan.retry_after is None else plan.retry_after
                )
                return Fault(plan.fault, retry_after, plan.id)
        return None

    def draw(self, endpoint: str, restaurant_id: str) -> Fault | None:
        # Always three rolls per call, even when a plan matches or a rate is zero, so that the fate of
        # the n-th executed call depends only on the seed and the rates.
        rolls = [self._rng.random() for _ in range(3)]
        scripted = self.scripted(endpoint, restaurant_id)
        if scripted is not None:
            return scripted
        rates = (
            ("503", self._settings.fault_rate_5xx),
            ("429", self._settings.fault_rate_429),
            ("timeout", self._settings.fault_rate_timeout),
        )
        for roll, (kind, rate) in zip(rolls, rates, strict=True):
            if roll < rate:
                return Fault(kind, self._settings.retry_after_seconds)
        return None
