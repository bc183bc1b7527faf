"""`yolobatch bench`: how close a batch's wall time comes to its lower bound, on this machine.

One run starts a Temporal dev server and a sandbox (no jitter), runs a batch of ready-config restaurants
(step 6 only) through the real engine, and prints:

* makespan: wall time from `start_batch` to the last restaurant completed (scaled seconds, and unscaled);
* the lower bound: max of one restaurant's critical path, platform work / cap, and the account chain;
* the same batch in a discrete-event simulation of the original's four-phase schedule with barriers
  (each waits for all of the last), and of the dependency graph run FIFO without priorities, with the same
  durations, platform cap and account limit.

    yolobatch bench [--scenario small|medium|capped] [--json] [--time-scale X]
    python -m yolobatch.devtools.bench ...   (the same)
    python -m benchmarks.makespan ...        (the same, from a checkout)

Durations are the ones the sandbox really sleeps for these menus (formulas in
`yolobatch.devtools.sandbox.catalog`, jitter 0); after the run they are checked against the sandbox's own
call log.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import heapq
import json
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from yolobatch.devtools.demo import demo_batch
from yolobatch.devtools.sandbox.catalog import (
    IMAGE_UPLOAD_SECONDS,
    NOMINAL_SECONDS,
    OPTION_SET_SECONDS,
    TAGGED_ITEM_SECONDS,
)
from yolobatch.devtools.sandbox.menu_model import preset_for
from yolobatch.domain import pace
from yolobatch.domain.batch_input import BatchInput, RestaurantInput, parse_batch
from yolobatch.domain.plan import PLAN, SPECS, CallClass, SubStep
from yolobatch.domain.statuses import QUIESCENT_JOB_STATUSES

S = SubStep
ACCOUNT_INTERVAL_SECONDS = 60.0  # the platform's account limit: 1 per 60 s (unscaled)
# 1 s of the platform = 50 ms: both scenarios run in about 4 minutes, and a call's fixed engine cost (tens of
# ms on a small machine, which real calls of seconds never notice) stays a few percent of the shortest calls.
DEFAULT_TIME_SCALE = 0.05
ORG = "bench-org"
POLL_SECONDS = 0.25  # completion is read from finished_at; polling only notices it, off the timeline


@dataclass(frozen=True)
class Scenario:
    restaurants: int
    cap: int
    account_interval: float = ACCOUNT_INTERVAL_SECONDS  # nominal seconds between account starts


SCENARIOS: dict[str, Scenario] = {
    "small": Scenario(10, 8),
    "medium": Scenario(50, 20),  # bound by the account chain: every schedule lands near 1.00
    # Accounts every 20 s: the chain (~1 300 s) is far below capped work / 8 (~4 700 s), so how the cap's
    # slots are filled is the whole bound.
    "capped": Scenario(50, 8, account_interval=20.0),
}

ENDPOINT_OF: dict[SubStep, str] = {
    S.CLOUDWAITRESS_ACCOUNT: "register-account",
    S.CODE_GENERATION: "generate-code-injections",
    S.CREATE_ONBOARDING_USER: "create-onboarding-user",
    S.UPLOAD_IMAGES: "upload-images",
    S.RESTAURANT_REGISTRATION: "register-restaurant",
    S.WEBSITE_CONFIG: "configure-website",
    S.SERVICES_CONFIG: "configure-services",
    S.PAYMENT_CONFIG: "configure-payment",
    S.MENU_IMPORT: "import-menu-direct",
    S.SYNC_ONBOARDING_USER: "update-onboarding-record",
    S.OPTION_SETS: "add-option-sets",
    S.ITEM_TAGS: "add-item-tags",
}
SUB_STEP_OF = {endpoint: key for key, endpoint in ENDPOINT_OF.items()}


# --------------------------------------------------------------------------------------------------------
# Durations (nominal = unscaled seconds), exactly as the sandbox computes them for a given menu.


@dataclass(frozen=True)
class Durations:
    """One restaurant's sub-step durations. `total` is how long the sub-step takes until its result is
    usable (an asynchronous image upload includes the background upload); `call` is the part spent inside
    the platform call itself, the only part a scheduler must hold a capped slot for."""

    total: dict[SubStep, float]
    call: dict[SubStep, float]


def durations_for(restaurant: RestaurantInput, async_upload_threshold: int = 10) -> Durations:
    """The sandbox's latencies for this restaurant's calls (catalog.py and menu_ops.py formulas)."""
    menu = restaurant.menu
    assert menu is not None, "benchmark restaurants need a menu"
    call = {key: NOMINAL_SECONDS[endpoint] for key, endpoint in ENDPOINT_OF.items()}
    call[S.OPTION_SETS] = max(NOMINAL_SECONDS["add-option-sets"], OPTION_SET_SECONDS * len(menu.option_sets))
    tagged = sum(1 for item in menu.items() if any(preset_for(tag) for tag in item.tags))
    call[S.ITEM_TAGS] = NOMINAL_SECONDS["add-item-tags"] + TAGGED_ITEM_SECONDS * tagged
    total = dict(call)
    images = len(menu.image_urls())
    if images > async_upload_threshold:  # uploaded in the background after the call answers
        total[S.UPLOAD_IMAGES] += IMAGE_UPLOAD_SECONDS * images
    return Durations(total=total, call=call)


# --------------------------------------------------------------------------------------------------------
# Lower bound.


def critical_path(d: Durations) -> float:
    return pace.longest_path(d.total)


def lower_bound(durations: list[Durations], cap: int, account_interval: float) -> dict[str, float]:
    """Nominal seconds. (a) one restaurant's critical path; (b) capped platform work / cap; (c) the
    account chain: n-1 intervals, then the quickest account + everything that must follow it."""
    n = len(durations)
    path = max(critical_path(d) for d in durations)
    work = sum(
        sec for d in durations for key, sec in d.call.items() if SPECS[key].call_class == CallClass.PLATFORM
    )
    tails = [pace.longest_path(d.total, S.CLOUDWAITRESS_ACCOUNT) for d in durations]  # account + its tail
    bound = pace.lower_bound(
        critical_path=path,
        platform_work=work,
        cap=cap,
        accounts=n,
        account_interval=account_interval,
        account_tail=min(tails),
    )
    return {
        "critical_path": bound.critical_path,
        "work_over_cap": bound.work_over_cap,
        "account_chain": bound.account_chain,
        "lower_bound": bound.seconds,
    }


# --------------------------------------------------------------------------------------------------------
# Discrete-event simulation of a schedule (no engine).

PHASE1 = (S.CLOUDWAITRESS_ACCOUNT, S.CODE_GENERATION, S.CREATE_ONBOARDING_USER, S.UPLOAD_IMAGES)
PHASE2 = (S.WEBSITE_CONFIG, S.SERVICES_CONFIG, S.PAYMENT_CONFIG, S.MENU_IMPORT, S.SYNC_ONBOARDING_USER)


def phase_barrier_needs(key: SubStep) -> tuple[SubStep, ...]:
    """The original's phases as a dependency graph: each phase waits for all of the last."""
    if key in PHASE1:
        return ()
    if key == S.RESTAURANT_REGISTRATION:
        return PHASE1
    if key in PHASE2:
        return (S.RESTAURANT_REGISTRATION,)
    if key == S.OPTION_SETS:
        return (S.RESTAURANT_REGISTRATION, *PHASE2)
    return (S.OPTION_SETS,)  # phase 4: item tags


def graph_needs(key: SubStep) -> tuple[SubStep, ...]:
    return SPECS[key].needs


def simulate(
    durations: list[Durations],
    cap: int,
    account_interval: float,
    needs: Callable[[SubStep], tuple[SubStep, ...]],
) -> float:
    """Makespan (nominal seconds) of all restaurants started at once. Platform calls share `cap` slots,
    handed out FIFO in the order calls become ready (ties: restaurant, then plan order); account calls go
    through one global FIFO queue, one at a time, with >= `account_interval` between starts. A slot is
    held for the call only (`Durations.call`); dependents wait for `Durations.total` (a background image
    upload goes on after the call has answered and freed its slot), as in the lower bound."""
    order = {spec.key: i for i, spec in enumerate(PLAN)}
    waiting: dict[tuple[int, SubStep], set[SubStep]] = {}
    events: list[tuple[float, int, str, tuple[int, SubStep] | None]] = []
    seq = iter(range(10**9))
    platform_queue: list[tuple[float, int, int, int, SubStep]] = []  # (ready, tick, r, order, key)
    account_queue: list[tuple[float, int, int, int, SubStep]] = []
    free = cap
    account_busy = False
    account_next = 0.0
    wake_pending = False
    tick = 0
    now = 0.0
    finished = 0.0

    def make_ready(r: int, key: SubStep) -> None:
        nonlocal tick
        tick += 1
        queue = account_queue if SPECS[key].call_class == CallClass.ACCOUNTS else platform_queue
        heapq.heappush(queue, (now, tick, r, order[key], key))

    for r in range(len(durations)):
        for spec in PLAN:
            waiting[(r, spec.key)] = set(needs(spec.key))
    ready_now = sorted((r, order[k], k) for (r, k), deps in waiting.items() if not deps)
    for r, _, key in ready_now:
        make_ready(r, key)

    def dispatch() -> None:
        nonlocal free, account_busy, account_next, wake_pending
        while free and platform_queue:
            _, _, r, _, key = heapq.heappop(platform_queue)
            free -= 1
            heapq.heappush(events, (now + durations[r].call[key], next(seq), "free", None))
            heapq.heappush(events, (now + durations[r].total[key], next(seq), "done", (r, key)))
        if account_queue and not account_busy:
            if now >= account_next:
                _, _, r, _, key = heapq.heappop(account_queue)
                account_busy = True
                account_next = now + account_interval
                heapq.heappush(events, (now + durations[r].total[key], next(seq), "done", (r, key)))
            elif not wake_pending:
                wake_pending = True
                heapq.heappush(events, (account_next, next(seq), "wake", None))

    dispatch()
    while events:
        now = events[0][0]
        while events and events[0][0] == now:
            _, _, kind, task = heapq.heappop(events)
            if kind == "wake":
                wake_pending = False
                continue
            if kind == "free":
                free += 1
                continue
            assert task is not None
            r, key = task
            finished = max(finished, now)
            if SPECS[key].call_class == CallClass.ACCOUNTS:
                account_busy = False
            for spec in PLAN:
                deps = waiting[(r, spec.key)]
                if key in deps:
                    deps.discard(key)
                    if not deps:
                        make_ready(r, spec.key)
        dispatch()
    return finished


# --------------------------------------------------------------------------------------------------------
# The real engine run.


def batch_of(count: int) -> BatchInput:
    """The demo restaurants with owners unique to this run, so the sandbox never says "already registered"."""
    data = demo_batch(count)
    tag = uuid.uuid4().hex[:8]
    for index, restaurant in enumerate(data["restaurants"]):
        for section, field in (("account", "email"), ("onboarding", "userEmail")):
            local, domain = restaurant["config"][section][field].split("@")
            restaurant["config"][section][field] = f"{local}+{tag}{index}@{domain}"
    return parse_batch(json.dumps(data))


def _timestamp(value: str | None) -> float | None:
    return datetime.fromisoformat(value).timestamp() if value else None


async def measure(
    client: Any,
    sandbox_url: str,
    store: Any,
    *,
    restaurants: int,
    cap: int,
    time_scale: float,
    data_dir: Path,
    secret_key: str,
    accounts_per_minute: float = 60.0 / ACCOUNT_INTERVAL_SECONDS,
    timeout: float = 600.0,
) -> dict[str, Any]:
    """Run one batch through the engine against an already running dev server, sandbox and store, and
    return makespan, lower bound and the simulated schedules (all scaled seconds unless `_unscaled`).

    The sandbox should run with `jitter=0` and the same `time_scale`, and hold no other calls."""
    from yolobatch.engine.contracts import Tuning
    from yolobatch.engine.worker import running_worker
    from yolobatch.service.control import start_batch
    from yolobatch.settings import Settings

    settings = Settings(
        data_dir=data_dir,
        database_url=store.engine.url.render_as_string(hide_password=False),
        secret_key=SecretStr(secret_key),
        registration_api_url=sandbox_url,
        time_scale=time_scale,
        accounts_per_minute=accounts_per_minute,
        platform_concurrency=cap,
        retry_attempts=3,
    )
    batch = batch_of(restaurants)
    store.ensure_org(ORG)
    batch_id = store.create_batch(ORG, batch.name, batch.restaurants)
    job_ids = [job.job_id for job in store.batch_progress(batch_id).jobs]
    durations = [durations_for(r) for r in batch.restaurants]
    interval = 60.0 / accounts_per_minute

    async with running_worker(client, store, settings):
        started = time.time()
        await start_batch(client, store, batch_id, Tuning(time_scale=time_scale, retry_attempts=3))
        deadline = time.monotonic() + timeout
        while True:
            counts = await asyncio.to_thread(store.job_status_counts, batch_id)
            if sum(n for s, n in counts.items() if s in QUIESCENT_JOB_STATUSES) == restaurants:
                polled_end = time.time()
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"batch not finished after {timeout} s: {counts}")
            await asyncio.sleep(POLL_SECONDS)
    progress = store.batch_progress(batch_id)
    statuses = [job.status for job in progress.jobs]
    not_completed = [s for s in statuses if s != "completed"]
    if not_completed:
        raise RuntimeError(f"{len(not_completed)} restaurants did not complete: {not_completed}")
    ends = [_timestamp(job.finished_at) for job in progress.jobs]
    end = max(e for e in ends if e is not None) if all(ends) else polled_end

    calls = httpx.get(f"{sandbox_url}/_sandbox/calls", timeout=30).json()
    sandbox_state = httpx.get(f"{sandbox_url}/_sandbox/state", timeout=30).json()
    check = _check_calls(calls, dict(zip(job_ids, durations, strict=True)), time_scale)

    bound = {k: v * time_scale for k, v in lower_bound(durations, cap, interval).items()}
    barrier = simulate(durations, cap, interval, phase_barrier_needs) * time_scale
    fifo = simulate(durations, cap, interval, graph_needs) * time_scale
    makespan = end - started
    busy = check.pop("platform_busy_s")
    first_account = check.pop("first_account_start_at") - started
    return {
        "restaurants": restaurants,
        "cap": cap,
        "time_scale": time_scale,
        "account_interval_s": interval * time_scale,
        "makespan_s": round(makespan, 4),
        "makespan_unscaled_s": round(makespan / time_scale, 1),
        "last_call_end_s": round(check.pop("last_finished_at") - started, 4) if calls else None,
        **{f"{k}_s": round(v, 4) for k, v in bound.items() if k != "lower_bound"},
        "lower_bound_s": round(bound["lower_bound"], 4),
        "lower_bound_unscaled_s": round(bound["lower_bound"] / time_scale, 1),
        "ratio": round(makespan / bound["lower_bound"], 3),
        "phase_barrier_s": round(barrier, 4),
        "phase_barrier_unscaled_s": round(barrier / time_scale, 1),
        "phase_barrier_ratio": round(barrier / bound["lower_bound"], 3),
        "graph_fifo_s": round(fifo, 4),
        "graph_fifo_unscaled_s": round(fifo / time_scale, 1),
        "graph_fifo_ratio": round(fifo / bound["lower_bound"], 3),
        "first_account_start_s": round(first_account, 4),
        "ideal_account_span_s": round((restaurants - 1) * interval * time_scale, 4),
        "sandbox_max_in_flight": sandbox_state.get("max_in_flight"),
        # Share of the cap's slot-seconds spent inside platform calls; the rest is engine time per call.
        "slot_utilization": round(busy / (cap * makespan), 3),
        **check,
    }


def _check_calls(
    calls: list[dict[str, Any]], by_job: dict[str, Durations], time_scale: float
) -> dict[str, Any]:
    """Compare the sandbox's recorded call durations with the formulas the bound uses; count repeats."""
    seen: dict[tuple[str, str], int] = defaultdict(int)
    overhead = []
    last = 0.0
    busy = 0.0  # seconds the platform spent inside capped calls
    for call in calls:
        if call.get("finished_at"):
            last = max(last, call["finished_at"])
        key = SUB_STEP_OF.get(call["endpoint"])
        job = call.get("restaurant_id")
        if key is None or job not in by_job or call.get("finished_at") is None:
            continue
        seen[(job, key)] += 1
        if SPECS[key].call_class == CallClass.PLATFORM:
            busy += call["finished_at"] - call["started_at"]
        if call.get("status_code") == 200 and not call.get("replayed"):
            overhead.append(call["finished_at"] - call["started_at"] - by_job[job].call[key] * time_scale)
    account_starts = sorted(
        c["started_at"] for c in calls if c["endpoint"] == ENDPOINT_OF[S.CLOUDWAITRESS_ACCOUNT]
    )
    return {
        "first_account_start_at": account_starts[0] if account_starts else 0.0,
        # Ideal: (n-1) x the account interval; more means the rate limiter spaced starts wider than needed.
        "account_span_s": round(account_starts[-1] - account_starts[0], 4) if account_starts else None,
        "last_finished_at": last,
        "platform_busy_s": busy,
        "platform_calls": sum(seen.values()),
        "repeated_calls": sum(c - 1 for c in seen.values()),
        "call_overhead_max_s": round(max(overhead), 4) if overhead else None,
        "call_overhead_min_s": round(min(overhead), 4) if overhead else None,
    }


@contextlib.contextmanager
def sandbox_process(time_scale: float) -> Iterator[str]:
    """A sandbox in its own process (as the platform is): in a thread of this process it would compete
    with the worker for the GIL and inflate every engine overhead measured here. Yields its URL."""
    from yolobatch.engine.devserver import free_port

    port = free_port()
    args = ["sandbox", "--port", str(port), "--time-scale", str(time_scale), "--jitter", "0"]
    process = subprocess.Popen(
        [sys.executable, "-m", "yolobatch", *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"sandbox exited: {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/_sandbox/state", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise TimeoutError("sandbox did not start within 30 s")
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(10)


async def run(names: list[str], time_scale: float) -> dict[str, Any]:
    """Start a dev server and a sandbox, then measure each scenario with its own fresh SQLite store."""
    from cryptography.fernet import Fernet
    from temporalio.client import Client

    from yolobatch.engine.devserver import free_port, start_dev_server
    from yolobatch.store.crypto import SecretBox
    from yolobatch.store.db import make_engine, migrate
    from yolobatch.store.repository import Store

    secret_key = Fernet.generate_key().decode()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="yolobatch-bench-") as tmp:
        root = Path(tmp)
        server = await start_dev_server(root / "temporal", free_port())
        try:
            client = await Client.connect(server.address)
            with sandbox_process(time_scale) as sandbox_url:
                for name in names:
                    scenario = SCENARIOS[name]
                    httpx.post(f"{sandbox_url}/_sandbox/reset", timeout=30).raise_for_status()
                    data_dir = root / name
                    data_dir.mkdir()
                    engine = make_engine(f"sqlite:///{data_dir / 'yolobatch.db'}")
                    migrate(engine)
                    store = Store(engine, SecretBox(secret_key))
                    results[name] = await measure(
                        client,
                        sandbox_url,
                        store,
                        restaurants=scenario.restaurants,
                        cap=scenario.cap,
                        time_scale=time_scale,
                        data_dir=data_dir,
                        secret_key=secret_key,
                        accounts_per_minute=60.0 / scenario.account_interval,
                    )
                    engine.dispose()
        finally:
            server.stop()
    return {"scenarios": results}


ROWS = [
    ("restaurants", "restaurants", "{:d}"),
    ("platform cap", "cap", "{:d}"),
    ("account interval (scaled s)", "account_interval_s", "{:.2f}"),
    ("time scale", "time_scale", "{:g}"),
    ("makespan (scaled s)", "makespan_s", "{:.2f}"),
    ("makespan (unscaled s)", "makespan_unscaled_s", "{:.0f}"),
    ("lower bound (scaled s)", "lower_bound_s", "{:.2f}"),
    ("  critical path", "critical_path_s", "{:.2f}"),
    ("  platform work / cap", "work_over_cap_s", "{:.2f}"),
    ("  account chain", "account_chain_s", "{:.2f}"),
    ("makespan / lower bound", "ratio", "{:.3f}"),
    ("phase barriers, simulated (s)", "phase_barrier_s", "{:.2f}"),
    ("phase barriers / lower bound", "phase_barrier_ratio", "{:.3f}"),
    ("graph FIFO, simulated (s)", "graph_fifo_s", "{:.2f}"),
    ("graph FIFO / lower bound", "graph_fifo_ratio", "{:.3f}"),
    ("slot utilization", "slot_utilization", "{:.3f}"),
    ("first account call at (s)", "first_account_start_s", "{:.2f}"),
    ("account starts span (s)", "account_span_s", "{:.2f}"),
    ("  ideal span (s)", "ideal_account_span_s", "{:.2f}"),
    ("repeated platform calls", "repeated_calls", "{:d}"),
    ("max call overhead (s)", "call_overhead_max_s", "{:.3f}"),
]


def table(results: dict[str, Any]) -> str:
    names = list(results["scenarios"])
    width = max(len(label) for label, _, _ in ROWS)
    lines = [f"{'':<{width}}  " + "  ".join(f"{n:>10}" for n in names)]
    for label, key, fmt in ROWS:
        cells = []
        for n in names:
            value = results["scenarios"][n].get(key)
            cells.append(f"{fmt.format(value) if value is not None else '-':>10}")
        lines.append(f"{label:<{width}}  " + "  ".join(cells))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.makespan", description=__doc__.splitlines()[0].strip('"`')
    )
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), help="one scenario (default: all)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    parser.add_argument(
        "--time-scale",
        type=float,
        default=DEFAULT_TIME_SCALE,
        help=f"1 s = this many s ({DEFAULT_TIME_SCALE})",
    )
    args = parser.parse_args(argv)
    names = [args.scenario] if args.scenario else list(SCENARIOS)
    results = asyncio.run(run(names, args.time_scale))
    print(table(results), flush=True)
    if args.json:
        print(json.dumps(results), flush=True)


if __name__ == "__main__":
    main()
