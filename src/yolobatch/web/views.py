"""Shaping the store's read model for pages: grid rows, filters, timings and the inbox.

Everything here is synchronous and reads the store; the routes call it through `asyncio.to_thread`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from yolobatch.domain.derive import validate_config
from yolobatch.domain.plan import PLAN
from yolobatch.domain.statuses import QUIET_BATCH_STATUSES, SETTLED_SUB_STEP_STATUSES
from yolobatch.domain.steps import STEP_KEYS, STEP_TITLES, Step
from yolobatch.store.read_models import BatchSummary
from yolobatch.store.repository import Store

SUB_STEPS = [spec.key.value for spec in PLAN]
SUB_STEP_LABELS = {spec.key.value: spec.label for spec in PLAN}
GRID_PAGE_SIZE = 100  # rows per page of the batch grid: a 10 000-restaurant batch stays quick to render


def duration(started: str | None, finished: str | None) -> str:
    """A short human duration ("1.4 s", "2 min 5 s"); empty when the step has not both started and ended."""
    if not started or not finished:
        return ""
    seconds = (datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds()
    if seconds < 60:
        return f"{seconds:.1f} s"
    return f"{int(seconds // 60)} min {int(seconds % 60)} s"


def step6_summary(job: dict[str, Any]) -> tuple[int, int, int]:
    """(settled registration calls, 12, calls answered `success: false` and kept as warnings)."""
    subs = job["sub_steps"]
    settled = sum(1 for s in subs.values() if s["status"] in SETTLED_SUB_STEP_STATUSES)
    return settled, len(SUB_STEPS), sum(1 for s in subs.values() if s.get("warning"))


def grid(progress: dict[str, Any]) -> dict[str, Any]:
    """One page of the batch grid, how many rows each filter shows, and where the page sits."""
    rows = [{**job, "calls": step6_summary(job)} for job in progress["jobs"]]
    counts = {"all": progress["total"], **progress["state_counts"]}
    page = progress["page"]
    size = page["limit"] or max(1, len(rows))
    pager = {
        "number": page["offset"] // size + 1,
        "pages": max(1, -(-page["matching"] // size)),
        "first": page["offset"] + 1 if rows else 0,
        "last": page["offset"] + len(rows),
        "matching": page["matching"],
    }
    return {"progress": progress, "rows": rows, "filter_counts": counts, "pager": pager}


@dataclass
class InboxItem:
    """One thing a person must answer for one restaurant."""

    kind: str  # "company", "config", "failed_step", "failed_call"
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
            _, errors = validate_config(store.config_wire(job["job_id"])) if review else (None, [])
            items.append(InboxItem("config", **base, reason=text, config=review, errors=errors))
        elif step["status"] == "failed" and int(number) in STEP_KEYS:
            items.append(InboxItem("failed_step", **base, reason=text, step=STEP_KEYS[int(number)]))
    for key in SUB_STEPS:
        sub = job["sub_steps"].get(key)
        if sub and sub["status"] == "failed":
            items.append(InboxItem("failed_call", **base, reason=sub["error"] or "", step=key))
    return items


def inbox(store: Store, org: str, kind: str | None = None, batch_id: str | None = None) -> list[InboxItem]:
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


def drawer(store: Store, job_id: str, org: str) -> dict[str, Any]:
    """A restaurant's detail with per-step timings and its calls in plan order."""
    detail = store.job_detail(job_id, org)
    steps = [
        {
            "number": int(n),
            "title": STEP_TITLES[int(n)],
            **s,
            "took": duration(s["started_at"], s["finished_at"]),
        }
        for n, s in sorted(detail["steps"].items())
    ]
    calls = [
        {"key": key, **sub, "took": duration(sub.get("started_at"), sub.get("finished_at"))}
        for key, sub in ((k, v or {}) for k, v in detail["sub_steps"].items())
    ]
    failed_steps = [
        {"number": s["number"], "name": STEP_KEYS[s["number"]]}
        for s in steps
        if s["status"] == "failed" and s["number"] in STEP_KEYS
    ]
    return {"job": detail, "steps": steps, "calls": calls, "failed_steps": failed_steps}
