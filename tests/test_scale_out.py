"""Scale-out: two `yolobatch worker` and two `yolobatch api` processes on PostgreSQL, one Temporal server.

The sandbox is the oracle for what reached the platform (calls in flight at once, account starts), the
Temporal histories for which worker ran what, and the two API processes must tell the same story.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter

import httpx
import pytest
from temporalio.client import Client

from tests.conftest import ENGINE_SCALE, POSTGRES_URL, batch_of, make_store, settings_for
from tests.engine_helpers import ORG, calls, peak_overlap, spawn_api, spawn_worker, state, stop, wait_ready
from yolobatch.engine.contracts import Queues, onboarding_workflow_id
from yolobatch.engine.devserver import free_port
from yolobatch.engine.reconcile import reconcile

pytestmark = [
    pytest.mark.reliability,
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URL, reason="YOLOBATCH_TEST_POSTGRES_URL not set"),
]

RESTAURANTS = 50
CAP = 6  # global platform-call cap: low enough that 50 restaurants press against it
ACCOUNTS_PER_MINUTE = 3.0  # one account per 20 s, × ENGINE_SCALE = one per 0.2 s


async def test_two_workers_and_two_apis_share_one_batch_within_the_platform_limits(
    dev_server, world, tmp_path
):
    store = make_store("postgres", tmp_path, schema="yolobatch_scale_out")
    store.ensure_org(ORG)
    token = store.create_token(ORG, "scale-out test")
    batch_id = store.create_batch(ORG, "scale-out", batch_of(RESTAURANTS).restaurants)
    settings = settings_for(
        store,
        world,
        tmp_path,
        platform_concurrency=CAP,
        accounts_per_minute=ACCOUNTS_PER_MINUTE,
        lease_ttl_seconds=3,
    )
    ports = [free_port(), free_port()]
    logs = {name: tmp_path / f"{name}.log" for name in ("worker1", "worker2", "api1", "api2")}
    workers = [spawn_worker(settings, dev_server.address, logs[f"worker{n}"]) for n in (1, 2)]
    apis = [spawn_api(settings, dev_server.address, port, logs[f"api{n}"]) for n, port in enumerate(ports, 1)]
    readers = [
        httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Bearer {token}"},
            cookies={"yb_session": token},
            timeout=30,
        )
        for port in ports
    ]
    try:
        for reader, api, name in zip(readers, apis, ("api1", "api2"), strict=True):
            await wait_ready(str(reader.base_url), api, logs[name])
        (await readers[0].post(f"/api/batches/{batch_id}/start")).raise_for_status()
        # The second API process watches the batch its sibling started.
        detail = await _until_completed(readers[1], batch_id, [*workers, *apis], logs)
        views = [await _views(reader, batch_id) for reader in readers]
        client = await Client.connect(dev_server.address)
        drift = await reconcile(client, store, batch_id=batch_id, repair=False)
        identities = await _platform_call_workers(
            client, detail, Queues(store.installation().task_queue_prefix)
        )
    finally:
        for reader in readers:
            await reader.aclose()
        exits = [stop(process) for process in [*workers, *apis]]
    assert exits == [0, 0, 0, 0], {name: log.read_text()[-2000:] for name, log in logs.items()}

    # Every restaurant registered once; the database agrees with the engine.
    assert detail["counts"] == {"completed": RESTAURANTS}
    world_state = state(world)
    assert world_state["duplicates"] == []
    assert all(r["registrations"] == 1 for r in world_state["restaurants"].values())
    assert (drift.jobs_checked, drift.drift, drift.unreachable) == (RESTAURANTS, [], {})

    # Both workers did a real share of the platform calls.
    assert len(identities) == 2, identities
    total = sum(identities.values())
    completed_calls = sum(
        1
        for job in detail["jobs"]
        for key, call in job["sub_steps"].items()
        if call["status"] == "completed" and key != "cloudwaitressAccount"  # on its own queue
    )
    assert total == completed_calls, (identities, completed_calls)
    assert min(identities.values()) >= 0.2 * total, identities

    # The platform never saw more than CAP calls of the capped class at once (account creation is a class
    # of its own, paced instead), nor two accounts closer than the limit allows.
    log = calls(world)
    platform = [c for c in log if c["endpoint"] != "register-account"]
    assert peak_overlap([(c["started_at"], c["finished_at"]) for c in platform]) == CAP, (
        "above the cap, or the cap never bound and proves nothing"
    )
    # Account calls are spaced at their start, and each worker runs one at a time.
    assert world_state["max_in_flight_by_endpoint"]["register-account"] <= 2
    assert world_state["max_in_flight"] <= CAP + 2
    starts = sorted(c["started_at"] for c in log if c["endpoint"] == "register-account")
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    interval = 60 / ACCOUNTS_PER_MINUTE * ENGINE_SCALE
    assert len(starts) == RESTAURANTS and min(gaps) >= 0.8 * interval, (interval, sorted(gaps)[:5])

    # Both API processes show the same batch: API detail and the dashboard's grid.
    assert views[0] == views[1]


async def _until_completed(api: httpx.AsyncClient, batch_id: str, processes, logs: dict) -> dict:
    for _ in range(900):
        for process, (name, log) in zip(processes, logs.items(), strict=True):
            assert process.poll() is None, f"{name} exited: {log.read_text()[-3000:]}"
        response = await api.get(f"/api/batches/{batch_id}", params={"limit": 1000})
        response.raise_for_status()
        detail = response.json()
        if detail["counts"].get("completed") == RESTAURANTS:
            return detail
        assert not detail["counts"].get("action_required"), detail["counts"]
        await asyncio.sleep(0.2)
    raise TimeoutError(f"batch not completed: {detail['counts']}")


async def _views(api: httpx.AsyncClient, batch_id: str) -> tuple:
    detail = (await api.get(f"/api/batches/{batch_id}", params={"limit": 1000})).json()
    grid = (await api.get(f"/batches/{batch_id}/grid", params={"page": 1})).text
    assert grid.count('data-drawer="/jobs/') == RESTAURANTS, grid[:2000]
    # Render times differ between processes; everything else must be the same.
    return detail, re.sub(r"\d+ (s|seconds?|minutes?) ago", "", grid)


async def _platform_call_workers(client: Client, detail: dict, queues: Queues) -> Counter:
    """Which worker process started each platform call, from the restaurants' Temporal histories."""
    identities: Counter = Counter()
    for job in detail["jobs"]:
        history = await client.get_workflow_handle(onboarding_workflow_id(job["job_id"])).fetch_history()
        scheduled = {}
        for event in history.events:
            if event.HasField("activity_task_scheduled_event_attributes"):
                attributes = event.activity_task_scheduled_event_attributes
                scheduled[event.event_id] = attributes.task_queue.name
            elif event.HasField("activity_task_started_event_attributes"):
                attributes = event.activity_task_started_event_attributes
                if scheduled.get(attributes.scheduled_event_id) == queues.platform:
                    identities[attributes.identity] += 1
    return identities
