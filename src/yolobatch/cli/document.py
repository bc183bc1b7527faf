"""The one JSON document that `yolobatch run --json` and `yolobatch status --json` print.

It is versioned (`schema`): scripts parse it, so a field is only ever added under the same version; a
rename or a removal is a new version. The README's "JSON output" section documents each field.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from yolobatch.domain import pace
from yolobatch.domain.plan import PLAN
from yolobatch.domain.statuses import SETTLED_SUB_STEP_STATUSES as SETTLED
from yolobatch.domain.statuses import TERMINAL_JOB_STATUSES

if TYPE_CHECKING:
    from yolobatch.settings import Settings

SCHEMA = "yolobatch.batch/1"


def remaining_pace(progress: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """The lower bound on what is left of the batch under `settings`' limits (account gate, platform cap),
    which limit sets it, and the sentence that says so."""
    open_jobs = [job for job in progress["jobs"] if job["status"] not in TERMINAL_JOB_STATUSES]
    pending = {
        spec.key.value: sum(
            1 for job in open_jobs if job["sub_steps"].get(spec.key.value, {}).get("status") not in SETTLED
        )
        for spec in PLAN
    }
    cap = settings.platform_concurrency
    bound, accounts = pace.remaining_from_counts(
        len(open_jobs),
        pending,
        cap=cap,
        account_interval=settings.account_interval,
        time_scale=settings.time_scale,
    )
    return {
        "lower_bound_seconds": round(bound.seconds, 1),
        "limit": bound.limit if bound.seconds > 0 else None,
        "new_accounts": accounts,
        "headline": pace.headline(bound, accounts, settings.account_interval, cap),
    }


def batch_document(
    progress: dict[str, Any], *, remaining: dict[str, Any] | None, elapsed_seconds: float | None
) -> dict[str, Any]:
    """`progress` (the store's batch progress) as the versioned document."""
    return {
        "schema": SCHEMA,
        "batch_id": progress["batch_id"],
        "name": progress["name"],
        "status": progress["status"],
        "counts": progress["counts"],
        "with_warnings": progress.get("with_warnings", 0),
        "created_at": progress.get("created_at"),
        "started_at": progress.get("started_at"),
        "elapsed_seconds": None if elapsed_seconds is None else round(elapsed_seconds, 2),
        "pace": remaining,
        "restaurants": [
            {
                "name": job["restaurant_name"],
                "job_id": job["job_id"],
                "status": job["status"],
                "error": job["error"],
                "steps": {
                    number: {key: step.get(key) for key in ("status", "reason", "error")}
                    for number, step in job.get("steps", {}).items()
                },
                "sub_steps": job["sub_steps"],
            }
            for job in progress["jobs"]
        ],
    }
