"""Batch commands: run a file, the demo, list batches, status, decisions on a failed sub-step, cancel.

Heavy modules (the engine, the store, input parsing) are imported inside the commands: `--help`, `batches`
and `status` must start quickly.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from yolobatch.cli.common import (
    DEFAULT_ORG,
    INTERRUPTED,
    AsJson,
    DataDir,
    Registry,
    TimeScale,
    _engine_call,
    _open_store,
    _settings,
    console,
)
from yolobatch.domain.statuses import BatchStatus
from yolobatch.terminal import safe

if TYPE_CHECKING:
    from yolobatch.settings import Settings

MenuPolicy = Literal["wait", "continue"]


def run(
    file: Annotated[Path, typer.Argument(help="JSON {name, restaurants: [{name, config, menu}]} or CSV")],
    sandbox: Annotated[
        bool, typer.Option(help="Register against a built-in sandbox of the platform")
    ] = False,
    time_scale: TimeScale = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the final progress as JSON (schema yolobatch.batch/1)")
    ] = False,
    yolo: Annotated[
        bool,
        typer.Option("--yolo", help="Auto-select clear company matches (else none); approve valid configs"),
    ] = False,
    no_input: Annotated[
        bool, typer.Option("--no-input", help="Never ask: leave choices waiting, exit")
    ] = False,
    registry: Annotated[Registry, typer.Option(help="Company registry to search")] = "nzbn",
    auto_select: Annotated[
        bool, typer.Option(help="Take a clear registry match without asking (score >= 90, 10 ahead)")
    ] = True,
    menu_policy: Annotated[
        MenuPolicy,
        typer.Option(help="When extraction finds no menu: wait (for a person) or continue without one"),
    ] = "wait",
    default: Annotated[
        list[str] | None,
        typer.Option(
            "--default",
            help="A setting for every plain row, section.field=value (repeatable), e.g. "
            "payment.includeStripeLink=true, website.theme=light, stepsEnabled.servicesConfig=false",
        ),
    ] = None,
    defaults_file: Annotated[
        Path | None,
        typer.Option("--defaults", help='A JSON file of such settings: {"website.theme": "light", ...}'),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Create it even when restaurants are already registered or in flight in another batch",
        ),
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Create a batch from FILE (JSON or CSV), run it to the end (or until it needs a person) and report.

    Rows with a `storeUrl` run the whole pipeline (extraction, company, config, registration); rows with a
    `config` register directly. With --sandbox, `{sandbox}` in the file stands for the sandbox's address.
    A restaurant already in another batch (same store URL, company number or account email) is refused
    unless --force. Says up front when a limit (the platform's account gate, the cap on calls in flight)
    sets the pace. Exits 0 only if every restaurant completed, 1 if some wait for a person, 2 for bad
    input, 130 on Ctrl-C (the batch stays durable: `yolobatch up` resumes it).
    """
    from yolobatch.engine.devserver import free_port

    port = free_port() if sandbox else None
    batch = _load_batch(file, f"http://127.0.0.1:{port}" if port else None)
    settings = _settings(data_dir, time_scale=time_scale)
    interactive = not (yolo or no_input or as_json) and sys.stdin.isatty()
    options = {"yolo": yolo, "auto_select": auto_select, "registry": registry, "menu_policy": menu_policy}
    options = _with_batch_defaults(options, default or [], defaults_file)
    code = asyncio.run(
        _run_batch(
            settings,
            batch,
            sandbox_port=port,
            as_json=as_json,
            options=options,
            ask=interactive,
            force=force,
        )
    )
    raise typer.Exit(code)


def demo(
    restaurants: Annotated[int, typer.Option(min=1, max=500, help="How many demo restaurants")] = 10,
    time_scale: TimeScale = 0.05,
    data_dir: DataDir = None,
) -> None:
    """Onboard the demo restaurants from their store pages to registered stores, against the sandbox.

    Runs the whole pipeline in YOLO mode: unambiguous companies are auto-selected, one ambiguous company is
    chosen in the input (`companyNumber`), the rest get none; valid configs are approved automatically.
    """
    from yolobatch.devtools.demo import demo_pipeline_batch
    from yolobatch.domain.batch_input import parse_batch
    from yolobatch.engine.devserver import free_port

    port = free_port()
    batch = parse_batch(json.dumps(demo_pipeline_batch(restaurants, f"http://127.0.0.1:{port}")))
    settings = _settings(data_dir, time_scale=time_scale, platform_concurrency=10)
    options = {"yolo": True, "auto_select": True, "registry": "nzbn"}
    # The demo's restaurants are the same every time: running it again in one data directory is expected.
    run_demo = _run_batch(settings, batch, sandbox_port=port, as_json=False, options=options, force=True)
    raise typer.Exit(asyncio.run(run_demo))


def _with_batch_defaults(options: dict[str, Any], lines: list[str], file: Path | None) -> dict[str, Any]:
    """The batch's options with its defaults (a file's, then each --default over them), or exit 2."""
    from yolobatch.domain.batch_defaults import defaults_json, parse_assignments, with_defaults
    from yolobatch.domain.batch_input import BatchInputError

    try:
        given = defaults_json(file.read_text(encoding="utf-8")) if file else {}
        assigned, problems = parse_assignments(lines)
        if problems:
            raise BatchInputError(problems)
        return with_defaults(options, {**given, **assigned})
    except OSError as exc:
        console.print(f"[red]Cannot read {file}:[/] {safe(str(exc.strerror or exc))}")
    except BatchInputError as exc:
        console.print("[red]The batch defaults have problems; nothing was created:[/]")
        for problem in exc.problems:
            console.print(f"  • {safe(problem)}")
    raise typer.Exit(2)


def _load_batch(file: Path, sandbox_url: str | None = None):
    from yolobatch.domain.batch_input import BatchInputError, parse_upload

    try:
        raw = file.read_bytes()
    except OSError as exc:
        console.print(f"[red]Cannot read {file}:[/] {safe(str(exc.strerror or exc))}")
        raise typer.Exit(2) from None
    try:
        # The same parser as the API and dashboard uploads (CSV in any of Excel's encodings, .xlsx, JSON).
        return parse_upload(
            raw,
            file.name,
            file.stem,
            sandbox_url,
            lambda path: (file.parent / path).read_text(encoding="utf-8"),
            None,
        )
    except BatchInputError as exc:
        console.print(f"[red]{file} has {len(exc.problems)} problem(s); nothing was created:[/]")
        for problem in exc.problems:
            console.print(f"  • {safe(problem)}")
        raise typer.Exit(2) from None


def _stop_quietly(world) -> None:
    # After Ctrl-C the sandbox still holds calls the worker gave up on; its server cancelling them on the
    # way down is expected, and a traceback per call would bury the one line that says what happened.
    logging.getLogger("uvicorn.error").setLevel(logging.CRITICAL)
    world.stop()


async def _run_batch(
    settings: Settings,
    batch,
    *,
    sandbox_port: int | None,
    as_json: bool,
    options: dict[str, Any] | None = None,
    ask: bool = False,
    force: bool = False,
) -> int:
    from yolobatch.cli.document import batch_document, remaining_pace
    from yolobatch.cli.render import _report, _watch
    from yolobatch.cli.serve import _sandbox_summary, sandbox_settings
    from yolobatch.domain.identities import DuplicateRestaurants
    from yolobatch.engine.runtime import EngineUnavailable, temporal
    from yolobatch.engine.worker import running_worker
    from yolobatch.logs import LEVEL_ENV
    from yolobatch.service import batches
    from yolobatch.telemetry import install_runtime

    # Failed attempts are recorded in the database and summarised at the end; tracebacks would bury the view.
    logging.getLogger("temporalio").setLevel(logging.ERROR)
    if LEVEL_ENV not in os.environ:  # each retried call is a log line: the live view shows them already
        logging.getLogger("yolobatch").setLevel(logging.WARNING)
    install_runtime()
    with contextlib.ExitStack() as stack:
        world = None
        if sandbox_port is not None:
            from yolobatch.devtools.sandbox.server import start_in_thread
            from yolobatch.devtools.sandbox.settings import SandboxSettings

            world = start_in_thread(
                SandboxSettings(
                    service_key=settings.registration_service_key.get_secret_value(),
                    time_scale=settings.time_scale,
                ),
                port=sandbox_port,
            )
            stack.callback(_stop_quietly, world)
            settings = settings.model_copy(update=sandbox_settings(world.url))
            console.print(f"Sandbox (platform API, store pages, registries) at {world.url}")
        store = _open_store(settings)
        store.ensure_org(DEFAULT_ORG)
        started = time.monotonic()
        try:
            async with temporal(settings, store) as engine, running_worker(engine.client, store, settings):
                # Created once the engine is known to be ours: a refused start leaves nothing behind.
                batch_id = store.create_batch(
                    DEFAULT_ORG, batch.name, batch.restaurants, options=options, refuse_duplicates=not force
                )
                console.print(f"Batch [bold]{batch_id}[/] created: {len(batch.restaurants)} restaurants")
                if engine.ui_url:
                    console.print(f"Temporal UI at {engine.ui_url}/namespaces/{engine.namespace}/workflows")
                headline = remaining_pace(asdict(store.batch_progress(batch_id)), settings)["headline"]
                if headline:  # said before anything runs: a limit, not the engine, sets the pace
                    console.print(f"[bold]Pace:[/] {headline}")
                await batches.start(engine.client, store, settings, batch_id)
                client = engine.client if ask else None
                progress, interrupted = await _watch(
                    store, batch_id, quiet=as_json, settings=settings, client=client
                )
        except EngineUnavailable as exc:
            console.print(f"[red]{safe(str(exc))}[/]")
            return 1
        except DuplicateRestaurants as exc:
            console.print(
                f"[red]{len(exc.duplicates)} restaurant(s) already in another batch; nothing was created:[/]"
            )
            for duplicate in exc.duplicates:
                console.print(f"  • {safe(duplicate.describe())}")
            console.print("Run again with --force to register them anyway.")
            return 2
        if interrupted:
            console.print("Interrupted: the batch stays durable; `yolobatch up` resumes it.")
            return INTERRUPTED
        elapsed = time.monotonic() - started
        if as_json:
            document = batch_document(
                progress, remaining=remaining_pace(progress, settings), elapsed_seconds=elapsed
            )
            if world is not None:
                document["sandbox"] = _sandbox_summary(world.url)
            print(json.dumps(document, indent=2))
        _report(progress, elapsed, world)
        return 0 if progress["status"] == "completed" else 1


def batches(
    status: Annotated[BatchStatus | None, typer.Option(help="Only batches in this status")] = None,
    search: Annotated[
        str | None, typer.Option(help="Only batches whose name contains this (any case)")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many, newest first")] = 20,
    org: Annotated[str, typer.Option(help="Organisation id")] = DEFAULT_ORG,
    as_json: AsJson = False,
    data_dir: DataDir = None,
) -> None:
    """List batches, newest first, with their restaurants counted by status (no engine needed)."""
    from dataclasses import asdict

    store = _open_store(_settings(data_dir))
    items, total = store.list_batches(
        org, status=status.value if status else None, search=search, limit=limit
    )
    if as_json:
        print(json.dumps({"items": [asdict(item) for item in items], "total": total}, indent=2))
        return
    if not items:
        console.print("No batches" + (" match" if status or search else " yet") + ".")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None)
    table.add_column("batch id", no_wrap=True, min_width=36)  # whole: `status` and `export` take it
    for heading in ("name", "status", "restaurants", "created"):
        table.add_column(heading)
    for item in items:
        counts = ", ".join(f"{n} {state}" for state, n in sorted(item.counts.items()))
        created = (item.created_at or "")[:16].replace("T", " ")
        table.add_row(item.batch_id, safe(item.name), item.status, f"{item.total}: {counts}", created)
    Console(width=max(120, console.width)).print(table)
    if total > len(items):
        console.print(f"{len(items)} of {total} batches; --limit shows more")


def status(
    batch_id: Annotated[str, typer.Argument(help="Batch id, as `yolobatch run` and `batches` show")],
    data_dir: DataDir = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (schema yolobatch.batch/1, as `run --json`)")
    ] = False,
) -> None:
    """Show a batch's progress and each restaurant's job id (the step commands take it); reads the
    database, no engine needed."""
    from yolobatch.cli.document import batch_document, remaining_pace
    from yolobatch.store.repository import NotFound

    settings = _settings(data_dir)
    store = _open_store(settings)
    try:
        progress = asdict(store.batch_progress(batch_id))  # rendered as the API's JSON shape
    except NotFound as exc:
        console.print(f"[red]{safe(str(exc))}[/]")
        raise typer.Exit(1) from None
    pace = remaining_pace(progress, settings)
    if as_json:
        print(json.dumps(batch_document(progress, remaining=pace, elapsed_seconds=None), indent=2))
    else:
        from rich.console import Console

        from yolobatch.cli.render import _table

        Console(width=max(120, console.width)).print(_table(progress, pace=pace, job_ids=True))


step_app = typer.Typer(help="Decide on a failed sub-step of a restaurant (needs `yolobatch up` running).")
Job = Annotated[str, typer.Argument(help="Job id (one restaurant), as `yolobatch status` shows")]
SubStepName = Annotated[str, typer.Argument(help="Sub-step key, e.g. menuImport")]
Actor = Annotated[str, typer.Option(help="Who decides (audit log)")]


@step_app.command("retry")
def step_retry(
    job: Job,
    sub_step: SubStepName,
    reason: Annotated[str, typer.Option(help="Why it is retried (audit log)")] = "",
    actor: Actor = "cli",
    data_dir: DataDir = None,
):
    """Run a failed sub-step again (a new idempotency key); its dependents then run."""
    _decide(job, "retry", sub_step, reason, actor, data_dir)


@step_app.command("skip")
def step_skip(
    job: Job,
    sub_step: SubStepName,
    reason: Annotated[str, typer.Option(help="Why it is skipped (required)")],
    actor: Actor = "cli",
    data_dir: DataDir = None,
):
    """Skip a failed sub-step; its dependents run (or skip by their own rules)."""
    _decide(job, "skip", sub_step, reason, actor, data_dir)


@step_app.command("done")
def step_done(
    job: Job,
    sub_step: SubStepName,
    reason: Annotated[str, typer.Option(help="Why it is done (required)")],
    actor: Actor = "cli",
    data_dir: DataDir = None,
):
    """Mark a failed sub-step done by hand (e.g. fixed on the platform directly)."""
    _decide(job, "mark_done", sub_step, reason, actor, data_dir)


def cancel(
    job: Job,
    reason: Annotated[str, typer.Option(help="Why it is cancelled (audit log)")] = "",
    actor: Actor = "cli",
    data_dir: DataDir = None,
) -> None:
    """Cancel one restaurant's registration (calls in flight are cancelled, nothing new starts)."""
    from yolobatch.service.control import cancel_job

    settings = _settings(data_dir)
    _engine_call(settings, lambda client, store: cancel_job(client, store, job, actor=actor, reason=reason))
    console.print(f"Cancellation requested for {job}")


def _decide(job: str, action: str, sub_step: str, reason: str, actor: str, data_dir: Path | None) -> None:
    from yolobatch.service.control import action_named, decide, missing_reason

    known = action_named(action)
    if known is None:
        console.print(f"[red]Unknown action {safe(action)!r}: retry, skip or mark_done[/]")
        raise typer.Exit(2)
    if problem := missing_reason(action, reason):  # said before any engine is reached
        console.print(f"[red]{problem} (--reason)[/]")
        raise typer.Exit(1)
    settings = _settings(data_dir)
    message = _engine_call(
        settings,
        lambda client, store: decide(client, store, job, known, sub_step, reason=reason, actor=actor),
    )
    console.print(safe(message))
