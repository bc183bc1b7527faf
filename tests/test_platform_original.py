"""Step 6 against the ORIGINAL registration contract (issue 15): the sandbox speaks it (`contract="original"`:
its own restaurant ids, idempotency keys ignored, status / code-injection reads), and the organisation's
own platform settings point the engine at it.

The oracle is the sandbox: its audit of side effects (`duplicates`) and its call log, from which no
registration call may be sent twice for the same restaurant without a verification read in between,
unless the first was refused outright (4xx, 429) or a person retried it.
"""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from tests.conftest import batch_of, settings_for
from tests.engine_helpers import (
    ORG,
    all_completed,
    all_settled_and_idle,
    calls,
    completed_calls,
    create,
    fault,
    launch,
    spawn_worker,
    state,
    wait_until,
    worker,
)
from yolobatch.devtools.sandbox.server import RunningSandbox, start_in_thread
from yolobatch.devtools.sandbox.settings import SandboxSettings
from yolobatch.domain.batch_input import BatchInput
from yolobatch.domain.plan import SubStep
from yolobatch.domain.statuses import SubStepStatus
from yolobatch.engine.devserver import free_port
from yolobatch.integrations.registration.payloads import ENDPOINTS
from yolobatch.service.control import DecisionRejected, decide
from yolobatch.service.inbox import inbox
from yolobatch.store.repository import Store

pytestmark = pytest.mark.reliability

KEY = "sandbox-service-key"
# The engine's scale: every call's timeout sits at its 3 s floor (option sets / item tags: 9 s), so a lost
# answer costs seconds; the sandbox answers at its usual 1/200 of the real durations.
SCALE = 0.002
ENDPOINT_OF = {key: path.rsplit("/", 1)[-1] for key, path in ENDPOINTS.items()}
SUB_STEP_OF = {endpoint: key for key, endpoint in ENDPOINT_OF.items()}
VERIFIED_BY_READ = {"register-account", "register-restaurant", "generate-code-injections"}
REFUSED = range(400, 500)  # refused before any effect: resending is not blind


def original_sandbox(**knobs: Any) -> RunningSandbox:
    base = {"contract": "original", "time_scale": 0.005, "jitter": 0.1, "hang_seconds": 60}
    return start_in_thread(SandboxSettings(**(base | knobs)))


def original_batch(sandbox: RunningSandbox, count: int) -> tuple[BatchInput, dict[str, int]]:
    """`count` restaurants the original platform already knows (seeded with their menus), each row carrying
    the platform's ids; returns the batch and which row each platform restaurant id is."""
    tag = uuid.uuid4().hex[:6]
    ids: dict[str, int] = {}

    def with_ids(row: dict[str, Any]) -> None:
        index = len(ids)
        restaurant_id, menu_id = f"rid-{tag}-{index}", f"menu-{tag}-{index}"
        ids[restaurant_id] = index
        row["config"]["platformRestaurantId"] = restaurant_id
        row["config"]["platformMenuId"] = menu_id
        menu = {k: v for k, v in row["menu"].items() if k != "id"}
        seed = {
            "orgId": ORG,
            "restaurantId": restaurant_id,
            "name": row["name"],
            "primaryColor": row["config"]["website"]["primaryColor"],
            "secondaryColor": row["config"]["website"]["secondaryColor"],
            "menus": {menu_id: menu},
        }
        httpx.post(f"{sandbox.url}/_sandbox/platform-restaurants", json=seed, timeout=10).raise_for_status()

    return batch_of(count, with_ids), ids


def use_original(store: Store, sandbox: RunningSandbox) -> None:
    """The organisation's own platform: the process default (below) points nowhere."""
    store.ensure_org(ORG)
    store.set_org_platform(ORG, sandbox.url, KEY, "original", actor="test")


def dead_default(store: Store, sandbox: RunningSandbox, tmp_path: Path, **overrides: Any):
    # The process default is yolobatch's contract on a closed port: only the organisation's own setting
    # can make any call succeed.
    return settings_for(
        store,
        sandbox,
        tmp_path,
        registration_api_url=f"http://127.0.0.1:{free_port()}",
        registration_contract="contract",
        time_scale=SCALE,
        **overrides,
    )


def post_groups(call_log: list[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for call in call_log:
        if call["method"] == "POST" and call["endpoint"] in SUB_STEP_OF:
            groups[(call["endpoint"], call["restaurant_id"] or call["path"])].append(call)
    return groups


def blind_resends(call_log: list[dict[str, Any]], person_retries: Counter) -> list[str]:
    """Resends of an operation with no verification read of that restaurant since the previous send, the
    previous send not refused (4xx), beyond the retries people asked for."""
    reads = [c for c in call_log if c["method"] == "GET" and c["endpoint"] in ("status", "code-injection")]
    found = []
    for (endpoint, subject), sends in post_groups(call_log).items():
        unexplained = []
        for before, after in zip(sends, sends[1:], strict=False):
            if before["status_code"] in REFUSED and before["fault"] != "timeout":
                continue
            if any(
                before["seq"] < r["seq"] < after["seq"] and r["path"].endswith(f"/{subject}") for r in reads
            ):
                continue
            unexplained.append(after["seq"])
        if len(unexplained) > person_retries[(endpoint, subject)]:
            found.append(f"{endpoint} {subject}: sent again without asking at seq {unexplained}")
    return found


def took_effect(call_log: list[dict[str, Any]], endpoint: str, subject: str) -> bool:
    """What a person sees in the platform's portal: did any send of this operation take effect?"""
    return any(
        (c["status_code"] is not None and 200 <= c["status_code"] < 300) or c["fault"] == "timeout"
        for c in post_groups(call_log).get((endpoint, subject), [])
    )


async def settle_by_hand(
    client: Client,
    store: Store,
    sandbox: RunningSandbox,
    batch_id: str,
    ids: dict[str, int],
    job_ids: list[str],
) -> tuple[int, Counter]:
    """Play the person: every outcome_unknown call is checked "in the portal" and marked done or retried
    (reason given) until the batch completes. Returns how many were parked and the retries asked for."""
    parked, retries = 0, Counter()
    rid_of = {job_ids[index]: rid for rid, index in ids.items()}
    for _ in range(10):
        progress = await wait_until(store, batch_id, all_settled_and_idle, timeout=180)
        if all_completed(progress):
            return parked, retries
        log = calls(sandbox)
        for job in progress["jobs"]:
            for key, sub in job["sub_steps"].items():
                endpoint = ENDPOINT_OF[SubStep(key)]
                subject = rid_of[job["job_id"]]
                if endpoint == "upload-images":  # the original names the menu in the path, not the restaurant
                    subject = f"/api/menus/{subject.replace('rid-', 'menu-', 1)}/upload-images"
                if sub["status"] == SubStepStatus.FAILED:
                    # Only refusals before any effect may end as failed here (e.g. 429 after every retry).
                    error = sub.get("error") or ""
                    assert "HTTP 429" in error, (job["restaurant_name"], key, error)
                    await decide(client, store, job["job_id"], "retry", key, reason="throttled", actor="ops")
                    continue
                if sub["status"] != SubStepStatus.OUTCOME_UNKNOWN:
                    continue
                parked += 1
                assert job["status"] == "action_required"
                if parked == 1:
                    await assert_waits_for_a_look(client, store, job, key)
                if took_effect(log, endpoint, subject):
                    await decide(
                        client,
                        store,
                        job["job_id"],
                        "mark_done",
                        key,
                        reason="seen in the portal",
                        actor="ops",
                    )
                else:
                    retries[(endpoint, subject)] += 1
                    await decide(
                        client, store, job["job_id"], "retry", key, reason="not in the portal", actor="ops"
                    )
        await asyncio.sleep(0.5)
    raise AssertionError("the batch did not complete after ten rounds of decisions")


async def assert_waits_for_a_look(client: Client, store: Store, job: dict[str, Any], key: str) -> None:
    """An outcome_unknown call is in the inbox as such, and only a looked-at decision settles it: skipping
    is refused, and so is a retry that does not say what the portal showed."""
    items = (await asyncio.to_thread(inbox, store, ORG)).items
    assert any(i.kind == "outcome_unknown" and i.job_id == job["job_id"] and i.step == key for i in items)
    with pytest.raises(DecisionRejected, match="check the platform's portal"):
        await decide(client, store, job["job_id"], "skip", key, reason="whatever", actor="ops")
    with pytest.raises(DecisionRejected, match="needs a reason"):
        await decide(client, store, job["job_id"], "retry", key, reason="", actor="ops")


def assert_no_duplicates(sandbox: RunningSandbox) -> None:
    world = state(sandbox)
    assert world["duplicates"] == [], world["duplicates"]


async def test_original_happy_batch_through_the_organisations_own_platform(dev_server, store, tmp_path):
    sandbox = original_sandbox(jitter=0)
    try:
        batch, _ = original_batch(sandbox, 4)
        use_original(store, sandbox)
        settings = dead_default(store, sandbox, tmp_path)
        client = await Client.connect(dev_server.address)
        batch_id, _ = create(store, batch)
        async with worker(client, store, settings):
            await launch(client, store, settings, batch_id)
            progress = await wait_until(store, batch_id, all_completed, timeout=120)
        assert progress["status"] == "completed"
        log = calls(sandbox)
        # The original contract: no idempotency keys sent (they would promise a protection it lacks).
        assert {c["idempotency_key"] for c in log if c["method"] == "POST"} == {None}
        assert Counter(
            c["endpoint"] for c in log if c["method"] == "POST" and c["endpoint"] in SUB_STEP_OF
        ) == {endpoint: 4 for endpoint in SUB_STEP_OF}
        assert_no_duplicates(sandbox)
        assert blind_resends(log, Counter()) == []
    finally:
        sandbox.stop()


async def test_a_code_generation_verified_by_a_read_keeps_the_id_the_read_gave_back(
    dev_server, store, tmp_path
):
    """Its answer lost after the effect, code generation is verified through the code-injection read; the id
    that read gave back is recorded as the call's result (a later re-run of websiteConfig needs it, as the
    first run's did), not an empty answer."""
    sandbox = original_sandbox(jitter=0)
    try:
        batch, ids = original_batch(sandbox, 1)
        use_original(store, sandbox)
        settings = dead_default(store, sandbox, tmp_path)
        client = await Client.connect(dev_server.address)
        batch_id, (job_id,) = create(store, batch)
        (platform_id,) = ids
        fault(sandbox, "generate-code-injections", "timeout", restaurant_id=platform_id)
        async with worker(client, store, settings):
            await launch(client, store, settings, batch_id)
            progress = await wait_until(store, batch_id, all_completed, timeout=120)
        assert progress["status"] == "completed"
        verified = [e for e in store.events(job_id=job_id) if "verified after an ambiguous" in e.message]
        assert [e.sub_step for e in verified] == ["codeGeneration"], verified
        row = store.sub_step_rows(job_id)["codeGeneration"]
        website = next(c for c in calls(sandbox) if c["endpoint"] == "configure-website")
        assert row.response and row.response["codeInjectionId"] == website["payload"]["codeInjectionId"]
    finally:
        sandbox.stop()


async def test_original_fault_mix_no_duplicates_none_retried_blind(dev_server, store, tmp_path):
    # 5xx (answered before the effect, but we cannot know that), 429 with Retry-After, answers lost after the
    # effect: each seeded, at rates that hit most restaurants somewhere.
    sandbox = original_sandbox(
        seed=15, fault_rate_5xx=0.06, fault_rate_429=0.06, fault_rate_timeout=0.06, retry_after_seconds=0.2
    )
    try:
        batch, ids = original_batch(sandbox, 10)
        use_original(store, sandbox)
        settings = dead_default(store, sandbox, tmp_path)
        client = await Client.connect(dev_server.address)
        batch_id, job_ids = create(store, batch)
        async with worker(client, store, settings):
            await launch(client, store, settings, batch_id)
            parked, retries = await settle_by_hand(client, store, sandbox, batch_id, ids, job_ids)
        log = calls(sandbox)
        faults = Counter(c["fault"] for c in log if c["fault"])
        assert faults["timeout"] >= 1 and faults["429"] >= 1 and faults["500"] + faults["503"] >= 1, faults
        assert_no_duplicates(sandbox)
        assert blind_resends(log, retries) == []
        # Every lost answer was either verified through a read or parked for a person.
        verified = [e for e in store.events(batch_id=batch_id) if "verified after an ambiguous" in e.message]
        lost = sum(1 for c in log if c["fault"] == "timeout")
        assert len(verified) + parked >= lost, (len(verified), parked, lost)
        # With this seed both ways out of an ambiguous answer happen: a read said done, and no read existed.
        assert verified and parked, (len(verified), parked)
        # 429s were retried (after their Retry-After), never parked.
        for call in log:
            if call["fault"] == "429":
                assert any(
                    c["seq"] > call["seq"]
                    and c["endpoint"] == call["endpoint"]
                    and c["path"] == call["path"]
                    and c["restaurant_id"] == call["restaurant_id"]
                    for c in log
                ), call
    finally:
        sandbox.stop()


async def test_original_kill_worker_mid_call_duplicates_nothing(dev_server, store, tmp_path):
    sandbox = original_sandbox(jitter=0.1)
    try:
        count = 10
        batch, ids = original_batch(sandbox, count)
        use_original(store, sandbox)
        settings = dead_default(store, sandbox, tmp_path, lease_ttl_seconds=3)
        client = await Client.connect(dev_server.address)
        batch_id, job_ids = create(store, batch)
        log_path = tmp_path / "worker.log"
        first = spawn_worker(settings, dev_server.address, log_path)
        try:
            await launch(client, store, settings, batch_id)
            await wait_until(store, batch_id, lambda p: completed_calls(p) >= count * 12 // 3, timeout=120)
            in_flight = state(sandbox)["in_flight"]
            first.send_signal(signal.SIGKILL)
            first.wait()
            assert in_flight > 0, "the kill came between calls; it proves nothing"
            async with worker(client, store, settings):
                parked, retries = await settle_by_hand(client, store, sandbox, batch_id, ids, job_ids)
        finally:
            if first.poll() is None:
                first.kill()
        assert_no_duplicates(sandbox)
        assert blind_resends(calls(sandbox), retries) == []
    finally:
        sandbox.stop()


def test_blind_resend_oracle_catches_a_resend_without_a_read():
    """The oracle above can fail: a lost answer followed by a second send with no read in between."""

    def send(seq: int, status: int | None, fault: str | None = None) -> dict[str, Any]:
        return {
            "seq": seq,
            "method": "POST",
            "endpoint": "register-restaurant",
            "path": "/api/registration/register-restaurant",
            "restaurant_id": "rid-1",
            "status_code": status,
            "fault": fault,
        }

    read = {"seq": 2, "method": "GET", "endpoint": "status", "path": "/api/registration/status/rid-1"}
    assert blind_resends([send(1, 200, "timeout"), send(3, 200)], Counter()) != []
    assert blind_resends([send(1, 200, "timeout"), read, send(3, 200)], Counter()) == []
    assert blind_resends([send(1, 429, "429"), send(3, 200)], Counter()) == []
    assert blind_resends([send(1, 503, "503"), send(3, 200)], Counter()) != []
    person = Counter({("register-restaurant", "rid-1"): 1})
    assert blind_resends([send(1, 503, "503"), send(3, 200)], person) == []


async def test_original_without_platform_ids_fails_clearly_and_sends_nothing(dev_server, store, tmp_path):
    sandbox = original_sandbox(jitter=0)
    try:
        use_original(store, sandbox)
        settings = dead_default(store, sandbox, tmp_path)
        client = await Client.connect(dev_server.address)
        batch_id, _ = create(store, batch_of(1))  # rows without platformRestaurantId / platformMenuId
        async with worker(client, store, settings):
            await launch(client, store, settings, batch_id)
            progress = await wait_until(store, batch_id, all_settled_and_idle, timeout=60)
        job = progress["jobs"][0]
        assert job["status"] == "action_required"
        account = job["sub_steps"]["cloudwaitressAccount"]
        assert account["status"] == "failed"
        assert "set platformRestaurantId" in account["error"]
        assert account["attempts"] == 1  # never retried: the data must change first
        assert [c for c in calls(sandbox) if c["method"] == "POST"] == []
    finally:
        sandbox.stop()


async def test_a_rerun_whose_answer_is_lost_waits_for_a_person_not_a_read(dev_server, store, tmp_path):
    """Review R3: run again on the original service, code generation's answer is lost after the effect.
    The code-injection read shows content either way (the first run made it), so it cannot say this send
    took effect: the call is left `outcome_unknown` for a person, never marked done by the read."""
    from yolobatch.service.rerun import rerun

    sandbox = original_sandbox(jitter=0)
    try:
        batch, ids = original_batch(sandbox, 1)
        use_original(store, sandbox)
        settings = dead_default(store, sandbox, tmp_path)
        client = await Client.connect(dev_server.address)
        batch_id, (job_id,) = create(store, batch)
        (platform_id,) = ids
        async with worker(client, store, settings):
            await launch(client, store, settings, batch_id)
            await wait_until(store, batch_id, all_completed, timeout=120)
            fault(sandbox, "generate-code-injections", "timeout", restaurant_id=platform_id)
            await rerun(
                client,
                store,
                settings,
                job_id,
                "codeGeneration",
                with_dependents=False,
                reason="x",
                actor="t",
            )
            await wait_until(
                store, batch_id, lambda p: p["jobs"][0]["status"] == "action_required", timeout=120
            )
        row = store.sub_step_rows(job_id)["codeGeneration"]
        assert (row.status, row.generation) == ("outcome_unknown", 1), (row.status, row.error)
        assert not [e for e in store.events(job_id=job_id) if "verified after an ambiguous" in e.message]
    finally:
        sandbox.stop()
