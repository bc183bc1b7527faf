"""`yolobatch export` and `yolobatch reveal-password`: the operator's outputs from the database (no engine
needed). The CLI acts with the database's own rights, so the organisation is the batch's or the job's."""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path
from typing import Annotated, Literal

import typer

from yolobatch.cli.common import DataDir, _open_store, _settings, console
from yolobatch.terminal import safe, visible_lines

Actor = Annotated[str | None, typer.Option(help="Who asks, for the audit log (default cli:<your user name>)")]


def _actor(actor: str | None) -> str:
    return actor or f"cli:{getpass.getuser()}"


def _fail(message: str, code: int = 1) -> typer.Exit:
    console.print(f"[red]{safe(message)}[/]")
    return typer.Exit(code)


def export(
    batch_id: Annotated[str, typer.Argument(help="Batch id, as `yolobatch status` shows")],
    format: Annotated[Literal["csv", "json"], typer.Option("--format", help="File format")] = "csv",  # noqa: A002
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write here (default: stdout)")
    ] = None,
    include_passwords: Annotated[
        bool, typer.Option(help="Add each owner's password (needs --reason; audited)")
    ] = False,
    reason: Annotated[str | None, typer.Option(help="Why the passwords are needed (audit log)")] = None,
    actor: Actor = None,
    data_dir: DataDir = None,
) -> None:
    """Export a batch's outputs: one row per restaurant with its status, platform restaurant id, demo
    store, Stripe link, account and onboarding user, errors and warnings."""
    from yolobatch.service import outputs
    from yolobatch.store.repository import NotFound

    store = _open_store(_settings(data_dir))
    try:
        org = store.batch(batch_id).org_id
        result = outputs.export_batch(
            store,
            batch_id,
            org,
            format,
            include_passwords=include_passwords,
            actor=_actor(actor),
            reason=reason,
        )
    except (NotFound, outputs.OutputsNotFound) as exc:
        raise _fail(str(exc)) from None
    except ValueError as exc:
        raise _fail(str(exc), 2) from None
    if output is None:
        # Restaurant names and errors come from outside: a terminal must not obey what they hold.
        typer.echo(visible_lines(result.text) if sys.stdout.isatty() else result.text, nl=False)
        return
    # A file with passwords in it is readable by its owner only.
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
        handle.write(result.text)
    console.print(f"Wrote {safe(str(output))}")


def reveal_password(
    job: Annotated[str, typer.Argument(help="Job id (one restaurant), as `yolobatch status` shows")],
    reason: Annotated[str, typer.Option(help="Why you need it (required; audit log)")],
    actor: Actor = None,
    data_dir: DataDir = None,
) -> None:
    """Print one restaurant's generated owner password; the read is audited with who and why."""
    from yolobatch.service import outputs
    from yolobatch.store.repository import NotFound

    store = _open_store(_settings(data_dir))
    try:
        org = store.job(job).org_id
        login = outputs.reveal_password(store, job, org, _actor(actor), reason)
    except (NotFound, outputs.OutputsNotFound) as exc:
        raise _fail(str(exc)) from None
    except ValueError as exc:
        raise _fail(str(exc), 2) from None
    if login.email:
        console.print(f"Owner login: {safe(login.email)}")
    typer.echo(login.password)  # stdout alone, so that it can be piped without the label
