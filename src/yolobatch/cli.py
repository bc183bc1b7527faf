"""The `yolobatch` command line: run a batch, run the engine, the worker or the sandbox."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import json
import logging
import os
import secrets
import signal
import sys
import time
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from yolobatch.domain.batch_input import BatchInputError, parse_batch, parse_upload
from yolobatch.domain.company import REGISTRIES
from yolobatch.domain.plan import PLAN
from yolobatch.domain.statuses import QUIESCENT_JOB_STATUSES
from yolobatch.domain.steps import PIPELINE_STEPS, Step
from yolobatch.engine.devserver import free_port
from yolobatch.extract_cli import extract as extract_command
from yolobatch.outputs_cli import export as export_command
from yolobatch.outputs_cli import reveal_password as reveal_password_command
from yolobatch.platform_cli import app as platform_app
from yolobatch.settings import Settings
from yolobatch.terminal import safe

app = typer.Typer(
    help="Durable batch onboarding of restaurants onto the ordering platform.", no_args_is_help=True
)
console = Console(stderr=True, soft_wrap=True)
DEFAULT_ORG = "default"
SYMBOLS = {
    "pending": "[dim]·[/]",
    "queued": "[cyan]…[/]",
    "running": "[yellow]▶[/]",
    "completed": "[green]✔[/]",
    "skipped": "[dim]–[/]",
    "failed": "[red]✘[/]",
    "cancelled": "[magenta]⊘[/]",
    "action_required": "[bold yellow]?[/]",
}
WARNING_SYMBOL = "[bold yellow]⚠[/]"  # completed, with the platform's `success: false` kept as a warning

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", envvar="YOLOBATCH_DATA_DIR", help="default ./.yolobatch")
]
TimeScale = Annotated[
    float | None,
    typer.Option(help="Scale call timeouts, backoff and the account rate (and sandbox latency), e.g. 0.05"),
]


def _version(value: bool) -> None:
    if value:
        from yolobatch import __version__

        print(f"yolobatch {__version__}")
        raise typer.Exit()


@app.callback()
def _process(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit")
    ] = False,
) -> None:
    """Durable batch onboarding of restaurants onto the ordering platform."""
    # Everything this process and its children (the embedded Temporal server) create is for this user
    # only: the data dir holds the secret key, tokens and every restaurant's config.
    os.umask(0o077)
    from yolobatch.logs import LogConfigError, configure

    try:
        configure()
    except LogConfigError as exc:
        console.print(f"[red]Invalid settings:[/] {exc}")
        raise typer.Exit(2) from None


def _open_store(settings: Settings):
    from yolobatch.engine.runtime import open_store
    from yolobatch.store.crypto import SecretKeyMissing

    try:
        return open_store(settings)
    except SecretKeyMissing as exc:
        console.print(f"[red]Refusing to start: {safe(str(exc))}[/]")
        raise typer.Exit(2) from None


def _settings(data_dir: Path | None, **overrides: Any) -> Settings:
    values = {k: v for k, v in overrides.items() if v is not None}
    if data_dir is not None:
        values["data_dir"] = data_dir
    try:
        return Settings(**values)
    except ValueError as exc:
        console.print(f"[red]Invalid settings:[/] {exc}")
        raise typer.Exit(2) from None


@app.command()
def run(
    file: Annotated[Path, typer.Argument(help="JSON {name, restaurants: [{name, config, menu}]} or CSV")],
    sandbox: Annotated[
        bool, typer.Option(help="Register against a built-in sandbox of the platform")
    ] = False,
    time_scale: TimeScale = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the final progress as JSON")] = False,
    yolo: Annotated[
        bool,
        typer.Option("--yolo", help="Auto-select clear company matches (else none); approve valid configs"),
    ] = False,
    no_input: Annotated[
        bool, typer.Option("--no-input", help="Never ask: leave choices waiting, exit")
    ] = False,
    registry: Annotated[str, typer.Option(help=f"Company registry: {' or '.join(REGISTRIES)}")] = "nzbn",
    auto_select: Annotated[
        bool, typer.Option(help="Take a clear registry match without asking (score >= 90, 10 ahead)")
    ] = True,
    data_dir: DataDir = None,
) -> None:
    """Create a batch from FILE (JSON or CSV), run it to the end (or until it needs a person) and report.

    Rows with a `storeUrl` run the whole pipeline (extraction, company, config, registration); rows with a
    `config` register directly. With --sandbox, `{sandbox}` in the file stands for the sandbox's address.
    Exits 0 only if every restaurant completed, 1 if some wait for a person, 2 for bad input.
    """
    port = free_port() if sandbox else None
    batch = _load_batch(file, f"http://127.0.0.1:{port}" if port else None)
    if registry not in REGISTRIES:
        console.print(f"[red]--registry must be {' or '.join(REGISTRIES)}[/]")
        raise typer.Exit(2)
    settings = _settings(data_dir, time_scale=time_scale)
    interactive = not (yolo or no_input or as_json) and sys.stdin.isatty()
    options = {"yolo": yolo, "auto_select": auto_select, "registry": registry}
    code = asyncio.run(
        _run_batch(settings, batch, sandbox_port=port, as_json=as_json, options=options, ask=interactive)
    )
    raise typer.Exit(code)


@app.command()
def demo(
    restaurants: Annotated[int, typer.Option(min=1, max=500)] = 10,
    time_scale: TimeScale = 0.05,
    data_dir: DataDir = None,
) -> None:
    """Onboard the demo restaurants from their store pages to registered stores, against the sandbox.

    Runs the whole pipeline in YOLO mode: unambiguous companies are auto-selected, one ambiguous company is
    chosen in the input (`companyNumber`), the rest get none; valid configs are approved automatically.
    """
    from yolobatch.demo import demo_pipeline_batch

    port = free_port()
    batch = parse_batch(json.dumps(demo_pipeline_batch(restaurants, f"http://127.0.0.1:{port}")))
    settings = _settings(data_dir, time_scale=time_scale, platform_concurrency=10)
    options = {"yolo": True, "auto_select": True, "registry": "nzbn"}
    raise typer.Exit(
        asyncio.run(_run_batch(settings, batch, sandbox_port=port, as_json=False, options=options, ask=False))
    )


def _load_batch(file: Path, sandbox_url: str | None = None):
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


async def _run_batch(
    settings: Settings,
    batch,
    *,
    sandbox_port: int | None,
    as_json: bool,
    options: dict[str, Any] | None = None,
    ask: bool = False,
) -> int:
    from yolobatch.engine.control import start_batch, tuning_for
    from yolobatch.engine.runtime import EngineUnavailable, temporal
    from yolobatch.engine.worker import running_worker
    from yolobatch.logs import LEVEL_ENV
    from yolobatch.telemetry import install_runtime

    # Failed attempts are recorded in the database and summarised at the end; tracebacks would bury the view.
    logging.getLogger("temporalio").setLevel(logging.ERROR)
    if LEVEL_ENV not in os.environ:  # each retried call is a log line: the live view shows them already
        logging.getLogger("yolobatch").setLevel(logging.WARNING)
    install_runtime()
    with contextlib.ExitStack() as stack:
        world = None
        if sandbox_port is not None:
            from yolobatch.sandbox.server import start_in_thread
            from yolobatch.sandbox.settings import SandboxSettings

            world = start_in_thread(
                SandboxSettings(
                    service_key=settings.registration_service_key.get_secret_value(),
                    time_scale=settings.time_scale,
                ),
                port=sandbox_port,
            )
            stack.callback(world.stop)
            settings = settings.model_copy(update=sandbox_settings(world.url))
            console.print(f"Sandbox (platform API, store pages, registries) at {world.url}")
        store = _open_store(settings)
        store.ensure_org(DEFAULT_ORG)
        started = time.monotonic()
        try:
            async with temporal(settings, store) as engine, running_worker(engine.client, store, settings):
                # Created once the engine is known to be ours: a refused start leaves nothing behind.
                batch_id = store.create_batch(DEFAULT_ORG, batch.name, batch.restaurants, options=options)
                console.print(f"Batch [bold]{batch_id}[/] created: {len(batch.restaurants)} restaurants")
                if engine.ui_url:
                    console.print(f"Temporal UI at {engine.ui_url}/namespaces/{engine.namespace}/workflows")
                await start_batch(engine.client, store, batch_id, tuning_for(settings))
                progress = await _watch(store, batch_id, quiet=as_json, client=engine.client if ask else None)
        except EngineUnavailable as exc:
            console.print(f"[red]{safe(str(exc))}[/]")
            return 1
        elapsed = time.monotonic() - started
        if as_json:
            summary = _summary(progress, elapsed)
            if world is not None:
                summary["sandbox"] = _sandbox_summary(world.url)
            print(json.dumps(summary, indent=2))
        _report(progress, elapsed, world)
        return 0 if progress["status"] == "completed" else 1


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
                progress = await asyncio.to_thread(store.batch_progress, batch_id)
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


def _questions(progress: dict) -> list[tuple[str, str, str | None]]:
    """(job id, "company" | "config", the step's reason) for every restaurant waiting for an answer."""
    found = []
    for job in progress["jobs"]:
        for number, kind in (("3", "company"), ("5", "config")):
            step = job.get("steps", {}).get(number)
            if step and step["status"] == "action_required":
                found.append((job["job_id"], kind, step["reason"]))
    return found


async def _ask(client, store, question: tuple[str, str, str | None]) -> None:
    from rich.prompt import Prompt

    from yolobatch.engine.contracts import Approval, CompanyChoice
    from yolobatch.engine.control import DecisionRejected, approve_config, choose_company

    job_id, kind, reason = question
    job = await asyncio.to_thread(store.job, job_id)
    ask = functools.partial(asyncio.to_thread, Prompt.ask, console=console)
    try:
        if kind == "company":
            candidates = await asyncio.to_thread(store.candidates, job_id)
            console.print(f"\n[bold]{safe(job.restaurant_name)}[/]: {safe(reason)}")
            for index, c in enumerate(candidates[:9], start=1):
                where = c.get("address") or ""
                line = f"  {index}. {c['name']} ({c['number']}) score {c['score']:.0f} · {where}"
                console.print(safe(line))
            answer = await ask(
                "Number to choose, [s]earch again, [m]anual entry, [n]o company, Enter to leave"
            )
            choice = None
            if answer.isdigit() and 1 <= int(answer) <= len(candidates[:9]):
                choice = CompanyChoice("choose", number=candidates[int(answer) - 1]["number"], actor="cli")
            elif answer.lower() == "s":
                name = await ask("Search for name", default=job.restaurant_name)
                city = await ask("City", default=(job.input or {}).get("city") or "")
                choice = CompanyChoice(
                    "retry_search", terms={"name": name, "city": city or None}, actor="cli"
                )
            elif answer.lower() == "m":
                person = await ask("Contact person")
                legal = await ask("Legal name", default="")
                details = {"contact_person": person, "legal_name": legal or None}
                choice = CompanyChoice("manual", details=details, actor="cli")
            elif answer.lower() == "n":
                choice = CompanyChoice("no_company", actor="cli")
            if choice is not None:
                console.print(safe(await choose_company(client, store, job_id, choice)))
        else:
            review = await asyncio.to_thread(store.config_review, job_id) or {}
            config = review.get("config", {})
            console.print(f"\n[bold]{safe(job.restaurant_name)}[/]: {safe(reason)}")
            account, website = config.get("account", {}), config.get("website", {})
            console.print(safe(f"  owner {account.get('email')} · phone {account.get('phone')}"))
            colours = f"{website.get('primaryColor')}/{website.get('secondaryColor')}"
            console.print(safe(f"  colours {colours} ({website.get('theme')})"))
            for warning in review.get("warnings", []):
                console.print(f"  [yellow]⚠ {safe(str(warning))}[/]")
            answer = await ask("[a]pprove, [e]mail to set, Enter to leave")
            if answer.lower() == "e":
                email = await ask("Owner email")
                changes = {"account.email": email, "onboarding.userEmail": email}
                await asyncio.to_thread(store.edit_config, job_id, changes, "cli")
                answer = "a"
            if answer.lower() == "a":
                console.print(safe(await approve_config(client, store, job_id, Approval(actor="cli"))))
    except (DecisionRejected, ValueError) as exc:
        console.print(f"[red]{safe(str(exc))}[/]")


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
    return SYMBOLS.get(call.get("status"), "?")


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
    if world is not None:
        summary = _sandbox_summary(world.url)
        console.print(
            f"Sandbox: {summary['calls']} calls, duplicate side effects: {len(summary['duplicates'])}, "
            f"max in flight: {summary['max_in_flight']}"
        )


def sandbox_settings(url: str) -> dict[str, Any]:
    """Settings that point every outside system at the sandbox running at `url`."""
    from pydantic import SecretStr

    from yolobatch.sandbox.settings import SandboxSettings

    key = SandboxSettings().registry_api_key
    host = urlsplit(url).netloc  # the sandbox may be mounted under a path (`up --sandbox`)
    return {
        "registration_api_url": url,
        "nzbn_api_url": f"{url}/nzbn/v5",
        "nzbn_api_key": SecretStr(key),
        "companies_house_api_url": f"{url}/companies-house",
        "companies_house_api_key": SecretStr(key),
        "fetch_allowed_hosts": [host],
    }


def _sandbox_summary(url: str) -> dict[str, Any]:
    import httpx

    state = httpx.get(f"{url}/_sandbox/state", timeout=10).json()
    calls = httpx.get(f"{url}/_sandbox/calls", timeout=10).json()
    return {
        "calls": len(calls),
        "duplicates": state["duplicates"],
        "max_in_flight": state["max_in_flight"],
        "side_effects": state["side_effects"],
    }


@app.command()
def up(
    data_dir: DataDir = None,
    port: Annotated[
        int | None,
        typer.Option(
            help="Port of the dashboard and API; default 8000 (another if taken), kept in the data dir"
        ),
    ] = None,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    sandbox: Annotated[
        bool, typer.Option("--sandbox", help="Mount the sandbox at /sandbox and use it")
    ] = False,
    time_scale: TimeScale = None,
    temporal_port: Annotated[
        int | None,
        typer.Option(help="Port of the embedded Temporal server; default: free, kept in the data dir"),
    ] = None,
    temporal_ui: Annotated[
        bool | None, typer.Option("--temporal-ui/--no-temporal-ui", help="Serve the Temporal Web UI")
    ] = None,
) -> None:
    """Everything in one process: embedded Temporal server, a worker, the API and the dashboard.

    Stops cleanly on Ctrl-C / SIGTERM; unfinished work resumes at the next start.
    """
    settings = _settings(
        data_dir, temporal_port=temporal_port, time_scale=time_scale, temporal_ui=temporal_ui
    )
    port = port or _dashboard_port(settings.data_dir)
    asyncio.run(_serve(settings, api=(host, port), worker=True, sandbox=sandbox))


DASHBOARD_PORT_FILE = "dashboard-port"


def _dashboard_port(data_dir: Path) -> int:
    """The data dir's dashboard port: 8000 at first start if free, else a free one; the same ever after
    (so bookmarks and login links keep working, and two installations on one host never collide)."""
    from yolobatch.engine.embedded import port_answers

    path = data_dir / DASHBOARD_PORT_FILE
    with contextlib.suppress(FileNotFoundError, ValueError):
        return int(path.read_text())
    port = 8000 if not port_answers("127.0.0.1", 8000) else free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{port}\n")
    return port


@app.command()
def engine(
    data_dir: DataDir = None,
    ip: Annotated[str, typer.Option(help="Interface to listen on (0.0.0.0: every one)")] = "127.0.0.1",
    port: Annotated[
        int | None,
        typer.Option(help="gRPC port; default: TEMPORAL_ADDRESS's, else free, kept in the data dir"),
    ] = None,
    ui_port: Annotated[int | None, typer.Option(help="Temporal Web UI port; default: free, kept")] = None,
    temporal_ui: Annotated[
        bool | None, typer.Option("--temporal-ui/--no-temporal-ui", help="Serve the Temporal Web UI")
    ] = None,
) -> None:
    """The Temporal server alone, for `yolobatch worker` and `yolobatch api` processes on this host: the
    dev server with its database file in the data dir, the BatchId search attribute, one task-queue
    partition and fairness, and the namespace of TEMPORAL_NAMESPACE. Ctrl-C / SIGTERM stops it."""
    from yolobatch.engine.temporal_client import TemporalConfigError, connect_config

    settings = _settings(data_dir, temporal_ui=temporal_ui, temporal_ui_port=ui_port)
    try:
        wanted = connect_config(settings)
    except TemporalConfigError as exc:
        console.print(f"[red]{safe(str(exc))}[/]")
        raise typer.Exit(2) from None
    target = wanted.get("target_host")
    if port is None and target:
        port = urlsplit(f"//{target}").port
    # The data dir's embedded server, created with the namespace the other processes are told to use.
    settings = settings.model_copy(
        update={
            "temporal_port": port or settings.temporal_port,
            "temporal_namespace": wanted.get("namespace"),
        }
    )
    asyncio.run(_serve(settings, api=None, worker=False, sandbox=False, ip=ip, embedded=True))


@app.command()
def api(
    data_dir: DataDir = None,
    port: Annotated[int, typer.Option(help="Port of the dashboard and API")] = 8000,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
) -> None:
    """The API and dashboard alone, against TEMPORAL_ADDRESS (scale-out: as many as you like)."""
    settings = _settings(data_dir)
    _require_cluster(settings, "the API")
    asyncio.run(_serve(settings, api=(host, port), worker=False, sandbox=False))


@app.command()
def worker(data_dir: DataDir = None) -> None:
    """Run a worker alone, against TEMPORAL_ADDRESS (scale-out: start as many as you like)."""
    settings = _settings(data_dir)
    _require_cluster(settings, "a worker")
    asyncio.run(_serve(settings, api=None, worker=True, sandbox=False))


def _require_cluster(settings: Settings, what: str) -> None:
    from yolobatch.engine.temporal_client import TemporalConfigError, connect_config

    try:
        configured = "target_host" in connect_config(settings)
    except TemporalConfigError as exc:
        console.print(f"[red]{safe(str(exc))}[/]")
        raise typer.Exit(2) from None
    if not configured:
        console.print(
            f"[red]Set TEMPORAL_ADDRESS (host:port, or a TEMPORAL_PROFILE with an address) to run {what} "
            "alone; `yolobatch up` embeds one, `yolobatch engine` serves one.[/]"
        )
        raise typer.Exit(2)


token_app = typer.Typer(help="API tokens of organisations.")
app.add_typer(token_app, name="token")


@token_app.command("create")
def token_create(
    org: Annotated[str, typer.Option(help="Organisation id (created if new)")],
    name: Annotated[str, typer.Option(help="What the token is for")] = "api",
    data_dir: DataDir = None,
) -> None:
    """Create a bearer token; it is shown once and stored only as a hash."""

    store = _open_store(_settings(data_dir))
    store.ensure_org(org)
    print(store.create_token(org, name))


@token_app.command("list")
def token_list(
    org: Annotated[str, typer.Option(help="Organisation id")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
    data_dir: DataDir = None,
) -> None:
    """The organisation's tokens (id, name, dates); never their values, which are not stored."""
    from yolobatch.store.access import Access

    rows = Access(_open_store(_settings(data_dir))).list_tokens(org)
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table("id", "name", "created", "last used", "revoked")
    for row in rows:
        dates = [(row[k] or "")[:19].replace("T", " ") for k in ("created_at", "last_used_at", "revoked_at")]
        table.add_row(row["id"], safe(row["name"]), *dates)
    Console().print(table)


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[str, typer.Argument(help="The token's id (`yolobatch token list`)")],
    org: Annotated[str, typer.Option(help="Organisation id the token belongs to")],
    data_dir: DataDir = None,
) -> None:
    """Revoke a token at once; the dashboard sessions opened with it end too."""
    from yolobatch.store.access import Access
    from yolobatch.store.repository import NotFound

    try:
        revoked = Access(_open_store(_settings(data_dir))).revoke_token(org, token_id)
    except NotFound as exc:
        console.print(f"[red]{safe(str(exc))}[/]")
        raise typer.Exit(1) from None
    console.print(
        "Revoked; its sessions are ended." if revoked else "Already revoked; its sessions are ended."
    )


@app.command(name="login-link")
def login_link(
    org: Annotated[str, typer.Option(help="Organisation id")] = DEFAULT_ORG,
    name: Annotated[str, typer.Option(help="Name of the token the session acts as (audit log)")] = (
        "local dashboard"
    ),
    url: Annotated[str, typer.Option(help="Address of the dashboard")] = "http://127.0.0.1:8000",
    data_dir: DataDir = None,
) -> None:
    """Print a one-time login link for the dashboard, valid for 10 minutes; it carries no API token."""
    from yolobatch.store.access import Access

    store = _open_store(_settings(data_dir))
    if org == DEFAULT_ORG:
        store.ensure_org(DEFAULT_ORG, "Local")
    access = Access(store)
    try:
        token_id = access.dashboard_token(org, name)
    except LookupError as exc:
        console.print(f"[red]{safe(str(exc))}[/]")
        raise typer.Exit(1) from None
    print(f"{url.rstrip('/')}/login?code={access.create_login_code(token_id)}")


async def _serve(
    settings: Settings,
    *,
    api: tuple[str, int] | None,
    worker: bool,
    sandbox: bool,
    ip: str | None = None,
    embedded: bool = False,
) -> None:
    from yolobatch.engine.runtime import EngineUnavailable, temporal
    from yolobatch.engine.temporal_client import TemporalConfigError
    from yolobatch.engine.worker import running_worker

    store = _open_store(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    sandbox_url = None
    if sandbox and api is not None:
        sandbox_url = f"http://{api[0]}:{api[1]}/sandbox"
        settings = settings.model_copy(update=sandbox_settings(sandbox_url))
    async with contextlib.AsyncExitStack() as stack:
        metrics_url = _telemetry(stack, settings, store if api is not None else None)
        try:
            engine = await stack.enter_async_context(temporal(settings, store, ip=ip, embedded=embedded))
        except (EngineUnavailable, TemporalConfigError) as exc:
            console.print(f"[red]{safe(str(exc))}[/]")
            raise typer.Exit(1) from None
        client = _traced(engine.client, settings)
        if worker:
            await stack.enter_async_context(running_worker(client, store, settings))
        _announce(
            f"Temporal at {engine.address}, namespace {engine.namespace}"
            + (" · worker running" if worker else ""),
            temporal=engine.address,
            namespace=engine.namespace,
        )
        if worker:
            queues = f"{store.installation().task_queue_prefix}-*"
            _announce(f"Task queues {queues}", task_queues=queues)
        if engine.ui_url:
            workflows = f"{engine.ui_url}/namespaces/{engine.namespace}/workflows"
            _announce(f"Temporal UI at {workflows}", temporal_ui=workflows)
            settings = settings.model_copy(update={"temporal_ui_url": engine.ui_url})
        if embedded:
            _announce(
                f"Other processes: TEMPORAL_ADDRESS={engine.address} TEMPORAL_NAMESPACE={engine.namespace}"
            )
        server = serving = None
        if api is not None:
            server = _api_server(settings, store, client, api, sandbox_url)
            serving = asyncio.create_task(server.serve())
            base = f"http://{api[0]}:{api[1]}"
            _announce(f"Dashboard and API at {base}/ (OpenAPI: {base}/docs)", api=base)
            if sandbox_url:
                admin = settings.data_dir / "sandbox-admin-token"
                _announce(
                    f"Sandbox mounted at {sandbox_url} (its /_sandbox control surface needs the header "
                    f"X-Sandbox-Admin-Token: the token in {admin})",
                    sandbox=sandbox_url,
                )
            _local_login(store, settings)
            if console.is_terminal:
                console.print(f"Log in (one-time link, 10 min): {_one_time_link(store, base)}")
            else:  # output going to a file or a log collector must not carry a credential
                _announce(
                    f"Log in at {base}/login with the token in {settings.data_dir / 'local-token'}, "
                    f"or with a one-time link from `yolobatch login-link --url {base}`"
                )
        if metrics_url:
            _announce(f"Metrics (Prometheus) at {metrics_url}", metrics=metrics_url)
        _announce("Ctrl-C stops everything")
        await stop.wait()
        _announce("Stopping: the API, then the worker (draining), then the engine")
        if server is not None and serving is not None:
            server.should_exit = True
            await serving


def _announce(message: str, **fields: object) -> None:
    """A service's status line: text in a terminal, a log record (a JSON line) for a file or a collector."""
    if console.is_terminal:
        console.print(safe(message))
    else:
        from yolobatch.logs import get_logger

        get_logger("yolobatch.cli").info(message, **fields)


def _telemetry(stack: contextlib.AsyncExitStack, settings: Settings, store) -> str | None:
    """The process's Temporal runtime and metrics endpoint (the read model's gauges where the API runs);
    returns the endpoint's URL, if one is served."""
    from yolobatch.api.metrics import ReadModelCollector
    from yolobatch.telemetry import TelemetryError, process_telemetry

    try:
        return stack.enter_context(
            process_telemetry(settings, read_model=ReadModelCollector(store) if store else None)
        )
    except TelemetryError as exc:
        console.print(f"[red]{safe(str(exc))}[/]")
        raise typer.Exit(2) from None


def _traced(client, settings: Settings):
    from yolobatch.telemetry import TelemetryError, traced

    try:
        return traced(client, settings)
    except TelemetryError as exc:
        console.print(f"[red]{safe(str(exc))}[/]")
        raise typer.Exit(2) from None


def _api_server(settings: Settings, store, client, api: tuple[str, int], sandbox_url: str | None):
    import uvicorn

    from yolobatch.api.serving import server_config

    app_ = api_app(settings, store, client, sandbox_url)
    server = uvicorn.Server(server_config(app_, api[0], api[1], settings))
    server.install_signal_handlers = lambda: None  # our own handlers stop things in order
    return server


def api_app(settings: Settings, store, client, sandbox_url: str | None):
    """The API and dashboard; with `sandbox_url`, the sandbox mounted at /sandbox, its control surface
    (every org's accounts and call logs, reset, faults) closed to all but the admin token in the data dir."""
    from yolobatch.api.app import create_app
    from yolobatch.api.context import AppContext

    app_ = create_app(AppContext(settings=settings, store=store, client=client, sandbox_url=sandbox_url))
    if sandbox_url:
        from yolobatch.sandbox.app import create_app as create_sandbox
        from yolobatch.sandbox.settings import SandboxSettings

        world = SandboxSettings(
            service_key=settings.registration_service_key.get_secret_value(),
            time_scale=settings.time_scale,
            admin_token=_private_token(settings.data_dir / "sandbox-admin-token"),
        )
        app_.mount("/sandbox", create_sandbox(world))
    return app_


def _private_token(path: Path) -> str:
    """A random token kept (0600) in `path` across restarts."""
    if path.exists():
        return path.read_text().strip()
    token = secrets.token_urlsafe(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(token)
    return token


def _local_login(store, settings: Settings) -> str:
    """The local organisation's dashboard token, kept (0600) in the data dir across restarts."""
    store.ensure_org(DEFAULT_ORG, "Local")
    path = settings.data_dir / "local-token"
    if path.exists():
        token = path.read_text().strip()
        if store.org_for_token(token) == DEFAULT_ORG:
            return token
    token = store.create_token(DEFAULT_ORG, "local dashboard")
    path.touch(mode=0o600)
    path.write_text(token)
    return token


def _one_time_link(store, base: str) -> str:
    from yolobatch.store.access import Access

    access = Access(store)
    code = access.create_login_code(access.dashboard_token(DEFAULT_ORG, "local dashboard"))
    return f"{base}/login?code={code}"


@app.command(name="rotate-secrets")
def rotate_secrets(data_dir: DataDir = None) -> None:
    """Re-encrypt every stored secret with the first of YOLOBATCH_SECRET_KEY's keys (set `NEW,OLD` first,
    run this once, then keep only `NEW`)."""

    try:
        count = _open_store(_settings(data_dir)).reseal_secrets()
    except ValueError as exc:  # a secret sealed with a key that is not in the list
        console.print(f"[red]{exc}: add the key they were sealed with after the new one.[/]")
        raise typer.Exit(2) from None
    console.print(f"Re-encrypted the secrets of {count} restaurant configs with the first key.")


@app.command()
def reconcile(
    batch: Annotated[str | None, typer.Option(help="Only this batch (default: every started batch)")] = None,
    check: Annotated[bool, typer.Option("--check", help="Report the drift; change nothing")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    data_dir: DataDir = None,
) -> None:
    """Compare the database with the engine's truth and repair what differs (needs a running worker:
    `yolobatch up` or `yolobatch worker`). Exits 1 if drift remains (with --check: if any was found)."""
    from yolobatch.engine.control import tuning_for
    from yolobatch.engine.reconcile import reconcile as run_reconcile

    settings = _settings(data_dir)

    async def go(client, store):
        return await run_reconcile(
            client, store, batch_id=batch, repair=not check, tuning=tuning_for(settings)
        )

    report = _engine_call(settings, go)
    if as_json:
        print(json.dumps(dataclasses.asdict(report), indent=2))
    else:
        for drift in report.drift:
            console.print(
                f"{drift.job_id}  {drift.field}: database {drift.read_model}, engine {drift.engine}"
            )
        for job_id, why in report.unreachable.items():
            console.print(
                f"[yellow]{job_id}: no answer from its workflow ({safe(why)}); is a worker running?[/]"
            )
        verb = "found" if check else f"found, {report.repaired} rows repaired"
        console.print(f"{report.jobs_checked} restaurants checked: {len(report.drift)} differences {verb}.")
    remaining = len(report.drift) - (0 if check else report.repaired)
    if remaining > 0 or report.unreachable:
        raise typer.Exit(1)


@app.command()
def bench(
    scenario: Annotated[
        str | None, typer.Option(help="small (10 restaurants, cap 8) or medium (50, cap 20); default both")
    ] = None,
    time_scale: Annotated[
        float, typer.Option(min=0.001, max=1, help="1 s of the platform = this many s")
    ] = 0.05,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object on the last line")] = False,
) -> None:
    """Run the makespan benchmark: a batch against a local sandbox vs its lower bound and the original's
    phase-barrier schedule (needs nothing running; takes a few minutes)."""
    from yolobatch import bench as harness

    if scenario is not None and scenario not in harness.SCENARIOS:
        console.print(f"[red]Unknown scenario {scenario!r}: choose {', '.join(harness.SCENARIOS)}.[/]")
        raise typer.Exit(2)
    names = [scenario] if scenario else list(harness.SCENARIOS)
    results = asyncio.run(harness.run(names, time_scale))
    print(harness.table(results), flush=True)
    if as_json:
        print(json.dumps(results), flush=True)


@app.command(name="sandbox")
def sandbox_command(
    port: Annotated[int, typer.Option()] = 8765,
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    time_scale: Annotated[
        float,
        typer.Option(envvar="YOLOBATCH_TIME_SCALE", help="Multiplies the platform's real latencies"),
    ] = 1.0,
    seed: Annotated[int, typer.Option()] = 0,
    fault_rate_5xx: Annotated[float, typer.Option(min=0, max=1)] = 0.0,
    fault_rate_429: Annotated[float, typer.Option(min=0, max=1)] = 0.0,
    fault_rate_timeout: Annotated[float, typer.Option(min=0, max=1)] = 0.0,
    jitter: Annotated[float, typer.Option(min=0, max=1, help="± fraction of each latency (0: exact)")] = 0.2,
    contract: Annotated[
        str, typer.Option(help="contract (yolobatch's, idempotent) or original (the original service's)")
    ] = "contract",
) -> None:
    """Serve the emulated platform API (registration endpoints, faults, /_sandbox/state)."""
    from yolobatch.sandbox.server import serve
    from yolobatch.sandbox.settings import SandboxSettings

    settings = SandboxSettings(
        time_scale=time_scale,
        seed=seed,
        fault_rate_5xx=fault_rate_5xx,
        fault_rate_429=fault_rate_429,
        fault_rate_timeout=fault_rate_timeout,
        jitter=jitter,
        service_key=Settings().registration_service_key.get_secret_value(),
        contract=contract,
    )
    serve(settings, host, port)


@app.command()
def status(
    batch_id: str, data_dir: DataDir = None, as_json: Annotated[bool, typer.Option("--json")] = False
) -> None:
    """Show a batch's progress from the database (no engine needed)."""
    from yolobatch.store.repository import NotFound

    store = _open_store(_settings(data_dir))
    try:
        progress = store.batch_progress(batch_id)
    except NotFound as exc:
        console.print(f"[red]{safe(str(exc))}[/]")
        raise typer.Exit(1) from None
    if as_json:
        print(json.dumps(progress, indent=2))
    else:
        Console().print(_table(progress))


step_app = typer.Typer(help="Decide on a failed sub-step of a restaurant (needs `yolobatch up` running).")
app.add_typer(step_app, name="step")
Job = Annotated[str, typer.Argument(help="Job id (one restaurant), as `yolobatch status` shows")]
SubStepName = Annotated[str, typer.Argument(help="Sub-step key, e.g. menuImport")]
Actor = Annotated[str, typer.Option(help="Who decides (audit log)")]


@step_app.command("retry")
def step_retry(
    job: Job, sub_step: SubStepName, reason: str = "", actor: Actor = "cli", data_dir: DataDir = None
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


@app.command()
def cancel(job: Job, reason: str = "", actor: Actor = "cli", data_dir: DataDir = None) -> None:
    """Cancel one restaurant's registration (calls in flight are cancelled, nothing new starts)."""
    from yolobatch.engine.control import cancel_job

    settings = _settings(data_dir)
    _engine_call(settings, lambda client, store: cancel_job(client, store, job, actor=actor, reason=reason))
    console.print(f"Cancellation requested for {job}")


def _decide(job: str, action: str, sub_step: str, reason: str, actor: str, data_dir: Path | None) -> None:
    from yolobatch.engine.control import NEEDS_REASON, decide

    if action in NEEDS_REASON and not reason.strip():  # said before any engine is reached
        console.print(f"[red]{NEEDS_REASON[action]} (--reason)[/]")
        raise typer.Exit(1)
    settings = _settings(data_dir)
    message = _engine_call(
        settings,
        lambda client, store: decide(client, store, job, action, sub_step, reason=reason, actor=actor),
    )
    console.print(safe(message))


def _engine_call(settings: Settings, call):
    """Run `call(client, store)` against the running engine (this data dir's `yolobatch up`, or
    TEMPORAL_ADDRESS); never against a server the data dir does not record."""
    from yolobatch.engine.control import DecisionRejected
    from yolobatch.engine.runtime import EngineUnavailable, connect
    from yolobatch.engine.temporal_client import TemporalConfigError
    from yolobatch.store.repository import NotFound
    from yolobatch.telemetry import install_runtime

    install_runtime()

    async def go():
        store = _open_store(settings)
        try:
            engine = await connect(settings, store)
        except (EngineUnavailable, TemporalConfigError) as exc:
            console.print(f"[red]{safe(str(exc))}[/]")
            raise typer.Exit(1) from None
        return await call(engine.client, store)

    try:
        return asyncio.run(go())
    except (NotFound, DecisionRejected) as exc:
        console.print(f"[red]{safe(str(exc))}[/]")
        raise typer.Exit(1) from None


# Its own module (step 1's preview); registered here so that `yolobatch extract` exists.
app.command(name="extract")(extract_command)
app.add_typer(platform_app, name="platform")
# The operator's outputs (issue 15): their own module, registered here.
app.command(name="export")(export_command)
app.command(name="reveal-password")(reveal_password_command)


def main() -> None:  # pragma: no cover - console script entry
    sys.exit(app())
