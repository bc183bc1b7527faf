"""Menus embedded as JavaScript page state by delivery platforms' single-page apps.

Two shapes are understood:
* `<script id="__NEXT_DATA__" type="application/json">` (Next.js, UberEats-like):
  `props.pageProps.store = {title, currencyCode, catalog: [{title, items: [{title, price (cents),
  description, imageUrl, tags, customizations: [{title, minPermitted, maxPermitted, options: [{title,
  price (cents)}]}]}]}]}`.
* `window.__REACT_QUERY_STATE__ = {...};` (React Query, DoorDash-like): `queries[].state.data.menu =
  {currency, categories: [{name, items: [{name, displayPrice "$12.50", description, imageUrl, badges,
  optionGroups: [{name, minSelection, maxSelection, options: [{name, displayPrice}]}]}]}]}`.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from yolobatch.domain.extraction import ExtractionWarning
from yolobatch.integrations.extraction.builder import RawCategory, RawItem, RawMenu, RawOption, RawOptionSet
from yolobatch.integrations.extraction.cleaning import currency_of, parse_price, quantize
from yolobatch.integrations.extraction.document import Document, as_list, walk

REACT_QUERY_MARKER = re.compile(r"__REACT_QUERY_STATE__\s*=\s*")


def next_data(doc: Document, warnings: list[ExtractionWarning]) -> Any:
    """The parsed `__NEXT_DATA__` JSON, or None (with a warning when it is present but broken)."""
    script = doc.tree.css_first("script#__NEXT_DATA__")
    if script is None:
        return None
    try:
        return json.loads(script.text(deep=True))
    except ValueError as exc:
        warnings.append(
            ExtractionWarning(code="invalid_page_state", message=f"__NEXT_DATA__ is not JSON: {exc}")
        )
        return None


def react_query_state(doc: Document, warnings: list[ExtractionWarning]) -> Any:
    for script in doc.tree.css("script"):
        text = script.text(deep=True)
        match = REACT_QUERY_MARKER.search(text)
        if match is None:
            continue
        try:
            # raw_decode stops at the end of the object, so the trailing `;` and other code do not matter.
            value, _end = json.JSONDecoder().raw_decode(text, match.end())
            return value
        except ValueError as exc:
            warnings.append(
                ExtractionWarning(
                    code="invalid_page_state", message=f"__REACT_QUERY_STATE__ is not JSON: {exc}"
                )
            )
            return None
    return None


def next_data_store(data: Any) -> dict[str, Any] | None:
    store = _path(data, "props", "pageProps", "store")
    if isinstance(store, dict):
        return store
    # Tolerate the store moving around inside pageProps between site releases.
    return next((node for node in walk(data) if isinstance(node.get("catalog"), list)), None)


def extract_next_data_menu(data: Any) -> RawMenu | None:
    store = next_data_store(data)
    if store is None:
        return None
    raw = RawMenu(currency=store.get("currencyCode") if isinstance(store.get("currencyCode"), str) else None)
    for section in as_list(store.get("catalog")):
        if isinstance(section, dict):
            items = [_next_item(i) for i in as_list(section.get("items")) if isinstance(i, dict)]
            raw.categories.append(RawCategory(name=section.get("title"), items=items))
    return raw if raw.categories else None


def _cents(value: object) -> Decimal | None:
    # UberEats-style state carries integer cents; anything else is read as a display price.
    if isinstance(value, int) and not isinstance(value, bool):
        return quantize(Decimal(value) / 100) if value >= 0 else None
    return parse_price(value)


def _next_item(node: dict[str, Any]) -> RawItem:
    return RawItem(
        name=node.get("title"),
        price=_cents(node.get("price")),
        description=node.get("description") or node.get("itemDescription"),
        image_url=node.get("imageUrl") if isinstance(node.get("imageUrl"), str) else None,
        tags=[t.get("text") if isinstance(t, dict) else t for t in as_list(node.get("tags"))],
        option_sets=[
            RawOptionSet(
                name=c.get("title"),
                min_selections=_int(c.get("minPermitted")),
                max_selections=_int(c.get("maxPermitted")),
                options=[
                    RawOption(name=o.get("title"), price=_cents(o.get("price")))
                    for o in as_list(c.get("options"))
                    if isinstance(o, dict)
                ],
            )
            for c in as_list(node.get("customizations"))
            if isinstance(c, dict)
        ],
    )


def react_query_menu_node(state: Any) -> dict[str, Any] | None:
    for query in as_list(state.get("queries") if isinstance(state, dict) else None):
        menu = _path(query, "state", "data", "menu")
        if isinstance(menu, dict) and isinstance(menu.get("categories"), list):
            return menu
    return None


def extract_react_query_menu(state: Any) -> RawMenu | None:
    menu = react_query_menu_node(state)
    if menu is None:
        return None
    raw = RawMenu(currency=menu.get("currency") if isinstance(menu.get("currency"), str) else None)
    for category in as_list(menu.get("categories")):
        if isinstance(category, dict):
            items = [_react_item(i, raw) for i in as_list(category.get("items")) if isinstance(i, dict)]
            raw.categories.append(
                RawCategory(name=category.get("name"), description=category.get("description"), items=items)
            )
    return raw if raw.categories else None


def _react_item(node: dict[str, Any], raw: RawMenu) -> RawItem:
    display = node.get("displayPrice")
    if raw.currency is None:
        raw.currency = currency_of(display)
    price = parse_price(display) if display is not None else _cents(node.get("unitAmount"))
    return RawItem(
        name=node.get("name"),
        price=price,
        description=node.get("description"),
        image_url=node.get("imageUrl") if isinstance(node.get("imageUrl"), str) else None,
        tags=[b.get("title") if isinstance(b, dict) else b for b in as_list(node.get("badges"))],
        option_sets=[
            RawOptionSet(
                name=g.get("name"),
                min_selections=_int(g.get("minSelection")),
                max_selections=_int(g.get("maxSelection")),
                options=[
                    RawOption(name=o.get("name"), price=parse_price(o.get("displayPrice")))
                    for o in as_list(g.get("options"))
                    if isinstance(o, dict)
                ],
            )
            for g in as_list(node.get("optionGroups"))
            if isinstance(g, dict)
        ],
    )


def _int(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _path(value: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value
