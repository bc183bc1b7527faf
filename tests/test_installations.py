"""Installations side by side on one host: each embedded engine belongs to its data dir, each
installation's work stays on its own task queues, and a server that is not this installation's is refused."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import text
from temporalio.client import Client
from temporalio.service import RPCError

from tests.conftest import SECRET_KEY, batch_of, make_store, settings_for
from tests.engine_helpers import all_completed, create, launch, state, wait_until, worker
from yolobatch.engine.contracts import Queues, onboarding_workflow_id
from yolobatch.engine.devserver import free_port, temporal_binary
from yolobatch.engine.embedded import RECORD_FILE, ensure_record
from yolobatch.engine.runtime import open_store
from yolobatch.engine.starter import BATCH_ID
from yolobatch.settings import Settings
from yolobatch.store.crypto import SecretBox
from yolobatch.store.db import MIGRATIONS, make_engine, migrate
from yolobatch.store.repository import Store

pytestmark = pytest.mark.reliability
EXAMPLES = Path(__file__).parent.parent / "examples"
RUN = ["run", str(EXAMPLES / "restaurants.csv"), "--sandbox", "--json", "--time-scale", "0.01"]


def user_env(data_dir: Path) -> dict[str, str]:
    """A new user's environment: no port, address or namespace of any kind."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YOLOBATCH_", "TEMPORAL_"))}
    return env | {"YOLOBATCH_DATA_DIR": str(data_dir)}


def start(data_dir: Path, *args: str, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "yolobatch", *args],
        env=user_env(data_dir) | env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen, timeout: float = 240) -> tuple[int, str, str]:
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
    return process.returncode, out, err


def test_two_installations_on_one_host_both_finish_with_no_port_options(tmp_path):
    dirs = [tmp_path / "first", tmp_path / "second"]
    results = [finish(process) for process in [start(d, *RUN) for d in dirs]]
    for code, out, err in results:
        assert code == 0, err[-3000:]
        summary = json.loads(out)
        assert summary["status"] == "completed" and len(summary["restaurants"]) == 3
        assert summary["sandbox"]["duplicates"] == []
    records = [json.loads((d / RECORD_FILE).read_text()) for d in dirs]
    ports = {r["port"] for r in records} | {r["ui_port"] for r in records}
    assert len(ports) == 4 and 7233 not in ports, records
    assert records[0]["namespace"] != records[1]["namespace"]

    # A later start reuses what the data dir recorded; the Web UI can be turned off. (The same file again
    # in this data dir names restaurants already registered: --force says that is meant.)
    code, out, err = finish(start(dirs[0], *RUN, "--force", YOLOBATCH_TEMPORAL_UI="false"))
    assert code == 0, err[-3000:]
    assert json.loads((dirs[0] / RECORD_FILE).read_text()) == records[0]
    assert "Temporal UI at" in results[0][2] and "Temporal UI at" not in err


async def test_a_server_that_is_not_this_installations_is_refused(dev_server, world, tmp_path):
    """The data dir records a port; another installation's server (the session's) now answers there."""
    data_dir = tmp_path / "data"
    store = open_store(Settings(data_dir=data_dir))
    ensure_record(data_dir, store.installation().id, port=int(dev_server.address.rsplit(":", 1)[1]))

    code, out, err = finish(start(data_dir, *RUN))
    assert code == 1 and "is not this installation's" in err, err[-3000:]
    assert "another installation uses that port" in err
    with store.session() as s:
        assert s.execute(text("SELECT count(*) FROM batches")).scalar() == 0  # nothing was created

    # Commands that talk to the running engine refuse it too, before sending anything.
    code, _, err = finish(start(data_dir, "cancel", "00000000-0000-0000-0000-000000000000"))
    assert code == 1 and "is not this installation's" in err, err[-3000:]

    # Anything else on the recorded port (here the sandbox, an HTTP server) is refused as well.
    ensure_record(data_dir, store.installation().id, port=int(world.url.rsplit(":", 1)[1]))
    code, _, err = finish(start(data_dir, *RUN))
    assert code == 1 and "not a Temporal server" in err, err[-3000:]


async def test_two_installations_pointed_at_one_server_by_mistake_keep_their_work_apart(
    dev_server, world, tmp_path
):
    """Same server, same namespace: without their own task queues, each worker would take the other's
    workflow tasks and look for its jobs in the wrong database."""
    stores = [make_store("sqlite", _mkdir(tmp_path / name)) for name in ("a", "b")]
    queues = [Queues(store.installation().task_queue_prefix) for store in stores]
    assert queues[0].workflows != queues[1].workflows
    settings = [settings_for(store, world, tmp_path / name) for store, name in zip(stores, "ab", strict=True)]
    batches = [create(store, batch_of(4)) for store in stores]
    client = await Client.connect(dev_server.address)
    async with worker(client, stores[0], settings[0]), worker(client, stores[1], settings[1]):
        for store, setting, (batch_id, _) in zip(stores, settings, batches, strict=True):
            await launch(client, store, setting, batch_id)
        for store, (batch_id, _) in zip(stores, batches, strict=True):
            await wait_until(store, batch_id, all_completed, timeout=120)
        for queue, (_, job_ids) in zip(queues, batches, strict=True):
            description = await client.get_workflow_handle(onboarding_workflow_id(job_ids[0])).describe()
            assert description.task_queue == queue.workflows
    assert state(world)["duplicates"] == []


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True)
    return path


def test_a_database_with_batches_keeps_the_queue_names_of_its_workflows_in_flight(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0005")
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO organisations (id, name, created_at) VALUES ('o', 'o', '2026-01-01')")
        )
        connection.execute(
            text("INSERT INTO batches (id, org_id, name, created_at) VALUES ('b', 'o', 'old', '2026-01-01')")
        )
    migrate(engine)
    assert Store(engine, SecretBox(SECRET_KEY)).installation().task_queue_prefix == "yolobatch"

    fresh = make_store("sqlite", _mkdir(tmp_path / "new")).installation()
    assert fresh.task_queue_prefix == f"yolobatch-{fresh.id[:12]}"


async def test_up_serves_the_temporal_ui_and_the_drawer_links_to_each_workflow(tmp_path):
    data_dir, port = tmp_path / "data", free_port()
    log = tmp_path / "up.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "yolobatch",
                "up",
                "--sandbox",
                "--time-scale",
                "0.01",
                "--port",
                str(port),
            ],
            env=user_env(data_dir),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        await _wait_for(lambda: "Ctrl-C stops everything" in log.read_text(), process, log)
        found = re.search(r"Temporal UI at (http://[\d.:]+)/namespaces/([\w.-]+)/workflows", log.read_text())
        assert found, log.read_text()
        ui_url, namespace = found.groups()
        token = (data_dir / "local-token").read_text().strip()
        csv = (EXAMPLES / "plain-restaurants.csv").read_text().replace("{sandbox}", f"{base}/sandbox")
        async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"}) as api:
            created = await api.post(
                "/api/batches/upload",
                files={"file": ("ui.csv", csv.encode(), "text/csv")},
                data={"yolo": "true", "start": "true"},
            )
            assert created.status_code == 201, created.text
            batch_id = created.json()["batch_id"]
            detail = (await api.get(f"/api/batches/{batch_id}")).json()
            job = next(j for j in detail["jobs"] if j["restaurant_name"] == "Jax Burger Shack")
            drawer = await api.get(f"/jobs/{job['job_id']}/drawer", cookies={"yb_session": token})
            link = f"{ui_url}/namespaces/{namespace}/workflows/{onboarding_workflow_id(job['job_id'])}"
            assert f'href="{link}"' in drawer.text, drawer.text[:2000]
            async with httpx.AsyncClient() as browser:
                page = await browser.get(link)
                assert page.status_code == 200 and "<html" in page.text.lower()
        # Commands reach the running engine through the data dir's record; a second engine is refused.
        # (An unknown job: the engine was reached, and then the job not found in the database.)
        unknown = "00000000-0000-0000-0000-000000000000"
        code, _, err = await asyncio.to_thread(finish, start(data_dir, "cancel", unknown))
        assert code == 1 and f"job {unknown} not found" in err and "engine" not in err, err[-3000:]
        code, _, err = await asyncio.to_thread(finish, start(data_dir, *RUN))
        assert code == 1 and "this data dir's engine already runs" in err, err[-3000:]
        record = json.loads((data_dir / RECORD_FILE).read_text())
        client = await Client.connect(f"127.0.0.1:{record['port']}", namespace=namespace)
        handle = client.get_workflow_handle(onboarding_workflow_id(job["job_id"]))
        description = await _described(handle)
        assert await description.static_summary() == "Jax Burger Shack · batch ui"
        assert description.typed_search_attributes.get(BATCH_ID) == batch_id
        # The README's way to list a batch's workflows from a shell.
        listed = await asyncio.to_thread(
            subprocess.run,
            [str(temporal_binary()), "workflow", "list", "--address", f"127.0.0.1:{record['port']}"]
            + ["--namespace", namespace, "--query", f"BatchId='{batch_id}'", "--output", "json"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert listed.returncode == 0, listed.stderr
        ids = {item["execution"]["workflowId"] for item in json.loads(listed.stdout)}
        assert onboarding_workflow_id(job["job_id"]) in ids and f"batch-{batch_id}" in ids, ids
    finally:
        process.terminate()
        process.wait(60)
    assert process.returncode == 0, log.read_text()[-3000:]


async def _wait_for(predicate, process: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"not ready (exit {process.poll()}): {log.read_text()[-3000:]}")
        await asyncio.sleep(0.2)


async def _described(handle, timeout: float = 60):
    """The workflow's description once the batch's starter has started it."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await handle.describe()
        except RPCError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


def test_up_keeps_its_dashboard_port_in_the_data_dir(tmp_path):
    from yolobatch.cli import _dashboard_port
    from yolobatch.engine.embedded import port_answers

    taken = port_answers("127.0.0.1", 8000)
    first = _dashboard_port(tmp_path)
    assert _dashboard_port(tmp_path) == first
    assert (first == 8000) != taken  # 8000 when free, another port when something answers there


def test_a_data_dir_from_before_the_record_keeps_the_namespace_of_its_workflows(tmp_path):
    (tmp_path / "temporal.db").write_bytes(b"")  # an engine ran here before ports were recorded
    record = ensure_record(tmp_path, "abcdef0123456789")
    assert record.namespace == "default" and record.marker == "yolobatch-abcdef012345"
    assert record.namespaces == ("yolobatch-abcdef012345",)  # the marker is created beside it
    assert record.port != record.ui_port
