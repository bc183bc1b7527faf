"""What every command shares: the Typer app, the console, settings and the store of a data dir.

`yolobatch --help` and the quick commands must start in well under a second, so nothing here (nor at the
top of any command module) imports the engine, the web stack, the store or extraction: each command
imports what it needs inside its function (tests/test_cli_startup.py checks it).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.console import Console

from yolobatch.terminal import safe

if TYPE_CHECKING:
    from yolobatch.settings import Settings

INTERRUPTED = 130  # the shell's code for a process ended by SIGINT (128 + 2)


def _interrupted(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


class Cli(typer.Typer):
    """The Typer app, with Ctrl-C ending every command the same way: one line on stderr, no traceback,
    exit 130. (Typer alone exits 130 silently, or 1 with "Aborted!" when Ctrl-C hits a prompt.)"""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except KeyboardInterrupt:
            console.print("Interrupted.")
            raise SystemExit(INTERRUPTED) from None
        except SystemExit as exc:
            if not _interrupted(exc):
                raise
            if exc.code == INTERRUPTED:  # else a prompt already said "Aborted!"
                console.print("Interrupted.")
            raise SystemExit(INTERRUPTED) from None


app = Cli(help="Durable batch onboarding of restaurants onto the ordering platform.", no_args_is_help=True)
console = Console(stderr=True, soft_wrap=True)
DEFAULT_ORG = "default"
SYMBOLS = {
    "pending": "[dim]·[/]",
    "queued": "[cyan]…[/]",
    "running": "[yellow]▶[/]",
    "completed": "[green]✔[/]",
    "skipped": "[dim]–[/]",
    "failed": "[red]✘[/]",
    "outcome_unknown": "[bold red]?[/]",  # the platform may have done it: check its portal, then decide
    "cancelled": "[magenta]⊘[/]",
    "action_required": "[bold yellow]?[/]",
}
WARNING_SYMBOL = "[bold yellow]⚠[/]"  # completed, with the platform's `success: false` kept as a warning

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        envvar="YOLOBATCH_DATA_DIR",
        help="Where the database and keys live (default ./.yolobatch)",
    ),
]
# Fixed vocabularies spelled here rather than imported from the domain (which loads pydantic): a test checks
# they equal the domain's, so that `--help` lists the choices without importing anything heavy.
Registry = Literal["nzbn", "companies_house"]
Contract = Literal["contract", "original"]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")]
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
    from yolobatch.store.crypto import SecretKeyMissing
    from yolobatch.store.opening import open_store

    try:
        return open_store(settings)
    except SecretKeyMissing as exc:
        console.print(f"[red]Refusing to start: {safe(str(exc))}[/]")
        raise typer.Exit(2) from None


def _settings(data_dir: Path | None, **overrides: Any) -> Settings:
    from yolobatch.settings import Settings

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
