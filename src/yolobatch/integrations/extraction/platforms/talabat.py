"""Talabat: `__NEXT_DATA__` → `props.pageProps.initialMenuState`.

`menuData.categories` [{id, name, items: [{id, name, description, price (major units, a number),
image (with `&amp;` left in the JSON), originalImage, hasChoices}]}]; the first category, id -1
("Picks for you 🔥", "اختيارات على ذوقك 🔥"), repeats dishes of the real ones. Choices are not on the
page (`hasChoices` only). `restaurant` has `heroImage` (cover) and `logo`; `currentCountry.currencyISO`
the currency.
"""

from __future__ import annotations

from typing import Any

from yolobatch.integrations.extraction.builder import RawCategory, RawItem, RawMenu
from yolobatch.integrations.extraction.document import Document, as_list
from yolobatch.integrations.extraction.platforms.common import (
    address,
    as_dict,
    as_int,
    image_url,
    major_units,
    path,
    unescape,
)
from yolobatch.integrations.extraction.platforms.state import State, next_data
from yolobatch.integrations.extraction.platforms.store import StoreFacts


def talabat_menu_state(doc: Document) -> tuple[dict[str, Any] | None, State]:
    state = next_data(doc)
    menu = path(state.value, "props", "pageProps", "initialMenuState")
    ok = isinstance(path(menu, "menuData", "categories"), list)
    return (menu if ok else None), state


def extract_talabat_menu(menu: dict[str, Any]) -> RawMenu | None:
    currency = path(menu, "currentCountry", "currencyISO")
    raw = RawMenu(currency=currency if isinstance(currency, str) else None)
    seen: dict[str, RawItem] = {}
    for node in as_list(path(menu, "menuData", "categories")):
        if not isinstance(node, dict) or (as_int(node.get("id")) or 0) < 0:
            continue  # a synthetic section ("Picks for you"): its dishes are listed in their own
        category = RawCategory(name=unescape(node.get("name")))
        for entry in as_list(node.get("items")):
            if isinstance(entry, dict):
                key = str(entry.get("id") or entry.get("name"))
                # A dish listed in two sections is one dish: the same record goes into both.
                category.items.append(seen.setdefault(key, _item(entry)))
        raw.categories.append(category)
    return raw if raw.item_count() else None


def _item(node: dict[str, Any]) -> RawItem:
    return RawItem(
        name=unescape(node.get("name")),
        price=major_units(node.get("price")),
        description=unescape(node.get("description")),
        image_url=image_url(node.get("originalImage")) or image_url(node.get("image")),
    )


def talabat_facts(menu: dict[str, Any]) -> StoreFacts:
    restaurant = as_dict(menu.get("restaurant"))
    city = path(menu, "area", "cityName")
    return StoreFacts(
        cover_image_url=image_url(restaurant.get("heroImage")),
        logo_url=image_url(restaurant.get("logo")),
        address=address(restaurant.get("areaName"), city),
        city=city if isinstance(city, str) else None,
    )
