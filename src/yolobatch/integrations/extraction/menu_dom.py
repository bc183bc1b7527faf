"""Last resort: a menu read from plain HTML by a generic heuristic.

An *item* is the outermost element that holds exactly one price and a name, where
* a price is an element whose class mentions "price", or whose own text is a lone amount ("$12.50");
* a name is the first h3-h6, `[class*=name]`, `[class*=title]` or `<strong>` inside it.
Its *category* is the nearest `<h2>` before it in document order ("Menu" when there is none). Images,
descriptions (`[class*=desc]` or a `<p>`) and tags (`[class*=tag]`, `[class*=badge]`) are read when
present. Option sets are not guessed from plain HTML: they live in modals that are not in the page.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborNode as Node

from yolobatch.integrations.extraction.builder import RawCategory, RawItem, RawMenu
from yolobatch.integrations.extraction.cleaning import currency_of, parse_price
from yolobatch.integrations.extraction.document import Document

LONE_AMOUNT = re.compile(r"^\s*(?:[A-Z]{2,3}\s?)?[$€£¥]?\s?\d{1,5}(?:[.,]\d{2})?\s*(?:[A-Z]{3})?\s*$")
NAME_SELECTOR = "h3, h4, h5, h6, [class*=name], [class*=title], strong"
SKIPPED_TAGS = frozenset({"script", "style", "noscript", "template", "head", "nav", "footer"})
CONTAINER_TAGS = frozenset({"article", "li", "div", "section", "tr", "a"})


def extract_dom_menu(doc: Document) -> RawMenu | None:
    body = doc.tree.body
    if body is None:
        return None
    raw = RawMenu()
    by_name: dict[str, RawCategory] = {}
    category = "Menu"
    inside: Node | None = None  # the item being read; its descendants are not items of their own
    for node in body.traverse():
        if node.tag in SKIPPED_TAGS or _in_skipped(node):
            continue
        if inside is not None and _is_descendant(node, inside):
            continue
        inside = None
        if node.tag == "h2":
            category = node.text(deep=True, separator=" ").strip() or category
            continue
        if node.tag not in CONTAINER_TAGS:
            continue
        if node.css_first("h1, h2") is not None:
            # Holds a category heading, so it is a section (or the page), not an item.
            continue
        prices = _prices(node)
        if len(prices) != 1:
            continue
        name_node = node.css_first(NAME_SELECTOR)
        if name_node is None or _is_price(name_node):
            continue
        inside = node
        price_text = prices[0].text(deep=True, separator=" ")
        raw.currency = raw.currency or currency_of(price_text)
        if category not in by_name:
            by_name[category] = RawCategory(name=category)
            raw.categories.append(by_name[category])
        by_name[category].items.append(_item(node, name_node, price_text, doc))
    return raw if raw.item_count() else None


def _item(node: Node, name_node: Node, price_text: str, doc: Document) -> RawItem:
    description = node.css_first("[class*=desc]") or next(
        (p for p in node.css("p") if not _is_price(p) and p.mem_id != name_node.mem_id), None
    )
    image = node.css_first("img")
    image_url = None
    if image is not None:
        image_url = doc.absolute(image.attributes.get("src") or image.attributes.get("data-src"))
    return RawItem(
        name=name_node.text(deep=True, separator=" "),
        price=parse_price(price_text),
        description=description.text(deep=True, separator=" ") if description is not None else None,
        image_url=image_url,
        tags=[t.text(deep=True) for t in node.css("[class*=tag], [class*=badge]")],
    )


def _prices(node: Node) -> list[Node]:
    found = [n for n in node.css("*") if _is_price(n)]
    # A price element containing a price element ("<div class=price><span>$12</span>") is one price.
    return [n for n in found if not any(other is not n and _is_descendant(other, n) for other in found)]


def _is_price(node: Node) -> bool:
    if "price" in (node.attributes.get("class") or "").lower():
        return True
    own_text = node.text(deep=False)
    return bool(own_text and LONE_AMOUNT.match(own_text))


def _is_descendant(node: Node, ancestor: Node) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.mem_id == ancestor.mem_id:
            return True
        parent = parent.parent
    return False


def _in_skipped(node: Node) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.tag in SKIPPED_TAGS:
            return True
        parent = parent.parent
    return False
