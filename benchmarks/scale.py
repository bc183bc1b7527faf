"""Scale benchmark (issue #6, item 3): thousands of restaurants through real processes, zero-latency calls.

One run per size starts, as separate processes, a Temporal dev server, a sandbox whose calls answer at once,
`--workers` × `yolobatch worker` and one `yolobatch api`; creates a batch of ready-config restaurants (step 6,
12 calls each), starts it through the API and, while it runs, reads the batch detail, the original-shape
progress endpoint and a dashboard grid page over HTTP, timing each request. It prints:

* sub-steps per second (12 per restaurant) and the wall time;
* orchestration overhead per sub-step: CPU seconds of the worker processes and of the Temporal server,
  divided by the sub-steps (the calls themselves cost nothing here);
* peak memory (VmHWM) of every process, and the database and Temporal history sizes;
* p50 / p95 / max latency of each endpoint during the run.

    python -m benchmarks.scale [--n 10000] [--workers 1] [--cap 64]
                               [--database-url postgresql+psycopg://...] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from yolobatch.devtools.bench import ORG, batch_of, sandbox_process

SUB_STEPS_PER_RESTAURANT = 12
WORKER_NICE = 10
SAMPLE_EVERY = 0.5  # seconds between rounds of endpoint reads during the run
ENDPOINTS = {
    "batch detail (API, 100 rows)": "/api/batches/{batch_id}?limit=100",
    "progress (API, original shape)": "/api/registration-batches/{batch_id}/progress",
    "grid page (dashboard)": "/batches/{batch_id}/grid?page={page}",
}


@dataclass
class Service:
    name: str
    process: subprocess.Popen[bytes]
    peak_rss_mb: float = 0.0
    cpu_s: float = 0.0

    def sample(self) -> None:
        """Remember the peak resident memory and the CPU time used so far (Linux /proc)."""
        with contextlib.suppress(OSError, ValueError, IndexError):
            status = Path(f"/proc/{self.process.pid}/status").read_text()
            peak = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
            self.peak_rss_mb = max(self.peak_rss_mb, int(peak.split()[1]) / 1024)
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            self.cpu_s = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Latencies:
    samples: dict[str, list[float]] = field(default_factory=dict)

    def add(self, name: str, seconds: float) -> None:
        self.samples.setdefault(name, []).append(seconds)

    def summary(self) -> dict[str, dict[str, float]]:
        out = {}
        for name, values in self.samples.items():
            ordered = sorted(values)
            out[name] = {
                "n": len(ordered),
                "p50_ms": round(1000 * statistics.median(ordered), 1),
                "p95_ms": round(1000 * percentile(ordered, 0.95), 1),
                "max_ms": round(1000 * ordered[-1], 1),
            }
        return out


def spawn_service(name: str, args: list[str], env: dict[str, str], log: Path, *, nice: int = 0) -> Service:
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "yolobatch", *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=(lambda: os.nice(nice)) if nice else None,
        )
    return Service(name, process)


@contextlib.contextmanager
def stopping(services: list[Service]) -> Iterator[None]:
    try:
        yield
    finally:
        for service in services:
            service.process.terminate()
        for service in services:
            try:
                service.process.wait(20)
            except subprocess.TimeoutExpired:
                service.process.kill()


def _size_mb(*paths: Path) -> float:
    return round(sum(p.stat().st_size for p in paths if p.exists()) / 1e6, 1)


async def run_size(
    restaurants: int,
    *,
    workers: int,
    cap: int,
    database_url: str | None,
    timeout: float,
    active_restaurants: int | None = None,
) -> dict[str, Any]:
    from cryptography.fernet import Fernet

    from yolobatch.engine.devserver import free_port, start_dev_server
    from yolobatch.settings import Settings
    from yolobatch.store.crypto import SecretBox
    from yolobatch.store.db import make_engine, migrate
    from yolobatch.store.repository import Store

    with tempfile.TemporaryDirectory(prefix="yolobatch-scale-") as tmp, sandbox_process(1e-6) as sandbox_url:
        root = Path(tmp)
        url = database_url or f"sqlite:///{root / 'yolobatch.db'}"
        engine = make_engine(url)
        migrate(engine)
        secret_key = Fernet.generate_key().decode()
        store = Store(engine, SecretBox(secret_key))
        server = await start_dev_server(root / "temporal", free_port())
        api_port = free_port()
        env = {
            **os.environ,
            "TEMPORAL_ADDRESS": server.address,
            "YOLOBATCH_DATA_DIR": str(root),
            "YOLOBATCH_DATABASE_URL": url,
            "YOLOBATCH_SECRET_KEY": secret_key,
            "YOLOBATCH_REGISTRATION_API_URL": sandbox_url,
            "YOLOBATCH_PLATFORM_CONCURRENCY": str(cap),
            # Orchestration overhead is what is measured: no account pacing, timeouts as in the tests.
            "YOLOBATCH_ACCOUNTS_PER_MINUTE": "1000000",
            "YOLOBATCH_TIME_SCALE": "0.01",
        }
        if active_restaurants:
            env["YOLOBATCH_ACTIVE_RESTAURANTS"] = str(active_restaurants)
        window = active_restaurants or Settings.model_fields["active_restaurants"].default
        # Zero-latency calls let the workers take every CPU they can get. Batch work yields to people
        # (nice 10, as we advise where workers share a host with the API); else the latencies measured
        # would be the scheduler's.
        services = [
            spawn_service(f"worker {i + 1}", ["worker"], env, root / f"worker{i}.log", nice=WORKER_NICE)
            for i in range(workers)
        ]
        services.append(spawn_service("api", ["api", "--port", str(api_port)], env, root / "api.log"))
        temporal = Service("temporal server", server.process)  # type: ignore[arg-type]
        try:
            with stopping(services):
                result = await _drive(
                    store, f"http://127.0.0.1:{api_port}", restaurants, [*services, temporal], timeout
                )
        finally:
            server.stop()
        result.update(
            restaurants=restaurants,
            workers=workers,
            cap=cap,
            active_restaurants=window,
            database="postgresql" if url.startswith("postgresql") else "sqlite",
            database_mb=_db_size_mb(store, root),
            temporal_db_mb=_size_mb(*(root / "temporal").glob("temporal.db*")),
        )
        engine.dispose()
    return result


def _db_size_mb(store: Any, root: Path) -> float:
    if store.engine.dialect.name == "postgresql":
        from sqlalchemy import text

        with store.engine.connect() as connection:
            return round(
                connection.execute(text("SELECT pg_database_size(current_database())")).scalar() / 1e6, 1
            )
    return _size_mb(*root.glob("yolobatch.db*"))


async def _drive(
    store: Any, api_url: str, restaurants: int, services: list[Service], timeout: float
) -> dict[str, Any]:
    store.ensure_org(ORG)
    token = store.create_token(ORG, "scale-benchmark")
    batch = batch_of(restaurants)
    batch_id = store.create_batch(ORG, "scale", batch.restaurants)
    del batch
    latencies = Latencies()
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=api_url, headers=headers, timeout=60) as http:
        http.cookies.set("yb_session", token)
        deadline = time.monotonic() + 60
        while not await api_ready(http):
            if time.monotonic() > deadline:
                raise TimeoutError("the API process did not become ready within 60 s")
            await asyncio.sleep(0.2)
        for service in services:
            service.sample()
        idle_cpu = {s.name: s.cpu_s for s in services}  # start-up (imports, migrations) is not per sub-step
        started = time.time()
        (await http.post(f"/api/batches/{batch_id}/start")).raise_for_status()
        pages = max(1, -(-restaurants // 100))
        round_no = 0
        deadline = time.monotonic() + timeout
        while True:
            round_no += 1
            for name, template in ENDPOINTS.items():
                path = template.format(batch_id=batch_id, page=1 + round_no % pages)
                t0 = time.perf_counter()
                response = await http.get(path)
                latencies.add(name, time.perf_counter() - t0)
                response.raise_for_status()
            for service in services:
                service.sample()
            counts = await asyncio.to_thread(store.job_status_counts, batch_id)
            if counts.get("completed", 0) == restaurants:
                break
            stuck = {k: v for k, v in counts.items() if k in ("action_required", "cancelled")}
            if stuck:
                raise RuntimeError(f"restaurants stopped before completing: {counts}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"batch not finished after {timeout} s: {counts}")
            await asyncio.sleep(SAMPLE_EVERY)
    progress = store.batch_progress(batch_id, limit=0)
    wall = last_finish(store, batch_id) - started
    for service in services:
        service.sample()
    sub_steps = restaurants * SUB_STEPS_PER_RESTAURANT
    used = {s.name: s.cpu_s - idle_cpu[s.name] for s in services}
    worker_cpu = sum(cpu for name, cpu in used.items() if name.startswith("worker"))
    server_cpu = used["temporal server"]
    return {
        "completed": progress.counts.get("completed", 0),
        "wall_s": round(wall, 2),
        "sub_steps": sub_steps,
        "sub_steps_per_s": round(sub_steps / wall, 1),
        "worker_cpu_ms_per_sub_step": round(1000 * worker_cpu / sub_steps, 2),
        "server_cpu_ms_per_sub_step": round(1000 * server_cpu / sub_steps, 2),
        "peak_rss_mb": {s.name: round(s.peak_rss_mb, 1) for s in services},
        "latency": latencies.summary(),
    }


def last_finish(store: Any, batch_id: str) -> float:
    from datetime import UTC

    from sqlalchemy import func, select

    from yolobatch.store.tables import Job

    with store.session() as s:
        last = s.scalar(select(func.max(Job.finished_at)).where(Job.batch_id == batch_id))
    return (last if last.tzinfo else last.replace(tzinfo=UTC)).timestamp()  # stored naive in UTC


async def api_ready(http: httpx.AsyncClient) -> bool:
    with contextlib.suppress(httpx.TransportError):
        return (await http.get("/readyz")).status_code == 200
    return False


def table(results: list[dict[str, Any]]) -> str:
    lines = []
    for r in results:
        lines.append(
            f"{r['restaurants']} restaurants, {r['workers']} worker(s), cap {r['cap']}, "
            f"{r.get('active_restaurants')} in progress at most, {r['database']}: "
            f"{r['wall_s']} s, {r['sub_steps_per_s']} sub-steps/s"
        )
        lines.append(
            f"  CPU per sub-step: workers {r['worker_cpu_ms_per_sub_step']} ms, "
            f"Temporal server {r['server_cpu_ms_per_sub_step']} ms"
        )
        memory = ", ".join(f"{name} {mb:.0f} MB" for name, mb in r["peak_rss_mb"].items())
        lines.append(f"  peak memory: {memory}")
        lines.append(f"  database {r['database_mb']} MB, Temporal history {r['temporal_db_mb']} MB")
        for name, lat in r["latency"].items():
            lines.append(
                f"  {name:<32} p50 {lat['p50_ms']:>7.1f} ms  p95 {lat['p95_ms']:>7.1f} ms"
                f"  max {lat['max_ms']:>7.1f} ms  (n={lat['n']})"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--restaurants", "--n", type=int, nargs="+", default=[10000], help="batch sizes, one run each (10000)"
    )
    parser.add_argument("--workers", type=int, default=1, help="`yolobatch worker` processes (1)")
    parser.add_argument("--cap", type=int, default=64, help="global platform-call cap (64)")
    parser.add_argument(
        "--active-restaurants",
        type=int,
        help="restaurants in progress at once (YOLOBATCH_ACTIVE_RESTAURANTS; default the installation's)",
    )
    parser.add_argument("--database-url", help="PostgreSQL URL (default: a fresh SQLite file per size)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds allowed per size (3600)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    args = parser.parse_args(argv)
    results = []
    for size in args.restaurants:
        results.append(
            asyncio.run(
                run_size(
                    size,
                    workers=args.workers,
                    cap=args.cap,
                    database_url=args.database_url,
                    timeout=args.timeout,
                    active_restaurants=args.active_restaurants,
                )
            )
        )
        print(table(results[-1:]), flush=True)
    if args.json:
        print(json.dumps({"runs": results}), flush=True)


if __name__ == "__main__":
    main()
