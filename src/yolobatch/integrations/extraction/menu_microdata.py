"""Menus marked up in the page itself: schema.org microdata (`itemscope`) and RDFa (`typeof`).

Read from the DOM rather than from extruct's item list, because real pages rarely link the scopes with
properties: a WordPress menu block writes `MenuItem` scopes with no `itemprop="hasMenuItem"` and puts its
sections in plain headings between them, so an item list alone loses every section. Here an item's
category is its innermost enclosing `MenuSection` scope that has a name, else the nearest heading
(h2–h4 or a class-named title) before it outside any item. Only `MenuItem` scopes become items, so a
`PostalAddress` or `LocalBusiness` next to the menu never turns its postcode into a dish.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from selectolax.lexbor import LexborNode as Node

from yolobatch.integrations.extraction.builder import RawCategory, RawItem, RawMenu, RawOption, RawOptionSet
from yolobatch.integrations.extraction.cleaning import parse_price
from yolobatch.integrations.extraction.document import Document, schema_enum
from yolobatch.integrations.extraction.headings import heading_text, is_heading
from yolobatch.integrations.extraction.menu_jsonld import DIET_TAGS


@dataclass(frozen=True)
class Syntax:
    """Which attributes open a scope, name its type and name a property."""

    scope: str
    type_attr: str
    prop: str

    def is_scope(self, node: Node) -> bool:
        attributes = node.attributes
        if self.scope != self.type_attr and self.scope not in attributes:
            return False
        return bool(attributes.get(self.type_attr))

    def types(self, node: Node) -> set[str]:
        raw = node.attributes.get(self.type_attr) or ""
        names = (schema_enum(t.split(":")[-1]) for t in raw.split())
        # Hand-written templates get the case wrong ("schema.org/menuItem"): the type is still meant.
        return {_MENU_TYPES.get(n.lower(), n) for n in names}

    def props(self, node: Node) -> set[str]:
        raw = node.attributes.get(self.prop) or ""
        return {t.split(":")[-1].rsplit("/", 1)[-1] for t in raw.split()}


_NAME_SELECTOR = "h2, h3, h4, h5, h6, [class*=name], [class*=title], strong"
_URL_TAGS = {"a": "href", "link": "href", "area": "href", "img": "src", "source": "src", "iframe": "src"}

_MENU_TYPES = {t.lower(): t for t in ("Menu", "MenuSection", "MenuItem", "Offer")}

MICRODATA = Syntax(scope="itemscope", type_attr="itemtype", prop="itemprop")
RDFA = Syntax(scope="typeof", type_attr="typeof", prop="property")


def extract_microdata_menu(doc: Document) -> RawMenu | None:
    return _extract(doc, MICRODATA)


def extract_rdfa_menu(doc: Document) -> RawMenu | None:
    return _extract(doc, RDFA)


def _extract(doc: Document, syntax: Syntax) -> RawMenu | None:
    body = doc.tree.body
    if body is None or not any(
        "MenuItem" in syntax.types(n) for n in body.css(f"[{syntax.type_attr}]") if syntax.is_scope(n)
    ):
        return None
    raw = RawMenu()
    by_name: dict[str, RawCategory] = {}
    heading: str | None = None
    inside: Node | None = None
    for node in body.traverse():
        if inside is not None and _is_descendant(node, inside):
            continue
        inside = None
        if syntax.is_scope(node) and "MenuItem" in syntax.types(node):
            inside = node
            category = _section_name(node, syntax) or heading or "Menu"
            item, currency = _item(node, syntax, doc)
            raw.currency = raw.currency or currency
            if category not in by_name:
                by_name[category] = RawCategory(name=category)
                raw.categories.append(by_name[category])
            by_name[category].items.append(item)
        elif is_heading(node):
            heading = heading_text(node) or heading
    return raw if raw.item_count() else None


def _section_name(item: Node, syntax: Syntax) -> str | None:
    parent = item.parent
    while parent is not None:
        if syntax.is_scope(parent) and "MenuSection" in syntax.types(parent):
            name = _first_value(_properties(parent, syntax).get("name", []))
            if name:
                return name
        parent = parent.parent
    return None


def _item(node: Node, syntax: Syntax, doc: Document) -> tuple[RawItem, str | None]:
    props = _properties(node, syntax)
    price, currency = None, None
    for offer in props.get("offers", []):
        offer_props = _properties(offer, syntax) if syntax.is_scope(offer) else {"price": [offer]}
        price = parse_price(_first_value(offer_props.get("price", []) + offer_props.get("lowPrice", [])))
        currency = _first_value(offer_props.get("priceCurrency", []))
        if price is not None:
            break
    if price is None and props.get("price"):
        price = parse_price(_first_value(props["price"]))
    option_sets = [_add_on(a, syntax) for a in props.get("menuAddOn", []) if syntax.is_scope(a)]
    if price is None and len(option_sets) == 1 and _all_priced(option_sets[0]):
        # A dish priced only through its add-on's choices ("Small $12 · Large $18") is sold in those
        # variants: the cheapest is its price, and one of them must be chosen.
        price, option_sets = _variants(option_sets[0])
    if price is None:
        # Marked-up dishes whose price the theme left outside the markup: its visible price element.
        shown = next((n for n in node.css("[class*=price], [class*=Price]") if _has_amount(n)), None)
        price = parse_price(shown.text(deep=True, separator=" ")) if shown is not None else None
    name = _first_value(props.get("name", []))
    if name is None:
        # A MenuItem scope without an `itemprop="name"`: its first heading or name-like element.
        shown = next((n for n in node.css(_NAME_SELECTOR) if n.mem_id != node.mem_id), None)
        name = shown.text(deep=True, separator=" ") if shown is not None else None
    tags: list[object] = []
    for diet in props.get("suitableForDiet", []):
        value = schema_enum(_value(diet, url=True))
        tags.append(DIET_TAGS.get(value, value))
    images = [doc.absolute(_value(i, url=True)) for i in props.get("image", [])]
    return (
        RawItem(
            name=name,
            price=price,
            description=_first_value(props.get("description", [])),
            image_url=next((i for i in images if i), None),
            tags=tags,
            option_sets=option_sets,
        ),
        currency if currency and len(currency) == 3 else None,
    )


def _add_on(node: Node, syntax: Syntax) -> RawOptionSet:
    """schema.org has no min/max selections; the builder's defaults (optional, single choice) apply."""
    props = _properties(node, syntax)
    if "MenuItem" in syntax.types(node):
        choices, name = [node], "Add-ons"
    else:
        choices = [c for c in props.get("hasMenuItem", []) if syntax.is_scope(c)]
        # Themes often leave the add-on section unnamed: it still is the dish's add-ons.
        name = _first_value(props.get("name", [])) or "Add-ons"
    options = []
    for choice in choices:
        choice_props = _properties(choice, syntax)
        offers = choice_props.get("offers", [])
        price_nodes = [
            p for o in offers if syntax.is_scope(o) for p in _properties(o, syntax).get("price", [])
        ]
        options.append(
            RawOption(
                name=_first_value(choice_props.get("name", [])), price=parse_price(_first_value(price_nodes))
            )
        )
    return RawOptionSet(name=name, options=options)


def _all_priced(group: RawOptionSet) -> bool:
    return len(group.options) >= 2 and all(o.price is not None and o.name for o in group.options)


def _variants(group: RawOptionSet) -> tuple[Decimal, list[RawOptionSet]]:
    base = min(o.price for o in group.options if o.price is not None)
    options = [RawOption(name=o.name, price=(o.price or base) - base) for o in group.options]
    name = group.name if group.name != "Add-ons" else "Size"
    return base, [RawOptionSet(name=name, min_selections=1, max_selections=1, options=options)]


def _properties(scope: Node, syntax: Syntax) -> dict[str, list[Node]]:
    """The scope's own properties: nested scopes are values, their insides belong to them."""
    found: dict[str, list[Node]] = {}
    stack = list(_children(scope))
    while stack:
        node = stack.pop(0)
        for prop in syntax.props(node):
            found.setdefault(prop, []).append(node)
        if not syntax.is_scope(node):
            stack[0:0] = list(_children(node))
    return found


def _children(node: Node) -> list[Node]:
    children = []
    child = node.child
    while child is not None:
        if child.tag != "-text" and child.tag != "_comment":
            children.append(child)
        child = child.next
    return children


def _value(node: Node, *, url: bool = False) -> str:
    """A property's value: `content` first, then a link's target for URL properties, else the text.

    Names are read as text even inside `<a href>`, which microdata would make the link: sites wrap dish
    names in links to the dish page, and a URL is never what the owner meant as the name.
    """
    attributes = node.attributes
    if attributes.get("content"):
        return str(attributes["content"])
    if url and node.tag in _URL_TAGS:
        return str(attributes.get(_URL_TAGS[node.tag]) or attributes.get("resource") or "")
    if node.tag in ("meta", "data", "time"):
        return str(attributes.get("value") or attributes.get("datetime") or "")
    return node.text(deep=True, separator=" ")


def _first_value(nodes: list[Node]) -> str | None:
    for node in nodes:
        value = _value(node).strip()
        if value:
            return value
    return None


def _has_amount(node: Node) -> bool:
    return any(c.isdigit() for c in node.text(deep=True)[:40])


def _is_descendant(node: Node, ancestor: Node) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.mem_id == ancestor.mem_id:
            return True
        parent = parent.parent
    return False
