"""What waits for a person across an organisation's batches: the dashboard's inbox and its counts.

Everything here is synchronous and reads the store; async callers use `asyncio.to_thread`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from yolobatch.domain.plan import PLAN
from yolobatch.domain.statuses import QUIET_BATCH_STATUSES
from yolobatch.domain.steps import STEP_KEYS, Step
from yolobatch.service.configs import problems
from yolobatch.store.read_models import BatchSummary
from yolobatch.store.repository import Store

SUB_STEPS = [spec.key.value for spec in PLAN]


@dataclass
class InboxItem:
    """One thing a person must answer for one restaurant."""

    kind: str  # "company", "config", "menu", "failed_step", "failed_call", "outcome_unknown"
    batch_id: str
    batch_name: str
    job_id: str
    restaurant: str
    reason: str = ""
    step: str = ""  # the decide() target: a step name (extraction, ...) or a sub-step key
    candidates: list[dict[str, Any]] = field(default_factory=list)
    config: dict[str, Any] | None = None
    errors: list[str] = field(default_factory=list)


def _items_for_job(store: Store, batch: BatchSummary, job: dict[str, Any]) -> list[InboxItem]:
    base = {
        "batch_id": batch.batch_id,
        "batch_name": batch.name,
        "job_id": job["job_id"],
        "restaurant": job["restaurant_name"],
    }
    items: list[InboxItem] = []
    for number, step in sorted(job["steps"].items()):
        text = step["reason"] or step["error"] or ""
        if number == str(Step.COMPANY_SELECTION) and step["status"] == "action_required":
            candidates = store.candidates(job["job_id"])
            items.append(InboxItem("company", **base, reason=text, candidates=candidates))
        elif number == str(Step.CONFIG) and step["status"] == "action_required":
            review = store.config_review(job["job_id"])
            errors = problems(store, job["job_id"]) if review else []
            items.append(InboxItem("config", **base, reason=text, config=review, errors=errors))
        elif number == str(Step.EXTRACTION) and step["status"] == "action_required":
            # No menu found: upload one, retry extraction rendered, or continue without (the menu gate).
            items.append(InboxItem("menu", **base, reason=text, step=STEP_KEYS[Step.EXTRACTION]))
        elif step["status"] == "failed" and int(number) in STEP_KEYS:
            items.append(InboxItem("failed_step", **base, reason=text, step=STEP_KEYS[int(number)]))
    for key in SUB_STEPS:
        sub = job["sub_steps"].get(key)
        if sub and sub["status"] == "failed":
            items.append(InboxItem("failed_call", **base, reason=sub["error"] or "", step=key))
        elif sub and sub["status"] == "outcome_unknown":
            # Nobody knows whether the platform did it: the person checks its portal before deciding.
            items.append(InboxItem("outcome_unknown", **base, reason=sub["error"] or "", step=key))
    return items


def waiting(store: Store, org: str, kind: str | None = None, batch_id: str | None = None) -> list[InboxItem]:
    """Everything waiting for a person across the organisation's batches, oldest batch first."""
    batches, _ = store.list_batches(org, limit=500)
    items: list[InboxItem] = []
    for batch in reversed(batches):
        if batch.status in QUIET_BATCH_STATUSES or (batch_id and batch.batch_id != batch_id):
            continue
        for state in ("failed", "waiting"):  # the restaurants waiting for a person, never the whole batch
            for job in store.batch_progress(batch.batch_id, org, state=state)["jobs"]:
                items.extend(i for i in _items_for_job(store, batch, job) if not kind or i.kind == kind)
    return items


@dataclass(frozen=True)
class Inbox:
    items: list[InboxItem]  # those the filters keep
    batches: list[tuple[str, str]]  # (id, name) of every batch with something waiting, by name
    kinds: Counter[str]  # how many items of each kind wait, whatever the filters


def inbox(store: Store, org: str, kind: str | None = None, batch_id: str | None = None) -> Inbox:
    """The inbox page's content: one read of everything waiting, filtered here, so the filter choices
    and counts come from the same read as the items."""
    everything = waiting(store, org)
    items = [
        i for i in everything if (not kind or i.kind == kind) and (not batch_id or i.batch_id == batch_id)
    ]
    batches = sorted({(i.batch_id, i.batch_name) for i in everything}, key=lambda b: b[1])
    return Inbox(items=items, batches=batches, kinds=Counter(i.kind for i in everything))
