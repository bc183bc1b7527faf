"""Orchestration overhead (issue #18 item 2): yolobatch's step 6 against a bare Temporal workflow, one run.

Both run on the same Temporal dev server, one after the other, each with its worker in its own process:

* **bare**: a workflow with the same 12-call dependency graph (`domain/plan.py`) and no-op activities —
  no database, no leases, no sandbox, no read model; the floor Temporal itself costs on this machine.
  Measured three ways: activities on the workflow's own task queue (Temporal then starts them eagerly on
  the same worker, skipping the server's matching), on a task queue of their own, as yolobatch's are, and
  as local activities (run inside the workflow task: no matching, no activity events; the floor of a
  design that gave up the platform queue's priority and fairness ordering);
* **yolobatch**: `yolobatch worker` running ready-config restaurants (step 6) against a sandbox whose calls
  answer at once, started as a batch (`start_batch`), with a fresh SQLite store.

For each: worker-process and Temporal-server CPU per sub-step (from /proc, start-up excluded; the sandbox
and this driver are not counted), schedule-to-start latency of the 12 calls (ActivityTaskScheduled →
ActivityTaskStarted event times in each workflow's history), sub-steps per second, and history size.

    python -m benchmarks.overhead [--restaurants 200] [--cap 64] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio import activity, workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from benchmarks.scale import Service, last_finish, percentile, stopping

with workflow.unsafe.imports_passed_through():
    from yolobatch.domain.plan import PLAN, SubStep

SUB_STEPS = len(PLAN)
BARE_QUEUE = "bare-overhead"
# yolobatch's calls run on their own task queues (the platform cap, the account gate), so Temporal cannot
# hand them to the workflow's worker eagerly; the bare workflow is measured both ways.
BARE_CALLS_QUEUE = "bare-overhead-calls"
LOCAL = "local"  # the bare side's calls as local activities
STARTS_IN_FLIGHT = 16  # as the yolobatch starter activity
CALL_ACTIVITY = "platform_call"


@activity.defn(name="noop")
async def noop(sub_step: str) -> dict[str, Any]:
    return {}


@workflow.defn(name="BareOnboarding")
class BareOnboarding:
    """The 12 calls of step 6 as asyncio tasks awaiting their dependencies, like RestaurantOnboarding."""

    @workflow.run
    async def run(self, job: str, calls_queue: str | None = None) -> str:
        tasks: dict[SubStep, asyncio.Task[dict[str, Any]]] = {}

        async def sub_step(key: SubStep, needs: tuple[SubStep, ...]) -> dict[str, Any]:
            for need in needs:
                await tasks[need]
            if calls_queue == LOCAL:
                return await workflow.execute_local_activity(
                    "noop", key.value, start_to_close_timeout=timedelta(seconds=60), activity_id=key.value
                )
            return await workflow.execute_activity(
                "noop",
                key.value,
                start_to_close_timeout=timedelta(seconds=60),
                activity_id=key.value,
                task_queue=calls_queue,
            )

        for spec in PLAN:
            tasks[spec.key] = asyncio.create_task(sub_step(spec.key, spec.needs))
        await asyncio.gather(*tasks.values())
        return job


async def bare_worker(address: str) -> None:
    """The bare side's worker process: same SDK, same workflow sandbox settings as yolobatch's worker."""
    from temporalio.worker import Worker

    # By module name, not __main__: the workflow sandbox re-imports a workflow's module by its name.
    from benchmarks.overhead import BareOnboarding, noop
    from yolobatch.engine.worker import WORKFLOW_RUNNER

    client = await Client.connect(address)
    workflows = Worker(
        client,
        task_queue=BARE_QUEUE,
        workflows=[BareOnboarding],
        activities=[noop],
        workflow_runner=WORKFLOW_RUNNER,
        max_concurrent_activities=64,
    )
    calls = Worker(client, task_queue=BARE_CALLS_QUEUE, activities=[noop], max_concurrent_activities=64)
    await asyncio.gather(workflows.run(), calls.run())


def _spawn(name: str, args: list[str], env: dict[str, str], log: Path) -> Service:
    with open(log, "ab") as out:
        process = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
    return Service(name, process)


async def _wait_for_poller(
    client: Client, queue: str, timeout: float = 60, *, activity: bool = False
) -> None:
    """Start-up (imports, connection) is not per sub-step: wait until the worker polls its queue."""
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=client.namespace,
                task_queue=TaskQueue(name=queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY
                if activity
                else TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            )
        )
        if response.pollers:
            await asyncio.sleep(1.0)  # the worker's other queues start at the same time
            return
        await asyncio.sleep(0.2)
    raise TimeoutError(f"no worker polls {queue} after {timeout} s")


async def _histories(client: Client, workflow_ids: list[str], activity_type: str) -> dict[str, Any]:
    """Schedule-to-start latencies of `activity_type` and history sizes, from the workflows' histories."""
    latencies: list[float] = []
    runs: list[float] = []  # started -> completed: how long a worker took over an activity
    sizes: list[int] = []
    events: list[int] = []
    local_calls = 0  # local activities leave a marker each, and no activity events
    gate = asyncio.Semaphore(16)

    async def one(workflow_id: str) -> None:
        nonlocal local_calls
        async with gate:
            history = await client.get_workflow_handle(workflow_id).fetch_history()
        scheduled: dict[int, float] = {}
        started: dict[int, float] = {}
        sizes.append(sum(e.ByteSize() for e in history.events))
        events.append(len(history.events))
        for e in history.events:
            if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
                local_calls += 1
            elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                if e.activity_task_scheduled_event_attributes.activity_type.name == activity_type:
                    scheduled[e.event_id] = e.event_time.ToNanoseconds() / 1e9
            elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                at = scheduled.get(e.activity_task_started_event_attributes.scheduled_event_id)
                if at is not None:
                    latencies.append(e.event_time.ToNanoseconds() / 1e9 - at)
                    started[e.event_id] = e.event_time.ToNanoseconds() / 1e9
            elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
                at = started.get(e.activity_task_completed_event_attributes.started_event_id)
                if at is not None:
                    runs.append(e.event_time.ToNanoseconds() / 1e9 - at)

    await asyncio.gather(*(one(w) for w in workflow_ids))
    return {
        "schedule_to_start_p50_ms": round(1000 * percentile(latencies, 0.5), 1),
        "schedule_to_start_p95_ms": round(1000 * percentile(latencies, 0.95), 1),
        "start_to_close_p50_ms": round(1000 * percentile(runs, 0.5), 1),
        "start_to_close_p95_ms": round(1000 * percentile(runs, 0.95), 1),
        "calls_measured": len(latencies) or local_calls,
        "history_kb_per_restaurant": round(sum(sizes) / len(sizes) / 1024, 1),
        "history_events_per_restaurant": round(sum(events) / len(events), 1),
    }


def _per_sub_step(worker: Service, server: Service, before: dict[str, float], n: int) -> dict[str, float]:
    worker.sample()
    server.sample()
    sub_steps = n * SUB_STEPS
    worker_ms = 1000 * (worker.cpu_s - before[worker.name]) / sub_steps
    server_ms = 1000 * (server.cpu_s - before[server.name]) / sub_steps
    return {
        "worker_cpu_ms_per_substep": round(worker_ms, 2),
        "server_cpu_ms_per_substep": round(server_ms, 2),
        "cpu_ms_per_substep": round(worker_ms + server_ms, 2),
    }


async def measure_bare(
    client: Client, address: str, server: Service, n: int, root: Path, calls_queue: str | None
) -> dict[str, Any]:
    worker = _spawn(
        "bare worker",
        [sys.executable, "-m", "benchmarks.overhead", "--bare-worker", address],
        {**os.environ},
        root / f"bare-worker-{calls_queue}.log",
    )
    with stopping([worker]):
        await _wait_for_poller(client, BARE_QUEUE)
        if calls_queue and calls_queue != LOCAL:
            await _wait_for_poller(client, calls_queue, activity=True)
        for s in (worker, server):
            s.sample()
        before = {worker.name: worker.cpu_s, server.name: server.cpu_s}
        ids = [f"bare-{uuid.uuid4().hex[:12]}" for _ in range(n)]
        gate = asyncio.Semaphore(STARTS_IN_FLIGHT)
        started = time.time()

        async def run_one(workflow_id: str) -> None:
            async with gate:
                handle = await client.start_workflow(
                    "BareOnboarding", args=[workflow_id, calls_queue], id=workflow_id, task_queue=BARE_QUEUE
                )
            await handle.result()

        await asyncio.gather(*(run_one(w) for w in ids))
        wall = time.time() - started
        cpu = _per_sub_step(worker, server, before, n)
    return {
        **cpu,
        "wall_s": round(wall, 2),
        "substeps_per_s": round(n * SUB_STEPS / wall, 1),
        **await _histories(client, ids, "noop"),
    }


async def measure_yolobatch(
    client: Client, address: str, server: Service, n: int, cap: int, root: Path, timeout: float
) -> dict[str, Any]:
    from cryptography.fernet import Fernet

    from yolobatch.devtools.bench import ORG, batch_of, sandbox_process
    from yolobatch.engine.contracts import Queues, Tuning, onboarding_workflow_id
    from yolobatch.service.control import start_batch
    from yolobatch.store.crypto import SecretBox
    from yolobatch.store.db import make_engine, migrate
    from yolobatch.store.repository import Store

    url = f"sqlite:///{root / 'yolobatch.db'}"
    engine = make_engine(url)
    migrate(engine)
    secret_key = Fernet.generate_key().decode()
    store = Store(engine, SecretBox(secret_key))
    store.ensure_org(ORG)
    batch = batch_of(n)
    batch_id = store.create_batch(ORG, "overhead", batch.restaurants)
    job_ids = [job_id for _, job_id, _ in store.job_ids_page(batch_id, -1, n + 1)]
    with sandbox_process(1e-6) as sandbox_url:
        env = {
            **os.environ,
            "TEMPORAL_ADDRESS": address,
            "YOLOBATCH_DATA_DIR": str(root),
            "YOLOBATCH_DATABASE_URL": url,
            "YOLOBATCH_SECRET_KEY": secret_key,
            "YOLOBATCH_REGISTRATION_API_URL": sandbox_url,
            "YOLOBATCH_PLATFORM_CONCURRENCY": str(cap),
            "YOLOBATCH_ACCOUNTS_PER_MINUTE": "1000000",  # no account pacing: overhead is measured
            "YOLOBATCH_TIME_SCALE": "0.01",
        }
        worker = _spawn(
            "yolobatch worker", [sys.executable, "-m", "yolobatch", "worker"], env, root / "worker.log"
        )
        with stopping([worker]):
            queues = Queues(store.installation().task_queue_prefix)
            await _wait_for_poller(client, queues.workflows)
            for s in (worker, server):
                s.sample()
            before = {worker.name: worker.cpu_s, server.name: server.cpu_s}
            started = time.time()
            await start_batch(client, store, batch_id, Tuning(time_scale=0.01, retry_attempts=3))
            deadline = time.monotonic() + timeout
            while True:
                counts = await asyncio.to_thread(store.job_status_counts, batch_id)
                if counts.get("completed", 0) == n:
                    break
                if set(counts) & {"action_required", "cancelled", "failed"} or time.monotonic() > deadline:
                    raise RuntimeError(f"the batch did not complete: {counts}")
                await asyncio.sleep(0.1)
            # Measured before the worker idles on: its CPU until the last restaurant finished.
            cpu = _per_sub_step(worker, server, before, n)
            wall = last_finish(store, batch_id) - started
    engine.dispose()
    return {
        **cpu,
        "wall_s": round(wall, 2),
        "substeps_per_s": round(n * SUB_STEPS / wall, 1),
        **await _histories(client, [onboarding_workflow_id(j) for j in job_ids], CALL_ACTIVITY),
    }


async def run(n: int, cap: int, timeout: float) -> dict[str, Any]:
    from yolobatch.engine.devserver import free_port, start_dev_server

    with tempfile.TemporaryDirectory(prefix="yolobatch-overhead-") as tmp:
        root = Path(tmp)
        dev = await start_dev_server(root / "temporal", free_port())
        server = Service("temporal server", dev.process)  # type: ignore[arg-type]
        try:
            client = await Client.connect(dev.address)
            bare = await measure_bare(client, dev.address, server, n, root, None)
            bare_queue = await measure_bare(client, dev.address, server, n, root, BARE_CALLS_QUEUE)
            bare_local = await measure_bare(client, dev.address, server, n, root, LOCAL)
            ours = await measure_yolobatch(client, dev.address, server, n, cap, root, timeout)
        finally:
            dev.stop()
    return {
        "restaurants": n,
        "sub_steps": n * SUB_STEPS,
        "cap": cap,
        "bare": bare,
        "bare_own_queue": bare_queue,
        "bare_local": bare_local,
        "yolobatch": ours,
        "yolobatch_cpu_ms_per_substep": ours["cpu_ms_per_substep"],
        "bare_cpu_ms_per_substep": bare["cpu_ms_per_substep"],
        "cpu_ratio": round(ours["cpu_ms_per_substep"] / bare["cpu_ms_per_substep"], 2),
        "cpu_ratio_to_bare_own_queue": round(
            ours["cpu_ms_per_substep"] / bare_queue["cpu_ms_per_substep"], 2
        ),
        "schedule_to_start_p95_ratio": round(
            ours["schedule_to_start_p95_ms"] / max(bare["schedule_to_start_p95_ms"], 0.1), 2
        ),
    }


ROWS = [
    ("worker CPU per sub-step (ms)", "worker_cpu_ms_per_substep", "{:.2f}"),
    ("Temporal server CPU per sub-step (ms)", "server_cpu_ms_per_substep", "{:.2f}"),
    ("total CPU per sub-step (ms)", "cpu_ms_per_substep", "{:.2f}"),
    ("schedule-to-start p50 (ms)", "schedule_to_start_p50_ms", "{:.1f}"),
    ("schedule-to-start p95 (ms)", "schedule_to_start_p95_ms", "{:.1f}"),
    ("start-to-close p50 (ms)", "start_to_close_p50_ms", "{:.1f}"),
    ("start-to-close p95 (ms)", "start_to_close_p95_ms", "{:.1f}"),
    ("sub-steps per second", "substeps_per_s", "{:.1f}"),
    ("wall time (s)", "wall_s", "{:.1f}"),
    ("history per restaurant (KB)", "history_kb_per_restaurant", "{:.1f}"),
    ("history events per restaurant", "history_events_per_restaurant", "{:.0f}"),
]


def table(result: dict[str, Any]) -> str:
    """bare: activities eagerly on the workflow's worker; bare, own queue: on a task queue of their own,
    as yolobatch's calls are; bare, local: as local activities."""
    sides = ["bare", "bare_own_queue", "bare_local", "yolobatch"]
    width = max(len(label) for label, _, _ in ROWS)
    lines = [
        f"{result['restaurants']} restaurants, {result['sub_steps']} sub-steps, cap {result['cap']}",
        f"{'':<{width}}  {'bare':>10}  {'bare, own':>10}  {'bare,':>10}  {'yolobatch':>10}  {'ratio':>6}",
        f"{'':<{width}}  {'':>10}  {'queue':>10}  {'local':>10}  {'':>10}  {'to bare':>6}",
    ]
    for label, key, fmt in ROWS:
        values = [result[side][key] for side in sides]
        ratio = f"{values[-1] / values[0]:.2f}" if values[0] else "-"
        cells = "  ".join(f"{fmt.format(v):>10}" for v in values)
        lines.append(f"{label:<{width}}  {cells}  {ratio:>6}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.overhead", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--restaurants", "--n", type=int, default=200, help="restaurants per side (200)")
    parser.add_argument("--cap", type=int, default=64, help="yolobatch's global platform-call cap (64)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds allowed for yolobatch's batch")
    parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    parser.add_argument("--bare-worker", metavar="ADDRESS", help=argparse.SUPPRESS)  # the bare side's process
    args = parser.parse_args(argv)
    if args.bare_worker:
        asyncio.run(bare_worker(args.bare_worker))
        return
    if args.restaurants < 1:
        parser.error("--restaurants must be at least 1")
    result = asyncio.run(run(args.restaurants, args.cap, args.timeout))
    print(table(result), flush=True)
    if args.json:
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
