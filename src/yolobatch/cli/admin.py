"""Administration: API tokens, login links, secret rotation, reconciliation."""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from yolobatch.cli.common import (
    DEFAULT_ORG,
    AsJson,
    DataDir,
    _engine_call,
    _open_store,
    _settings,
    console,
)
from yolobatch.terminal import safe

token_app = typer.Typer(help="API tokens of organisations.")


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
    as_json: AsJson = False,
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


def rotate_secrets(data_dir: DataDir = None) -> None:
    """Re-encrypt every stored secret with the first of YOLOBATCH_SECRET_KEY's keys (set `NEW,OLD` first,
    run this once, then keep only `NEW`)."""

    try:
        store = _open_store(_settings(data_dir))
        count = store.reseal_secrets()
        platforms = store.reseal_org_platforms()
    except ValueError as exc:  # a secret sealed with a key that is not in the list
        console.print(f"[red]{exc}: add the key they were sealed with after the new one.[/]")
        raise typer.Exit(2) from None
    console.print(f"Re-encrypted the secrets of {count} restaurant configs with the first key.")
    if platforms:
        console.print(f"Re-encrypted {platforms} organisations' platform keys with the first key.")


def reconcile(
    batch: Annotated[str | None, typer.Option(help="Only this batch (default: every started batch)")] = None,
    check: Annotated[bool, typer.Option("--check", help="Report the drift; change nothing")] = False,
    as_json: AsJson = False,
    data_dir: DataDir = None,
) -> None:
    """Compare the database with the engine's truth and repair what differs (needs a running worker:
    `yolobatch up` or `yolobatch worker`). Exits 1 if drift remains (with --check: if any was found)."""
    from yolobatch.engine.reconcile import reconcile as run_reconcile
    from yolobatch.service.control import tuning_for

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
