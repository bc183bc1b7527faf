"""Running a batch in-process against the session's dev server and the sandbox, for engine tests."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
from temporalio.client import Client

from yolobatch.domain.batch_input import BatchInput
from yolobatch.engine.control import start_batch, tuning_for
from yolobatch.engine.worker import running_worker
from yolobatch.settings import Settings
from yolobatch.store.repository import Store

ORG = "test-org"


@contextlib.asynccontextmanager
async def worker(client: Client, store: Store, settings: Settings) -> AsyncIterator[None]:
    """A worker for one test. Workflows the test leaves running are terminated afterwards, so they cannot
    wander into the next test's worker (tests share one Temporal server but not their databases)."""
    try:
        async with running_worker(client, store, settings):
            yield
    finally:
        async for execution in client.list_workflows("ExecutionStatus='Running'"):
            with contextlib.suppress(Exception):
                await client.get_workflow_handle(execution.id, run_id=execution.run_id).terminate("test over")


def create(store: Store, batch: BatchInput) -> tuple[str, list[str]]:
    """Create the batch; returns its id and its job ids in input order (for per-restaurant faults)."""
    store.ensure_org(ORG)
    batch_id = store.create_batch(ORG, batch.name, batch.restaurants)
    return batch_id, [job["job_id"] for job in store.batch_progress(batch_id)["jobs"]]


async def launch(client: Client, store: Store, settings: Settings, batch_id: str) -> None:
    await start_batch(client, store, batch_id, tuning_for(settings))


async def wait_until(store: Store, batch_id: str, predicate, timeout: float = 120.0) -> dict[str, Any]:
    """Poll the read model until `predicate(progress)` holds; fail with the last progress otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        progress = await asyncio.to_thread(store.batch_progress, batch_id)
        if predicate(progress):
            return progress
        if time.monotonic() > deadline:
            summary = {j["restaurant_name"]: (j["status"], _states(j)) for j in progress["jobs"]}
            raise AssertionError(f"timed out waiting; progress: {summary}")
        await asyncio.sleep(0.2)


def _states(job: dict[str, Any]) -> dict[str, str]:
    return {k: v["status"] for k, v in job["sub_steps"].items()}


def all_settled(progress: dict[str, Any]) -> bool:
    return all(j["status"] in ("completed", "cancelled", "action_required") for j in progress["jobs"])


def all_completed(progress: dict[str, Any]) -> bool:
    return all(j["status"] == "completed" for j in progress["jobs"])


def sub_step_is(job_index: int, key: str, status: str):
    def check(progress: dict[str, Any]) -> bool:
        return progress["jobs"][job_index]["sub_steps"][key]["status"] == status

    return check


def calls(world, **filters: str) -> list[dict[str, Any]]:
    return httpx.get(f"{world.url}/_sandbox/calls", params=filters, timeout=10).json()


def state(world) -> dict[str, Any]:
    return httpx.get(f"{world.url}/_sandbox/state", timeout=10).json()


def fault(world, endpoint: str, kind: str, restaurant_id: str | None = None, times: int = 1, **extra) -> None:
    body = {"endpoint": endpoint, "fault": kind, "times": times, **extra}
    if restaurant_id:
        body["restaurant_id"] = restaurant_id
    httpx.post(f"{world.url}/_sandbox/faults", json=body, timeout=10).raise_for_status()
