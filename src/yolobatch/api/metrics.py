"""Business metrics from the read model, computed at scrape time (so every API process agrees).

Served on the metrics port (`yolobatch.telemetry`), never on the API's: they count every organisation's
restaurants, and the API answers each organisation about its own only.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from yolobatch.domain.steps import Step
from yolobatch.store.repository import Store
from yolobatch.store.tables import Job, JobStep, SubStepRow


class ReadModelCollector(Collector):
    def __init__(self, store: Store) -> None:
        self._store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        jobs = GaugeMetricFamily("yolobatch_restaurants", "Restaurants by status", labels=["status"])
        waiting = GaugeMetricFamily(
            "yolobatch_waiting_for_human", "Steps waiting for a person", labels=["step"]
        )
        calls = GaugeMetricFamily(
            "yolobatch_registration_calls", "Registration calls by outcome", labels=["status"]
        )
        with self._store.session() as s:
            for status, n in s.execute(select(Job.status, func.count()).group_by(Job.status)):
                jobs.add_metric([str(status)], n)
            waiting_rows = s.execute(
                select(JobStep.step, func.count())
                .where(JobStep.status.in_(("action_required", "failed")))
                .group_by(JobStep.step)
            )
            for step, n in waiting_rows:
                waiting.add_metric([str(step)], n)
            for status, n in s.execute(select(SubStepRow.status, func.count()).group_by(SubStepRow.status)):
                calls.add_metric([str(status)], n)
            failed_calls = s.scalar(
                select(func.count()).select_from(SubStepRow).where(SubStepRow.status == "failed")
            )
            waiting.add_metric([str(Step.REGISTRATION)], failed_calls or 0)
            throttled = s.scalar(
                select(func.count()).select_from(SubStepRow).where(SubStepRow.error.like("%HTTP 429%"))
            )
        yield jobs
        yield waiting
        yield calls
        yield GaugeMetricFamily(
            "yolobatch_rate_limited_calls", "Calls whose last error was a 429", value=throttled or 0
        )
