"""The operator's outputs (issue 15): what step 6 produced per restaurant, the batch export's rows, and the
owner's password read out on purpose, audited."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from yolobatch.domain.outputs import OUTPUT_FIELDS, Outputs
from yolobatch.domain.statuses import SubStepStatus
from yolobatch.store.progress import Progress
from yolobatch.store.tables import Batch, Job, JobOutputRow, RegistrationConfigRow, SubStepRow, utcnow


@dataclass(frozen=True, slots=True)
class ExportRow:
    """One restaurant of a batch export."""

    job_id: str
    restaurant_name: str
    status: str
    outputs: Outputs
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class OwnerLogin:
    batch_id: str
    email: str | None
    password: str = field(repr=False)  # a stray log line or traceback must not carry it


class OutputsNotFound(LookupError):
    """An id that does not exist or belongs to another organisation (the API answers 404 for both)."""


class OperatorOutputs(Progress):
    """Part of `Store`: these methods use its sessions, transactions, secret box and audit log."""

    def record_outputs(self, job_id: str, outputs: Outputs) -> None:
        """Merge the outputs one answer carried; idempotent (the same answer again writes the same values),
        and a field another answer filled is kept unless this one names it too."""
        present = outputs.present()
        if not present:
            return
        values = {"job_id": job_id, **present, "updated_at": utcnow()}
        insert = pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        statement = insert(JobOutputRow).values(values)
        statement = statement.on_conflict_do_update(
            index_elements=["job_id"],
            set_={name: statement.excluded[name] for name in values if name != "job_id"},
        )
        with self.transaction() as s:
            s.execute(statement)

    def job_outputs(self, job_id: str) -> Outputs:
        with self.session() as s:
            row = s.get(JobOutputRow, job_id)
            return _outputs(row)

    def export_rows(self, batch_id: str, org_id: str) -> list[ExportRow]:
        """Every restaurant of the batch in input order, with its outputs and what went wrong or was odd."""
        with self.session() as s:
            if s.scalar(select(Batch.id).where(Batch.id == batch_id, Batch.org_id == org_id)) is None:
                raise OutputsNotFound(f"batch {batch_id} not found")
            jobs = s.execute(
                select(Job.id, Job.restaurant_name, Job.status, Job.error, JobOutputRow)
                .outerjoin(JobOutputRow, JobOutputRow.job_id == Job.id)
                .where(Job.batch_id == batch_id)
                .order_by(Job.position)
            ).all()
            notes: dict[str, tuple[list[str], list[str]]] = {job_id: ([], []) for job_id, *_ in jobs}
            calls = s.execute(
                select(
                    SubStepRow.job_id, SubStepRow.key, SubStepRow.status, SubStepRow.error, SubStepRow.warning
                )
                .join(Job, Job.id == SubStepRow.job_id)
                .where(Job.batch_id == batch_id)
                .order_by(SubStepRow.job_id, SubStepRow.key)
            )
            for job_id, key, status, error, warning in calls:
                errors, warnings = notes[job_id]
                if error and status not in (SubStepStatus.COMPLETED, SubStepStatus.SKIPPED):
                    errors.append(f"{key}: {error}")
                if warning:
                    warnings.append(f"{key}: {warning}")
        rows = []
        for job_id, name, status, error, output in jobs:
            errors, warnings = notes[job_id]
            rows.append(
                ExportRow(
                    job_id, name, status, _outputs(output), ([error] if error else []) + errors, warnings
                )
            )
        return rows

    def owner_login(self, job_id: str, org_id: str) -> OwnerLogin:
        """The owner's platform login from the sealed config; callers audit the read (`audit_reveal`)."""
        with self.session() as s:
            job = s.get(Job, job_id)
            row = s.get(RegistrationConfigRow, job_id)
            if job is None or job.org_id != org_id:
                raise OutputsNotFound(f"job {job_id} not found")
            if row is None:
                raise OutputsNotFound(f"job {job_id} has no registration config yet, so no password")
            secrets = self.box.open(row.secrets)
            batch_id = job.batch_id
            account = row.public.get("account") or {}
        password = secrets.get("account.password")
        if not password:
            raise OutputsNotFound(f"job {job_id} has no owner password")
        return OwnerLogin(batch_id, account.get("email"), password)

    def audit_reveal(
        self, org_id: str, batch_id: str, job_id: str | None, actor: str, reason: str, what: str
    ) -> None:
        """Who read which password and why; the audit row names the action, never the value."""
        self.add_event(
            org_id,
            batch_id,
            job_id,
            "password_revealed",
            f"{what} revealed by {actor}: {reason}",
            actor=actor,
            data={"reason": reason, "what": what},
        )


def _outputs(row: JobOutputRow | None) -> Outputs:
    if row is None:
        return Outputs()
    return Outputs(**{name: getattr(row, name) for name in OUTPUT_FIELDS})
