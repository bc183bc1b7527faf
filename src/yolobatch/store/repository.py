"""The `Store` façade: one object callers hold, composed of the store's concerns (one module each).

Callers keep importing `Store` and its errors from here; new code may depend on one concern's class.
"""

from __future__ import annotations

from yolobatch.domain.statuses import batch_status
from yolobatch.store.core import (
    JOB_STATES,
    SECRET_POINTERS,
    ConfigFrozen,
    ConfigNotApproved,
    IdempotencyConflict,
    InstallationIdentity,
    JobSnapshot,
    NotFound,
    Registration,
)
from yolobatch.store.drift import Drift
from yolobatch.store.leases import Leases
from yolobatch.store.org_defaults import OrgDefaultsStore
from yolobatch.store.org_platforms import OrgPlatforms
from yolobatch.store.pictures import Pictures
from yolobatch.store.tokens import Tokens
from yolobatch.store.waiting import Waiting

__all__ = [
    "JOB_STATES",
    "SECRET_POINTERS",
    "ConfigFrozen",
    "ConfigNotApproved",
    "IdempotencyConflict",
    "InstallationIdentity",
    "JobSnapshot",
    "NotFound",
    "Registration",
    "Store",
    "batch_status",
]


class Store(Waiting, Tokens, Leases, Drift, OrgPlatforms, OrgDefaultsStore, Pictures):
    """Every concern of the store over one engine and secret box (sessions and transactions shared)."""
