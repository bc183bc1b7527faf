"""Squarespace's Menu Block (`.menu-block`, data-block-type 18), the same markup under every theme:

    .menu-block .menus .menu[aria-label=TAB]            one pane per menu tab (labels in .menu-select-labels)
      .menu-section .menu-section-title                 a section (title optional)
        .menu-items .menu-item
          .menu-item-price-top  <span.currency-sign>$</span>14     one of the two prices is shown,
          .menu-item-title / .menu-item-description               the other repeats it
          .menu-item-price-bottom

The generic DOM heuristic sees two prices in every item and gives up on them, so the block gets its own
reader. A section title used in more than one tab ("WHITE" by the glass and by the bottle) is qualified
with its tab, because merging the two would mix glass and bottle prices in one category.
"""

from __future__ import annotations

from selectolax.lexbor import LexborNode as Node

from yolobatch.integrations.extraction.builder import RawCategory, RawItem, RawMenu
from yolobatch.integrations.extraction.cleaning import clean_name, currency_of, parse_price
from yolobatch.integrations.extraction.document import Document

_PRICE = ".menu-item-price-top, .menu-item-price-bottom"


def extract_squarespace_menu(doc: Document) -> RawMenu | None:
    blocks = doc.tree.css(".menu-block")
    if not blocks:
        return None
    sections: list[tuple[str | None, str | None, Node]] = []  # (tab, title, section)
    for block in blocks:
        panes = block.css(".menu") or [block]
        labels = [clean_name(label.text(deep=True)) for label in block.css(".menu-select-labels")]
        for index, pane in enumerate(panes):
            tab = clean_name(pane.attributes.get("aria-label")) or (
                labels[index] if index < len(labels) else None
            )
            for section in pane.css(".menu-section"):
                title_node = section.css_first(".menu-section-title")
                title = (
                    clean_name(title_node.text(deep=True, separator=" ")) if title_node is not None else None
                )
                sections.append((tab, title, section))
    tabs_of: dict[str, set[str | None]] = {}
    for tab, title, _ in sections:
        tabs_of.setdefault(title or "", set()).add(tab)
    raw = RawMenu()
    by_name: dict[str, RawCategory] = {}
    for tab, title, section in sections:
        name = title or tab or "Menu"
        if title and tab and len(tabs_of[title]) > 1:
            name = f"{tab} · {title}"
        items = [_item(node, raw, doc) for node in section.css(".menu-item")]
        if name not in by_name:
            by_name[name] = RawCategory(name=name)
            raw.categories.append(by_name[name])
        by_name[name].items += [i for i in items if i is not None]
    return raw if raw.item_count() else None


def _item(node: Node, raw: RawMenu, doc: Document) -> RawItem | None:
    title = node.css_first(".menu-item-title")
    if title is None:
        return None
    prices = [p.text(deep=True, separator="") for p in node.css(_PRICE)]
    price_text = next((p for p in prices if parse_price(p) is not None), None)
    raw.currency = raw.currency or currency_of(price_text)
    description = node.css_first(".menu-item-description")
    image = node.css_first("img")
    return RawItem(
        name=title.text(deep=True, separator=""),
        price=parse_price(price_text),
        description=description.text(deep=True, separator=" ") if description is not None else None,
        image_url=doc.absolute(image.attributes.get("data-src") or image.attributes.get("src"))
        if image is not None
        else None,
    )
