"""Step 1 for one URL: fetch the store page, then menu, branding, opening hours and contact details."""

from __future__ import annotations

import asyncio

import httpx

from yolobatch.domain.extraction import ExtractionResult, ExtractionWarning, MenuSource
from yolobatch.integrations.extraction.branding import extract_branding
from yolobatch.integrations.extraction.builder import RawMenu, build_menu
from yolobatch.integrations.extraction.details import extract_contact, extract_opening_hours
from yolobatch.integrations.extraction.document import Document, parse_document
from yolobatch.integrations.extraction.fetch import fetch_page
from yolobatch.integrations.extraction.guard import UrlGuard
from yolobatch.integrations.extraction.menu import find_menu
from yolobatch.integrations.extraction.platforms.ubereats import fetch_item_options
from yolobatch.integrations.extraction.render import RenderError, RenderOptions, render_page

DEFAULT_MAX_BYTES = 5_000_000
DEFAULT_TIMEOUT = 20.0
# Per-item option requests (Uber Eats): at most this many per page, at this pace, so that one store
# page never turns into hundreds of calls to the platform.
DEFAULT_ITEM_BUDGET = 40
DEFAULT_ITEM_RATE = 5.0


def extract_from_html(url: str, html: str, currency: str | None = None) -> tuple[Document, ExtractionResult]:
    """Everything that needs no network: menu, hours, contact (branding colours need the logo; option
    groups a platform serves per item need their requests)."""
    doc, raw, source, warnings = _parse(url, html)
    return doc, _result(doc, url, raw, source, warnings, currency)


def _parse(url: str, html: str) -> tuple[Document, RawMenu | None, MenuSource, list[ExtractionWarning]]:
    doc = parse_document(url, html)
    raw, source, warnings = find_menu(doc)
    return doc, raw, source, warnings


def _result(
    doc: Document,
    url: str,
    raw: RawMenu | None,
    source: MenuSource,
    warnings: list[ExtractionWarning],
    currency: str | None = None,
) -> ExtractionResult:
    menu, menu_warnings = build_menu(raw, currency) if raw is not None else (None, [])
    return ExtractionResult(
        url=url,
        final_url=url,
        source=source,
        menu=menu,
        opening_hours=extract_opening_hours(doc),
        contact=extract_contact(doc),
        warnings=warnings + menu_warnings,
    )


async def extract_store(
    url: str,
    *,
    http: httpx.AsyncClient,
    guard: UrlGuard,
    max_bytes: int = DEFAULT_MAX_BYTES,
    timeout: float = DEFAULT_TIMEOUT,
    item_budget: int = DEFAULT_ITEM_BUDGET,
    item_rate: float = DEFAULT_ITEM_RATE,
    render: RenderOptions | None = None,
    currency: str | None = None,
) -> ExtractionResult:
    """Raises `ExtractionError` when the page cannot be had; anything missing inside it is a warning.
    With `render`, a page whose static HTML holds no menu is rendered in headless Chromium and read again.
    `currency`: the menu's when neither its prices nor the page's address say one (the organisation's)."""
    page = await fetch_page(url, http=http, guard=guard, max_bytes=max_bytes, timeout=timeout)
    # Parsing a multi-megabyte page is CPU work; keep it off the event loop.
    doc, raw, source, warnings = await asyncio.to_thread(_parse, page.final_url, page.text)
    if raw is not None and raw.options_url is not None:
        warnings += await fetch_item_options(
            raw, http=http, guard=guard, timeout=timeout, budget=item_budget, per_second=item_rate
        )
    result = await asyncio.to_thread(_result, doc, page.final_url, raw, source, warnings, currency)
    if result.menu is None and render is not None:
        doc, result = await extract_rendered(
            page.final_url, doc, result, page.text, http, guard, render, currency
        )
    branding, branding_warnings = await extract_branding(doc, http=http, guard=guard, timeout=timeout)
    return result.model_copy(
        update={"url": url, "branding": branding, "warnings": result.warnings + branding_warnings}
    )


async def extract_rendered(
    url: str,
    doc: Document,
    static: ExtractionResult,
    html: str,
    http: httpx.AsyncClient,
    guard: UrlGuard,
    options: RenderOptions,
    currency: str | None = None,
) -> tuple[Document, ExtractionResult]:
    """The page (`html`, at `url`) read again after its scripts ran; the static reading stands when the
    render fails."""
    try:
        rendered = await render_page(url, http=http, guard=guard, options=options, document=html)
    except RenderError as exc:
        warning = ExtractionWarning(code="render_failed", message=str(exc))
        return doc, static.model_copy(update={"warnings": [*static.warnings, warning]})
    doc, result = await asyncio.to_thread(extract_from_html, url, rendered.html, currency)
    warnings = list(result.warnings)
    for code, urls, why in (
        ("render_blocked_requests", rendered.blocked, "refused by the URL guard"),
        ("render_over_budget", rendered.over_budget, "beyond the render's byte or request budget"),
    ):
        if urls:
            shown = ", ".join(urls[:3]) + (f" and {len(urls) - 3} more" if len(urls) > 3 else "")
            warnings.append(ExtractionWarning(code=code, message=f"{len(urls)} request(s) {why}: {shown}"))
    return doc, result.model_copy(update={"rendered": True, "warnings": warnings})
