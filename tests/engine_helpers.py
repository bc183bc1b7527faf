"""Running a batch in-process against the session's dev server and the sandbox, for engine tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client

from yolobatch.domain.batch_input import BatchInput
from yolobatch.engine.worker import running_worker
from yolobatch.service.control import start_batch, tuning_for
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
    return batch_id, [job.job_id for job in store.batch_progress(batch_id).jobs]


async def launch(client: Client, store: Store, settings: Settings, batch_id: str) -> None:
    await start_batch(client, store, batch_id, tuning_for(settings))


async def wait_until(store: Store, batch_id: str, predicate, timeout: float = 120.0) -> dict[str, Any]:
    """Poll the read model until `predicate(progress)` holds; fail with the last progress otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        progress = asdict(await asyncio.to_thread(store.batch_progress, batch_id))
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


def all_settled_and_idle(progress: dict[str, Any]) -> bool:
    """Settled, and no call still queued or running: a restaurant waits for a person as soon as one call
    fails, while its other calls (retrying a 429, say) may still be on their way."""
    return all_settled(progress) and all(
        s["status"] not in ("queued", "running") for j in progress["jobs"] for s in j["sub_steps"].values()
    )


def all_completed(progress: dict[str, Any]) -> bool:
    return all(j["status"] == "completed" for j in progress["jobs"])


def sub_step_is(job_index: int, key: str, status: str):
    def check(progress: dict[str, Any]) -> bool:
        return progress["jobs"][job_index]["sub_steps"][key]["status"] == status

    return check


def peak_overlap(spans: list[tuple[Any, Any]]) -> int:
    """The most (start, end) intervals open at one instant; an end sorts before a start at the same one."""
    edges = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    open_now = peak = 0
    for _, change in edges:
        open_now += change
        peak = max(peak, open_now)
    return peak


def calls(world, **filters: str) -> list[dict[str, Any]]:
    return httpx.get(f"{world.url}/_sandbox/calls", params=filters, timeout=10).json()


def state(world) -> dict[str, Any]:
    return httpx.get(f"{world.url}/_sandbox/state", timeout=10).json()


def fault(world, endpoint: str, kind: str, restaurant_id: str | None = None, times: int = 1, **extra) -> None:
    body = {"endpoint": endpoint, "fault": kind, "times": times, **extra}
    if restaurant_id:
        body["restaurant_id"] = restaurant_id
    httpx.post(f"{world.url}/_sandbox/faults", json=body, timeout=10).raise_for_status()


# -- processes (crash and fault tests) -------------------------------------------------------------------


def service_env(settings: Settings, temporal_address: str, **extra: str) -> dict[str, str]:
    """The environment of a `yolobatch worker` / `yolobatch api` process with the test's settings."""
    assert settings.secret_key is not None
    env = os.environ | {
        "TEMPORAL_ADDRESS": temporal_address,
        "YOLOBATCH_DATA_DIR": str(settings.data_dir),
        "YOLOBATCH_DATABASE_URL": settings.resolved_database_url,
        "YOLOBATCH_SECRET_KEY": settings.secret_key.get_secret_value(),
        "YOLOBATCH_REGISTRATION_API_URL": settings.registration_api_url,
        "YOLOBATCH_NZBN_API_URL": settings.nzbn_api_url,
        "YOLOBATCH_NZBN_API_KEY": settings.nzbn_api_key.get_secret_value(),
        "YOLOBATCH_FETCH_ALLOWED_HOSTS": json.dumps(settings.fetch_allowed_hosts),
        "YOLOBATCH_TIME_SCALE": str(settings.time_scale),
        "YOLOBATCH_ACCOUNTS_PER_MINUTE": str(settings.accounts_per_minute),
        "YOLOBATCH_PLATFORM_CONCURRENCY": str(settings.platform_concurrency),
        "YOLOBATCH_LEASE_TTL_SECONDS": str(settings.lease_ttl_seconds),
        "YOLOBATCH_RETRY_ATTEMPTS": str(settings.retry_attempts),
    }
    return env | extra


def spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """`python -m yolobatch <args>` with its output appended to `log`."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "yolobatch", *args], env=env, stdout=out, stderr=subprocess.STDOUT
        )


def spawn_worker(settings: Settings, temporal_address: str, log: Path, **env: str) -> subprocess.Popen:
    """A `yolobatch worker` process (a second process for the crash tests to kill)."""
    return spawn(["worker"], service_env(settings, temporal_address, **env), log)


def spawn_api(
    settings: Settings, temporal_address: str, port: int, log: Path, **env: str
) -> subprocess.Popen:
    """A `yolobatch api` process on 127.0.0.1:`port`."""
    return spawn(["api", "--port", str(port)], service_env(settings, temporal_address, **env), log)


async def wait_ready(base_url: str, process: subprocess.Popen, log: Path, timeout: float = 60.0) -> None:
    """Wait until the API process answers `/readyz` (its database and Temporal are reachable)."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=base_url, timeout=5) as http:
        while True:
            if process.poll() is not None:
                raise AssertionError(f"the API exited with {process.returncode}: {log.read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get("/readyz")).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise AssertionError(f"the API was not ready within {timeout} s: {log.read_text()[-3000:]}")
            await asyncio.sleep(0.1)


def stop(process: subprocess.Popen, timeout: float = 30.0) -> int | None:
    """SIGTERM a process the test started and wait for it; SIGKILL it if it does not stop in time."""
    if process.poll() is None:
        process.terminate()
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            return None
    return process.returncode


def completed_calls(progress: dict[str, Any]) -> int:
    return sum(
        1 for job in progress["jobs"] for sub in job["sub_steps"].values() if sub["status"] == "completed"
    )


# -- the audit log as an oracle -----------------------------------------------------------------------------

# The sub-step events that settle a registration call: the activity's own completion, a person's decision,
# or the graph's skip rule.
SETTLING_EVENTS = {
    "completed": ("sub_step_completed", "sub_step_mark_done"),
    "skipped": ("sub_step_skipped", "sub_step_skip"),
}


def audit_gaps(store: Store, job: dict[str, Any], *, pipeline: bool = False) -> list[str]:
    """What the `events` table lacks (or holds twice) for a completed restaurant, `job` being its entry in
    `batch_progress`: one job_started and one job_completed; per settled call exactly one event that settled
    it; for pipeline restaurants a settling event per step 1-5 and exactly one step 5 completion."""
    events = store.events(job_id=job["job_id"])
    kinds = Counter(event.kind for event in events)
    per_sub_step = Counter((event.kind, event.sub_step) for event in events)
    gaps = []
    singles = ["job_started", "job_completed"] + (["step6_started", "step5_completed"] if pipeline else [])
    for kind in singles:
        if kinds[kind] != 1:
            gaps.append(f"{kind} x{kinds[kind]}")
    if events and events[-1].kind != "job_completed":
        gaps.append(f"last event is {events[-1].kind}, not job_completed")
    for key, sub in job["sub_steps"].items():
        settling = SETTLING_EVENTS.get(sub["status"])
        if settling is None:
            gaps.append(f"{key} is {sub['status']}")
            continue
        found = sum(per_sub_step[(kind, key)] for kind in settling)
        if found != 1:
            gaps.append(f"{key} {sub['status']}: {found} settling events")
    if pipeline:
        for number in "12345":
            step = job["steps"].get(number, {"status": "missing"})
            if step["status"] not in ("completed", "skipped"):
                gaps.append(f"step {number} is {step['status']}")
            elif kinds[f"step{number}_{step['status']}"] < 1:
                gaps.append(f"step {number} {step['status']}: no event")
    return gaps
