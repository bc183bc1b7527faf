"""`BatchStarter`: starts one `RestaurantOnboarding` per job of a batch, in pages, surviving crashes.

A batch is a database row, not a parent workflow (history and child limits). This small workflow pages
through the batch's jobs; each page is an activity whose workflow starts are idempotent, so a crash in the
middle of a page only repeats harmless starts. A page is only as large as the installation's window of
active restaurants has room for (the activity waits a while for room, then returns, possibly empty), so a
10 000-restaurant batch does not start 10 000 workflows at once. It continues-as-new to keep its history
short.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from yolobatch.engine.contracts import StarterInput, StartPage
    from yolobatch.engine.starter import StarterActivities

PAGES_PER_RUN = 50


@workflow.defn(name="BatchStarter")
class BatchStarter:
    @workflow.run
    async def run(self, inp: StarterInput) -> int:
        after = inp.after_position
        started = 0
        for _ in range(PAGES_PER_RUN):
            page = await workflow.execute_activity_method(
                StarterActivities.start_jobs_page,
                StartPage(
                    batch_id=inp.batch_id, after_position=after, limit=inp.page_size, tuning=inp.tuning
                ),
                start_to_close_timeout=timedelta(minutes=5),
                heartbeat_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=10)),
            )
            started += page.started
            exhausted = page.started < inp.page_size if page.exhausted is None else page.exhausted
            if exhausted:
                return started
            after = page.last_position
        workflow.continue_as_new(
            StarterInput(
                batch_id=inp.batch_id, tuning=inp.tuning, after_position=after, page_size=inp.page_size
            )
        )
