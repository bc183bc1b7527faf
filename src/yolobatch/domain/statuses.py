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


SETTLED_SUB_STEP_STATUSES = frozenset(
    {SubStepStatus.COMPLETED, SubStepStatus.SKIPPED, SubStepStatus.CANCELLED}
)


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
