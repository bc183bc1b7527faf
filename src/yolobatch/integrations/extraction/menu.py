"""Menu extraction: the strategies in order of trust, the first that yields items wins.

A delivery platform's embedded state comes first where the page carries one: it is the platform's own
model of the menu, with hidden entries, option groups and cross-listings a page's schema.org summary
does not carry. Then structured data (the site's own statement about its menu: JSON-LD, microdata,
RDFa), then a site builder's menu widget (one known markup: Squarespace, Wix), then the DOM heuristic,
which is a guess.
"""

from __future__ import annotations

from collections.abc import Callable

from yolobatch.domain.extraction import ExtractionWarning, MenuSource
from yolobatch.domain.menu import Menu
from yolobatch.integrations.extraction.builder import RawMenu, build_menu
from yolobatch.integrations.extraction.cleaning import clean_name
from yolobatch.integrations.extraction.currency import page_currency, url_currency
from yolobatch.integrations.extraction.document import Document
from yolobatch.integrations.extraction.menu_dom import extract_dom_menu
from yolobatch.integrations.extraction.menu_jsonld import extract_jsonld_menu
from yolobatch.integrations.extraction.menu_microdata import extract_microdata_menu, extract_rdfa_menu
from yolobatch.integrations.extraction.menu_squarespace import extract_squarespace_menu
from yolobatch.integrations.extraction.menu_wix import extract_wix_menu
from yolobatch.integrations.extraction.platforms.deliveroo import deliveroo_menu_state, extract_deliveroo_menu
from yolobatch.integrations.extraction.platforms.grab import extract_grab_menu, grab_merchant_state
from yolobatch.integrations.extraction.platforms.state import State
from yolobatch.integrations.extraction.platforms.talabat import extract_talabat_menu, talabat_menu_state
from yolobatch.integrations.extraction.platforms.ubereats import extract_ubereats_menu, ubereats_store_state

Strategy = Callable[[Document, list[ExtractionWarning]], RawMenu | None]


def _noting(state: State, warnings: list[ExtractionWarning]) -> None:
    if state.warning is not None and state.warning not in warnings:
        warnings.append(state.warning)


def _deliveroo(doc: Document, warnings: list[ExtractionWarning]) -> RawMenu | None:
    menu, state = deliveroo_menu_state(doc)
    _noting(state, warnings)
    return extract_deliveroo_menu(menu) if menu is not None else None


def _talabat(doc: Document, warnings: list[ExtractionWarning]) -> RawMenu | None:
    menu, state = talabat_menu_state(doc)
    _noting(state, warnings)
    return extract_talabat_menu(menu) if menu is not None else None


def _ubereats(doc: Document, warnings: list[ExtractionWarning]) -> RawMenu | None:
    store, state = ubereats_store_state(doc)
    _noting(state, warnings)
    return extract_ubereats_menu(store, doc.url) if store is not None else None


def _grab(doc: Document, warnings: list[ExtractionWarning]) -> RawMenu | None:
    merchant, state = grab_merchant_state(doc)
    _noting(state, warnings)
    return extract_grab_menu(merchant) if merchant is not None else None


STRATEGIES: list[tuple[MenuSource, Strategy]] = [
    ("deliveroo", _deliveroo),
    ("talabat", _talabat),
    ("ubereats", _ubereats),
    ("grab", _grab),
    ("jsonld", lambda doc, _warnings: extract_jsonld_menu(doc)),
    ("microdata", lambda doc, _warnings: extract_microdata_menu(doc)),
    ("rdfa", lambda doc, _warnings: extract_rdfa_menu(doc)),
    ("squarespace", lambda doc, _warnings: extract_squarespace_menu(doc)),
    ("wix", lambda doc, _warnings: extract_wix_menu(doc)),
    ("dom", lambda doc, _warnings: extract_dom_menu(doc)),
]


def find_menu(doc: Document) -> tuple[RawMenu | None, MenuSource, list[ExtractionWarning]]:
    """The raw menu of the first strategy whose items survive cleaning, its source, and warnings."""
    warnings: list[ExtractionWarning] = []
    for source, strategy in STRATEGIES:
        raw = strategy(doc, warnings)
        # `build_menu` keeps a category only for an item whose name survives cleaning: the same test.
        if raw is not None and any(clean_name(i.name) for c in raw.categories for i in c.items):
            raw.currency = raw.currency or page_currency(doc) or url_currency(doc.url)
            return raw, source, warnings
    warnings.append(ExtractionWarning(code="no_menu", message=f"No menu found on {doc.url}"))
    return None, "dom", warnings


def extract_menu(doc: Document) -> tuple[Menu | None, MenuSource, list[ExtractionWarning]]:
    """The menu, the strategy that found it ("dom", the last tried, when none did) and warnings."""
    raw, source, warnings = find_menu(doc)
    if raw is None:
        return None, source, warnings
    menu, menu_warnings = build_menu(raw)
    return menu, source, warnings + menu_warnings
