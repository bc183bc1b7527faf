"""Menus published as schema.org JSON-LD: Restaurant.hasMenu → Menu.hasMenuSection → MenuItem.offers.

Nodes may be nested or shared by `@id` inside a `@graph`; a `hasMenu` that is only a URL (the menu on
another page) yields nothing here, so the page's other strategies get their turn. Names keep whatever
entities the site wrote into its JSON (`Soups &amp; Salads`): the builder decodes them.
"""

from __future__ import annotations

from typing import Any

from yolobatch.integrations.extraction.builder import RawCategory, RawItem, RawMenu, RawOption, RawOptionSet
from yolobatch.integrations.extraction.cleaning import parse_price
from yolobatch.integrations.extraction.document import (
    Document,
    as_list,
    first_text,
    schema_enum,
    type_names,
    walk,
)

# schema.org RestrictedDiet members, as the tag names the platform's presets match.
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
    refs = _Refs(doc)
    menus = list(doc.jsonld_nodes("Menu"))
    sections = [s for menu in menus for s in refs.list(menu.get("hasMenuSection"))]
    loose_items = [i for menu in menus for i in refs.list(menu.get("hasMenuItem"))]
    if not menus:
        # Some sites publish bare sections or items without the enclosing Menu.
        sections = _outermost_sections(doc, refs)
        loose_items = [] if sections else _outermost_items(doc, refs)
    raw = RawMenu()
    for section in sections:
        _add_section(section, raw, refs, set())
    items = [_item(i, raw, refs) for i in loose_items]
    if items:
        raw.categories.append(RawCategory(name="Menu", items=items))
    return raw if raw.categories else None


class _Refs:
    """Resolves `{"@id": "#mains"}` references to the node of that id (a `@graph` with shared nodes)."""

    def __init__(self, doc: Document) -> None:
        self.by_id: dict[str, dict[str, Any]] = {}
        for node in walk(doc.jsonld):
            node_id = node.get("@id")
            if isinstance(node_id, str) and len(node) > 1:
                self.by_id.setdefault(node_id, node)

    def list(self, value: object) -> list[dict[str, Any]]:
        found = []
        for entry in as_list(value):
            if isinstance(entry, dict) and set(entry) == {"@id"}:
                entry = self.by_id.get(str(entry["@id"]))
            if isinstance(entry, dict):
                found.append(entry)
        return found


def _outermost_sections(doc: Document, refs: _Refs) -> list[dict[str, Any]]:
    nested = {
        id(child)
        for section in doc.jsonld_nodes("MenuSection")
        for child in refs.list(section.get("hasMenuSection"))
    }
    nested |= {
        id(addon) for item in doc.jsonld_nodes("MenuItem") for addon in refs.list(item.get("menuAddOn"))
    }
    return [s for s in doc.jsonld_nodes("MenuSection") if id(s) not in nested]


def _outermost_items(doc: Document, refs: _Refs) -> list[dict[str, Any]]:
    add_ons = {id(a) for item in doc.jsonld_nodes("MenuItem") for a in refs.list(item.get("menuAddOn"))}
    return [i for i in doc.jsonld_nodes("MenuItem") if id(i) not in add_ons]


def _add_section(section: dict[str, Any], raw: RawMenu, refs: _Refs, seen: set[int]) -> None:
    if id(section) in seen:  # a reference cycle in a hand-written @graph
        return
    seen.add(id(section))
    items = [_item(i, raw, refs) for i in refs.list(section.get("hasMenuItem"))]
    children = refs.list(section.get("hasMenuSection"))
    if items or not children:  # a section that only groups sub-sections ("Dinner") is no category
        raw.categories.append(
            RawCategory(name=section.get("name"), description=section.get("description"), items=items)
        )
    # Sub-sections ("Pizzas › Vegetarian") become categories of their own: the platform's menu is flat.
    for child in children:
        _add_section(child, raw, refs, seen)


def _item(node: dict[str, Any], raw: RawMenu, refs: _Refs) -> RawItem:
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
        option_sets=[_add_on(a, refs) for a in refs.list(node.get("menuAddOn"))],
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


def _add_on(node: dict[str, Any], refs: _Refs) -> RawOptionSet:
    """schema.org has no min/max selections; the builder's defaults (optional, single choice) apply."""
    if "MenuItem" in type_names(node):
        choices, name = [node], "Add-ons"
    else:
        # An unnamed add-on section is still the dish's add-ons (a group needs a name to be kept).
        choices, name = refs.list(node.get("hasMenuItem")), node.get("name") or "Add-ons"
    return RawOptionSet(
        name=name,
        options=[RawOption(name=c.get("name"), price=_offer(c.get("offers"))[0]) for c in choices],
    )
