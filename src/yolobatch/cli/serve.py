"""Serving commands: `up`, the engine, the API, a worker, and the wiring they share."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import secrets
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlsplit

import typer

from yolobatch.cli.common import (
    DEFAULT_ORG,
    DataDir,
    TimeScale,
    _open_store,
    _require_cluster,
    _settings,
    console,
)
from yolobatch.terminal import safe

if TYPE_CHECKING:
    from yolobatch.settings import Settings


def sandbox_settings(url: str) -> dict[str, Any]:
    """Settings that point every outside system at the sandbox running at `url`."""
    from pydantic import SecretStr

    from yolobatch.devtools.sandbox.settings import SandboxSettings

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
    from yolobatch.engine.devserver import free_port
    from yolobatch.engine.embedded import port_answers

    path = data_dir / DASHBOARD_PORT_FILE
    with contextlib.suppress(FileNotFoundError, ValueError):
        return int(path.read_text())
    port = 8000 if not port_answers("127.0.0.1", 8000) else free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{port}\n")
    return port


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


def api(
    data_dir: DataDir = None,
    port: Annotated[int, typer.Option(help="Port of the dashboard and API")] = 8000,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
) -> None:
    """The API and dashboard alone, against TEMPORAL_ADDRESS (scale-out: as many as you like)."""
    settings = _settings(data_dir)
    _require_cluster(settings, "the API")
    asyncio.run(_serve(settings, api=(host, port), worker=False, sandbox=False))


def worker(data_dir: DataDir = None) -> None:
    """Run a worker alone, against TEMPORAL_ADDRESS (scale-out: start as many as you like)."""
    settings = _settings(data_dir)
    _require_cluster(settings, "a worker")
    asyncio.run(_serve(settings, api=None, worker=True, sandbox=False))


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
            await _listening(server, serving)
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
        _freeze_start_up_heap()
        await stop.wait()
        _announce("Stopping: the API, then the worker (draining), then the engine")
        if server is not None and serving is not None:
            server.should_exit = True
            await serving


async def _listening(server: Any, serving: asyncio.Task[None]) -> None:
    """Until the API accepts connections: the status lines that follow tell people (and scripts waiting
    for "Ctrl-C stops everything") an address they can use at once."""
    while not server.started and not serving.done():
        await asyncio.sleep(0.05)
    if serving.done():
        await serving  # it could not start (uvicorn has logged why): re-raise its error, else exit 1
        raise typer.Exit(1)


def _freeze_start_up_heap() -> None:
    """Keep what start-up built (modules, the app, the workers: ~180 000 objects) out of the garbage
    collector's full passes: it lives as long as the process, and walking it again and again made the
    render of a dashboard grid page at 10 000 restaurants take 88 ms at p95 against 12 ms at p50."""
    gc.collect()
    gc.freeze()


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

    from yolobatch.http.serving import server_config

    app_ = api_app(settings, store, client, sandbox_url)
    # uvicorn takes SIGINT/SIGTERM while it serves and raises them again once it has stopped, so the API
    # stops first and our own handlers then stop the worker and the engine, in that order.
    return uvicorn.Server(server_config(app_, api[0], api[1], settings))


def api_app(settings: Settings, store, client, sandbox_url: str | None):
    """The API and dashboard; with `sandbox_url`, the sandbox mounted at /sandbox, its control surface
    (every org's accounts and call logs, reset, faults) closed to all but the admin token in the data dir."""
    from yolobatch.http.app import create_app
    from yolobatch.http.context import AppContext

    app_ = create_app(AppContext(settings=settings, store=store, client=client, sandbox_url=sandbox_url))
    if sandbox_url:
        from yolobatch.devtools.sandbox.app import create_app as create_sandbox
        from yolobatch.devtools.sandbox.settings import SandboxSettings

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
