"""Shaping the store's read model for pages: grid rows, filters and timings.

Everything here is synchronous and reads the store; the routes call it through `asyncio.to_thread`.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from yolobatch.domain import pace
from yolobatch.domain.plan import PLAN
from yolobatch.domain.statuses import SETTLED_SUB_STEP_STATUSES
from yolobatch.domain.steps import STEP_KEYS, STEP_TITLES
from yolobatch.settings import Settings
from yolobatch.store.read_models import BatchProgress, JobRow
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


def step6_summary(job: JobRow) -> tuple[int, int, int]:
    """(settled registration calls, 12, calls answered `success: false` and kept as warnings)."""
    subs = job.sub_steps.values()
    settled = sum(1 for s in subs if s.status in SETTLED_SUB_STEP_STATUSES)
    return settled, len(SUB_STEPS), sum(1 for s in subs if s.warning)


def grid(progress: BatchProgress) -> dict[str, Any]:
    """One page of the batch grid, how many rows each filter shows, and where the page sits."""
    rows = [asdict(job) | {"calls": step6_summary(job)} for job in progress.jobs]
    counts = {"all": progress.total, **progress.state_counts}
    page = progress.page
    size = page.limit or max(1, len(rows))
    pager = {
        "number": page.offset // size + 1,
        "pages": max(1, -(-page.matching // size)),
        "first": page.offset + 1 if rows else 0,
        "last": page.offset + len(rows),
        "matching": page.matching,
    }
    return {"progress": progress, "rows": rows, "filter_counts": counts, "pager": pager}


def drawer(store: Store, job_id: str, org: str) -> dict[str, Any]:
    """A restaurant's detail with per-step timings and its calls in plan order."""
    detail = store.job_detail(job_id, org)
    steps = [
        {
            "number": int(n),
            "title": STEP_TITLES[int(n)],
            **asdict(s),
            "took": duration(s.started_at, s.finished_at),
        }
        for n, s in sorted(detail.steps.items())
    ]
    calls = [
        {"key": key, **asdict(sub), "took": duration(sub.started_at, sub.finished_at)}
        if sub
        else {"key": key, "took": ""}  # not created yet (a pipeline restaurant before step 6)
        for key, sub in detail.sub_steps.items()
    ]
    failed_steps = [
        {"number": s["number"], "name": STEP_KEYS[s["number"]]}
        for s in steps
        if s["status"] == "failed" and s["number"] in STEP_KEYS
    ]
    return {"job": detail, "steps": steps, "calls": calls, "failed_steps": failed_steps}


def pace_of(store: Store, settings: Settings, batch_id: str) -> dict[str, str | None]:
    """What the batch page says up front: which limit sets the pace, and the least time the rest takes
    (the same bound `yolobatch run` says and the benchmark measures against)."""
    open_jobs, pending = store.open_calls(batch_id)
    cap, interval = settings.platform_concurrency, settings.account_interval
    bound, accounts = pace.remaining_from_counts(
        open_jobs, pending, cap=cap, account_interval=interval, time_scale=settings.time_scale
    )
    if bound.seconds <= 0:
        return {"headline": None, "at_least": None}
    return {
        "headline": pace.headline(bound, accounts, interval, cap),
        "at_least": pace.duration(bound.seconds),
    }
