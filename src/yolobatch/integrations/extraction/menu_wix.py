"""Wix's restaurant menu widget, server-rendered into the page with a stable `data-hook` contract:

    [data-hook="section.container"]  [data-hook="section.name"]
      [data-hook="item.container"]  item.name · item.description · item.price-container › item.price

Its category tabs may quote prices ("Liberian Dishes - $8"), so only a price inside an item counts.
"""

from __future__ import annotations

from selectolax.lexbor import LexborNode as Node

from yolobatch.integrations.extraction.builder import RawCategory, RawItem, RawMenu
from yolobatch.integrations.extraction.cleaning import clean_name, currency_of, parse_price
from yolobatch.integrations.extraction.document import Document


def extract_wix_menu(doc: Document) -> RawMenu | None:
    if doc.tree.css_first('[data-hook="item.container"]') is None:
        return None
    raw = RawMenu()
    by_name: dict[str, RawCategory] = {}
    sections = doc.tree.css('[data-hook="section.container"]')
    if not sections and doc.tree.body is not None:
        sections = [doc.tree.body]
    for section in sections:
        title = _text(section.css_first('[data-hook="section.name"]'))
        name = clean_name(title) or "Menu"
        if name not in by_name:
            by_name[name] = RawCategory(
                name=name, description=_text(section.css_first('[data-hook="section.description"]'))
            )
            raw.categories.append(by_name[name])
        for item in section.css('[data-hook="item.container"]'):
            by_name[name].items.append(_item(item, raw, doc))
    return raw if raw.item_count() else None


def _item(node: Node, raw: RawMenu, doc: Document) -> RawItem:
    price_text = _text(node.css_first('[data-hook="item.price"]'))
    raw.currency = raw.currency or currency_of(price_text)
    image = node.css_first("img")
    return RawItem(
        name=_text(node.css_first('[data-hook="item.name"]')),
        price=parse_price(price_text),
        description=_text(node.css_first('[data-hook="item.description"]')),
        image_url=doc.absolute(image.attributes.get("src")) if image is not None else None,
    )


def _text(node: Node | None) -> str | None:
    return node.text(deep=True, separator=" ") if node is not None else None
