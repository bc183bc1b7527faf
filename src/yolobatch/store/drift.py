"""Reconciliation support: the read model's view of a job and guarded repairs (`engine/reconcile.py`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from yolobatch.domain.statuses import JobStatus
from yolobatch.store.core import (
    JobSnapshot,
    StoreCore,
    _chunks,
    rowcount,
)
from yolobatch.store.tables import (
    Batch,
    Job,
    JobStep,
    RegistrationConfigRow,
    SubStepRerunRow,
    SubStepRow,
    utcnow,
)


class Drift(StoreCore):
    def job_snapshots(
        self,
        *,
        batch_id: str | None = None,
        job_ids: list[str] | None = None,
        after_job_id: str = "",
        limit: int = 200,
    ) -> list[JobSnapshot]:
        """What the read model says of each job of started batches (one batch, given jobs, or all), paged
        by job id."""
        with self.session() as s:
            query = (
                select(Job.id, Job.org_id, Job.batch_id, Job.status)
                .join(Batch, Batch.id == Job.batch_id)
                .where(Batch.started_at.is_not(None), Job.id > after_job_id)
                .order_by(Job.id)
                .limit(limit)
            )
            if batch_id is not None:
                query = query.where(Job.batch_id == batch_id)
            if job_ids is not None:
                query = query.where(Job.id.in_(job_ids))
            jobs = s.execute(query).all()
            ids = [job.id for job in jobs]
            steps: dict[str, dict[int, str]] = {job_id: {} for job_id in ids}
            calls: dict[str, dict[str, tuple[str, int]]] = {job_id: {} for job_id in ids}
            approved: dict[str, bool] = {}
            reruns: dict[str, list[str]] = {job_id: [] for job_id in ids}
            for chunk in _chunks(ids, 500):
                for job_id, approved_at in s.execute(
                    select(RegistrationConfigRow.job_id, RegistrationConfigRow.approved_at).where(
                        RegistrationConfigRow.job_id.in_(chunk)
                    )
                ):
                    approved[job_id] = approved_at is not None
                for job_id, rerun_id in s.execute(
                    select(SubStepRerunRow.job_id, SubStepRerunRow.id)
                    .where(SubStepRerunRow.job_id.in_(chunk))
                    .order_by(SubStepRerunRow.requested_at, SubStepRerunRow.id)
                ):
                    reruns[job_id].append(rerun_id)
                for row in s.execute(
                    select(JobStep.job_id, JobStep.step, JobStep.status).where(JobStep.job_id.in_(chunk))
                ):
                    steps[row.job_id][row.step] = row.status
                for call in s.execute(
                    select(SubStepRow.job_id, SubStepRow.key, SubStepRow.status, SubStepRow.generation).where(
                        SubStepRow.job_id.in_(chunk)
                    )
                ):
                    calls[call.job_id][call.key] = (call.status, call.generation)
        return [
            JobSnapshot(
                job.id,
                job.org_id,
                job.batch_id,
                job.status,
                steps[job.id],
                calls[job.id],
                config_approved=approved.get(job.id),
                reruns=tuple(reruns[job.id]),
            )
            for job in jobs
        ]

    def repair_job_status(self, job_id: str, *, expected: str, status: str, error: str | None) -> bool:
        """Set a job's status if it still is `expected` (a write of the engine racing with us wins)."""
        now = utcnow()
        finished = now if status in (JobStatus.COMPLETED, JobStatus.CANCELLED) else None
        with self.transaction() as s:
            result = s.execute(
                update(Job)
                .where(Job.id == job_id, Job.status == expected)
                .values(status=status, error=error, finished_at=finished, updated_at=now),
                execution_options=self._fast,
            )
            return bool(rowcount(result))

    def repair_step(self, job_id: str, step: int, *, expected: str, status: str) -> bool:
        with self.transaction() as s:
            result = s.execute(
                update(JobStep)
                .where(JobStep.job_id == job_id, JobStep.step == step, JobStep.status == expected)
                .values(status=status),
                execution_options=self._fast,
            )
            return bool(rowcount(result))

    def repair_sub_step(
        self, job_id: str, key: str, *, expected: tuple[str, int], values: dict[str, Any]
    ) -> bool:
        """Overwrite a sub-step if it still reads `expected` (status, generation): unlike
        `record_sub_step`, its status may move backwards, because the engine's word is final here. Its
        generation never does: a lower one would make the next re-run send a key already sent, which
        the platform answers from its old result without doing anything."""
        status, generation = expected
        if values.get("generation", generation) < generation:
            return False
        with self.transaction() as s:
            result = s.execute(
                update(SubStepRow)
                .where(
                    SubStepRow.job_id == job_id,
                    SubStepRow.key == key,
                    SubStepRow.status == status,
                    SubStepRow.generation == generation,
                )
                .values(updated_at=utcnow(), **values),
                execution_options=self._fast,
            )
            return bool(rowcount(result))
