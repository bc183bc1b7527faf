"""`yolobatch menu`: answer a restaurant whose extraction found no menu (needs `yolobatch up` running)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from yolobatch.cli.common import DataDir, _engine_call, _settings, console
from yolobatch.terminal import safe


def menu(
    job: Annotated[str, typer.Argument(help="Job id (one restaurant), as `yolobatch status` shows")],
    upload: Annotated[
        Path | None, typer.Option("--upload", help="A menu file (JSON, as examples/menus/) to use")
    ] = None,
    retry_render: Annotated[
        bool, typer.Option("--retry-render", help="Extract again, rendering the page in a browser")
    ] = False,
    without: Annotated[bool, typer.Option("--continue", help="Go on and register it without a menu")] = False,
    reason: Annotated[str, typer.Option(help="Why (audit log)")] = "",
    actor: Annotated[str, typer.Option(help="Who decides (audit log)")] = "cli",
    data_dir: DataDir = None,
) -> None:
    """Answer a restaurant waiting at step 1 because no menu was found: give exactly one of --upload FILE,
    --retry-render or --continue. Exits 1 when the answer is refused."""
    from yolobatch.service.menu_gate import answer_menu

    chosen = [
        name
        for name, given in (("uploaded", upload), ("retry_render", retry_render), ("continue", without))
        if given
    ]
    if len(chosen) != 1:
        console.print("[red]give exactly one of --upload FILE, --retry-render or --continue[/]")
        raise typer.Exit(2)
    raw = None
    if upload is not None:
        try:
            raw = upload.read_bytes()
        except OSError as exc:
            console.print(f"[red]Cannot read {upload}:[/] {safe(str(exc.strerror or exc))}")
            raise typer.Exit(2) from None
    settings = _settings(data_dir)
    outcome = _engine_call(
        settings,
        lambda client, store: answer_menu(
            client, store, job, chosen[0], actor=actor, reason=reason, menu_file=raw
        ),
    )
    console.print(safe(outcome))
