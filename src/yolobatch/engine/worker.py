"""The worker process: one Temporal worker per task queue, each with its own flow control."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import sys
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
from temporalio.client import Client
from temporalio.worker import FixedSizeSlotSupplier, Worker, WorkerTuner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from yolobatch.domain.plan import CallClass
from yolobatch.engine.activities import RegistrationActivities, StoreActivities
from yolobatch.engine.contracts import Queues
from yolobatch.engine.flow_control import LeaseSlotSupplier
from yolobatch.engine.pipeline_activities import PipelineActivities
from yolobatch.engine.starter import StarterActivities
from yolobatch.engine.workflows.batch_starter import BatchStarter
from yolobatch.engine.workflows.onboarding import RestaurantOnboarding
from yolobatch.engine.workflows.rerun import SubStepRerun
from yolobatch.settings import Settings
from yolobatch.store.repository import Store

WORKFLOWS = [RestaurantOnboarding, BatchStarter, SubStepRerun]
# The sandbox still forbids non-deterministic calls, but imports the modules a workflow uses once per
# process instead of once per workflow run (first workflow tasks took 80-100 ms before, 35-50 ms after).
# Safe because no workflow module keeps mutable module-level state.
WORKFLOW_RUNNER = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_all_modules()
)
# Platform calls are async HTTP: a worker can truly run this many at once (the global cap is lower or equal).
MAX_PLATFORM_SLOTS_PER_WORKER = 64
STORE_THREADS = 32


@contextlib.asynccontextmanager
async def running_worker(client: Client, store: Store, settings: Settings) -> AsyncIterator[list[Worker]]:
    """Run the three workers until the context exits, then drain them and give leases back."""
    _enough_threads(asyncio.get_running_loop())
    _no_sniffio_probe()
    queues = Queues((await asyncio.to_thread(store.installation)).task_queue_prefix)
    limits = httpx.Limits(max_connections=MAX_PLATFORM_SLOTS_PER_WORKER * 2)
    async with httpx.AsyncClient(limits=limits) as http:
        registration = RegistrationActivities(
            store,
            http,
            settings.registration_api_url,
            settings.registration_service_key.get_secret_value(),
            account_interval=settings.account_interval,
            contract=settings.registration_contract,
        )
        records = StoreActivities(store)
        pipeline = PipelineActivities(store, http, settings)
        starter = StarterActivities(store, lambda: _same_client(client), window=settings.active_restaurants)
        leases = LeaseSlotSupplier(
            store, CallClass.PLATFORM, settings.platform_concurrency, ttl=settings.lease_ttl_seconds
        )
        # Sync store writes (the `record` local activity) run on a sized pool, never more than it can take.
        executor = ThreadPoolExecutor(max_workers=16, thread_name_prefix="yolobatch-activity")
        # On shutdown (SIGTERM) the workers stop polling at once, and calls in flight get this long to finish
        # and report, instead of being cancelled and sent again by another worker. Not scaled by time_scale:
        # it is a wall-clock promise to whatever sends SIGTERM (Kubernetes waits 30 s before SIGKILL); the
        # calls themselves end sooner, within their own (scaled) timeouts, and shutdown waits only for them.
        grace = timedelta(seconds=settings.shutdown_grace_seconds)
        workers = [
            Worker(
                client,
                graceful_shutdown_timeout=grace,
                task_queue=queues.workflows,
                workflows=WORKFLOWS,
                workflow_runner=WORKFLOW_RUNNER,
                activities=[records.record, starter.start_jobs_page],
                activity_executor=executor,
                max_concurrent_activities=16,
                max_concurrent_local_activities=16,
            ),
            Worker(
                client,
                graceful_shutdown_timeout=grace,
                task_queue=queues.platform,
                activities=[registration.platform_call],
                tuner=WorkerTuner.create_composite(
                    workflow_supplier=FixedSizeSlotSupplier(2),
                    activity_supplier=leases,
                    local_activity_supplier=FixedSizeSlotSupplier(2),
                    nexus_supplier=FixedSizeSlotSupplier(1),
                ),
                max_concurrent_activity_task_polls=4,
            ),
            Worker(
                client,
                graceful_shutdown_timeout=grace,
                task_queue=queues.accounts,
                activities=[registration.platform_call],
                # One account call per worker at a time: while it runs (seconds), the next one is already
                # dispatched and waits at the database rate gate for its exact start (reference: >= 60 s
                # apart across all workers). A server-side rate limit on top only added dispatch delay.
                tuner=WorkerTuner.create_composite(
                    workflow_supplier=FixedSizeSlotSupplier(2),
                    activity_supplier=FixedSizeSlotSupplier(1),
                    local_activity_supplier=FixedSizeSlotSupplier(2),
                    nexus_supplier=FixedSizeSlotSupplier(1),
                ),
            ),
            Worker(
                client,
                graceful_shutdown_timeout=grace,
                task_queue=queues.lookup,
                activities=[
                    pipeline.extract_store,
                    pipeline.adopt_menu,
                    pipeline.search_companies,
                    pipeline.company_details,
                    pipeline.save_manual_details,
                    pipeline.prepare_config,
                    pipeline.approve_config,
                ],
                activity_executor=executor,
                max_concurrent_activities=16,
                # Registries allow a few requests per second, across every worker of the queue.
                max_task_queue_activities_per_second=settings.lookups_per_second / settings.time_scale,
            ),
        ]
        tasks = [asyncio.create_task(worker.run()) for worker in workers]
        try:
            yield workers
        finally:
            await asyncio.gather(*(worker.shutdown() for worker in workers), return_exceptions=True)
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.to_thread(leases.close)
            executor.shutdown(wait=False)


def _enough_threads(loop: asyncio.AbstractEventLoop) -> None:
    """Activities reach the database through `asyncio.to_thread`. The loop's default pool has cpu + 4
    threads; on a small machine a few slow writes then hold back the HTTP calls of every other activity
    (measured: 0.6 s from an activity's start to its request). asyncio.run shuts the pool down at exit."""
    if not getattr(loop, "_yolobatch_threads", False):
        loop.set_default_executor(ThreadPoolExecutor(max_workers=STORE_THREADS, thread_name_prefix="store"))
        loop._yolobatch_threads = True  # type: ignore[attr-defined]


def _no_sniffio_probe() -> None:
    """httpcore imports `sniffio` on every request to learn the async library; without sniffio installed
    (anyio 4 no longer needs it) each failed import searched sys.path again: 3 % of a worker's CPU in a
    profile. A None entry in sys.modules makes that import fail at once; httpcore then assumes asyncio."""
    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


async def _same_client(client: Client) -> Client:
    return client
