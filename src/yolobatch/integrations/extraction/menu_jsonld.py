"""Menus published as schema.org data: Restaurant.hasMenu → Menu.hasMenuSection → MenuItem.offers."""

from __future__ import annotations

from typing import Any

from yolobatch.integrations.extraction.builder import RawCategory, RawItem, RawMenu, RawOption, RawOptionSet
from yolobatch.integrations.extraction.cleaning import parse_price
from yolobatch.integrations.extraction.document import Document, as_list, first_text, schema_enum, type_names

# schema.org RestrictedDiet members, as the tag names the platform's presets match (reference §4.4 (12)).
DIET_TAGS = {
    "VeganDiet": "vegan",
    "VegetarianDiet": "vegetarian",
    "GlutenFreeDiet": "gluten free",
    "HalalDiet": "halal",
    "KosherDiet": "kosher",
    "LowLactoseDiet": "dairy free",
    "DiabeticDiet": "diabetic",
    "HinduDiet": "hindu",
    "LowCalorieDiet": "low calorie",
    "LowFatDiet": "low fat",
    "LowSaltDiet": "low salt",
}


def extract_jsonld_menu(doc: Document) -> RawMenu | None:
    menus = list(doc.nodes("Menu"))
    sections = [s for menu in menus for s in as_list(menu.get("hasMenuSection"))]
    loose_items = [i for menu in menus for i in as_list(menu.get("hasMenuItem"))]
    if not menus:
        # Some sites publish bare sections or items without the enclosing Menu.
        sections = _outermost_sections(doc)
        loose_items = [] if sections else list(doc.nodes("MenuItem"))
    raw = RawMenu()
    for section in sections:
        if isinstance(section, dict):
            _add_section(section, raw)
    items = [_item(i, raw) for i in loose_items if isinstance(i, dict)]
    if items:
        raw.categories.append(RawCategory(name="Menu", items=items))
    return raw if raw.categories else None


def _outermost_sections(doc: Document) -> list[dict[str, Any]]:
    nested = {
        id(child)
        for section in doc.nodes("MenuSection")
        for child in as_list(section.get("hasMenuSection"))
        if isinstance(child, dict)
    }
    nested |= {
        id(addon)
        for item in doc.nodes("MenuItem")
        for addon in as_list(item.get("menuAddOn"))
        if isinstance(addon, dict)
    }
    return [s for s in doc.nodes("MenuSection") if id(s) not in nested]


def _add_section(section: dict[str, Any], raw: RawMenu) -> None:
    items = [_item(i, raw) for i in as_list(section.get("hasMenuItem")) if isinstance(i, dict)]
    raw.categories.append(
        RawCategory(name=section.get("name"), description=section.get("description"), items=items)
    )
    # Sub-sections ("Pizzas › Vegetarian") become categories of their own: the platform's menu is flat.
    for child in as_list(section.get("hasMenuSection")):
        if isinstance(child, dict):
            _add_section(child, raw)


def _item(node: dict[str, Any], raw: RawMenu) -> RawItem:
    price, currency = _offer(node.get("offers"))
    if currency and not raw.currency:
        raw.currency = currency
    tags: list[object] = [
        DIET_TAGS.get(schema_enum(d), schema_enum(d))
        for d in as_list(node.get("suitableForDiet"))
        if isinstance(d, str)
    ]
    # `keywords` is not a MenuItem property in schema.org, but sites use it for badges ("popular", "hot").
    for keywords in as_list(node.get("keywords")):
        if isinstance(keywords, str):
            tags += [k for k in keywords.split(",") if k.strip()]
    return RawItem(
        name=node.get("name"),
        price=price,
        description=node.get("description"),
        image_url=first_text(node.get("image")),
        tags=tags,
        option_sets=[_add_on(a) for a in as_list(node.get("menuAddOn")) if isinstance(a, dict)],
    )


def _offer(offers: object) -> tuple[Any, str | None]:
    for offer in as_list(offers):
        if not isinstance(offer, dict):
            continue
        price_node = offer
        if offer.get("price") is None and isinstance(offer.get("priceSpecification"), dict):
            price_node = offer["priceSpecification"]
        price = parse_price(
            price_node.get("price") if price_node.get("price") is not None else offer.get("lowPrice")
        )
        if price is not None:
            currency = price_node.get("priceCurrency") or offer.get("priceCurrency")
            return price, currency if isinstance(currency, str) and len(currency) == 3 else None
    return None, None


def _add_on(node: dict[str, Any]) -> RawOptionSet:
    """schema.org has no min/max selections; the builder's defaults (optional, single choice) apply."""
    if "MenuItem" in type_names(node):
        choices = [node]
    else:
        choices = [c for c in as_list(node.get("hasMenuItem")) if isinstance(c, dict)]
    return RawOptionSet(
        name=node.get("name") if "MenuItem" not in type_names(node) else "Add-ons",
        options=[RawOption(name=c.get("name"), price=_offer(c.get("offers"))[0]) for c in choices],
    )
