"""Typed read views the store returns to people's shells (API, dashboard, CLI).

Frozen: a view is a snapshot of the read model, never a handle to change it. `dataclasses.asdict` gives
the API's JSON shape, in field order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class BatchSummary:
    """One batch in a list: its derived status and its restaurants counted by status."""

    batch_id: str
    name: str
    status: str
    total: int
    counts: dict[str, int]
    options: dict[str, Any]
    created_at: str | None
    started_at: str | None


@dataclass(frozen=True, slots=True)
class JobSummary:
    """One restaurant of a batch without its steps and calls."""

    job_id: str
    restaurant_name: str
    status: str
    current_step: int | None
    error: str | None


@dataclass(frozen=True, slots=True)
class JobProgress:
    """A restaurant's place in the original system's `/progress` figures."""

    job_id: str
    restaurant_name: str
    status: str
    state: str  # failed / waiting / running / done: the dashboard's filters
    current_step: int | None
    error: str | None
    step_requiring_action: int | None
    warnings: dict[str, str]  # sub-step key -> the platform's `success: false` message
    done: float  # how much of its work is behind it, 0..1


@dataclass(frozen=True, slots=True)
class RegistrationProgress:
    batch_id: str
    name: str
    started: bool
    jobs: list[JobProgress]


@dataclass(frozen=True, slots=True)
class WaitingRow:
    """A step (1-5) or a registration call of a restaurant that waits for a person."""

    batch_id: str
    batch_name: str
    job_id: str
    restaurant: str
    step: int | None  # a pipeline step, or None for a call
    sub_step: str | None  # a registration call's key, or None for a step
    status: str
    text: str  # the reason or the error, as recorded


@dataclass(frozen=True, slots=True)
class ConfigReview:
    """A restaurant's config as a person reviews it (secrets masked) and whether it would be accepted."""

    config: dict[str, Any]
    warnings: list[str]
    approved_by: str | None
    approved_at: str | None
    version: int  # 1 as derived (or given) and approved; each revision after approval adds one
    errors: list[str]  # why registration would refuse it; empty when valid
