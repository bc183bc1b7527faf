"""Turns raw scraped categories/items/option groups into a clean, valid `Menu` plus warnings.

Every menu strategy (JSON-LD, page state, DOM) produces the same raw shapes, so cleaning, option-set
de-duplication and the warnings are decided in exactly one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from yolobatch.domain.extraction import ExtractionWarning
from yolobatch.domain.menu import Menu, MenuCategory, MenuItem, OptionItem, OptionSet
from yolobatch.integrations.extraction.cleaning import clean_name, clean_tag, clean_text

DEFAULT_CURRENCY = "NZD"
MAX_NAME = 200


@dataclass
class RawOption:
    name: object
    price: Decimal | None = None


@dataclass
class RawOptionSet:
    name: object
    min_selections: int | None = None
    max_selections: int | None = None
    options: list[RawOption] = field(default_factory=list)


@dataclass
class RawItem:
    name: object
    price: Decimal | None
    description: object = None
    image_url: str | None = None
    tags: list[object] = field(default_factory=list)
    option_sets: list[RawOptionSet] = field(default_factory=list)
    # Where the platform serves this item's option groups only on request (Uber Eats `getMenuItemV1`):
    # the request body; `RawMenu.options_url` is where it goes.
    options_request: dict[str, Any] | None = None


@dataclass
class RawCategory:
    name: object
    description: object = None
    items: list[RawItem] = field(default_factory=list)


@dataclass
class RawMenu:
    categories: list[RawCategory] = field(default_factory=list)
    currency: str | None = None
    options_url: str | None = None

    def item_count(self) -> int:
        return sum(len(c.items) for c in self.categories)


def build_menu(raw: RawMenu, currency: str | None = None) -> tuple[Menu | None, list[ExtractionWarning]]:
    """The normalised menu, or None (with a `no_menu` warning) when nothing item-like survived cleaning.
    `currency`: the one to assume when the page shows none (the organisation's), else NZD."""
    warnings: list[ExtractionWarning] = []
    option_sets: dict[str, OptionSet] = {}
    # A raw group shared by many items (platforms define groups once) is cleaned once.
    registered: dict[int, str | None] = {}
    categories: list[MenuCategory] = []
    unpriced: list[str] = []
    for raw_category in raw.categories:
        items = [
            item for raw_item in raw_category.items if (item := _item(raw_item, option_sets, registered))
        ]
        unpriced += [n for r in raw_category.items if r.price is None and (n := clean_name(r.name))]
        name = clean_name(raw_category.name) or "Menu"
        if not items:
            # An empty category would import as an empty section on the platform: leave it out, say so.
            warnings.append(
                ExtractionWarning(code="empty_category", message=f"Category {name!r} has no items")
            )
            continue
        categories.append(
            MenuCategory(name=name[:MAX_NAME], description=clean_text(raw_category.description), items=items)
        )
    if not categories:
        warnings.append(ExtractionWarning(code="no_menu", message="No menu items found on the page"))
        return None, warnings
    if unpriced:
        warnings.append(
            ExtractionWarning(
                code="missing_price",
                message=f"{len(unpriced)} item(s) without a readable price, set to 0.00: "
                + ", ".join(unpriced),
            )
        )
    warnings += _image_warnings(categories)
    menu = Menu(
        currency=(raw.currency or currency or DEFAULT_CURRENCY).upper(),
        categories=categories,
        option_sets=list(option_sets.values()),
    )
    return menu, warnings


def _item(
    raw: RawItem,
    option_sets: dict[str, OptionSet],
    registered: dict[int, str | None],
) -> MenuItem | None:
    name = clean_name(raw.name)
    if name is None:
        return None
    tags = list(dict.fromkeys(t for t in (clean_tag(tag) for tag in raw.tags) if t))
    names: list[str] = []
    for raw_set in raw.option_sets:
        if id(raw_set) not in registered:
            registered[id(raw_set)] = _option_set(raw_set, option_sets)
        if (set_name := registered[id(raw_set)]) is not None:
            names.append(set_name)
    return MenuItem(
        name=name[:300],
        # The platform needs a price; 0.00 is what the original imported for unparsable prices.
        price=raw.price if raw.price is not None else Decimal("0.00"),
        description=clean_text(raw.description),
        image_url=raw.image_url or None,
        tags=tags,
        option_sets=list(dict.fromkeys(names)),
    )


def _option_set(raw: RawOptionSet, option_sets: dict[str, OptionSet]) -> str | None:
    """Registers the set and returns its name for the item. Platforms reuse a title for different
    groups (Deliveroo's many "Your Choice Of"): each distinct group gets a name of its own, "Name (2)",
    with the title the diner sees kept in `display_name`."""
    name = clean_name(raw.name)
    items = [
        OptionItem(name=option_name[:MAX_NAME], price=o.price or Decimal("0.00"))
        for o in raw.options
        if (option_name := clean_name(o.name))
    ]
    if name is None or not items:
        return None
    name = name[: MAX_NAME - 8]
    minimum = max(raw.min_selections or 0, 0)
    # Unknown maximum: a single choice, the commonest kind of modifier (size, doneness, base).
    maximum = raw.max_selections if raw.max_selections and raw.max_selections > 0 else 1
    maximum = max(maximum, minimum)
    candidate = OptionSet(
        name=name,
        is_required=minimum >= 1,
        multiple_selections_allowed=maximum > 1,
        min_selections=minimum,
        max_selections=maximum,
        items=items,
    )
    key, copy = name, 1
    while (existing := option_sets.get(key)) is not None:
        if existing.model_copy(update={"name": name, "display_name": None}) == candidate:
            return key
        copy += 1
        key = f"{name} ({copy})"
    option_sets[key] = (
        candidate if key == name else candidate.model_copy(update={"name": key, "display_name": name})
    )
    return key


def _image_warnings(categories: list[MenuCategory]) -> list[ExtractionWarning]:
    items = [item for category in categories for item in category.items]
    missing = [item.name for item in items if not item.image_url]
    if len(missing) == len(items):
        return [ExtractionWarning(code="no_images", message="No item has an image")]
    if missing:
        return [
            ExtractionWarning(
                code="missing_images", message=f"{len(missing)} of {len(items)} items have no image"
            )
        ]
    return []
