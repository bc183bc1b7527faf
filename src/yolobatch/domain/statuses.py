"""Status vocabularies of batches, restaurants (jobs), steps and sub-steps.

They are plain string enums so they serialise unchanged through Temporal payloads, JSON and SQL.
"""

from __future__ import annotations

from collections import Counter
from enum import StrEnum


class BatchStatus(StrEnum):
    DRAFT = "draft"  # created, not started
    RUNNING = "running"
    ACTION_REQUIRED = "action_required"  # at least one restaurant waits for a person
    COMPLETED = "completed"  # every restaurant completed
    FAILED = "failed"  # finished, some restaurants did not complete
    CANCELLED = "cancelled"  # every restaurant cancelled
    COMPLETED_WITH_CANCELLATIONS = "completed_with_cancellations"  # all settled, some cancelled


class JobStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    ACTION_REQUIRED = "action_required"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


TERMINAL_JOB_STATUSES = frozenset({JobStatus.COMPLETED, JobStatus.CANCELLED})
"""A restaurant that is finished: nothing more happens to it."""
QUIESCENT_JOB_STATUSES = TERMINAL_JOB_STATUSES | {JobStatus.ACTION_REQUIRED}
"""A restaurant that will not move again without a person (finished, or waiting for one)."""


class StepStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    ACTION_REQUIRED = "action_required"
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


class SubStepStatus(StrEnum):
    PENDING = "pending"  # waiting for its dependencies
    QUEUED = "queued"  # scheduled, waiting for capacity
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"  # retries exhausted; waits for a person (retry / skip / mark done)
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


SETTLED_SUB_STEP_STATUSES = frozenset({SubStepStatus.COMPLETED, SubStepStatus.SKIPPED})
"""Settled: a step's or sub-step's work is behind it and its dependents may go on (the one definition)."""
SETTLED_SQL = sorted(s.value for s in SETTLED_SUB_STEP_STATUSES)  # a stable order for SQL `IN` lists
QUIET_BATCH_STATUSES = frozenset(
    {
        BatchStatus.DRAFT,
        BatchStatus.COMPLETED,
        BatchStatus.CANCELLED,
        BatchStatus.COMPLETED_WITH_CANCELLATIONS,
    }
)
"""Batches in which nothing can wait for a person (not started, or every restaurant finished)."""


def batch_status(counts: Counter[str], *, started: bool, total: int) -> BatchStatus:
    """A batch's status is derived from its restaurants', so it can never disagree with them."""
    if not started:
        return BatchStatus.DRAFT
    if counts[JobStatus.ACTION_REQUIRED]:
        return BatchStatus.ACTION_REQUIRED
    settled = sum(counts[s] for s in TERMINAL_JOB_STATUSES)
    if settled == total:
        if counts[JobStatus.COMPLETED] == total:
            return BatchStatus.COMPLETED
        if counts[JobStatus.COMPLETED] == 0:
            return BatchStatus.CANCELLED
        return BatchStatus.COMPLETED_WITH_CANCELLATIONS
    return BatchStatus.RUNNING
