"""`yolobatch org ...`: an organisation's own settings (its registration platform)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from yolobatch.cli.common import DEFAULT_ORG, Contract, DataDir, _open_store, _settings
from yolobatch.terminal import safe

org_app = typer.Typer(help="Organisations' own settings.", no_args_is_help=True)


@org_app.command("platform")
def org_platform(
    org: Annotated[str, typer.Option(help="Organisation id")],
    url: Annotated[str | None, typer.Option(help="Base URL of its platform's registration API")] = None,
    key: Annotated[
        str | None,
        typer.Option(envvar="YOLOBATCH_PLATFORM_KEY", help="Its service key (asked for when not given)"),
    ] = None,
    contract: Annotated[
        Contract, typer.Option(help="contract (yolobatch's, idempotent) or original (the original service)")
    ] = "contract",
    data_dir: DataDir = None,
) -> None:
    """Show, or with --url set, the registration platform of one organisation (the key is stored
    encrypted and never shown). Organisations without one use YOLOBATCH_REGISTRATION_API_URL."""
    from yolobatch.domain.org_platform import BadPlatform
    from yolobatch.store.repository import NotFound

    settings = _settings(data_dir)
    store = _open_store(settings)
    if url is None:
        own = store.org_platform(org)
        if own is None:
            default = f"{settings.registration_api_url} ({settings.registration_contract} contract)"
            print(f"{org}: the installation's default platform, {default}")
        else:
            print(f"{org}: {own.url} ({own.contract} contract), key set")
        return
    if key is None:
        key = typer.prompt("Service key", hide_input=True)
    try:
        saved = store.set_org_platform(org, url, key, contract, actor="cli")
    except (BadPlatform, NotFound) as exc:
        Console(stderr=True).print(f"[red]{safe(str(exc))}[/]")
        raise typer.Exit(2) from None
    print(f"{org}: {saved.url} ({saved.contract} contract), key stored encrypted")


@org_app.command("defaults")
def org_defaults(
    org: Annotated[str, typer.Option(help="Organisation id")] = DEFAULT_ORG,
    country: Annotated[str | None, typer.Option(help="e.g. NZ: reads phone numbers without +code")] = None,
    currency: Annotated[str | None, typer.Option(help="e.g. NZD")] = None,
    locale: Annotated[str | None, typer.Option(help="e.g. en-NZ")] = None,
    time_zone: Annotated[str | None, typer.Option(help="e.g. Pacific/Auckland")] = None,
    data_dir: DataDir = None,
) -> None:
    """Show, or with any option set, an organisation's defaults (country, currency, locale, time zone).
    A restaurant's own values win over its batch's defaults, which win over these."""
    from pydantic import ValidationError

    from yolobatch.domain.org_defaults import OrgDefaults
    from yolobatch.store.repository import NotFound

    store = _open_store(_settings(data_dir))
    if org == DEFAULT_ORG:  # the CLI's own organisation exists from its first use on
        store.ensure_org(org)
    given = {
        k: v
        for k, v in (
            ("country", country),
            ("currency", currency),
            ("locale", locale),
            ("time_zone", time_zone),
        )
        if v is not None
    }
    try:
        current = (
            store.set_org_defaults(org, OrgDefaults(**given), actor="cli")
            if given
            else store.org_defaults(org)
        )
    except ValidationError as exc:
        for error in exc.errors(include_url=False, include_input=False):
            Console(stderr=True).print(f"[red]--{error['loc'][0]}: {safe(error['msg'])}[/]".replace("_", "-"))
        raise typer.Exit(2) from None
    except NotFound as exc:
        Console(stderr=True).print(f"[red]{safe(str(exc))}[/]")
        raise typer.Exit(2) from None
    for field, value in current.model_dump().items():
        print(f"{field.replace('_', ' ')}: {value if value is not None else '(not set)'}")
