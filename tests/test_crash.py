"""Crash tests: kill -9 the worker process, or the Temporal server, in the middle of a batch.

Nothing may be lost and no side effect may happen twice: the sandbox counts side effects per restaurant.
"""

from __future__ import annotations

import signal
from dataclasses import asdict

import pytest
from temporalio.client import Client

from tests.conftest import batch_of, settings_for
from tests.engine_helpers import (
    all_completed,
    completed_calls,
    create,
    launch,
    spawn_worker,
    state,
    wait_until,
    worker,
)
from yolobatch.engine.devserver import free_port, start_dev_server

pytestmark = [pytest.mark.crash, pytest.mark.reliability]


async def test_crash_kill_worker_mid_batch_loses_nothing_and_duplicates_nothing(
    dev_server, world, store, tmp_path
):
    settings = settings_for(store, world, tmp_path, platform_concurrency=12, lease_ttl_seconds=3)
    client = await Client.connect(dev_server.address)
    count = 24
    batch_id, job_ids = create(store, batch_of(count))
    log = tmp_path / "worker.log"
    first = spawn_worker(settings, dev_server.address, log)
    try:
        await launch(client, store, settings, batch_id)
        # Kill once a good part of the work is done and calls are surely in flight.
        await wait_until(store, batch_id, lambda p: completed_calls(p) >= count * 12 // 3, timeout=120)
        first.send_signal(signal.SIGKILL)
        first.wait()
        before = await wait_until(store, batch_id, lambda p: True)
        assert not all_completed(before), "the kill came too late to prove anything"
        second = spawn_worker(settings, dev_server.address, log)
        try:
            progress = await wait_until(store, batch_id, all_completed, timeout=240)
        finally:
            second.terminate()
            assert second.wait(30) == 0, log.read_text()[-3000:]
    finally:
        if first.poll() is None:
            first.kill()
    assert progress["status"] == "completed"
    world_state = state(world)
    assert world_state["duplicates"] == [], world_state["duplicates"]
    for job_id in job_ids:
        assert world_state["restaurants"][job_id]["registrations"] == 1


async def test_crash_kill_temporal_server_mid_batch_resumes(world, store, tmp_path):
    data_dir, port = tmp_path / "temporal", free_port()
    server = await start_dev_server(data_dir, port)
    settings = settings_for(store, world, tmp_path)
    count = 20
    batch_id, job_ids = create(store, batch_of(count))
    try:
        client = await Client.connect(server.address)
        async with worker(client, store, settings):
            await launch(client, store, settings, batch_id)
            await wait_until(store, batch_id, lambda p: completed_calls(p) >= count * 12 // 3, timeout=120)
            server.kill()
            assert not all_completed(asdict(store.batch_progress(batch_id)))
            server = await start_dev_server(data_dir, port)  # same SQLite file, same port
            progress = await wait_until(store, batch_id, all_completed, timeout=240)
    finally:
        server.stop()
    assert progress["status"] == "completed"
    world_state = state(world)
    assert world_state["duplicates"] == [], world_state["duplicates"]
    assert all(world_state["restaurants"][job_id]["registrations"] == 1 for job_id in job_ids)
