"""The live view of a running batch and its final report."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from dataclasses import asdict

from rich.live import Live
from rich.table import Table

from yolobatch.cli.common import SYMBOLS, WARNING_SYMBOL, console
from yolobatch.cli.document import remaining_pace
from yolobatch.cli.prompts import _ask, _questions
from yolobatch.cli.serve import _sandbox_summary
from yolobatch.domain.pace import duration
from yolobatch.domain.plan import PLAN
from yolobatch.domain.statuses import QUIESCENT_JOB_STATUSES
from yolobatch.domain.steps import PIPELINE_STEPS, Step
from yolobatch.terminal import safe


async def _watch(store, batch_id: str, *, quiet: bool, settings, client=None) -> tuple[dict, bool]:
    """Refresh the live view until every restaurant is done or waiting (with `client`, ask the person),
    or until Ctrl-C; answers the last progress and whether it was interrupted."""
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
                    pace = remaining_pace(progress, settings)
                    live.update(_table(progress, time.monotonic() - started, pace=pace))
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
                    return progress, False
                if stop.is_set():
                    return progress, True
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 0.5)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


@contextlib.contextmanager
def _null():
    yield None


def _table(
    progress: dict, elapsed: float | None = None, *, pace: dict | None = None, job_ids: bool = False
) -> Table:
    """One line per restaurant: steps 1-5, the 12 registration calls, status (fits 80 columns), and with
    `job_ids` the job id the step commands take. The ETA never promises less than `pace`'s lower bound
    (account gate, platform cap)."""
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
    floor = (pace or {}).get("lower_bound_seconds") or 0.0
    if elapsed and (done or floor) and done < total:
        linear = elapsed * (total - done) / done if done else 0.0
        caption += f" · {elapsed:.0f} s elapsed\nETA {duration(max(linear, floor))}"
        if floor > linear and pace and pace.get("limit"):
            caption += f", no less: the {pace['limit']} sets the pace"
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
    if job_ids:
        table.add_column("job id", no_wrap=True, min_width=36)
    for job in progress["jobs"]:
        calls = "".join(_call_symbol(job["sub_steps"].get(s.key.value, {})) for s in PLAN)
        cells = [calls]
        if pipeline:
            steps = job.get("steps", {})
            cells.insert(
                0,
                "".join(SYMBOLS.get(steps.get(str(s.number), {}).get("status"), " ") for s in PIPELINE_STEPS),
            )
        ids = [job["job_id"]] if job_ids else []
        table.add_row(safe(job["restaurant_name"]), *cells, job["status"], *ids)
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
