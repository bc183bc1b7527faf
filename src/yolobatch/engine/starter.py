"""Starting restaurants' workflows: the `start_jobs_page` activity of `BatchStarter`, and one start (also
used by reconcile for a job that never reached the engine)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from temporalio import activity
from temporalio.client import Client
from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError

from yolobatch.engine.contracts import (
    OnboardingInput,
    Queues,
    StartedPage,
    StartPage,
    Tuning,
    onboarding_workflow_id,
    workflow_summary,
)
from yolobatch.engine.workflows.onboarding import RestaurantOnboarding
from yolobatch.store.repository import Store

BATCH_ID = SearchAttributeKey.for_keyword("BatchId")
STARTS_IN_FLIGHT = 16  # workflow starts of one page in flight at once (a page is up to 200 restaurants)
ROOM_WAIT = 20.0  # seconds a page waits for room in the window before returning empty (then asked again)
ROOM_POLL = 0.5  # seconds between looks at the window while it is full


class StarterActivities:
    def __init__(self, store: Store, client_factory: Callable[[], Awaitable[Client]], *, window: int) -> None:
        self._store = store
        self._client_factory = client_factory
        self._window = window

    @activity.defn(name="start_jobs_page")
    async def start_jobs_page(self, page: StartPage) -> StartedPage:
        """Start the onboarding workflows of the next jobs of a batch, as many as the window of restaurants
        in progress has room for (waiting up to ROOM_WAIT for some). Starting twice is harmless.

        Why a window: every running workflow lives in a worker's cache (1 000 by default); with more
        progressing at once, each workflow task replays its whole history (the 10 000-restaurant run
        went at 0.63 x the 1 000 rate). Restaurants waiting for a person do not count."""
        room = await self._room(page.batch_id, page.limit)
        if not room:
            return StartedPage(last_position=page.after_position, started=0, exhausted=False)
        client = await self._client_factory()
        jobs = await asyncio.to_thread(self._store.job_ids_page, page.batch_id, page.after_position, room)
        batch_name = (await asyncio.to_thread(self._store.batch, page.batch_id)).name
        gate = asyncio.Semaphore(STARTS_IN_FLIGHT)

        async def start(job_id: str, org_id: str) -> None:
            async with gate:
                await start_onboarding(
                    client, self._store, page.batch_id, job_id, org_id, page.tuning, batch_name=batch_name
                )
                activity.heartbeat()

        await asyncio.gather(*(start(job_id, org_id) for _, job_id, org_id in jobs))
        last = jobs[-1][0] if jobs else page.after_position
        return StartedPage(last_position=last, started=len(jobs), exhausted=len(jobs) < room)

    async def _room(self, batch_id: str, limit: int) -> int:
        # Wait for a tenth of the batch's share of the window to free up rather than start restaurants one
        # by one: each page costs the starter an activity and a workflow task, and restaurants may end at
        # tens a second.
        deadline = asyncio.get_running_loop().time() + ROOM_WAIT
        while True:
            room, share = await asyncio.to_thread(self._store.start_room, batch_id, self._window)
            room = min(limit, room)
            if room >= min(limit, max(1, share // 10)) or asyncio.get_running_loop().time() >= deadline:
                return room
            activity.heartbeat()
            await asyncio.sleep(ROOM_POLL)


async def start_onboarding(
    client: Client,
    store: Store,
    batch_id: str,
    job_id: str,
    org_id: str,
    tuning: Tuning,
    *,
    batch_name: str | None = None,
) -> None:
    """Start one restaurant's workflow. Starting twice is harmless; a finished one is never started again."""
    job, options = await asyncio.to_thread(store.job_facts, job_id)
    if batch_name is None:
        batch_name = (await asyncio.to_thread(store.batch, batch_id)).name
    queues = Queues((await asyncio.to_thread(store.installation)).task_queue_prefix)
    pipeline = await asyncio.to_thread(store.first_step, job_id) < 6
    config = {} if pipeline else await asyncio.to_thread(store.public_config, job_id)
    with contextlib.suppress(WorkflowAlreadyStartedError):
        await client.start_workflow(
            RestaurantOnboarding.run,
            OnboardingInput(
                job_id=job_id,
                org_id=org_id,
                batch_id=batch_id,
                config=config,
                tuning=tuning,
                pipeline=pipeline,
                yolo=bool(options.get("yolo")),
                auto_select=bool(options.get("auto_select", True)),
                company_number=(job.input or {}).get("company_number"),
                menu_policy=str(options.get("menu_policy") or "wait"),
                queue_prefix=queues.prefix,
            ),
            id=onboarding_workflow_id(job_id),
            task_queue=queues.workflows,
            # What an operator sees first in the Temporal UI's list and the workflow's page.
            static_summary=workflow_summary(job.restaurant_name, batch_name),
            # Running: attach to it. Finished: never start a second registration of the restaurant.
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=TypedSearchAttributes([SearchAttributePair(BATCH_ID, batch_id)]),
        )
    if not pipeline:
        # After the start, guarded: a job whose workflow already went further is not `pending` any more.
        await asyncio.to_thread(store.mark_step_6_started, job_id)
