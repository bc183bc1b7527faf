"""Uber Eats: `<script type="application/json" id="__REACT_QUERY_STATE__">` holding the `getStoreV1`
payload, and per-item option groups from `getMenuItemV1`.

The store query's `state.data` has `uuid`, `title`, `heroImageUrls` [{url, width}], `location`,
`phoneNumber`, `metaJson` (the store as a schema.org Restaurant, hours as "10:0") and
`catalogSectionsMap` {sectionUuid: [{type: "HORIZONTAL_GRID" | "VERTICAL_GRID" | "EATER_MESSAGE",
catalogSectionUUID, payload: {standardItemsPayload: {title: {text}, catalogItems: [{uuid, title,
itemDescription, price (minor units, may be fractional), imageUrl, hasCustomizations, sectionUuid,
subsectionUuid}]}}}]}. A dish sits in every section it is listed in; a carousel (HORIZONTAL_GRID) whose
dishes are all listed elsewhere is a synthetic "Featured"/"Picks for you" row.

Option groups are not on the page: the web app asks `POST /_p/api/getMenuItemV1` with {itemRequestType:
"ITEM", storeUuid, sectionUuid, subsectionUuid, menuItemUuid} and the header `x-csrf-token: x`; the
answer's `data.customizationsList` holds [{title, minPermitted, maxPermitted, options: [{title,
price}]}].
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from urllib.parse import urljoin

import httpx

from yolobatch.domain.extraction import ExtractionWarning
from yolobatch.integrations.extraction.builder import RawCategory, RawItem, RawMenu, RawOption, RawOptionSet
from yolobatch.integrations.extraction.cleaning import currency_of
from yolobatch.integrations.extraction.document import Document, as_list
from yolobatch.integrations.extraction.errors import ExtractionError
from yolobatch.integrations.extraction.fetch import post_json
from yolobatch.integrations.extraction.guard import UrlGuard
from yolobatch.integrations.extraction.platforms.common import (
    COUNTRY_CURRENCY,
    address,
    as_dict,
    as_int,
    image_url,
    minor_units,
    path,
    selection_limit,
    unescape,
)
from yolobatch.integrations.extraction.platforms.state import State, react_query_state
from yolobatch.integrations.extraction.platforms.store import StoreFacts

ITEM_ENDPOINT = "/_p/api/getMenuItemV1"
CAROUSEL = "HORIZONTAL_GRID"
ITEM_SECTIONS = frozenset({"HORIZONTAL_GRID", "VERTICAL_GRID", "LIST", "GRID"})
DIET_BADGES = {
    "GLUTEN_FREE": "gluten free",
    "VEGAN": "vegan",
    "VEGETARIAN": "vegetarian",
    "HALAL": "halal",
    "DAIRY_FREE": "dairy free",
    "NUT_FREE": "nut free",
    "SPICY": "spicy",
}
# Rows Uber Eats composes from the store's own sections.
FEATURED_TITLES = frozenset(
    {"picks for you", "featured items", "popular items", "most popular", "recommended for you"}
)


def ubereats_store_state(doc: Document) -> tuple[dict[str, Any] | None, State]:
    state = react_query_state(doc)
    for query in as_list(path(state.value, "queries")):
        data = path(query, "state", "data")
        if isinstance(data, dict) and isinstance(data.get("catalogSectionsMap"), dict):
            return data, state
    return None, state


def _currency(store: dict[str, Any], sections: list[tuple[str, object, list[dict[str, Any]]]]) -> str | None:
    """Stated, else shown in a display price ("NZ$12.50", "€9.90"), else the store's country's."""
    if isinstance(store.get("currencyCode"), str):
        return store["currencyCode"]
    for _kind, _title, entries in sections:
        for entry in entries:
            if shown := currency_of(path(entry, "priceTagline", "text")):
                return shown
    return COUNTRY_CURRENCY.get(str(path(store, "location", "country") or "").upper())


def extract_ubereats_menu(store: dict[str, Any], page_url: str) -> RawMenu | None:
    sections = _subsections(store)
    currency = _currency(store, sections)
    listed: dict[str, int] = {}
    for _kind, _title, entries in sections:
        for entry in entries:
            listed[str(entry.get("uuid"))] = listed.get(str(entry.get("uuid")), 0) + 1
    raw = RawMenu(currency=currency, options_url=urljoin(page_url, ITEM_ENDPOINT))
    seen: dict[str, RawItem] = {}
    by_title: dict[str, RawCategory] = {}
    for kind, title, entries in sections:
        repeated = bool(entries) and all(listed[str(e.get("uuid"))] > 1 for e in entries)
        featured = kind == CAROUSEL or str(title or "").strip().casefold() in FEATURED_TITLES
        if repeated and featured:
            continue  # "Featured items" / "Picks for you": every dish is also in its own section
        # A store with several menus (breakfast, all day) repeats a section under each: one category.
        key = str(title or "").strip().casefold()
        category = by_title.get(key)
        if category is None:
            category = by_title[key] = RawCategory(name=title)
            raw.categories.append(category)
        for entry in entries:
            item = seen.setdefault(
                str(entry.get("uuid") or entry.get("title")), _item(entry, store, currency)
            )
            if not any(listed_item is item for listed_item in category.items):
                category.items.append(item)
    return raw if raw.item_count() else None


def _subsections(store: dict[str, Any]) -> list[tuple[str, object, list[dict[str, Any]]]]:
    catalog = store["catalogSectionsMap"]
    order = [str(s.get("uuid")) for s in as_list(store.get("sections")) if isinstance(s, dict)]
    order += [key for key in catalog if key not in order]
    found: list[tuple[str, object, list[dict[str, Any]]]] = []
    done: set[object] = set()
    for key in order:
        for sub in as_list(catalog.get(key)):
            if not isinstance(sub, dict) or sub.get("type") not in ITEM_SECTIONS:
                continue  # banners ("EATER_MESSAGE") and anything else without dishes
            payload = path(sub, "payload", "standardItemsPayload") or {}
            uuid = sub.get("catalogSectionUUID") or id(sub)
            if uuid in done:
                continue
            done.add(uuid)
            title = payload.get("title")
            title = title.get("text") or title.get("title") if isinstance(title, dict) else title
            entries = [e for e in as_list(payload.get("catalogItems")) if isinstance(e, dict)]
            found.append((str(sub.get("type")), unescape(title), entries))
    return found


def _item(node: dict[str, Any], store: dict[str, Any], currency: str | None) -> RawItem:
    request = None
    if node.get("hasCustomizations") is True and node.get("uuid"):
        request = {
            "itemRequestType": "ITEM",
            "storeUuid": store.get("uuid"),
            "sectionUuid": node.get("sectionUuid") or "",
            "subsectionUuid": node.get("subsectionUuid") or "",
            "menuItemUuid": node.get("uuid"),
            "cbType": "EATER_ENDORSED",
        }
    return RawItem(
        name=unescape(node.get("title")),
        price=minor_units(node.get("price"), currency),
        description=unescape(node.get("itemDescription")),
        image_url=image_url(node.get("imageUrl")),
        tags=list(_diet_badges(node)),
        options_request=request,
    )


def _diet_badges(node: dict[str, Any]) -> list[str]:
    """Diet badges shown as icons after the title: `titleBadge.accessibilityText` reads
    "BBQ Chicken Bowl, GLUTEN_FREE"."""
    text = path(node, "titleBadge", "accessibilityText")
    title = node.get("title")
    if not isinstance(text, str) or not isinstance(title, str) or not text.startswith(title):
        return []
    codes = [code.strip() for code in text[len(title) :].split(",")]
    return [DIET_BADGES[code] for code in codes if code in DIET_BADGES]


def option_groups(payload: object, currency: str | None) -> list[RawOptionSet]:
    """The groups of a `getMenuItemV1` answer (nested child groups are left out: the menu import has
    one level of options)."""
    groups = []
    for group in as_list(path(payload, "data", "customizationsList")):
        if not isinstance(group, dict):
            continue
        options = [
            RawOption(name=unescape(o.get("title")), price=minor_units(o.get("price") or 0, currency))
            for o in as_list(group.get("options"))
            if isinstance(o, dict)
        ]
        groups.append(
            RawOptionSet(
                name=unescape(group.get("title")),
                min_selections=as_int(group.get("minPermitted")),
                max_selections=selection_limit(as_int(group.get("maxPermitted")), len(options)),
                options=options,
            )
        )
    return groups


async def fetch_item_options(
    raw: RawMenu,
    *,
    http: httpx.AsyncClient,
    guard: UrlGuard,
    timeout: float,
    budget: int,
    per_second: float,
) -> list[ExtractionWarning]:
    """Asks for each item's option groups, at most `budget` requests at `per_second`, each through the
    URL guard. An item whose groups cannot be had keeps none, with a warning; the menu still stands."""
    if raw.options_url is None:
        return []
    pending = {
        id(item): item
        for category in raw.categories
        for item in category.items
        if item.options_request is not None and not item.option_sets
    }
    items = list(pending.values())
    warnings: list[ExtractionWarning] = []
    failed: list[str] = []
    interval, last = 1.0 / per_second, 0.0
    for item in items[:budget]:
        wait = last + interval - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        last = time.monotonic()
        try:
            answer = await post_json(
                raw.options_url,
                item.options_request,
                http=http,
                guard=guard,
                headers={"x-csrf-token": "x"},
                timeout=timeout,
            )
        except ExtractionError as exc:
            failed.append(f"{item.name} ({exc.code})")
            continue
        item.option_sets = option_groups(answer, raw.currency)
    if failed:
        warnings.append(
            ExtractionWarning(
                code="item_options_unavailable",
                message=f"Option groups of {len(failed)} item(s) could not be read: " + ", ".join(failed),
            )
        )
    if len(items) > budget:
        warnings.append(
            ExtractionWarning(
                code="item_options_budget",
                message=f"{len(items) - budget} item(s) with options were not asked for theirs "
                f"(budget {budget} requests per page)",
            )
        )
    return warnings


def ubereats_facts(store: dict[str, Any]) -> StoreFacts:
    heroes = [h for h in as_list(store.get("heroImageUrls")) if isinstance(h, dict) and h.get("url")]
    hero = max(heroes, key=lambda h: as_int(h.get("width")) or 0, default=None)
    location = as_dict(store.get("location"))
    meta: dict[str, Any] = {}
    if isinstance(store.get("metaJson"), str):
        try:
            loaded = json.loads(store["metaJson"])
            meta = loaded if isinstance(loaded, dict) else {}
        except ValueError:
            meta = {}
    phone = store.get("phoneNumber") if isinstance(store.get("phoneNumber"), str) else None
    facts = StoreFacts(
        cover_image_url=image_url(hero.get("url")) if hero else None,
        phone=phone or (meta.get("telephone") if isinstance(meta.get("telephone"), str) else None),
        address=address(
            location.get("streetAddress") or location.get("address"),
            location.get("city"),
            location.get("region"),
            location.get("postalCode"),
            location.get("country"),
        ),
        city=location.get("city") if isinstance(location.get("city"), str) else None,
        business=meta,
    )
    return facts
