"""What every command shares: the Typer app, the console, settings and the store of a data dir."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

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


def _engine_call(settings: Settings, call):
    """Run `call(client, store)` against the running engine (this data dir's `yolobatch up`, or
    TEMPORAL_ADDRESS); never against a server the data dir does not record."""
    from yolobatch.engine.runtime import EngineUnavailable, connect
    from yolobatch.engine.temporal_client import TemporalConfigError
    from yolobatch.service.control import DecisionRejected
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
