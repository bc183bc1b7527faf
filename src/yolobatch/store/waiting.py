"""What waits for a person across an organisation's batches, read in one query (plus one bulk read each for
the candidates and configs the items show), however many batches and restaurants wait."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, literal, null, select, union_all

from yolobatch.domain.derive import validate_config
from yolobatch.domain.statuses import WAITING_SUB_STEP_STATUSES, JobStatus
from yolobatch.store.core import _chunks, _iso
from yolobatch.store.read_models import ConfigReview, WaitingRow
from yolobatch.store.tables import (
    Batch,
    CompanyCandidateRow,
    Event,
    Job,
    JobStep,
    RegistrationConfigRow,
    SubStepRow,
)
from yolobatch.store.views import Views

# Pipeline steps a person answers: a choice (the menu gate, company, config) or a failure (retry or skip).
_STEP_STATUSES = ("action_required", "failed")


class Waiting(Views):  # reads configs and candidates as the other views do
    def waiting_rows(self, org_id: str) -> list[WaitingRow]:
        """Every step and call of the organisation's restaurants that waits for a person: oldest batch
        first, restaurants in input order, steps before calls (calls in plan order: the caller sorts)."""
        waiting_job = (Job.status == JobStatus.ACTION_REQUIRED, Batch.org_id == org_id)
        columns = (
            Batch.id.label("batch_id"),
            Batch.name.label("batch_name"),
            Batch.created_at.label("created"),
            Job.id.label("job_id"),
            Job.restaurant_name.label("restaurant"),
            Job.position.label("position"),
        )
        steps = (
            select(
                *columns,
                JobStep.step.label("step"),
                null().label("sub_step"),
                JobStep.status.label("status"),
                func.coalesce(JobStep.reason, JobStep.error, literal("")).label("text"),
            )
            .join(Job, Job.batch_id == Batch.id)
            .join(JobStep, JobStep.job_id == Job.id)
            .where(*waiting_job, JobStep.status.in_(_STEP_STATUSES))
        )
        calls = (
            select(
                *columns,
                null().label("step"),
                SubStepRow.key.label("sub_step"),
                SubStepRow.status.label("status"),
                func.coalesce(SubStepRow.error, literal("")).label("text"),
            )
            .join(Job, Job.batch_id == Batch.id)
            .join(SubStepRow, SubStepRow.job_id == Job.id)
            .where(*waiting_job, SubStepRow.status.in_(sorted(WAITING_SUB_STEP_STATUSES)))
        )
        with self.snapshot() as s:
            rows = list(s.execute(union_all(steps, calls)).mappings())
        # (created, batch, position, steps first by number) in Python: the union's column names differ
        # between SQLite and PostgreSQL in ORDER BY, and these are a page of items, not a table.
        rows.sort(
            key=lambda r: (r["created"], r["batch_id"], r["position"], r["step"] is None, r["step"] or 0)
        )
        return [
            WaitingRow(
                batch_id=r["batch_id"],
                batch_name=r["batch_name"],
                job_id=r["job_id"],
                restaurant=r["restaurant"],
                step=r["step"],
                sub_step=r["sub_step"],
                status=r["status"],
                text=r["text"] or "",
            )
            for r in rows
        ]

    def candidates_of(self, job_ids: list[str]) -> dict[str, list[dict[str, object]]]:
        """The company candidates of each of `job_ids`, best first (one query per 500 restaurants)."""
        found: dict[str, list[dict[str, object]]] = {job_id: [] for job_id in job_ids}
        with self.session() as s:
            for chunk in _chunks(job_ids, 500):  # bound the IN lists (SQLite caps bound parameters)
                rows = s.scalars(
                    select(CompanyCandidateRow)
                    .where(CompanyCandidateRow.job_id.in_(chunk))
                    .order_by(CompanyCandidateRow.job_id, CompanyCandidateRow.rank)
                )
                for row in rows:
                    found[row.job_id].append(row.data)
        return found

    def config_reviews(self, job_ids: list[str]) -> dict[str, ConfigReview]:
        """The config under review of each of `job_ids` that has one, checked as registration will check
        it (two queries per 500 restaurants: the configs, and their revision counts)."""
        rows: list[RegistrationConfigRow] = []
        revisions: Counter[str] = Counter()
        with self.session() as s:
            for chunk in _chunks(job_ids, 500):  # bound the IN lists (SQLite caps bound parameters)
                rows += s.scalars(
                    select(RegistrationConfigRow).where(RegistrationConfigRow.job_id.in_(chunk))
                )
                counted = s.execute(
                    select(Event.job_id, func.count())
                    .where(Event.job_id.in_(chunk), Event.kind == "config_revised")
                    .group_by(Event.job_id)
                )
                revisions.update({job_id: count for job_id, count in counted if job_id is not None})
            return {
                row.job_id: ConfigReview(
                    config=row.public,
                    warnings=row.warnings or [],
                    approved_by=row.approved_by,
                    approved_at=_iso(row.approved_at),
                    version=1 + revisions[row.job_id],
                    errors=validate_config(self._wire(row))[1],
                )
                for row in rows
            }
