"""What operators see of running processes: their logs (JSON lines with context, no traceback for an
expected retry, no secrets), their metrics (Temporal SDK and process metrics on a port of their own, never
on the API's), `--version`."""

from __future__ import annotations

import io
import json
import logging
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import version
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client

from tests.conftest import batch_of, settings_for
from tests.engine_helpers import (
    all_settled,
    create,
    fault,
    launch,
    spawn_api,
    spawn_worker,
    stop,
    wait_ready,
    wait_until,
)
from yolobatch.engine.devserver import free_port
from yolobatch.logs import configure, get_logger

# A sample line of the Prometheus text format: name, optional labels, value.
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$")


@pytest.fixture
async def client(dev_server) -> Client:
    return await Client.connect(dev_server.address)


def json_lines(log: Path) -> list[dict]:
    """Every line of the log as JSON (fails on the first line that is not one)."""
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    parsed = []
    for number, line in enumerate(lines, start=1):
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError:
            raise AssertionError(f"line {number} of the worker's log is not JSON: {line[:300]}") from None
    return parsed


async def test_worker_logs_json_lines_one_per_retry_and_the_final_failure_with_its_context(
    dev_server, client, world, store, tmp_path
):
    settings = settings_for(store, world, tmp_path)  # 3 attempts per call
    batch_id, (retried, failing) = create(store, batch_of(2))
    fault(world, "configure-services", "503", restaurant_id=retried, times=2)  # two retries, then success
    fault(world, "register-restaurant", "400", restaurant_id=failing)  # never retried: a person decides
    log = tmp_path / "worker.log"
    worker = spawn_worker(settings, dev_server.address, log, YOLOBATCH_LOG_LEVEL="INFO")
    try:
        await launch(client, store, settings, batch_id)
        progress = await wait_until(store, batch_id, all_settled, timeout=120)
    finally:
        assert stop(worker) == 0, log.read_text()[-3000:]
    statuses = {job["job_id"]: job["status"] for job in progress["jobs"]}
    assert statuses == {retried: "completed", failing: "action_required"}

    text = log.read_text()
    records = json_lines(log)  # stderr is a file here: JSON, whatever wrote the line
    assert "Traceback" not in text and "Completing activity as failed" not in text, text[-3000:]
    retries = [r for r in records if r["event"] == "call failed, retrying"]
    assert [(r["job_id"], r["sub_step"], r["attempt"]) for r in retries] == [
        (retried, "servicesConfig", 1),
        (retried, "servicesConfig", 2),
    ]
    for record in retries:
        assert record["level"] == "info" and record["batch_id"] == batch_id, record
        assert "503" in record["error"] and record["retry_in_seconds"] > 0, record
        assert record["timestamp"].endswith("Z") and record["logger"] == "yolobatch.engine.activities"
    [final] = [r for r in records if r["event"] == "call failed, no retry left"]
    assert final["level"] == "warning" and final["retryable"] is False, final
    assert (final["batch_id"], final["job_id"], final["sub_step"], final["attempt"]) == (
        batch_id,
        failing,
        "restaurantRegistration",
        1,
    )
    assert "400" in final["error"], final


async def test_worker_serves_temporal_sdk_and_process_metrics_and_the_api_serves_none(
    dev_server, client, world, store, tmp_path
):
    settings = settings_for(store, world, tmp_path)
    batch_id, _ = create(store, batch_of(1))
    worker_metrics, api_metrics, api_port = free_port(), free_port(), free_port()
    worker_log, api_log = tmp_path / "worker.log", tmp_path / "api.log"
    worker = spawn_worker(
        settings, dev_server.address, worker_log, YOLOBATCH_METRICS_PORT=str(worker_metrics)
    )
    api = spawn_api(settings, dev_server.address, api_port, api_log, YOLOBATCH_METRICS_PORT=str(api_metrics))
    try:
        await wait_ready(f"http://127.0.0.1:{api_port}", api, api_log)
        await launch(client, store, settings, batch_id)
        await wait_until(store, batch_id, all_settled, timeout=120)
        async with httpx.AsyncClient(timeout=10) as http:
            scraped = (await http.get(f"http://127.0.0.1:{worker_metrics}/metrics")).text
            from_api_process = (await http.get(f"http://127.0.0.1:{api_metrics}/metrics")).text
            # The API's own port answers no metrics, to nobody: they count every organisation's restaurants.
            token = store.create_token("test-org", "metrics-probe")
            for headers in ({}, {"Authorization": f"Bearer {token}"}):
                response = await http.get(f"http://127.0.0.1:{api_port}/metrics", headers=headers)
                assert response.status_code == 404, response.text
    finally:
        stop(api)
        stop(worker)

    names = metric_names(scraped)
    # The Temporal SDK's worker metrics, in Prometheus' conventions: seconds in the name, _total on counters.
    assert "temporal_activity_execution_latency_seconds_bucket" in names, sorted(names)[:80]
    assert "temporal_workflow_completed_total" in names, sorted(names)[:80]
    assert any(n.startswith("temporal_worker_task_slots_available") for n in names), sorted(names)[:80]
    # ...and the process's own.
    assert {"process_cpu_seconds_total", "process_resident_memory_bytes", "python_info"} <= names
    assert_conventions(scraped)
    completed = [
        line for line in scraped.splitlines() if line.startswith("temporal_workflow_completed_total")
    ]
    assert sum(float(line.rsplit(" ", 1)[1]) for line in completed) >= 1, completed

    # The API process serves the read model's gauges there instead.
    assert 'yolobatch_restaurants{status="completed"}' in from_api_process, from_api_process[:2000]
    assert "process_resident_memory_bytes" in from_api_process
    assert_conventions(from_api_process)


def metric_names(exposition: str) -> set[str]:
    names = set()
    for line in exposition.splitlines():
        if line and not line.startswith("#"):
            match = SAMPLE.match(line)
            assert match, f"not a Prometheus sample line: {line!r}"
            names.add(match.group(1))
    return names


def assert_conventions(exposition: str) -> None:
    """Counters end in _total; every family has a TYPE; no family is declared twice."""
    types: dict[str, str] = {}
    for line in exposition.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            assert name not in types, f"{name} declared twice"
            types[name] = kind
    assert types
    for name, kind in types.items():
        if kind == "counter":
            assert name.endswith("_total"), name


CORE_WARNING = """
import asyncio, sys
from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker
from yolobatch.logs import configure
from yolobatch.telemetry import install_runtime

@activity.defn
async def noop() -> None: ...

async def main() -> None:
    configure()
    install_runtime()
    client = await Client.connect(sys.argv[1], namespace="no-such-namespace")
    try:
        await asyncio.wait_for(Worker(client, task_queue="q", activities=[noop]).run(), 10)
    except RuntimeError:
        pass  # the worker refuses to start; what Core logged on the way is what we look at
    await asyncio.sleep(1)  # Core hands its logs over in batches every few milliseconds

asyncio.run(main())
"""


def test_temporal_core_logs_come_out_as_our_json_lines(dev_server):
    """The Rust Core's own log lines (here: a warning about a namespace that does not exist) are forwarded
    into Python logging and rendered like every other record, not printed in Core's own format."""
    result = subprocess.run(
        [sys.executable, "-c", CORE_WARNING, dev_server.address], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr[-3000:]
    records = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    core = [r for r in records if r["logger"] == "temporalio.core"]
    assert core, result.stderr[-3000:]
    assert all(r["level"] in ("warning", "error") for r in core)  # Core at WARN unless we log at DEBUG
    assert any("namespace" in r["event"].lower() or "no-such-namespace" in str(r) for r in core), core
    assert all(r["core_target"].startswith("temporal") for r in core), core


async def test_worker_with_tracing_exports_spans_of_workflows_and_activities_over_otlp(
    dev_server, client, world, store, tmp_path
):
    """With the otel extra and YOLOBATCH_OTEL_TRACING=true, a worker process sends its spans to the OTLP
    endpoint of the standard variables (here a collector of our own that decodes them)."""
    pytest.importorskip("opentelemetry.sdk")
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    received: list[str] = []

    class Collector(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            request = ExportTraceServiceRequest.FromString(body)
            for resource in request.resource_spans:
                for scope in resource.scope_spans:
                    received.extend(span.name for span in scope.spans)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    collector = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=collector.serve_forever, daemon=True).start()
    settings = settings_for(store, world, tmp_path)
    batch_id, _ = create(store, batch_of(1))
    log = tmp_path / "worker.log"
    endpoint = f"http://127.0.0.1:{collector.server_address[1]}"
    env = {"YOLOBATCH_OTEL_TRACING": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint}
    worker = spawn_worker(settings, dev_server.address, log, OTEL_BSP_SCHEDULE_DELAY="100", **env)
    try:
        await launch(client, store, settings, batch_id)
        await wait_until(store, batch_id, all_settled, timeout=120)
    finally:
        assert stop(worker) == 0, log.read_text()[-3000:]  # exiting flushes the spans still buffered
        collector.shutdown()
    names = set(received)
    # The starter's activity starts each restaurant's workflow through the traced client, so one trace
    # runs from there to every registration call.
    expected = {
        "RunActivity:start_jobs_page",
        "StartWorkflow:RestaurantOnboarding",
        "RunWorkflow:RestaurantOnboarding",
        "StartActivity:platform_call",
        "RunActivity:platform_call",
    }
    assert expected <= names, sorted(names)
    assert received.count("RunActivity:platform_call") >= 12  # every call of the restaurant


def test_metrics_port_taken_is_a_clear_error(tmp_path):
    """A second process told to serve metrics on a port in use stops with a sentence, not a traceback."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {
            "PATH": "/usr/bin:/bin",
            "YOLOBATCH_DATA_DIR": str(tmp_path),
            "YOLOBATCH_METRICS_PORT": str(port),
            "TEMPORAL_ADDRESS": "127.0.0.1:1",
        }
        result = subprocess.run(
            [sys.executable, "-m", "yolobatch", "worker"], env=env, capture_output=True, text=True, timeout=60
        )
    assert result.returncode == 2, result.stderr[-2000:]
    assert f"cannot serve metrics on 127.0.0.1:{port}" in result.stderr and "Traceback" not in result.stderr


def test_version_comes_from_the_package_metadata():
    result = subprocess.run(
        [sys.executable, "-m", "yolobatch", "--version"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and result.stdout.strip() == f"yolobatch {version('yolobatch')}"


def test_bad_log_settings_are_refused_with_a_clear_error():
    for variable, value in (("YOLOBATCH_LOG_LEVEL", "LOUD"), ("YOLOBATCH_LOG_FORMAT", "xml")):
        result = subprocess.run(
            [sys.executable, "-m", "yolobatch", "status", "x"],
            env={"PATH": "/usr/bin:/bin", variable: value},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 2 and variable in result.stderr, result.stderr


def test_console_format_is_readable_and_json_masks_credentials_in_any_record():
    """Both renderings, for our records and for a library's (stdlib logging): secrets masked by key and
    inside text, tracebacks kept for bugs."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        out = io.StringIO()
        configure(level="INFO", fmt="json", stream=out)
        get_logger("yolobatch.test").info("login", password="hunter2hunter2", url="/login?token=abc123def")
        logging.getLogger("uvicorn.error").warning("Authorization: Bearer sekrit-bearer-value failed")
        try:
            raise ValueError("a bug")
        except ValueError:
            logging.getLogger("yolobatch.test").exception("unexpected")
        lines = [json.loads(line) for line in out.getvalue().splitlines()]
        assert [line["event"] for line in lines][:2] == [
            "login",
            "Authorization: Bearer ******** failed",
        ]
        assert lines[0]["password"] == "********" and lines[0]["url"] == "/login?token=********"
        assert "ValueError: a bug" in lines[2]["exception"]  # a bug keeps its traceback, in one JSON line
        for secret in ("hunter2hunter2", "abc123def", "sekrit-bearer-value"):
            assert secret not in out.getvalue()

        readable = io.StringIO()
        configure(level="INFO", fmt="console", stream=readable)
        get_logger("yolobatch.test").info("call failed, retrying", job_id="j1", attempt=2)
        line = readable.getvalue()
        assert "call failed, retrying" in line and "job_id=j1" in line and "attempt=2" in line
        assert not line.lstrip().startswith("{")
    finally:
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)
