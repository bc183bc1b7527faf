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


class StarterActivities:
    def __init__(self, store: Store, client_factory: Callable[[], Awaitable[Client]]) -> None:
        self._store = store
        self._client_factory = client_factory

    @activity.defn(name="start_jobs_page")
    async def start_jobs_page(self, page: StartPage) -> StartedPage:
        """Start the onboarding workflows of one page of a batch's jobs. Starting twice is harmless."""
        client = await self._client_factory()
        jobs = await asyncio.to_thread(
            self._store.job_ids_page, page.batch_id, page.after_position, page.limit
        )
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
        return StartedPage(last_position=last, started=len(jobs))


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
