"""GrabFood: `__NEXT_DATA__` → `props.initialReduxState.pageRestaurantDetail.entities[merchantId]`.

The merchant entity has `name`, `photoHref` (cover), `phoneNumber`, `address.combinedAddress`,
`openingHours` {mon..sun: "11:00am-10:00pm", displayedHours}, `currency` {code, symbol, exponent} and
`menu.categories` [{ID, name, available, items: [{ID, name, description, available, priceInMinorUnit,
imgHref, modifierGroups: [{name, selectionRangeMin, selectionRangeMax, modifiers: [{name,
priceInMinorUnit}]}]}]}]. `priceInMinorUnit` is in units of 10^-exponent of the currency (IDR has
exponent 2 on Grab, VND 0): dividing by 100 unconditionally is a known way to get prices wrong.
Personalised sections ("Pesanan Terakhirmu": your last orders) repeat dishes and are not categories.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from yolobatch.integrations.extraction.builder import RawCategory, RawItem, RawMenu, RawOption, RawOptionSet
from yolobatch.integrations.extraction.cleaning import quantize
from yolobatch.integrations.extraction.document import Document, as_list
from yolobatch.integrations.extraction.platforms.common import (
    as_int,
    image_url,
    path,
    selection_limit,
    unescape,
)
from yolobatch.integrations.extraction.platforms.state import State, next_data
from yolobatch.integrations.extraction.platforms.store import StoreFacts

# Grab's personalised sections, by the names it gives them in its markets.
PERSONAL_SECTIONS = frozenset(
    {
        "pesanan terakhirmu",
        "your last order",
        "order again",
        "đặt lại",
        "สั่งอีกครั้ง",
        "for you",
        "recommended for you",
    }
)


def grab_merchant_state(doc: Document) -> tuple[dict[str, Any] | None, State]:
    state = next_data(doc)
    entities = path(state.value, "props", "initialReduxState", "pageRestaurantDetail", "entities")
    if isinstance(entities, dict):
        for entity in entities.values():
            if isinstance(path(entity, "menu", "categories"), list):
                return entity, state
    return None, state


def _money(amount: object, exponent: int) -> Decimal | None:
    if isinstance(amount, bool) or not isinstance(amount, int | float) or amount < 0:
        return None
    return quantize(Decimal(str(amount)).scaleb(-exponent))


def extract_grab_menu(merchant: dict[str, Any]) -> RawMenu | None:
    exponent = as_int(path(merchant, "currency", "exponent"))
    exponent = exponent if exponent is not None and 0 <= exponent <= 4 else 2
    code = path(merchant, "currency", "code")
    raw = RawMenu(currency=code if isinstance(code, str) else None)
    categories = [c for c in as_list(path(merchant, "menu", "categories")) if isinstance(c, dict)]
    seen: dict[str, RawItem] = {}
    for node in categories:
        name = unescape(node.get("name"))
        if name is None or name.strip().casefold() in PERSONAL_SECTIONS:
            continue
        category = RawCategory(name=name)
        for entry in as_list(node.get("items")):
            if isinstance(entry, dict):
                key = str(entry.get("ID") or entry.get("name"))
                category.items.append(seen.setdefault(key, _item(entry, exponent)))
        raw.categories.append(category)
    return raw if raw.item_count() else None


def _item(node: dict[str, Any], exponent: int) -> RawItem:
    price = node.get("priceInMinorUnit")
    if price is None:
        price = path(node, "priceV2", "amountInMinor")
    return RawItem(
        name=unescape(node.get("name")),
        price=_money(price, exponent),
        description=unescape(node.get("description")),
        image_url=image_url(node.get("imgHref")),
        option_sets=[_group(g, exponent) for g in as_list(node.get("modifierGroups")) if isinstance(g, dict)],
    )


def _group(group: dict[str, Any], exponent: int) -> RawOptionSet:
    options = [
        RawOption(name=unescape(m.get("name")), price=_money(m.get("priceInMinorUnit") or 0, exponent))
        for m in as_list(group.get("modifiers"))
        if isinstance(m, dict)
    ]
    return RawOptionSet(
        name=unescape(group.get("name")),
        min_selections=as_int(group.get("selectionRangeMin")),
        max_selections=selection_limit(as_int(group.get("selectionRangeMax")), len(options)),
        options=options,
    )


def grab_facts(merchant: dict[str, Any]) -> StoreFacts:
    combined = path(merchant, "address", "combinedAddress")
    city = path(merchant, "address", "city")
    phone = merchant.get("phoneNumber")
    return StoreFacts(
        cover_image_url=image_url(merchant.get("photoHref")),
        phone=phone if isinstance(phone, str) and phone.strip() else None,
        address=unescape(combined) if isinstance(combined, str) and combined.strip() else None,
        city=city if isinstance(city, str) and city.strip() else None,
        business={"openingHours": grab_hours(merchant.get("openingHours"))},
    )


DAY_KEYS = {"mon": "Mo", "tue": "Tu", "wed": "We", "thu": "Th", "fri": "Fr", "sat": "Sa", "sun": "Su"}


def grab_hours(hours: object) -> list[str]:
    """Grab's "11:00am-10:00pm" per day as schema.org `openingHours` text ("Mo 11:00-22:00")."""
    if not isinstance(hours, dict):
        return []
    entries = []
    for key, code in DAY_KEYS.items():
        for span in str(hours.get(key) or "").split(","):
            ends = [_clock(end) for end in span.split("-")]
            if len(ends) == 2 and None not in ends:
                entries.append(f"{code} {ends[0]}-{ends[1]}")
    return entries


def _clock(text: str) -> str | None:
    text = text.strip().lower()
    suffix = text[-2:] if text[-2:] in ("am", "pm") else ""
    parts = text.removesuffix(suffix).strip().split(":")
    if not parts[0].isdigit() or (len(parts) > 1 and not parts[1].isdigit()):
        return None
    hour, minute = int(parts[0]), int(parts[1]) if len(parts) > 1 else 0
    if suffix:
        hour = hour % 12 + (12 if suffix == "pm" else 0)
    return f"{hour:02d}:{minute:02d}" if hour < 24 and minute < 60 else None
