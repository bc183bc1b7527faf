"""Menu extraction: the strategies in order of trust, the first that yields items wins.

Structured data is the site's own statement about its menu, embedded page state is the platform's
internal model, a site builder's widget has one known markup, and the DOM heuristic is a guess, hence
JSON-LD → microdata → RDFa → `__NEXT_DATA__` → `__REACT_QUERY_STATE__` → Squarespace menu block →
Wix menu widget → DOM.
"""

from __future__ import annotations

from collections.abc import Callable

from yolobatch.domain.extraction import ExtractionWarning, MenuSource
from yolobatch.domain.menu import Menu
from yolobatch.integrations.extraction.builder import RawMenu, build_menu
from yolobatch.integrations.extraction.currency import page_currency
from yolobatch.integrations.extraction.document import Document
from yolobatch.integrations.extraction.menu_dom import extract_dom_menu
from yolobatch.integrations.extraction.menu_jsonld import extract_jsonld_menu
from yolobatch.integrations.extraction.menu_microdata import extract_microdata_menu, extract_rdfa_menu
from yolobatch.integrations.extraction.menu_squarespace import extract_squarespace_menu
from yolobatch.integrations.extraction.menu_state import (
    extract_next_data_menu,
    extract_react_query_menu,
    next_data,
    react_query_state,
)
from yolobatch.integrations.extraction.menu_wix import extract_wix_menu

Strategy = Callable[[Document, list[ExtractionWarning]], RawMenu | None]

STRATEGIES: list[tuple[MenuSource, Strategy]] = [
    ("jsonld", lambda doc, _warnings: extract_jsonld_menu(doc)),
    ("microdata", lambda doc, _warnings: extract_microdata_menu(doc)),
    ("rdfa", lambda doc, _warnings: extract_rdfa_menu(doc)),
    ("next_data", lambda doc, warnings: extract_next_data_menu(next_data(doc, warnings))),
    ("react_query", lambda doc, warnings: extract_react_query_menu(react_query_state(doc, warnings))),
    ("squarespace", lambda doc, _warnings: extract_squarespace_menu(doc)),
    ("wix", lambda doc, _warnings: extract_wix_menu(doc)),
    ("dom", lambda doc, _warnings: extract_dom_menu(doc)),
]


def extract_menu(doc: Document) -> tuple[Menu | None, MenuSource, list[ExtractionWarning]]:
    """The menu, the strategy that found it ("dom", the last tried, when none did) and warnings."""
    warnings: list[ExtractionWarning] = []
    for source, strategy in STRATEGIES:
        raw = strategy(doc, warnings)
        if raw is None or raw.item_count() == 0:
            continue
        raw.currency = raw.currency or page_currency(doc)
        menu, menu_warnings = build_menu(raw)
        if menu is not None:
            return menu, source, warnings + menu_warnings
    warnings.append(ExtractionWarning(code="no_menu", message=f"No menu found on {doc.url}"))
    return None, "dom", warnings
