"""Progress writes from activities: step, sub-step, job transitions and the audit log. Idempotent: a
replay or retry of the same transition changes nothing."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from yolobatch.domain.statuses import (
    SETTLED_SQL,
    SETTLED_SUB_STEP_STATUSES,
    WAITING_SUB_STEP_STATUSES,
    JobStatus,
    SubStepStatus,
)
from yolobatch.store.core import (
    StoreCore,
    rowcount,
)
from yolobatch.store.tables import (
    Event,
    Job,
    JobStep,
    SubStepRow,
    utcnow,
)


class Progress(StoreCore):
    def record_step(
        self,
        job_id: str,
        step: int,
        status: str,
        *,
        reason: str | None = None,
        error: str | None = None,
        result: dict[str, Any] | None = None,
    ) -> None:
        now = utcnow()
        values: dict[str, Any] = {"status": status, "reason": reason, "error": error}
        if result is not None:
            values["result"] = result
        if status == "running":
            values["started_at"] = func.coalesce(JobStep.started_at, now)
        if status in ("completed", "skipped", "failed", "cancelled"):
            values["finished_at"] = now
        with self.transaction() as s:
            s.execute(
                update(JobStep).where(JobStep.job_id == job_id, JobStep.step == step).values(values),
                execution_options=self._fast,
            )
            if status == "running":
                s.execute(
                    update(Job).where(Job.id == job_id).values(current_step=step, updated_at=now),
                    execution_options=self._fast,
                )

    def record_sub_step(self, job_id: str, key: str, status: str, generation: int, **fields: Any) -> bool:
        """Move a sub-step to `status` unless it already settled in this or a later generation.

        Returns whether the row changed. A late write from an abandoned attempt of an older generation (or a
        duplicate `running` after `completed`) is ignored, so the read model never goes backwards.
        """
        now = utcnow()
        values: dict[str, Any] = {"status": status, "generation": generation, "updated_at": now, **fields}
        if status == SubStepStatus.RUNNING:
            values.setdefault("started_at", now)
            values.update(finished_at=None, error=None)
        elif status in (*SETTLED_SUB_STEP_STATUSES, *WAITING_SUB_STEP_STATUSES, SubStepStatus.CANCELLED):
            values.setdefault("finished_at", now)
        guard = or_(
            SubStepRow.generation < generation,
            and_(
                SubStepRow.generation == generation,
                SubStepRow.status.not_in(SETTLED_SQL)
                if status not in SETTLED_SUB_STEP_STATUSES
                else SubStepRow.status != status,
            ),
        )
        with self.transaction() as s:
            result = s.execute(
                update(SubStepRow)
                .where(SubStepRow.job_id == job_id, SubStepRow.key == key, guard)
                .values(values),
                execution_options=self._fast,
            )
            if rowcount(result):
                s.execute(
                    update(Job).where(Job.id == job_id).values(updated_at=now), execution_options=self._fast
                )
            return bool(rowcount(result))

    def mark_step_6_started(self, job_id: str) -> bool:
        """A ready-config job's workflow was started: the job runs step 6. Only a job still `pending` moves
        (a second start, or one after the workflow already went further, changes nothing); returns whether
        it did. Written by whoever starts the workflow, so the workflow need not spend an activity on it."""
        now = utcnow()
        with self.transaction() as s:
            moved = rowcount(
                s.execute(
                    update(Job)
                    .where(Job.id == job_id, Job.status == JobStatus.PENDING)
                    .values(
                        status=JobStatus.RUNNING,
                        started_at=func.coalesce(Job.started_at, now),
                        updated_at=now,
                    ),
                    execution_options=self._fast,
                )
            )
            if not moved:
                return False
            self.record_step(job_id, 6, "running")
            org_id, batch_id = s.execute(select(Job.org_id, Job.batch_id).where(Job.id == job_id)).one()
            started = f"{job_id}/step-6-started"
            self.add_event(org_id, batch_id, job_id, "job_started", "Step 6 started", dedupe_key=started)
        return True

    def record_job(self, job_id: str, status: str, error: str | None = None) -> None:
        now = utcnow()
        values: dict[str, Any] = {"status": status, "error": error, "updated_at": now}
        if status == JobStatus.RUNNING:
            values["started_at"] = func.coalesce(Job.started_at, now)
        values["finished_at"] = now if status in (JobStatus.COMPLETED, JobStatus.CANCELLED) else None
        with self.transaction() as s:
            s.execute(update(Job).where(Job.id == job_id).values(values), execution_options=self._fast)

    def add_event(
        self,
        org_id: str,
        batch_id: str | None,
        job_id: str | None,
        kind: str,
        message: str,
        *,
        actor: str = "system",
        sub_step: str | None = None,
        data: dict[str, Any] | None = None,
        dedupe_key: str | None = None,
    ) -> None:
        values = {
            "org_id": org_id,
            "batch_id": batch_id,
            "job_id": job_id,
            "kind": kind,
            "message": message,
            "actor": actor,
            "sub_step": sub_step,
            "data": data,
            "dedupe_key": dedupe_key or str(uuid.uuid4()),
            "created_at": utcnow(),
        }
        insert = pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        with self.transaction() as s:
            s.execute(insert(Event).values(values).on_conflict_do_nothing(index_elements=["dedupe_key"]))
