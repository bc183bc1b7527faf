"""Status vocabularies of batches, restaurants (jobs), steps and sub-steps.

They are plain string enums so they serialise unchanged through Temporal payloads, JSON and SQL.
"""

from __future__ import annotations

from enum import StrEnum


class BatchStatus(StrEnum):
    DRAFT = "draft"  # created, not started
    RUNNING = "running"
    ACTION_REQUIRED = "action_required"  # at least one restaurant waits for a person
    COMPLETED = "completed"  # every restaurant completed
    FAILED = "failed"  # finished, some restaurants did not complete
    CANCELLED = "cancelled"


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
    # An ambiguous answer (timeout, lost connection, 5xx after sending) from a platform that ignores
    # idempotency keys and offers no read to check: waits for a person to check the platform's portal,
    # then mark it done or retry it (never retried blindly).
    OUTCOME_UNKNOWN = "outcome_unknown"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


# Sub-steps that wait for a person's decision.
WAITING_SUB_STEP_STATUSES = frozenset({SubStepStatus.FAILED, SubStepStatus.OUTCOME_UNKNOWN})

SETTLED_SUB_STEP_STATUSES = frozenset(
    {SubStepStatus.COMPLETED, SubStepStatus.SKIPPED, SubStepStatus.CANCELLED}
)
