"""Typed read views the store returns to people's shells (API, dashboard, CLI).

Frozen: a view is a snapshot of the read model, never a handle to change it. `plain` (or
`dataclasses.asdict`) gives the API's JSON shape, in field order.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any


def plain(view: Any) -> Any:
    """A view as dicts and lists, like `dataclasses.asdict` without its deep copy of every leaf: a view is
    a fresh snapshot nobody else holds, and a page of 100 restaurants (1 800 step and call states) took 10
    ms of the event loop's time with `asdict`, 4 ms with this."""
    if hasattr(type(view), "__dataclass_fields__"):
        return {f.name: plain(getattr(view, f.name)) for f in fields(view)}
    if isinstance(view, dict):
        return {key: plain(value) for key, value in view.items()}
    if isinstance(view, list):
        return [plain(value) for value in view]
    if isinstance(view, tuple):
        return tuple(plain(value) for value in view)
    return view


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


@dataclass(frozen=True, slots=True)
class StepProgress:
    """A pipeline step's state as a batch's progress shows it."""

    status: str
    reason: str | None
    error: str | None
    result: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class StepDetail(StepProgress):
    """A pipeline step's state with its timings, as a restaurant's detail shows it."""

    started_at: str | None
    finished_at: str | None


@dataclass(frozen=True, slots=True)
class CallState:
    """A registration call's state for people."""

    status: str
    attempts: int
    generation: int
    reason: str | None
    error: str | None
    warning: str | None  # the platform's `success: false` message, kept as a warning
    started_at: str | None
    finished_at: str | None


@dataclass(frozen=True, slots=True)
class CallDetail(CallState):
    """A registration call with what was sent and answered (redacted)."""

    request: dict[str, Any] | None
    response: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class JobRow:
    """One restaurant of a batch's progress page with its steps (by number) and calls (by key)."""

    job_id: str
    restaurant_name: str
    status: str
    state: str  # failed / waiting / running / done: the dashboard's filters
    error: str | None
    started_at: str | None
    finished_at: str | None
    current_step: int | None
    steps: dict[str, StepProgress]
    sub_steps: dict[str, CallState]


@dataclass(frozen=True, slots=True)
class ProgressPage:
    state: str | None  # the filter, or None for every restaurant
    offset: int
    limit: int | None
    matching: int  # restaurants the filter matches, over every page


@dataclass(frozen=True, slots=True)
class BatchProgress:
    """A batch's counts (over all of it) and one page of its restaurants, like the original's `/progress`."""

    batch_id: str
    name: str
    status: str
    total: int
    counts: dict[str, int]  # restaurants by job status
    state_counts: dict[str, int]  # restaurants by the dashboard's filters
    # Restaurants that completed with a platform answer `success: false` recorded as a warning.
    with_warnings: int
    created_at: str | None
    started_at: str | None
    page: ProgressPage
    jobs: list[JobRow]


@dataclass(frozen=True, slots=True)
class EventView:
    id: int
    kind: str
    actor: str
    message: str
    sub_step: str | None
    at: str | None


@dataclass(frozen=True, slots=True)
class RerunView:
    """A person's re-run of a registration call (and maybe its dependents), as audited."""

    rerun_id: str
    sub_step: str
    with_dependents: bool
    sub_steps: list[str]  # what ran again, in plan order
    actor: str
    reason: str
    requested_at: str | None


@dataclass(frozen=True, slots=True)
class JobDetail:
    """Everything about one restaurant for people: steps, calls (redacted), choices, config, audit."""

    job_id: str
    batch_id: str
    restaurant_name: str
    input: dict[str, Any]
    status: str
    error: str | None
    current_step: int | None
    started_at: str | None
    finished_at: str | None
    steps: dict[str, StepDetail]
    sub_steps: dict[str, CallDetail | None]  # every call of the plan, in plan order
    extraction_warnings: list[str | None]
    branding: dict[str, Any] | None
    candidates: list[dict[str, Any]]
    company: dict[str, Any] | None
    config: dict[str, Any] | None
    outputs: dict[str, Any]
    events: list[EventView]
    reruns: list[RerunView]  # re-runs people asked for (who, why, when, what ran again), oldest first
