"""Re-runs of registration calls: the audit row and the job's move back to running, in one transaction, so
two people re-running the same restaurant at once cannot both start."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update

from yolobatch.domain.statuses import JobStatus
from yolobatch.store.core import NotFound, StoreCore, _iso, rowcount
from yolobatch.store.read_models import RerunView
from yolobatch.store.tables import Event, Job, SubStepRerunRow, SubStepRow, utcnow


class RerunRefused(ValueError):
    """The restaurant cannot be re-run now (still running, or a call moved on since it was read)."""


class Reruns(StoreCore):
    def sub_step_rows(self, job_id: str) -> dict[str, SubStepRow]:
        with self.session() as s:
            return {row.key: row for row in s.scalars(select(SubStepRow).where(SubStepRow.job_id == job_id))}

    def jobs_with_reruns(self, job_ids: list[str]) -> set[str]:
        """Which of `job_ids` had a call run again (their onboarding workflow is closed: a call that failed
        on a re-run is run again, not retried)."""
        if not job_ids:
            return set()
        with self.session() as s:
            query = select(SubStepRerunRow.job_id).where(SubStepRerunRow.job_id.in_(set(job_ids))).distinct()
            return set(s.scalars(query))

    def has_reruns(self, job_id: str) -> bool:
        with self.session() as s:
            return (
                s.scalar(select(SubStepRerunRow.id).where(SubStepRerunRow.job_id == job_id).limit(1))
                is not None
            )

    def rerun_ids(self, job_id: str) -> list[str]:
        """The job's re-runs, oldest first (each one's workflow is `rerun_workflow_id(id)`)."""
        with self.session() as s:
            return list(
                s.scalars(
                    select(SubStepRerunRow.id)
                    .where(SubStepRerunRow.job_id == job_id)
                    .order_by(SubStepRerunRow.requested_at, SubStepRerunRow.id)
                )
            )

    def begin_rerun(
        self,
        job_id: str,
        *,
        sub_step: str,
        with_dependents: bool,
        generations: dict[str, int],
        actor: str,
        reason: str,
        allowed: tuple[str, ...],
    ) -> str:
        """Record the re-run and set the restaurant running, if it is still in one of `allowed` statuses
        (checked and changed in one statement). Returns the re-run's id."""
        rerun_id = str(uuid.uuid4())
        now = utcnow()
        with self.transaction() as s:
            job = s.get(Job, job_id)
            if job is None:
                raise NotFound(f"job {job_id} not found")
            moved = s.execute(
                update(Job)
                .where(Job.id == job_id, Job.status.in_(allowed))
                .values(status=JobStatus.RUNNING.value, error=None, finished_at=None, updated_at=now),
                execution_options=self._fast,
            )
            if not rowcount(moved):
                raise RerunRefused(f"the restaurant is {job.status}: only a finished one can be re-run")
            # Each call must still be at the generation before its new one: otherwise another re-run (or a
            # repair) moved it since it was read, and the new generation could reuse a key already sent.
            stored = {
                key: generation
                for key, generation in s.execute(
                    select(SubStepRow.key, SubStepRow.generation).where(
                        SubStepRow.job_id == job_id, SubStepRow.key.in_(list(generations))
                    )
                )
            }
            moved_on = [key for key, new in generations.items() if stored.get(key) != new - 1]
            if moved_on:
                raise RerunRefused(
                    f"{', '.join(moved_on)} changed meanwhile (generation now "
                    f"{', '.join(str(stored.get(key)) for key in moved_on)}): read it again and retry"
                )
            keys = list(generations)
            s.add(
                SubStepRerunRow(
                    id=rerun_id,
                    job_id=job_id,
                    org_id=job.org_id,
                    sub_step=sub_step,
                    with_dependents=with_dependents,
                    sub_steps=keys,
                    generations=generations,
                    actor=actor,
                    reason=reason,
                    requested_at=now,
                )
            )
            s.add(
                Event(
                    org_id=job.org_id,
                    batch_id=job.batch_id,
                    job_id=job_id,
                    kind="rerun_requested",
                    actor=actor,
                    sub_step=sub_step,
                    message=f"Re-run of {', '.join(keys)} requested: {reason}",
                    data={"rerun_id": rerun_id, "sub_steps": keys, "generations": generations},
                    dedupe_key=f"rerun/{rerun_id}/requested",
                    created_at=now,
                )
            )
        return rerun_id

    def abandon_rerun(
        self, job_id: str, status: str, error: str | None, finished_at: datetime | None
    ) -> None:
        """The engine never started the re-run's workflow: the restaurant goes back to how it was (its
        finished time too, which `begin_rerun` cleared), if it still is as `begin_rerun` left it."""
        with self.transaction() as s:
            s.execute(
                update(Job)
                .where(Job.id == job_id, Job.status == JobStatus.RUNNING)
                .values(status=status, error=error, finished_at=finished_at, updated_at=utcnow())
            )

    def reruns(self, job_id: str) -> list[RerunView]:
        with self.session() as s:
            rows = s.scalars(
                select(SubStepRerunRow)
                .where(SubStepRerunRow.job_id == job_id)
                .order_by(SubStepRerunRow.requested_at)
            ).all()
            return [
                RerunView(
                    rerun_id=row.id,
                    sub_step=row.sub_step,
                    with_dependents=row.with_dependents,
                    sub_steps=list(row.sub_steps),
                    actor=row.actor,
                    reason=row.reason,
                    requested_at=_iso(row.requested_at),
                )
                for row in rows
            ]
