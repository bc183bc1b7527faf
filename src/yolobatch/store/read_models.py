"""Typed read views the store returns to people's shells (API, dashboard, CLI).

Frozen: a view is a snapshot of the read model, never a handle to change it. `dataclasses.asdict` gives
the API's JSON shape, in field order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
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
    last_updated: datetime  # the latest change to the batch or any of its restaurants
