"""What waits for a person across an organisation's batches: the dashboard's inbox and its counts.

Everything here is synchronous and reads the store; async callers use `asyncio.to_thread`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from yolobatch.domain.plan import PLAN
from yolobatch.domain.steps import STEP_KEYS, Step
from yolobatch.store.read_models import ConfigReview, WaitingRow
from yolobatch.store.repository import Store

SUB_STEPS = [spec.key.value for spec in PLAN]
_PLAN_ORDER = {key: index for index, key in enumerate(SUB_STEPS)}
# A step waiting for a person's choice (status action_required) -> the inbox card that asks for it. Step 1
# waits when extraction found no menu (the menu gate): upload one, retry rendered, or continue without.
_CHOICES: dict[int | None, str] = {
    Step.EXTRACTION: "menu",
    Step.COMPANY_SELECTION: "company",
    Step.CONFIG: "config",
}


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
    config: ConfigReview | None = None
    errors: list[str] = field(default_factory=list)


def _kind(row: WaitingRow) -> str | None:
    if row.sub_step is not None:
        # outcome_unknown: nobody knows whether the platform did it, the person checks its portal first.
        return "outcome_unknown" if row.status == "outcome_unknown" else "failed_call"
    if row.status == "action_required":
        return _CHOICES.get(row.step)
    return "failed_step" if row.step in STEP_KEYS else None


def waiting(store: Store, org: str, kind: str | None = None, batch_id: str | None = None) -> list[InboxItem]:
    """Everything waiting for a person across the organisation's batches, oldest batch first: one read
    of the waiting steps and calls, then one of the candidates and one of the configs those items show."""
    ordered = store.waiting_rows(org)  # oldest batch first, restaurants in input order, steps by number
    # As the dashboard's filters put them: in each batch the restaurants with a failure (a failed step or
    # call) first, then those waiting for a choice; a restaurant's calls in plan order after its steps.
    failed = {row.job_id for row in ordered if row.status in ("failed", "outcome_unknown")}
    batch_order = {row.batch_id: index for index, row in reversed(list(enumerate(ordered)))}
    job_order = {row.job_id: index for index, row in reversed(list(enumerate(ordered)))}
    ordered.sort(
        key=lambda r: (
            batch_order[r.batch_id],
            r.job_id not in failed,
            job_order[r.job_id],
            r.sub_step is not None,
            _PLAN_ORDER.get(r.sub_step or "", 0),
        )
    )
    rows = [
        (row, found)
        for row in ordered
        if (found := _kind(row))
        and (not kind or found == kind)
        and (not batch_id or row.batch_id == batch_id)
    ]
    candidates = store.candidates_of(sorted({r.job_id for r, k in rows if k == "company"}))
    configs = store.config_reviews(sorted({r.job_id for r, k in rows if k == "config"}))
    items = []
    for row, found in rows:
        item = InboxItem(found, row.batch_id, row.batch_name, row.job_id, row.restaurant, reason=row.text)
        if found == "company":
            item.candidates = candidates.get(row.job_id, [])
        elif found == "config":
            item.config = configs.get(row.job_id)
            item.errors = item.config.errors if item.config else []
        else:
            item.step = row.sub_step or STEP_KEYS[row.step or 0]
        items.append(item)
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
