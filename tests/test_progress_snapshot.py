"""The read paths made cheap for large batches (issue #18): the original-shape progress snapshot, and a
ready-config job's start written by whoever starts its workflow."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from datetime import datetime

from tests.conftest import batch_of
from yolobatch.api.original_progress import SnapshotCache, original_shape
from yolobatch.domain.original_progress import ORIGINAL_FIELDS
from yolobatch.store.tables import Event


async def test_a_large_batch_is_served_from_a_snapshot_rebuilt_in_the_background(store) -> None:
    store.ensure_org("org-a")
    batch_id = store.create_batch("org-a", "snap", batch_of(3).restaurants)
    first, second, third = (j.job_id for j in store.job_summaries(batch_id))
    reads = 0

    async def read():
        nonlocal reads
        reads += 1
        return await asyncio.to_thread(store.registration_progress, batch_id, "org-a")

    def completed(body: bytes) -> int:
        return json.loads(body)["batch"]["completed_restaurants"]

    large = SnapshotCache(max_age=0.2, cached_from=3)  # 3 restaurants count as "large" here
    key = ("store", "org-a", batch_id)
    body = await large.get(key, read)
    assert json.loads(body) == original_shape(store.registration_progress(batch_id, "org-a"))
    # The snapshot is the original's whole answer (#17), its fields first and in its order.
    snapshot = json.loads(body)
    assert list(snapshot)[: len(ORIGINAL_FIELDS)] == list(ORIGINAL_FIELDS)
    assert snapshot["restaurants_summary"] == {"total": 3, "completed": 0, "failed": 0, "in_progress": 3}
    store.record_job(first, "completed")
    assert completed(await large.get(key, read)) == 0 and reads == 1  # young snapshot: no read
    await asyncio.sleep(0.25)
    assert completed(await large.get(key, read)) == 0  # old: answered at once, rebuilt behind it
    for _ in range(50):
        await asyncio.sleep(0.02)
        if completed(await large.get(key, read)) == 1:
            break
    assert completed(await large.get(key, read)) == 1 and reads == 2
    rebuilt = json.loads(await large.get(key, read))
    assert rebuilt["restaurants_summary"]["completed"] == 1
    # The rebuild saw the restaurant's change.
    assert datetime.fromisoformat(rebuilt["last_updated"]) > datetime.fromisoformat(snapshot["last_updated"])

    small = SnapshotCache(max_age=60, cached_from=4)  # below the threshold: always read fresh
    assert completed(await small.get(key, read)) == 1
    store.record_job(second, "completed")
    store.record_job(third, "completed")
    assert completed(await small.get(key, read)) == 3


def test_a_step_6_start_moves_only_a_pending_job_and_is_recorded_once(store) -> None:
    store.ensure_org("org-a")
    batch_id = store.create_batch("org-a", "start", batch_of(2).restaurants)
    pending, finished = (j.job_id for j in store.job_summaries(batch_id))
    assert store.mark_step_6_started(pending)
    assert not store.mark_step_6_started(pending)  # a second start (a retried starter page) adds nothing
    store.record_job(finished, "completed")
    assert not store.mark_step_6_started(finished)  # the workflow already went further
    jobs = {job["job_id"]: job for job in asdict(store.batch_progress(batch_id))["jobs"]}
    assert jobs[pending]["status"] == "running" and jobs[pending]["steps"]["6"]["status"] == "running"
    assert jobs[finished]["status"] == "completed"
    with store.session() as s:
        started = s.query(Event).filter(Event.kind == "job_started").all()
    assert [e.job_id for e in started] == [pending]
