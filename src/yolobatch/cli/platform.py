"""`yolobatch platform ...`: commands about the ordering platform itself (its contract, its conformance)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console

from yolobatch.cli.common import Contract
from yolobatch.terminal import safe

console = Console(highlight=False, soft_wrap=True)
app = typer.Typer(help="The ordering platform: check that it implements its contract.", no_args_is_help=True)


@app.command("check")
def check(
    url: Annotated[str, typer.Option(help="Base URL of the platform's registration API")],
    key: Annotated[
        str, typer.Option(envvar="YOLOBATCH_PLATFORM_KEY", help="The service key (never printed)")
    ],
    org: Annotated[
        str, typer.Option(help="Organisation to act for (a test one)")
    ] = "yolobatch-conformance",  # conformance.DEFAULT_ORG, spelled here to keep `--help` light
    contract: Annotated[
        Contract, typer.Option(help="Which contract the platform speaks: yolobatch's or the original's")
    ] = "contract",
    restaurant_id: Annotated[
        str | None, typer.Option(help="original only: the platform's id of a test restaurant")
    ] = None,
    menu_id: Annotated[str | None, typer.Option(help="original only: the platform's id of its menu")] = None,
    time_scale: Annotated[float, typer.Option(min=0.0001, help="Scale call timeouts (a fast sandbox)")] = 1.0,
) -> None:
    """Run every operation once, replay one, check error shapes and upload polling. Registers one synthetic
    restaurant. Exit 0 only when everything conforms."""
    from yolobatch.integrations.registration.conformance import check_platform

    if contract == "original" and not (restaurant_id and menu_id):
        raise typer.BadParameter(
            "the original contract acts on an existing restaurant: give --restaurant-id and --menu-id",
            param_hint="--contract original",
        )
    checks = asyncio.run(
        check_platform(
            url,
            key,
            org,
            contract,  # type: ignore[arg-type]  # checked against CONTRACTS above
            platform_restaurant_id=restaurant_id,
            platform_menu_id=menu_id,
            timeout_scale=time_scale,
        )
    )
    for item in checks:
        mark = "conforms " if item.ok else "DOES NOT CONFORM"
        console.print(safe(f"{mark:16} {item.name}: {item.detail}"))
    failed = [item.name for item in checks if not item.ok]
    console.print(f"{len(checks) - len(failed)}/{len(checks)} checks conform")
    if failed:
        console.print(safe("not conforming: " + ", ".join(failed)))
        raise typer.Exit(1)
