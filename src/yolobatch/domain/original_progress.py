"""The original system's `GET /api/registration-batches/{id}/progress` answer, field for field.

Reference: original-system.md §6.2. The original answers
`{success, status, progress_percent, current_step, step_requiring_action, restaurants_summary:{total,
completed, failed, in_progress}, last_updated}`; pollers (§6.4) read `status` to decide how often to ask
again, so it is given in the original's vocabulary, not ours. The meanings, mapped onto yolobatch:

- `restaurants_summary.completed`: restaurants registered (job `completed`).
- `restaurants_summary.failed`: restaurants that finished without being registered. The original only
  writes a failed job in single-restaurant mode; a batch restaurant whose step fails waits for a person
  (`action_required`) and so counts as in progress there, as here. Ours finish unregistered only when
  cancelled.
- `restaurants_summary.in_progress`: `total - completed - failed`, as the original computes it.
- `progress_percent`: `round((completed + failed) / total * 100)`, an integer: 100 once every restaurant
  has finished.
- `current_step`: the batch's step pointer (1-6): the step of its slowest unfinished restaurant; 6 once
  all have finished (the original advances it as the step processors finish for the whole batch).
- `step_requiring_action`: the lowest step a person must act on, or null.
- `last_updated`: when anything of the batch last changed (ISO 8601, UTC).

Pure: the API gathers the figures from the store and this module decides the shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol, TypedDict

from yolobatch.domain.statuses import TERMINAL_JOB_STATUSES, BatchStatus, JobStatus
from yolobatch.domain.steps import Step

ORIGINAL_BATCH_STATUS: dict[BatchStatus, str] = {
    BatchStatus.DRAFT: "pending",  # the original creates batches `pending` and starts them from there
    BatchStatus.RUNNING: "in_progress",
    BatchStatus.ACTION_REQUIRED: "action_required",
    BatchStatus.COMPLETED: "completed",
    BatchStatus.FAILED: "failed",
    BatchStatus.CANCELLED: "cancelled",
    # Finished with some restaurants registered: the original's batch ends `completed` and its cancelled
    # restaurants show in `restaurants_summary.failed`.
    BatchStatus.COMPLETED_WITH_CANCELLATIONS: "completed",
}


class RestaurantFigures(Protocol):
    """What the original's figures need of one restaurant (the store's JobProgress has it)."""

    @property
    def status(self) -> str: ...
    @property
    def current_step(self) -> int | None: ...
    @property
    def step_requiring_action(self) -> int | None: ...


class RestaurantsSummary(TypedDict):
    total: int
    completed: int
    failed: int
    in_progress: int


class OriginalProgress(TypedDict):
    success: bool
    status: str
    progress_percent: int
    current_step: int
    step_requiring_action: int | None
    restaurants_summary: RestaurantsSummary
    last_updated: str


ORIGINAL_FIELDS = tuple(OriginalProgress.__annotations__)
"""The original's top-level fields, in its order: every one is always present."""


def original_progress(
    batch_status: BatchStatus, restaurants: Sequence[RestaurantFigures], last_updated: datetime
) -> OriginalProgress:
    total = len(restaurants)
    completed = sum(1 for r in restaurants if r.status == JobStatus.COMPLETED)
    failed = sum(1 for r in restaurants if r.status == JobStatus.CANCELLED)
    unfinished = [r for r in restaurants if r.status not in TERMINAL_JOB_STATUSES]
    # A restaurant waiting for a person is at the step it waits on (its current_step is the last that ran).
    at = [r.step_requiring_action or r.current_step for r in unfinished]
    steps = [step for step in at if step is not None]
    waiting = [r.step_requiring_action for r in restaurants if r.step_requiring_action is not None]
    return {
        "success": True,
        "status": ORIGINAL_BATCH_STATUS[batch_status],
        # Python's round() rounds halves to even; the original's Math.round rounds them up.
        "progress_percent": int(100 * (completed + failed) / total + 0.5) if total else 0,
        "current_step": int(min(steps) if steps else (Step.REGISTRATION if total else Step.EXTRACTION)),
        "step_requiring_action": min(waiting) if waiting else None,
        "restaurants_summary": {
            "total": total,
            "completed": completed,
            "failed": failed,
            "in_progress": total - completed - failed,
        },
        "last_updated": last_updated.isoformat(),
    }


def with_extras(original: OriginalProgress, extras: dict[str, Any]) -> dict[str, Any]:
    """The original's fields plus yolobatch's: extras never replace one of the original's."""
    clash = set(extras) & set(ORIGINAL_FIELDS)
    if clash:
        raise ValueError(f"extra fields would change the original's: {sorted(clash)}")
    return {**original, **extras}
