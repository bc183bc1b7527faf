"""`yolobatch extract URL|FILE`: what step 1 would produce from one store page, before any batch runs.

Operators preview a page with it; it is also the evaluation entry point. A URL is fetched as step 1
fetches (the URL guard, its allowed hosts, the size cap); a FILE is parsed as if fetched from `--url`,
its bytes decoded as a browser would (BOM, `<meta charset>`, else UTF-8 or windows-1252). Branding reads
the logo as step 1 does: fetched through the guard, from `--url`'s site for a FILE.

Exit codes: 0 a menu was found, 1 no menu, 2 bad input (or a page that cannot be fetched).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console

from yolobatch.terminal import safe

if TYPE_CHECKING:
    import httpx

    from yolobatch.domain.extraction import ExtractionResult
    from yolobatch.integrations.extraction import UrlGuard
    from yolobatch.integrations.extraction.render import RenderOptions
    from yolobatch.settings import Settings

EXIT_MENU, EXIT_NO_MENU, EXIT_BAD_INPUT = 0, 1, 2

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def extract(
    target: Annotated[str, typer.Argument(help="a store page URL (http/https) or a saved HTML file")],
    url: Annotated[
        str | None, typer.Option("--url", help="for a FILE: the URL it was saved from (links, logo, images)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="the ExtractionResult as JSON")] = False,
    render: Annotated[
        bool,
        typer.Option("--render", help="no menu in the HTML: run the page's scripts in headless Chromium"),
    ] = False,
) -> None:
    """Print what step 1 would extract from a store page: menu, option groups, branding, contact, hours,
    warnings and the strategy that matched. Exit 0 menu found, 1 no menu, 2 bad input."""
    from yolobatch.settings import Settings

    try:
        settings = Settings()
    except ValueError as exc:
        _fail(f"Invalid settings: {exc}")
    if render:
        settings = settings.model_copy(update={"render_pages": True})
    result = asyncio.run(_extract(target, url, settings))
    if as_json:
        # The same object step 1 stores, menu included; `source` is the strategy that matched.
        out.print_json(result.model_dump_json(), ensure_ascii=False)
    else:
        _print(result)
    raise typer.Exit(EXIT_MENU if result.menu is not None else EXIT_NO_MENU)


async def _extract(target: str, canonical: str | None, settings: Settings) -> ExtractionResult:
    import httpx

    from yolobatch.integrations.extraction import ExtractionError, UrlGuard, extract_store
    from yolobatch.integrations.extraction.render import render_options

    guard = UrlGuard(allowed_hosts=frozenset(settings.fetch_allowed_hosts))
    render = render_options(settings)
    async with httpx.AsyncClient() as http:
        try:
            if target.lower().startswith(("http://", "https://")):
                if canonical is not None:
                    _fail("--url is for a FILE; a URL is its own canonical URL")
                return await extract_store(
                    target, http=http, guard=guard, max_bytes=settings.fetch_max_bytes, render=render
                )
            if "://" in target:
                _fail(f"{target}: only http and https URLs can be fetched")
            return await _extract_file(Path(target), canonical, settings, http, guard, render)
        except ExtractionError as exc:
            _fail(f"{exc.code}: {exc.message}")


async def _extract_file(
    path: Path,
    canonical: str | None,
    settings: Settings,
    http: httpx.AsyncClient,
    guard: UrlGuard,
    render: RenderOptions | None,
) -> ExtractionResult:
    from yolobatch.integrations.extraction.branding import extract_branding
    from yolobatch.integrations.extraction.decoding import decode_html
    from yolobatch.integrations.extraction.page import extract_from_html, extract_rendered

    if canonical is not None and not canonical.lower().startswith(("http://", "https://")):
        _fail(f"--url {canonical!r} is not an http(s) URL")
    if render is not None and canonical is None:
        # Its scripts and API calls are fetched from the site it came from, which only --url says.
        _fail("--render of a FILE needs --url (the site its scripts and requests come from)")
    try:
        size = path.stat().st_size
        if not path.is_file():
            _fail(f"{path} is not a file")
        if size > settings.fetch_max_bytes:
            _fail(f"{path} is {size} bytes, over the {settings.fetch_max_bytes} step 1 fetches")
        body = path.read_bytes()
    except OSError as exc:
        _fail(f"Cannot read {path}: {exc.strerror or exc}")
    page_url = canonical or path.resolve().as_uri()
    _encoding, text = decode_html(body, None)
    doc, result = await asyncio.to_thread(extract_from_html, page_url, text)
    if result.menu is None and render is not None:
        doc, result = await extract_rendered(page_url, doc, result, text, http, guard, render)
    branding, warnings = await extract_branding(doc, http=http, guard=guard, timeout=20.0)
    return result.model_copy(update={"branding": branding, "warnings": result.warnings + warnings})


def _fail(message: str) -> NoReturn:
    err.print(f"[red]error:[/] {safe(message)}")
    raise typer.Exit(EXIT_BAD_INPUT)


def _print(result: ExtractionResult) -> None:
    menu = result.menu
    out.print(f"[bold]{safe(result.final_url or result.url)}[/]")
    out.print(f"strategy: {result.source}" + (" (rendered in headless Chromium)" if result.rendered else ""))
    if menu is None:
        out.print("[yellow]no menu found[/]")
    else:
        items = menu.items()
        out.print(
            f"menu: {len(menu.categories)} categories, {len(items)} items, {len(menu.option_sets)} option "
            f"groups, currency {menu.currency}"
        )
        for category in menu.categories:
            out.print(f"\n[bold]{safe(category.name)}[/] ({len(category.items)})")
            for item in category.items:
                extras = f"  [dim]options: {safe(', '.join(item.option_sets))}[/]" if item.option_sets else ""
                tags = f"  [dim]tags: {safe(', '.join(item.tags))}[/]" if item.tags else ""
                out.print(f"  {item.price:>9}  {safe(item.name)}{extras}{tags}")
        if menu.option_sets:
            out.print("\n[bold]Option groups[/]")
            for group in menu.option_sets:
                shown = group.display_name or group.name
                options = ", ".join(f"{o.name} +{o.price}" for o in group.items)
                out.print(
                    f"  {safe(shown)} (min {group.min_selections}, max {group.max_selections}): "
                    f"{safe(options)}"
                )
    _print_details(result)


def _print_details(result: ExtractionResult) -> None:
    b, c = result.branding, result.contact
    out.print("\n[bold]Branding[/]")
    logo = f"{b.logo_url} (confidence {b.logo_confidence:.2f})" if b.logo_url else "none"
    out.print(f"  logo: {safe(logo)}")
    colours = ", ".join(x for x in (b.primary_color, b.secondary_color) if x) or "none"
    out.print(f"  colours: {colours} · theme {b.theme}")
    for label, value in (("favicon", b.favicon_url), ("cover image", b.cover_image_url)):
        if value:
            out.print(f"  {label}: {safe(value)}")
    out.print("\n[bold]Contact[/]")
    for label, value in (("phone", c.phone), ("email", c.email), ("address", c.address), ("city", c.city)):
        out.print(f"  {label}: {safe(value) if value else '-'}")
    out.print("\n[bold]Opening hours[/]")
    if not result.opening_hours:
        out.print("  -")
    for entry in result.opening_hours:
        out.print(f"  {entry.day:<9} {entry.open}–{entry.close}")
    out.print("\n[bold]Warnings[/]")
    if not result.warnings:
        out.print("  -")
    for warning in result.warnings:
        out.print(f"  {warning.code}: {safe(warning.message)}")
