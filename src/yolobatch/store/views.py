"""Read views for people (API, dashboard, CLI): batch progress, a restaurant's detail, events, lists."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict
from typing import Any

from sqlalchemy import and_, case, func, or_, select

from yolobatch.domain.plan import PLAN
from yolobatch.domain.statuses import (
    SETTLED_SQL,
    SETTLED_SUB_STEP_STATUSES,
    TERMINAL_JOB_STATUSES,
    WAITING_SUB_STEP_STATUSES,
    JobStatus,
    batch_status,
)
from yolobatch.domain.steps import Step
from yolobatch.store.configs import Configs
from yolobatch.store.core import (
    JOB_STATES,
    NotFound,
    _aware,
    _chunks,
    _iso,
)
from yolobatch.store.outputs import OperatorOutputs
from yolobatch.store.pipeline import PipelineData
from yolobatch.store.read_models import (
    BatchProgress,
    CallDetail,
    CallState,
    EventView,
    JobDetail,
    JobProgress,
    JobRow,
    JobSummary,
    ProgressPage,
    RegistrationProgress,
    StepDetail,
    StepProgress,
)
from yolobatch.store.reruns import Reruns
from yolobatch.store.tables import (
    Batch,
    Event,
    Job,
    JobStep,
    SubStepRow,
)


class Views(Configs, PipelineData, OperatorOutputs, Reruns):  # a job's detail reads every concern
    def batch_progress(
        self,
        batch_id: str,
        org_id: str | None = None,
        *,
        state: str | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> BatchProgress:
        """Counts and per-restaurant step and call states, like the original's `/progress` endpoint.

        Counts cover the whole batch (aggregated in SQL); `jobs` holds one page of restaurants in input
        order, those in `state` (failed / waiting / running / done) if given. `limit=None`: all of them.
        """
        in_batch = Job.batch_id == batch_id
        with self.snapshot() as s:
            batch = s.execute(
                select(Batch.id, Batch.org_id, Batch.name, Batch.created_at, Batch.started_at).where(
                    Batch.id == batch_id
                )
            ).first()
            if batch is None or (org_id is not None and batch.org_id != org_id):
                raise NotFound(f"batch {batch_id} not found")
            counts: dict[str, int] = dict(
                s.execute(select(Job.status, func.count()).where(in_batch).group_by(Job.status)).all()
            )
            state_of = _job_state()
            state_counts: dict[str, int] = dict(
                s.execute(select(state_of, func.count()).where(in_batch).group_by(state_of)).all()
            )
            with_warnings = self._with_warnings(s, batch_id)
            job_columns = (
                Job.id,
                Job.restaurant_name,
                Job.status,
                Job.error,
                Job.started_at,
                Job.finished_at,
            )
            page = select(*job_columns, Job.current_step, state_of).where(in_batch)
            if state:
                page = page.where(state_of == state)
            page = page.order_by(Job.position).offset(offset).limit(limit)
            # Plain rows, not ORM objects: a page of 100 restaurants is 1 800 step and call rows.
            jobs = s.execute(page).all() if limit != 0 else []
            ids = [job.id for job in jobs]
            steps: dict[str, dict[str, StepProgress]] = {job_id: {} for job_id in ids}
            by_job: dict[str, dict[str, CallState]] = {job_id: {} for job_id in ids}
            step_columns = (JobStep.job_id, JobStep.step, JobStep.status, JobStep.reason, JobStep.error)
            call_columns = (
                SubStepRow.job_id,
                SubStepRow.key,
                SubStepRow.status,
                SubStepRow.attempts,
                SubStepRow.generation,
                SubStepRow.reason,
                SubStepRow.error,
                SubStepRow.warning,
                SubStepRow.started_at,
                SubStepRow.finished_at,
            )
            for chunk in _chunks(ids, 500):  # bound the IN lists (SQLite caps bound parameters)
                for job_id, number, status, reason, error, result in s.execute(
                    select(*step_columns, JobStep.result).where(JobStep.job_id.in_(chunk))
                ):
                    steps[job_id][str(number)] = StepProgress(status, reason, error, result)
                for row in s.execute(select(*call_columns).where(SubStepRow.job_id.in_(chunk))):
                    by_job[row.job_id][row.key] = _call_view(row)
        total = sum(counts.values())
        return BatchProgress(
            batch_id=batch.id,
            name=batch.name,
            status=batch_status(Counter(counts), started=batch.started_at is not None, total=total),
            total=total,
            counts=counts,
            state_counts={name: state_counts.get(name, 0) for name in JOB_STATES},
            with_warnings=with_warnings or 0,
            created_at=_iso(batch.created_at),
            started_at=_iso(batch.started_at),
            page=ProgressPage(state, offset, limit, state_counts.get(state, 0) if state else total),
            jobs=[
                JobRow(
                    job_id=job.id,
                    restaurant_name=job.restaurant_name,
                    status=job.status,
                    state=job.state,
                    error=job.error,
                    started_at=_iso(job.started_at),
                    finished_at=_iso(job.finished_at),
                    current_step=job.current_step,
                    steps=steps[job.id],
                    sub_steps=by_job[job.id],
                )
                for job in jobs
            ],
        )

    def events(
        self,
        *,
        job_id: str | None = None,
        batch_id: str | None = None,
        org_id: str | None = None,
        after_id: int = 0,
        limit: int | None = None,
        ids: list[int] | None = None,
    ) -> list[Event]:
        """Events in order; `after_id` and `limit` page through them (the SSE feed resumes from an id);
        `ids` asks for those of these ids that exist now (ids a feed skipped, see `api/event_feed.py`)."""
        with self.session() as s:
            query = select(Event).where(Event.id > after_id).order_by(Event.id)
            if ids is not None:
                query = query.where(Event.id.in_(ids))
            if job_id:
                query = query.where(Event.job_id == job_id)
            if batch_id:
                query = query.where(Event.batch_id == batch_id)
            if org_id:
                query = query.where(Event.org_id == org_id)
            if limit:
                query = query.limit(limit)
            return list(s.scalars(query))

    def job_detail(self, job_id: str, org_id: str) -> JobDetail:
        """Everything about one restaurant for people: steps, calls (redacted), choices, config, audit."""
        job = self.job(job_id, org_id)
        with self.session() as s:
            steps = {
                str(row.step): StepDetail(
                    row.status, row.reason, row.error, row.result, _iso(row.started_at), _iso(row.finished_at)
                )
                for row in s.scalars(select(JobStep).where(JobStep.job_id == job_id).order_by(JobStep.step))
            }
            sub_steps = {
                row.key: CallDetail(**asdict(_call_view(row)), request=row.request, response=row.response)
                for row in s.scalars(select(SubStepRow).where(SubStepRow.job_id == job_id))
            }
        extraction = self.extraction(job_id) or {}
        return JobDetail(
            job_id=job.id,
            batch_id=job.batch_id,
            restaurant_name=job.restaurant_name,
            input=job.input or {},
            status=job.status,
            error=job.error,
            current_step=job.current_step,
            started_at=_iso(job.started_at),
            finished_at=_iso(job.finished_at),
            steps=steps,
            sub_steps={spec.key.value: sub_steps.get(spec.key.value) for spec in PLAN},
            extraction_warnings=[w.get("message") for w in extraction.get("warnings", [])],
            branding=extraction.get("branding"),
            candidates=self.candidates(job_id),
            company=self.company_details(job_id),
            config=self.config_review(job_id),
            outputs=asdict(self.job_outputs(job_id)),
            events=[
                EventView(e.id, e.kind, e.actor, e.message, e.sub_step, _iso(e.created_at))
                for e in self.events(job_id=job_id)
            ],
            reruns=self.reruns(job_id),
        )

    def job_summaries(self, batch_id: str) -> list[JobSummary]:
        """Every restaurant of the batch in input order, without its steps and calls (one light query)."""
        with self.session() as s:
            rows = s.execute(
                select(Job.id, Job.restaurant_name, Job.status, Job.current_step, Job.error)
                .where(Job.batch_id == batch_id)
                .order_by(Job.position)
            )
            return [JobSummary(*row) for row in rows]

    def _with_warnings(self, s: Any, batch_id: str) -> int:
        """Restaurants with a warning: exact on every page, cheap through the partial index of warned calls
        (it used to read every call row of the batch, 40-50 ms at 10 000 restaurants, and was cached)."""
        count = s.scalar(
            select(func.count(func.distinct(SubStepRow.job_id)))
            .join(Job, Job.id == SubStepRow.job_id)
            .where(Job.batch_id == batch_id, SubStepRow.warning.is_not(None))
        )
        return count or 0

    def registration_progress(self, batch_id: str, org_id: str) -> RegistrationProgress:
        """The original's `/progress` figures, from one snapshot: per restaurant its state (failed /
        waiting / running / done), the step that waits for a person, warnings and how far it is."""
        in_batch = Job.batch_id == batch_id
        with self.snapshot() as s:
            batch = s.execute(
                select(Batch.id, Batch.org_id, Batch.name, Batch.created_at, Batch.started_at).where(
                    Batch.id == batch_id
                )
            ).first()
            if batch is None or batch.org_id != org_id:
                raise NotFound(f"batch {batch_id} not found")
            jobs = s.execute(
                select(
                    Job.id,
                    Job.restaurant_name,
                    Job.status,
                    Job.current_step,
                    Job.error,
                    Job.updated_at,
                    _job_state(),
                )
                .where(in_batch)
                .order_by(Job.position)
            ).all()
            steps: dict[str, dict[int, str]] = {job.id: {} for job in jobs}
            for job_id, number, status in s.execute(
                select(JobStep.job_id, JobStep.step, JobStep.status).join(Job).where(in_batch)
            ):
                steps[job_id][number] = status
            calls: dict[str, list[tuple[str, str, str | None]]] = {job.id: [] for job in jobs}
            for job_id, key, status, warning in s.execute(
                select(SubStepRow.job_id, SubStepRow.key, SubStepRow.status, SubStepRow.warning)
                .join(Job)
                .where(in_batch)
            ):
                calls[job_id].append((key, status, warning))
        return RegistrationProgress(
            batch_id=batch.id,
            name=batch.name,
            started=batch.started_at is not None,
            last_updated=max(
                (_aware(t) for t in (batch.created_at, batch.started_at, *(j.updated_at for j in jobs)) if t),
            ),
            jobs=[
                JobProgress(
                    job_id=job.id,
                    restaurant_name=job.restaurant_name,
                    status=job.status,
                    state=job.state,
                    current_step=job.current_step,
                    error=job.error,
                    step_requiring_action=_step_requiring_action(job.status, steps[job.id], calls[job.id]),
                    warnings={key: warning for key, _, warning in calls[job.id] if warning},
                    done=_fraction_done(job.status, steps[job.id], calls[job.id]),
                )
                for job in jobs
            ],
        )

    def calls_settled(self, batch_id: str) -> int:
        """How many registration calls of the batch are completed or skipped (for a percentage)."""
        with self.session() as s:
            return s.scalars(
                select(func.count())
                .select_from(SubStepRow)
                .join(Job, Job.id == SubStepRow.job_id)
                .where(Job.batch_id == batch_id, SubStepRow.status.in_(SETTLED_SQL))
            ).one()

    def open_calls(self, batch_id: str) -> tuple[int, dict[str, int]]:
        """(restaurants not finished, how many of them have each registration call still to do): what the
        pace of the rest of the batch is computed from (`yolobatch.domain.pace.remaining_from_counts`)."""
        open_job = and_(Job.batch_id == batch_id, Job.status.not_in(sorted(TERMINAL_JOB_STATUSES)))
        with self.session() as s:
            jobs = s.scalar(select(func.count()).select_from(Job).where(open_job)) or 0
            settled = dict(
                s.execute(
                    select(SubStepRow.key, func.count())
                    .join(Job, Job.id == SubStepRow.job_id)
                    .where(open_job, SubStepRow.status.in_(SETTLED_SQL))
                    .group_by(SubStepRow.key)
                ).all()
            )
        # A restaurant still in steps 1-5 has no call rows yet: every call is still to do.
        return jobs, {spec.key.value: jobs - settled.get(spec.key.value, 0) for spec in PLAN}

    def job_status_counts(self, batch_id: str) -> dict[str, int]:
        """How many of the batch's restaurants are in each status (one indexed GROUP BY)."""
        with self.session() as s:
            rows = s.execute(
                select(Job.status, func.count()).where(Job.batch_id == batch_id).group_by(Job.status)
            )
            return {status: n for status, n in rows}


def _job_state() -> Any:
    """SQL for a restaurant's place in the dashboard's filters (JOB_STATES): failed (waiting for a person
    because a step or call failed), waiting (for a person's choice), running, or done."""
    failed_call = select(SubStepRow.job_id).where(
        SubStepRow.job_id == Job.id, SubStepRow.status.in_(WAITING_SUB_STEP_STATUSES)
    )
    failed_step = select(JobStep.job_id).where(JobStep.job_id == Job.id, JobStep.status == "failed")
    waiting = Job.status == JobStatus.ACTION_REQUIRED
    return case(
        (and_(waiting, or_(failed_call.exists(), failed_step.exists())), "failed"),
        (waiting, "waiting"),
        (Job.status.in_(sorted(TERMINAL_JOB_STATUSES)), "done"),
        else_="running",
    ).label("state")


def _step_requiring_action(
    status: str, steps: dict[int, str], calls: list[tuple[str, str, str | None]]
) -> int | None:
    """The step a person must act on: the first one waiting or failed (a failed call is step 6's)."""
    if status != JobStatus.ACTION_REQUIRED:
        return None
    waiting = [n for n, st in steps.items() if st in ("action_required", "failed")]
    if any(st in WAITING_SUB_STEP_STATUSES for _, st, _ in calls):
        waiting.append(Step.REGISTRATION)
    return min(waiting) if waiting else None


def _fraction_done(status: str, steps: dict[int, str], calls: list[tuple[str, str, str | None]]) -> float:
    """How much of a restaurant's work is behind it: all of it once finished (completed or cancelled),
    else its settled steps 1-5 and registration calls over all of them."""
    if status in TERMINAL_JOB_STATUSES:
        return 1.0
    pipeline = [st for n, st in steps.items() if n < Step.REGISTRATION]
    settled = sum(1 for st in pipeline if st in SETTLED_SUB_STEP_STATUSES)
    settled += sum(1 for _, st, _ in calls if st in SETTLED_SUB_STEP_STATUSES)
    return settled / max(1, len(pipeline) + len(calls))


def _call_view(row: Any) -> CallState:
    """A registration call's state for people (a SubStepRow, or a row of its columns)."""
    return CallState(
        status=row.status,
        attempts=row.attempts,
        generation=row.generation,
        reason=row.reason,
        error=row.error,
        warning=row.warning,
        started_at=_iso(row.started_at),
        finished_at=_iso(row.finished_at),
    )
