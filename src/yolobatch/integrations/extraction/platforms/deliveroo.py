"""Deliveroo: `__NEXT_DATA__` → `props.initialState.menuPage.menu`.

`metas.root` holds `categories` [{id, name}], `items` [{id, categoryId, name, description, price:
{code, fractional, formatted}, image: {url with {w}/{h}}, popular, modifierGroupIds}] and
`modifierGroups` [{id, name, minSelection, maxSelection, modifierOptions: [{name, price}]}]. The item
list also carries every modifier option as an entry with an empty `categoryId` (unavailable, price 0):
those are the options' own records, not dishes. `header.image` is the store's cover photo.
"""

from __future__ import annotations

import re
from typing import Any

from yolobatch.integrations.extraction.builder import RawCategory, RawItem, RawMenu, RawOption, RawOptionSet
from yolobatch.integrations.extraction.cleaning import parse_price
from yolobatch.integrations.extraction.document import Document, as_list
from yolobatch.integrations.extraction.platforms.common import (
    COUNTRY_CURRENCY,
    address,
    as_int,
    image_url,
    minor_units,
    path,
    selection_limit,
    unescape,
)
from yolobatch.integrations.extraction.platforms.state import State, next_data
from yolobatch.integrations.extraction.platforms.store import StoreFacts

PHONE = re.compile(r"\+?\d[\d\s().-]{6,}\d")


def deliveroo_menu_state(doc: Document) -> tuple[dict[str, Any] | None, State]:
    state = next_data(doc)
    menu = path(state.value, "props", "initialState", "menuPage", "menu")
    return (menu if _root(menu) is not None else None), state


def _root(menu: object) -> dict[str, Any] | None:
    # `metas.root` on current pages; earlier releases of the page kept the same record at `meta`.
    for root in (path(menu, "metas", "root"), path(menu, "meta")):
        if isinstance(root, dict) and isinstance(root.get("items"), list):
            return root
    return None


def extract_deliveroo_menu(menu: dict[str, Any]) -> RawMenu | None:
    root = _root(menu) or {}
    currency = _currency(root)
    groups = {str(g.get("id")): g for g in as_list(root.get("modifierGroups")) if isinstance(g, dict)}
    categories: dict[str, RawCategory] = {
        str(c.get("id")): RawCategory(name=unescape(c.get("name")))
        for c in as_list(root.get("categories"))
        if isinstance(c, dict) and c.get("id") is not None
    }
    parsed: dict[str, RawOptionSet] = {}  # each group read once, however many dishes carry it
    for node in as_list(root.get("items")):
        if not isinstance(node, dict):
            continue
        category = categories.get(str(node.get("categoryId") or ""))
        if category is None:
            continue  # a modifier option's own record, listed among the items without a category
        category.items.append(_item(node, groups, parsed, currency))
    raw = RawMenu(categories=list(categories.values()), currency=currency)
    return raw if raw.item_count() else None


def _currency(root: dict[str, Any]) -> str | None:
    """`restaurant.currencyCode` where the page has it; some markets' pages (deliveroo.be) only carry
    each price's own `code`, and failing both the restaurant's country decides."""
    code = path(root, "restaurant", "currencyCode")
    if isinstance(code, str) and code.strip():
        return code.strip().upper()
    for node in as_list(root.get("items")):
        code = path(node, "price", "code")
        if isinstance(code, str) and code.strip():
            return code.strip().upper()
    country = path(root, "restaurant", "location", "address", "country")
    return COUNTRY_CURRENCY.get(country.upper()) if isinstance(country, str) else None


def _price(value: object, currency: str | None) -> Any:
    """`fractional` (minor units) where present, else the display string ("AED 46", "£12.50")."""
    if not isinstance(value, dict):
        return None
    amount = minor_units(value.get("fractional"), value.get("code") or currency)
    return amount if amount is not None else parse_price(value.get("formatted"))


def _item(
    node: dict[str, Any],
    groups: dict[str, dict[str, Any]],
    parsed: dict[str, RawOptionSet],
    currency: str | None,
) -> RawItem:
    return RawItem(
        name=unescape(node.get("name")),
        price=_price(node.get("price"), currency),
        description=unescape(node.get("description")),
        image_url=image_url(path(node, "image", "url")),
        tags=["popular"] if node.get("popular") is True else [],
        option_sets=[
            parsed.get(str(gid)) or parsed.setdefault(str(gid), _group(groups[str(gid)], currency))
            for gid in as_list(node.get("modifierGroupIds"))
            if str(gid) in groups
        ],
    )


def _group(group: dict[str, Any], currency: str | None) -> RawOptionSet:
    options = [
        RawOption(name=unescape(o.get("name")), price=_price(o.get("price"), currency))
        for o in as_list(group.get("modifierOptions"))
        if isinstance(o, dict)
    ]
    return RawOptionSet(
        name=unescape(group.get("name")),
        min_selections=as_int(group.get("minSelection")),
        max_selections=selection_limit(as_int(group.get("maxSelection")), len(options)),
        options=options,
    )


def deliveroo_facts(menu: dict[str, Any]) -> StoreFacts:
    location = path(_root(menu), "restaurant", "location", "address") or {}
    city = location.get("city") if isinstance(location, dict) else None
    city = city.title() if isinstance(city, str) and city.islower() else city
    return StoreFacts(
        # `metatags.image` is the restaurant's own share photo where the header carries none (deliveroo.be).
        cover_image_url=image_url(path(menu, "header", "image", "url"))
        or image_url(path(_root(menu), "metatags", "image")),
        phone=_phone(menu),
        address=address(location.get("address1"), location.get("postCode")) if location else None,
        city=city if isinstance(city, str) else None,
    )


def _phone(menu: dict[str, Any]) -> str | None:
    """The store's number: an action line of the info modal's contact block, whose header is localised
    ("Coordonnées", "Contact details"), so the line is known by its shape."""
    for group in as_list(menu.get("layoutGroups")):
        for layout in as_list(path(group, "layouts")):
            for block in as_list(path(layout, "blocks")):
                for action in as_list(path(block, "actions")):
                    for line in as_list(path(action, "lines")):
                        for span in as_list(path(line, "spans")):
                            text = path(span, "text")
                            if isinstance(text, str) and PHONE.fullmatch(text.strip()):
                                return text.strip()
    return None
