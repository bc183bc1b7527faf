"""`yolobatch rerun`: run a finished restaurant's registration call again (needs `yolobatch up` running)."""

from __future__ import annotations

from typing import Annotated

import typer

from yolobatch.cli.common import DataDir, _engine_call, _settings, console
from yolobatch.domain.plan import PLAN
from yolobatch.terminal import safe

CALLS = ", ".join(spec.key.value for spec in PLAN)


def rerun(
    job: Annotated[str, typer.Argument(help="Job id (one restaurant), as `yolobatch status` shows")],
    sub_step: Annotated[str, typer.Argument(help=f"The registration call to run again: one of {CALLS}")],
    reason: Annotated[str, typer.Option(help="Why it runs again (required; audited)")] = "",
    with_dependents: Annotated[
        bool,
        typer.Option("--with-dependents", help="Also run again the completed calls that depend on it"),
    ] = False,
    actor: Annotated[str, typer.Option(help="Who asks (audit log)")] = "cli",
    data_dir: DataDir = None,
) -> None:
    """Run a completed or skipped registration call of a finished restaurant again (e.g. websiteConfig
    after changing its colours, menuImport after fixing the menu), as a new generation with a new
    idempotency key: the platform does it once more. Exits 1 when it cannot run again now."""
    from yolobatch.service.rerun import rerun as start_rerun

    if not reason.strip():  # said before any engine is reached
        console.print("[red]say why it runs again: a reason is required to re-run (--reason)[/]")
        raise typer.Exit(1)
    settings = _settings(data_dir)
    started = _engine_call(
        settings,
        lambda client, store: start_rerun(
            client,
            store,
            settings,
            job,
            sub_step,
            with_dependents=with_dependents,
            reason=reason,
            actor=actor,
        ),
    )
    again = ", ".join(f"{key} (generation {gen})" for key, gen in started.generations.items())
    console.print(safe(f"Re-run {started.rerun_id} started: {again}"))
