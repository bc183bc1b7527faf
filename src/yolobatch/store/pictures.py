"""What the dashboard's pictures draw (issue 17): a restaurant's timeline and a batch's pace.

A restaurant's timeline is built from its steps' rows and its events: every send of a registration call
is a `call_attempt` event (engine/attempts.py), so all attempts show, not only the last one the sub-step
row keeps; a step or call that failed or asked for a decision waits for a person until the next event
of a person about it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, func, select

from yolobatch.domain.plan import PLAN, SPECS, CallClass, SubStep
from yolobatch.domain.steps import STEP_BY_KEY, STEP_TITLES
from yolobatch.store.core import NotFound, StoreCore, _aware
from yolobatch.store.tables import Batch, Event, Job, JobStep, MenuRow

CALL_ATTEMPT = "call_attempt"
JOB_COMPLETED = "job_completed"
WAITS_FOR_PERSON = ("failed", "action_required", "outcome_unknown")
# A person's answers that end a wait (`sub_step_retry`, `config_approve`, ...); an edit does not.
DECISIONS = ("retry", "skip", "mark_done", "approve", "choose", "manual", "no_company", "retry_search")
ACCOUNT_CALL = SubStep.CLOUDWAITRESS_ACCOUNT.value
EVENT_COLUMNS = (Event.kind, Event.actor, Event.sub_step, Event.message, Event.data, Event.created_at)


@dataclass(frozen=True, slots=True)
class Segment:
    """One bar of a lane. `kind`: step status, or attempt_ok / attempt_failed / queue (at the cap) /
    gate (the account rate gate) / person (waiting for a person)."""

    kind: str
    start: datetime
    end: datetime
    label: str


@dataclass(frozen=True, slots=True)
class Lane:
    key: str  # "step1".."step6" or a sub-step key
    title: str
    segments: list[Segment] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Timeline:
    start: datetime
    end: datetime
    steps: list[Lane]
    calls: list[Lane]
    attempts: int  # sends recorded in all


@dataclass(frozen=True, slots=True)
class BatchPace:
    """Completions and calls in flight of a batch over time, and what its limits allowed at best."""

    started_at: datetime | None
    now: datetime
    total: int
    completions: list[datetime]  # each completed restaurant's finish, in order
    in_flight: list[tuple[datetime, int]]  # step function: from this moment, this many platform calls
    quickest_tail: float | None  # seconds from a restaurant's account call to its end, at best
    platform_seconds: float | None  # platform-call seconds per restaurant, on average


def _at(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _person_waits(events: Sequence[Row[Any]], now: datetime) -> dict[str, list[Segment]]:
    """Lane key -> waits for a person: from a failure or a question until a person's next event on it."""
    waits: dict[str, list[Segment]] = {}
    open_since: dict[str, tuple[datetime, str]] = {}
    for event in events:
        lane = _lane_of(event)
        if lane is None:
            continue
        at = _aware(event.created_at)
        decided = event.actor != "system" and event.kind.endswith(DECISIONS)
        if decided and lane in open_since:
            began, why = open_since.pop(lane)
            waits.setdefault(lane, []).append(Segment("person", began, at, f"waited for a person: {why}"))
        elif event.actor == "system" and event.kind.endswith(WAITS_FOR_PERSON):
            open_since.setdefault(lane, (at, event.message or event.kind))
    for lane, (began, why) in open_since.items():
        waits.setdefault(lane, []).append(Segment("person", began, now, f"waiting for a person: {why}"))
    return waits


def _lane_of(event: Row[Any]) -> str | None:
    if event.kind == CALL_ATTEMPT:
        return None
    if event.sub_step:
        return event.sub_step
    if event.kind.startswith("step") and event.kind[4:5].isdigit():
        return f"step{event.kind[4]}"
    step = STEP_BY_KEY.get(event.kind.rsplit("_", 1)[0])
    return f"step{step}" if step else None


def _attempt_segments(event: Row[Any]) -> list[Segment]:
    data: dict[str, Any] = event.data or {}
    sent, ended = _at(data.get("sent_at")), _at(data.get("ended_at"))
    if sent is None or ended is None:
        return []
    segments = []
    queued, picked = _at(data.get("queued_at")), _at(data.get("picked_at"))
    if queued and picked and picked > queued:
        if event.sub_step == ACCOUNT_CALL:  # the accounts' task queue is rate-limited, not capped
            segments.append(Segment("gate", queued, picked, "queued at the account queue's rate limit"))
        else:
            segments.append(Segment("queue", queued, picked, "queued for a permit of the global cap"))
    gate_from, gate_to = _at(data.get("gate_from")), _at(data.get("gate_to"))
    if gate_from and gate_to:
        segments.append(Segment("gate", gate_from, gate_to, "waited at the account rate gate"))
    ok = data.get("outcome") == "ok"
    segments.append(Segment("attempt_ok" if ok else "attempt_failed", sent, ended, event.message))
    return segments


class Pictures(StoreCore):
    def job_timeline(self, job_id: str, org_id: str) -> Timeline:
        """A restaurant's steps and 12 calls as bars over time (see the module docstring)."""
        now = datetime.now(UTC)
        with self.snapshot() as s:
            job = s.get(Job, job_id)
            if job is None or job.org_id != org_id:
                raise NotFound(f"job {job_id} not found")
            # Plain rows, not ORM objects: the snapshot's rollback would expire those.
            step_columns = (JobStep.step, JobStep.status, JobStep.started_at, JobStep.finished_at)
            rows = s.execute(
                select(*step_columns).where(JobStep.job_id == job_id).order_by(JobStep.step)
            ).all()
            events = s.execute(select(*EVENT_COLUMNS).where(Event.job_id == job_id).order_by(Event.id)).all()
            finished = _aware(job.finished_at) if job.finished_at else None
            job_started = _aware(job.started_at) if job.started_at else None
        end_of_run = finished or now
        waits = _person_waits(events, end_of_run)
        steps = []
        for row in rows:
            lane = Lane(f"step{row.step}", f"{row.step}. {STEP_TITLES[row.step]}")
            if row.started_at:
                began = _aware(row.started_at)
                ended = _aware(row.finished_at) if row.finished_at else end_of_run
                lane.segments.append(Segment(f"step_{row.status}", began, max(began, ended), row.status))
            lane.segments.extend(waits.get(lane.key, []))
            steps.append(lane)
        calls = {spec.key.value: Lane(spec.key.value, spec.label) for spec in PLAN}
        attempts = 0
        for event in events:
            if event.kind == CALL_ATTEMPT and event.sub_step in calls:
                segments = _attempt_segments(event)
                attempts += bool(segments)
                calls[event.sub_step].segments.extend(segments)
        for key, lane in calls.items():
            lane.segments.extend(waits.get(key, []))
            lane.segments.sort(key=lambda seg: seg.start)
        moments = [seg.start for lane in [*steps, *calls.values()] for seg in lane.segments]
        start = min(moments, default=job_started or now)
        ends = [seg.end for lane in [*steps, *calls.values()] for seg in lane.segments]
        return Timeline(start, max([*ends, start]), steps, list(calls.values()), attempts)

    def batch_pace(self, batch_id: str, org_id: str) -> BatchPace:
        """Completions over time, calls in flight over time, and the observed figures the lower-bound
        pace needs (the quickest account-to-end tail, platform-call seconds per restaurant)."""
        now = datetime.now(UTC)
        with self.snapshot() as s:
            batch = s.get(Batch, batch_id)
            if batch is None or batch.org_id != org_id:
                raise NotFound(f"batch {batch_id} not found")
            started_at = _aware(batch.started_at) if batch.started_at else None
            jobs = s.execute(
                select(Job.id, Job.status, Job.finished_at).where(Job.batch_id == batch_id)
            ).all()
            # A re-run moves `finished_at` to its own end; the pace is about when each restaurant first
            # completed (its onboarding's `job_completed`), not when a call of it was run again.
            first_completed = {
                job_id: at
                for job_id, at in s.execute(
                    select(Event.job_id, func.min(Event.created_at))
                    .where(Event.batch_id == batch_id, Event.kind == JOB_COMPLETED)
                    .group_by(Event.job_id)
                )
            }
            sends = s.execute(
                select(Event.job_id, Event.sub_step, Event.data).where(
                    Event.batch_id == batch_id, Event.kind == CALL_ATTEMPT
                )
            ).all()
        done = {
            j.id: _aware(first_completed.get(j.id) or j.finished_at)
            for j in jobs
            if j.status == "completed" and (j.finished_at or j.id in first_completed)
        }
        completions = sorted(done.values())
        changes: list[tuple[datetime, int]] = []
        account_sent: dict[str, datetime] = {}
        platform_seconds: dict[str, float] = {}
        for job_id, key, data in sends:
            sent, ended = _at((data or {}).get("sent_at")), _at((data or {}).get("ended_at"))
            if sent is None or ended is None:
                continue
            if key == ACCOUNT_CALL and (data or {}).get("outcome") == "ok":
                account_sent[job_id] = min(sent, account_sent.get(job_id, sent))
            elif key in SPECS and SPECS[SubStep(key)].call_class == CallClass.PLATFORM:
                # Only platform calls hold a permit of the cap (accounts have their own gate).
                changes += [(sent, 1), (ended, -1)]
                platform_seconds[job_id] = platform_seconds.get(job_id, 0.0) + (ended - sent).total_seconds()
        in_flight: list[tuple[datetime, int]] = []
        level = 0
        for moment, delta in sorted(changes, key=lambda change: (change[0], change[1])):
            level += delta
            in_flight.append((moment, level))
        tails = [
            (done[job_id] - sent).total_seconds() for job_id, sent in account_sent.items() if job_id in done
        ]
        return BatchPace(
            started_at=started_at,
            now=now,
            total=len(jobs),
            completions=completions,
            in_flight=in_flight,
            quickest_tail=min(tails, default=None),
            platform_seconds=(
                sum(platform_seconds.values()) / len(platform_seconds) if platform_seconds else None
            ),
        )

    def job_menu(self, job_id: str, menu_id: str | None = None) -> dict[str, Any] | None:
        """A restaurant's menu as stored (the config's selected one, else its first), for the review's
        preview; None when it has none."""
        with self.session() as s:
            query = select(MenuRow.data).where(MenuRow.job_id == job_id)
            if menu_id:
                query = query.where(MenuRow.id == menu_id)
            return s.scalars(query.order_by(MenuRow.created_at).limit(1)).first()
