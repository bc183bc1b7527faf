"""The live view of a running batch and its final report."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from dataclasses import asdict
from typing import Any

from rich.live import Live
from rich.table import Table

from yolobatch.cli.common import SYMBOLS, WARNING_SYMBOL, console
from yolobatch.cli.prompts import _ask, _questions
from yolobatch.cli.serve import _sandbox_summary
from yolobatch.domain.plan import PLAN
from yolobatch.domain.statuses import QUIESCENT_JOB_STATUSES
from yolobatch.domain.steps import PIPELINE_STEPS, Step
from yolobatch.terminal import safe


async def _watch(store, batch_id: str, *, quiet: bool, client=None) -> dict:
    """Refresh the live view until every restaurant is done or waiting; with `client`, ask the person."""
    started = time.monotonic()
    asked: set[tuple[str, str, str | None]] = set()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        with Live(console=console, refresh_per_second=4, transient=False) if not quiet else _null() as live:
            while True:
                # The CLI shows (and with --json prints) the API's JSON shape of the progress.
                progress = asdict(await asyncio.to_thread(store.batch_progress, batch_id))
                if live is not None:
                    live.update(_table(progress, time.monotonic() - started))
                jobs = progress["jobs"]
                questions = [q for q in _questions(progress) if q not in asked] if client else []
                if questions:
                    if live is not None:
                        live.stop()
                    for question in questions:
                        asked.add(question)
                        await _ask(client, store, question)
                    if live is not None:
                        live.start()
                    continue
                if jobs and all(job["status"] in QUIESCENT_JOB_STATUSES for job in jobs):
                    return progress
                if stop.is_set():
                    console.print(
                        "[yellow]Interrupted: the batch stays durable; `yolobatch up` resumes it.[/]"
                    )
                    return progress
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 0.5)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


@contextlib.contextmanager
def _null():
    yield None


def _summary(progress: dict, elapsed: float) -> dict[str, Any]:
    return {
        "batch_id": progress["batch_id"],
        "name": progress["name"],
        "status": progress["status"],
        "counts": progress["counts"],
        "elapsed_seconds": round(elapsed, 2),
        "restaurants": [
            {
                "name": job["restaurant_name"],
                "job_id": job["job_id"],
                "status": job["status"],
                "error": job["error"],
                "sub_steps": job["sub_steps"],
            }
            for job in progress["jobs"]
        ],
    }


def _table(progress: dict, elapsed: float | None = None) -> Table:
    """One line per restaurant: steps 1-5, the 12 registration calls, status (fits 80 columns)."""
    done = sum(
        1
        for job in progress["jobs"]
        for sub in job["sub_steps"].values()
        if sub["status"] in ("completed", "skipped")
    )
    total = len(progress["jobs"]) * len(PLAN)
    counts = ", ".join(f"{n} {status}" for status, n in sorted(progress["counts"].items()))
    caption = f"{counts} · {done}/{total} registration calls settled"
    if progress.get("with_warnings"):  # completed, but the platform answered `success: false` somewhere
        caption += f" · {progress['with_warnings']} with warnings (⚠)"
    if elapsed and done:
        caption += f" · {elapsed:.0f} s elapsed, ETA {elapsed * (total - done) / done:.0f} s"
    caption += "\nregistration: " + " ".join(spec.short for spec in PLAN) + "\n"
    table = Table(
        title=f"{progress['name']} — {progress['status']}",
        title_justify="left",
        caption=caption,
        caption_justify="left",
        box=None,
    )
    table.add_column("Restaurant", no_wrap=True, max_width=30, overflow="ellipsis")
    pipeline = any(len(job.get("steps", {})) > 1 for job in progress["jobs"])
    if pipeline:
        table.add_column("steps 1-5", no_wrap=True)
    table.add_column("registration", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for job in progress["jobs"]:
        calls = "".join(_call_symbol(job["sub_steps"].get(s.key.value, {})) for s in PLAN)
        cells = [calls]
        if pipeline:
            steps = job.get("steps", {})
            cells.insert(
                0,
                "".join(SYMBOLS.get(steps.get(str(s.number), {}).get("status"), " ") for s in PIPELINE_STEPS),
            )
        table.add_row(safe(job["restaurant_name"]), *cells, job["status"])
    return table


def _call_symbol(call: dict) -> str:
    if call.get("warning") and call.get("status") == "completed":
        return WARNING_SYMBOL
    return SYMBOLS.get(str(call.get("status")), "?")


def _report(progress: dict, elapsed: float, world) -> None:
    counts = ", ".join(f"{n} {status}" for status, n in sorted(progress["counts"].items()))
    console.print(f"Batch {progress['status']} in {elapsed:.1f} s: {counts}")
    choice = str(Step.COMPANY_SELECTION)
    choices = [
        (job["restaurant_name"], job["steps"][choice]) for job in progress["jobs"] if choice in job["steps"]
    ]
    if choices:
        console.print("Companies:")
        for name, step in choices:
            console.print(safe(f"  {name}: {step['reason'] or step['status']}"))
    for job in progress["jobs"]:
        if job["status"] == "action_required":
            console.print(
                f"  [red]{safe(job['restaurant_name'])}[/] ({job['job_id']}): {safe(str(job['error']))}"
            )
            for key, sub in job["sub_steps"].items():
                if sub["status"] == "failed":
                    console.print(safe(f"      {key}: {sub['error']}"))
                elif sub["status"] == "outcome_unknown":
                    console.print(safe(f"      {key}: outcome unknown, check the portal; mark done or retry"))
    if world is not None:
        summary = _sandbox_summary(world.url)
        console.print(
            f"Sandbox: {summary['calls']} calls, duplicate side effects: {len(summary['duplicates'])}, "
            f"max in flight: {summary['max_in_flight']}"
        )
