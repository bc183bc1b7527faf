"""Last resort: a menu read from plain HTML by a generic heuristic.

Prices anchor everything. A *price* is an element whose class mentions "price" (any case; not its
label, currency or name parts), whose `itemprop` is "price", or whose own short text is a lone amount
with a currency or two decimals ("$12.50", "5,90 €", "3€", "12.50", "٢٥٫٠٠ ر.س"). A bare number
("10115", "62") is not a price unless its class says so: postcodes, phone numbers and menu numbers are
bare numbers too, and allergen codes ("1,10") sit in small print.

An *item* is the largest element around one price that holds no other price; its *name* is the
innermost `[class*=name|title]` in it (not a section title), else its deepest heading or `<strong>`,
else a table cell / list text before the price, else the name-like sibling just before a bare price.
Sibling prices labelled only with sizes (`9"`, "Small", "Glass") are one dish's sizes, as is a price
text like "6oz 13, 9oz 19.5, Btl 50": the smallest is the price, the others a required "Size" group.
Only entries shaped like another entry are kept (a lone "Delivery 2,50 €" box is no dish). An item's
*category* is the nearest section heading before it outside any item (`headings.is_heading`: h2–h4 or
a class-named title; "Menu" when none). Descriptions (`[class*=desc]` or a `<p>`), images and tags
(`[class*=tag|badge]`) are read when present. Other option groups live in modals that are not in the page.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from decimal import Decimal

from selectolax.lexbor import LexborNode as Node

from yolobatch.integrations.extraction.builder import RawCategory, RawItem, RawMenu, RawOption, RawOptionSet
from yolobatch.integrations.extraction.cleaning import LOCAL_DIGITS, currency_of, parse_price
from yolobatch.integrations.extraction.document import Document
from yolobatch.integrations.extraction.dom_tree import before as _before
from yolobatch.integrations.extraction.dom_tree import contains as _contains
from yolobatch.integrations.extraction.dom_tree import is_descendant as _is_descendant
from yolobatch.integrations.extraction.dom_tree import path as _path
from yolobatch.integrations.extraction.headings import class_words, heading_text, is_heading, is_section_class

_CURRENCY = r"(?:[$€£¥₹₪₺₩₫฿₱]|R\$|zł|kr|Kč|Rs\.?|د\.إ|ر\.س|د\.ك|ر\.ق|[A-Z]{3}|[A-Z]{2}\$)"
_AMOUNT = r"\d{1,4}(?:[.,\s]\d{3})*(?:[.,]\d{1,2})?(?:[.,][-–])?"
# Leaders before the amount ("…… 9,50", ". . . 12.00") belong to the price's layout, not its value.
LONE_AMOUNT = re.compile(rf"^[\s.…·_]*\+?\s*(?:{_CURRENCY}\s?)?{_AMOUNT}\s?(?:{_CURRENCY})?\s*\*?\s*$")
_HAS_CURRENCY = re.compile(_CURRENCY)
_DIGIT = re.compile(r"\d")
_HAS_CENTS = re.compile(r"\d[.,]\d{2}\s*\D*$")
# Page chrome and controls. Not <form>: ordering widgets wrap each dish in an add-to-cart form.
SKIPPED_TAGS = frozenset(
    {"script", "style", "noscript", "template", "head", "nav", "footer", "header", "select", "button", "svg"}
)
_NAME_CLASS = re.compile(r"name|title")
_NAME_RANK = {"h6": 0, "h5": 1, "h4": 2, "h3": 3, "strong": 4, "b": 5, "dt": 6, "h2": 7}
_NAME_TAGS = frozenset(_NAME_RANK)
# "6oz 16, 9oz 24, Btl 62", "Small 12 / Large 16", "16oz 7.5": a price per size in one price element.
_SIZE_PAIR = re.compile(
    r"(?P<label>\d+(?:[.,]\d+)?\s?(?:oz|ml|cl|l|ltr|g|kg|cm|in|inch|\"|pcs?|pieces?)\b\.?"
    r"|[^\W\d_][^\d,/|$€£]*?)\s*[:\-–]?\s*(?P<amount>[$€£]?\s?\d+(?:[.,]\d{1,2})?\s?€?)\s*(?:[,/|]\s*|$)",
    re.IGNORECASE,
)
# Labels that name a size, not a dish: 9", 30cm, 0,33l, 16oz, Small, Large, Glass, Bottle...
_SIZE_LABEL = re.compile(
    r"^(?:[øØ⌀]?\s?\d+(?:[.,]\d+)?\s?(?:\"|”|''|cm|mm|in|inch|oz|ml|cl|l|ltr|g|kg|pcs?|stk|st)\.?"
    r"|(?:x?s|m|x*l|small|medium|large|regular|family|party|kids?|mini|maxi|half|full|single|double|triple"
    r"|glass|bottle|btl|carafe|pint|jug|cup|bowl|slice|whole|klein|mittel|gro(?:ss|ß)|petit|moyen|grand"
    r"|piccola|media|grande|normal|jumbo)\b.{0,12})$",
    re.IGNORECASE,
)
_ALLERGEN_CODES = re.compile(r"^\(?\s*\w{1,2}(?:\s*[,.;/]\s*\w{1,2})*\s*\)?$")
# "Pizza Margherita ........ 5,90 €", "Tasse Kaffee – 1.50€": a name, leaders, then the amount.
_LINE = re.compile(
    rf"^(?P<name>.*?[^\d\s.…·–—-])[\s.…·–—-]+(?P<amount>(?:{_CURRENCY}\s?)?{_AMOUNT}\s?(?:{_CURRENCY})?)\s*\*?$"
)
_LINE_ITEM_TAGS = frozenset({"li", "p", "dd", "dt", "div", "td", "span"})
_SMALL_PRINT = frozenset({"em", "i", "sup", "sub", "small"})
_PRICE_WORDS = ("price", "prix", "preis", "precio", "prezzo", "preco", "preço")
_PRICE_PARTS = ("lbl", "label", "currency", "unit", "name", "title", "size", "separator", "image", "desc")
_LINE_TAGS = frozenset({"td", "th", "span", "div", "p", "a", "em", "i"})
# Price columns a dish may carry (sizes side by side); more bare amounts in one row are not one dish.
_MAX_COLUMNS = 4
# A menu number in an element of its own at the start of a name (`<i class="nr">063</i>Pizza Calimero`).
_OWN_NUMBER = re.compile(r"^\s*#?[A-Za-z]?\d{1,3}[a-zA-Z]?[.)]?\s*$")


def extract_dom_menu(doc: Document) -> RawMenu | None:
    body = doc.tree.body
    if body is None:
        return None
    # Node ids are only unique within one parsed page, and pages are parsed in worker threads.
    _memo.prices = {}
    try:
        return _extract(doc, body)
    finally:
        _memo.prices = {}


def _extract(doc: Document, body: Node) -> RawMenu | None:
    raw = _element_menu(doc, body)
    if raw is not None and raw.item_count() >= 2:
        return raw
    # One stray price ("Gift cards from $25") must not hide a menu typed as lines of text.
    lines = _line_menu(body)
    if lines is not None and lines.item_count() > (raw.item_count() if raw else 0):
        return lines
    # A single priced element ("Gift voucher $50", "Delivery from $5") is no menu.
    return None


def _element_menu(doc: Document, body: Node) -> RawMenu | None:
    items = _item_elements(body)
    if not items:
        return None
    names = {item.mem_id: _name_node(item) for item in items}
    items, tiers = _tiered(items, names)
    items = _repeated(items, names)
    # A name found outside its item (a heading just before a bare price) is the item's, not a section's.
    name_ids = {n.mem_id for n in names.values() if n is not None}
    item_ids = {item.mem_id for item in items}
    raw = RawMenu()
    by_name: dict[str, RawCategory] = {}
    category = "Menu"
    inside: Node | None = None
    for node in body.traverse():
        if inside is not None and _is_descendant(node, inside):
            continue
        inside = None
        if node.mem_id in item_ids:
            inside = node
            name_node = names[node.mem_id]
            # A section heading inside the item's box, before its name (a one-dish section), titles it.
            for heading in _inner_headings(node, name_node):
                category = heading_text(heading) or category
            if name_node is None:
                continue
            sizes = tiers.get(node.mem_id)
            price_text = sizes[0][1] if sizes else _price_nodes(node)[0].text(deep=True, separator=" ")
            raw.currency = raw.currency or currency_of(price_text)
            _add(raw, by_name, category, _item(node, name_node, price_text, doc, sizes))
        elif node.mem_id not in name_ids and is_heading(node) and not _in_skipped(node):
            category = heading_text(node) or category
    if raw.currency is None:
        # A currency sign set apart from the amounts (WPPizza's "wppizza-article-price-currency").
        signs = (currency_of(n.text(deep=True)) for n in body.css("[class*=currency], [class*=Currency]"))
        raw.currency = next((c for c in signs if c), None)
    return raw if raw.item_count() else None


def _add(raw: RawMenu, by_name: dict[str, RawCategory], category: str, item: RawItem) -> None:
    """Files the item under its category once: menu tabs (lunch, dinner) repeat whole sections."""
    if category not in by_name:
        by_name[category] = RawCategory(name=category)
        raw.categories.append(by_name[category])
    same = (str(item.name).split(), item.price)
    if not any((str(other.name).split(), other.price) == same for other in by_name[category].items):
        by_name[category].items.append(item)


def _line_menu(body: Node) -> RawMenu | None:
    """A menu typed as lines of text ("Pizza Margherita ...... 5,90 €"), each line one element."""
    raw = RawMenu()
    by_name: dict[str, RawCategory] = {}
    category = "Menu"
    inside: Node | None = None
    for node in body.traverse():
        if inside is not None and _is_descendant(node, inside):
            continue
        inside = None
        if node.tag in SKIPPED_TAGS or _in_skipped(node):
            continue
        line = _line(node)
        if line is not None:
            inside = node
            name, price_text = line
            raw.currency = raw.currency or currency_of(price_text)
            _add(raw, by_name, category, RawItem(name=name, price=parse_price(price_text)))
        elif is_heading(node) or _bold_line(node):
            category = heading_text(node) or category
    return raw if raw.item_count() >= 2 else None


def _bold_line(node: Node) -> bool:
    """ "<p><strong>STARTERS</strong></p>": a typed menu's section title, bold and without a number."""
    if node.tag not in ("p", "div", "li"):
        return False
    text = node.text(deep=True).strip()
    bold = " ".join(n.text(deep=True) for n in _inside(node, "strong, b")).strip()
    return bool(text) and bold == text and len(text) <= 60 and not _DIGIT.search(text)


def _line(node: Node) -> tuple[str, str] | None:
    if node.tag not in _LINE_ITEM_TAGS or _inside(node, "div, p, li, tr, table, ul, ol, h1, h2, h3, h4"):
        return None
    if _is_price(node) or any(_is_price(n) for n in _inside(node)):
        return None  # a price in an element of its own: the element heuristic's, not a typed line
    text = " ".join(node.text(deep=True, separator=" ").split())
    if len(text) > 160:
        return None
    match = _LINE.match(text.translate(LOCAL_DIGITS))
    if match is None or sum(c.isalpha() for c in match.group("name")) < 2:
        return None
    amount = match.group("amount")
    if not (_HAS_CURRENCY.search(amount) or _HAS_CENTS.search(amount)):
        return None
    return match.group("name"), amount


def _item_elements(body: Node) -> list[Node]:
    """For every price, the largest element around it that holds no other price (and no page title)."""
    prices = [p for p in body.traverse() if _is_price(p) and not _in_skipped(p)]
    # A currency or "Market price" label beside an amount ("<span class=price-main>25</span>
    # <span class=price-currency>ر.س</span>") is part of that price, not a second one.
    prices = [p for p in prices if _has_digit(p) or not _beside_an_amount(p)]
    price_ids = {p.mem_id for p in prices}
    # Innermost prices only: "<div class=price><span>$12</span></div>" is one price, not two.
    innermost = [p for p in prices if not any(n.mem_id in price_ids for n in _inside(p))]
    # Counted once per ancestor, so climbing is cheap on a page of thousands of prices.
    below: dict[int, int] = {}
    for node in innermost + _inside(body, "h1"):
        weight = 1 if node.tag != "h1" else 2
        parent = node.parent
        while parent is not None:
            below[parent.mem_id] = below.get(parent.mem_id, 0) + weight
            parent = parent.parent
    items: dict[int, Node] = {}
    for price in innermost:
        box = price
        while box.parent is not None and box.parent.tag not in ("body", "html", "main"):
            if below.get(box.parent.mem_id, 0) > 1:
                break
            box = box.parent
        items[box.mem_id] = box
    return list(items.values())


def _tiered(
    items: list[Node], names: dict[int, Node | None]
) -> tuple[list[Node], dict[int, list[tuple[str, str]]]]:
    """Sibling price boxes labelled only with sizes (WPPizza's `9" 5,50 · 12" 7,50`, "Small $10 · Large
    $14") are one dish's sizes: the dish is their nearest ancestor with exactly one name outside them."""
    by_parent: dict[int, list[Node]] = {}
    for item in items:
        if item.parent is not None:
            by_parent.setdefault(item.parent.mem_id, []).append(item)
    tiers: dict[int, list[tuple[str, str]]] = {}
    replaced: set[int] = set()
    columns: dict[int, list[str] | None] = {}  # column labels found per ancestor, read once per section
    for boxes in by_parent.values():
        if len(boxes) < 2 or any(_proper_name(names[b.mem_id]) for b in boxes):
            continue
        labels = [_tier_label(b) for b in boxes]
        if not any(labels) and len(boxes) <= _MAX_COLUMNS:
            # Bare amounts side by side ("6,50 € 8,50 €"): sizes whose labels head the section's price
            # columns ("Normal Groß", "ø 26 cm ø 30 cm"); unlabelled, they are one dish's prices.
            labels = _column_labels(boxes, columns) or [""] * len(boxes)
        elif not all(_SIZE_LABEL.match(label) for label in labels):
            continue
        dish = _dish_around(boxes, names)
        if dish is None:
            continue
        box_ids = {b.mem_id for b in boxes}
        replaced |= box_ids
        names[dish[0].mem_id] = dish[1]
        amounts = [_price_nodes(b)[0].text(deep=True, separator=" ") for b in boxes]
        tiers[dish[0].mem_id] = list(zip(labels, amounts, strict=True))
    kept = [i for i in items if i.mem_id not in replaced]
    return _in_document_order(kept + _unique_nodes(items, tiers)), tiers


def _column_labels(boxes: list[Node], found: dict[int, list[str] | None]) -> list[str] | None:
    """The size labels heading a section's price columns: the closest element before the dish, in one
    of its ancestors, whose children are exactly one size label per price and which holds no price."""
    ancestor = boxes[0].parent
    for _ in range(8):
        if ancestor is None or ancestor.tag in ("body", "html", "main"):
            return None
        if ancestor.mem_id not in found:
            found[ancestor.mem_id] = None
            for node in _inside(ancestor):
                children = [c for c in node.iter() if c.tag not in ("-text", "_comment")]
                texts = [" ".join(c.text(deep=True).split()) for c in children]
                if (
                    len(children) >= 2
                    and all(t and _SIZE_LABEL.match(t) for t in texts)
                    and not _is_price(node)
                    and not any(_is_price(c) for c in _inside(node))
                    and _before(node, boxes[0])
                ):
                    found[ancestor.mem_id] = texts  # the last before the dish: the nearest heading
        labels = found[ancestor.mem_id]
        if labels is not None:
            return labels if len(labels) == len(boxes) else None
        if any(is_heading(n) for n in _inside(ancestor)):
            return None  # the dish's own section has no column labels: the next one's are not its
        ancestor = ancestor.parent
    return None


def _proper_name(node: Node | None) -> bool:
    return node is not None and (node.tag in _NAME_TAGS or bool(_NAME_CLASS.search(class_words(node))))


def _tier_label(box: Node) -> str:
    price = _price_nodes(box)[0]
    text = box.text(deep=True, separator=" ").replace(price.text(deep=True, separator=" "), " ")
    return " ".join(text.split())


def _dish_around(boxes: list[Node], names: dict[int, Node | None]) -> tuple[Node, Node] | None:
    box_ids = {b.mem_id for b in boxes}
    ancestor = boxes[0].parent
    for _ in range(4):
        if ancestor is None or ancestor.tag in ("body", "html", "main"):
            return None
        outside = [
            n
            for n in _inside(ancestor)
            if _proper_name(n) and not is_section_class(n) and not any(_contains(b, n) for b in boxes)
        ]
        outside = [n for n in outside if not any(o.mem_id != n.mem_id and _contains(n, o) for o in outside)]
        others = [
            i
            for i, name in names.items()
            if i not in box_ids and name is not None and _contains(ancestor, name)
        ]
        if len(outside) == 1 and not others and _has_words(outside[0]):
            return ancestor, outside[0]
        if len(outside) > 1 or others:
            return None
        ancestor = ancestor.parent
    return None


def _unique_nodes(items: list[Node], tiers: dict[int, list[tuple[str, str]]]) -> list[Node]:
    found: dict[int, Node] = {}
    for item in items:
        node = item.parent
        while node is not None:
            if node.mem_id in tiers:
                found[node.mem_id] = node
                break
            node = node.parent
    return list(found.values())


def _in_document_order(nodes: list[Node]) -> list[Node]:
    return sorted(nodes, key=_path)


def _repeated(items: list[Node], names: dict[int, Node | None]) -> list[Node]:
    """Only entries shaped like another entry: a menu is a list of look-alike dishes, while a lone
    "Minimum order 15,00 €" or "Delivery 2,50 €" box on a directory page is shaped like nothing else."""
    shapes = {item.mem_id: _shape(item, names[item.mem_id]) for item in items}
    counts = Counter(shapes.values())
    if max(counts.values()) < 2:
        return items
    return [item for item in items if counts[shapes[item.mem_id]] >= 2]


def _shape(item: Node, name: Node | None) -> tuple[str, str]:
    """Dishes share their name's markup; prices vary more ("price", "price is right", no class)."""
    return ("", item.tag or "") if name is None else (name.tag or "", class_words(name))


def _inside(node: Node, selector: str = "*") -> list[Node]:
    """Descendants matching `selector` (lexbor's `css` also matches the node itself)."""
    return [n for n in node.css(selector) if n.mem_id != node.mem_id]


def _price_nodes(item: Node) -> list[Node]:
    """The item's innermost prices ("<li class=price><span>6,50</span>": the span)."""
    found = [n for n in _inside(item) if _is_price(n) and (_has_digit(n) or not _beside_an_amount(n))]
    innermost = [n for n in found if not any(o is not n and _is_descendant(o, n) for o in found)]
    return innermost or ([item] if _is_price(item) else [])


def _name_node(item: Node) -> Node | None:
    price = _price_nodes(item)[0]
    candidates = [n for n in _inside(item) if not _contains(n, price) and not _contains(price, n)]
    by_class = [n for n in candidates if _NAME_CLASS.search(class_words(n)) and not is_section_class(n)]
    # The innermost of nested name boxes: "item-title-row" around "item-title" is a row, not the name.
    by_class = [n for n in by_class if not any(o.mem_id != n.mem_id and _contains(n, o) for o in by_class)]
    # The deepest heading level first: in a one-dish section's box the h2 titles the section, the h4 the dish.
    by_tag = sorted((n for n in candidates if n.tag in _NAME_TAGS), key=lambda n: _NAME_RANK[n.tag or ""])
    for node in by_class + by_tag:
        if _has_words(node):
            return node
    # A table row or a list line: the first cell or span with words before the price.
    for node in candidates:
        if (
            node.tag in _LINE_TAGS
            and _has_words(node)
            and _before(node, price)
            and not _has_block_children(node)
        ):
            return node
    if item is not price and sum(c.isalpha() for c in item.text(deep=False)) >= 2:
        # "<li>Suprême de poulet <span class=text-prix>…… 14,50</span></li>": the line's own words.
        return item
    if item is price or not candidates:
        sibling = item.prev
        for _ in range(4):
            while sibling is not None and sibling.tag in ("-text", "_comment"):
                sibling = sibling.prev
            if sibling is None or _is_price(sibling) or any(_is_price(n) for n in _inside(sibling)):
                return None
            if (sibling.tag in _NAME_TAGS or _NAME_CLASS.search(class_words(sibling))) and _has_words(
                sibling
            ):
                return sibling
            sibling = sibling.prev
    return None


def _inner_headings(item: Node, name_node: Node | None) -> list[Node]:
    if name_node is None or not _is_descendant(name_node, item):
        return []
    return [
        h
        for h in _inside(item)
        if h.mem_id != name_node.mem_id
        and not _contains(h, name_node)
        and not _contains(name_node, h)
        and is_heading(h)
        and _before(h, name_node)
    ]


def _item(
    node: Node, name_node: Node, price_text: str, doc: Document, sizes: list[tuple[str, str]] | None
) -> RawItem:
    price = _price_nodes(node)[0]
    description = next(
        (
            d
            for d in _inside(node, "[class*=desc], [class*=Desc], p")
            if not _contains(d, price) and not _contains(d, name_node) and not _contains(name_node, d)
        ),
        None,
    )
    image = next(iter(_inside(node, "img")), None)
    image_url = None
    if image is not None:
        image_url = doc.absolute(image.attributes.get("src") or image.attributes.get("data-src"))
    name = name_node.text(deep=False) if name_node.mem_id == node.mem_id else _name_text(name_node)
    description_text = description.text(deep=True, separator=" ") if description is not None else None
    own = name_node.text(deep=False)
    if name_node.tag in _LINE_TAGS and _inside(name_node, "br, small") and sum(c.isalpha() for c in own) >= 2:
        # "Pizza Margherita<br><small>mit Tomatensauce</small>" in one cell: the name, then its description.
        description_text = description_text or " ".join(
            n.text(deep=True, separator=" ") for n in _inside(name_node, "small, span, em, i")
        )
        name = own
    if sizes:
        price_value, groups = _size_group([(label, parse_price(amount)) for label, amount in sizes])
    else:
        price_value, groups = _sized_price(price_text)
    return RawItem(
        name=name,
        price=price_value,
        option_sets=groups,
        description=description_text or None,
        image_url=image_url,
        tags=[t.text(deep=True) for t in _inside(node, "[class*=tag], [class*=badge]")],
    )


def _name_text(node: Node) -> str:
    """The name without its allergen codes ("<em>1,3,7</em>", "<sup>A,G</sup>") in small print."""
    text = node.text(deep=True, separator=" ")
    first = next((c for c in node.iter(include_text=True) if c.text(deep=True).strip()), None)
    if first is not None and first.tag != "-text" and _OWN_NUMBER.match(first.text(deep=True)):
        text = text.replace(first.text(deep=True), " ", 1)
    for small in _inside(node, ",".join(_SMALL_PRINT)):
        codes = small.text(deep=True).strip()
        if codes and _ALLERGEN_CODES.match(codes):
            text = text.replace(codes, " ", 1)
    return text


def _sized_price(text: str) -> tuple[Decimal | None, list[RawOptionSet]]:
    """The price, and a required "Size" group when the text prices several sizes.

    The smallest size's amount is the item's price; each size's option costs the difference, which is
    how the platform adds a modifier's price to the item's.
    """
    text = text.strip()
    pairs = list(_SIZE_PAIR.finditer(text))
    if not pairs or "".join(m.group(0) for m in pairs).strip() != text:
        return parse_price(text), []
    sized = [(m.group("label").strip(), parse_price(m.group("amount"))) for m in pairs]
    if any(amount is None for _, amount in sized):
        return parse_price(text), []
    return _size_group(sized)


def _size_group(sized: list[tuple[str, Decimal | None]]) -> tuple[Decimal | None, list[RawOptionSet]]:
    amounts = [amount for _, amount in sized if amount is not None]
    if not amounts:
        return None, []
    base = min(amounts)
    if len(sized) == 1 or not all(label for label, _ in sized):
        return base, []  # unlabelled prices (sizes without names, or a struck-out price): the lowest
    options = [RawOption(name=label, price=amount - base) for label, amount in sized if amount is not None]
    return base, [RawOptionSet(name="Size", min_selections=1, max_selections=1, options=options)]


_memo = threading.local()


def _is_price(node: Node) -> bool:
    """Cached per page: every helper asks about the same few thousand nodes many times over."""
    cache: dict[int, bool] = _memo.prices
    found = cache.get(node.mem_id)
    if found is None:
        found = cache[node.mem_id] = _looks_like_price(node)
    return found


def _price_class(words: str) -> bool:
    """A class naming a price, in the languages restaurant sites are written in ("text-prix", "Preis")."""
    return any(word in words for word in _PRICE_WORDS)


def _looks_like_price(node: Node) -> bool:
    if node.tag in SKIPPED_TAGS or node.tag in ("-text", "_comment", "img", "body", "html"):
        return False
    if node.attributes.get("itemprop") == "price":
        return True
    words = class_words(node)
    if _price_class(words):
        # Parts and neighbours of a price are not prices: its label ("price-lbl": 9"), its currency sign,
        # the row holding name and price ("name-price-row"); nor a wrapper of prices ("menu-prices").
        if any(part in words for part in _PRICE_PARTS):
            return False
        return not any(_is_price(n) for n in _inside(node) if _price_class(class_words(n)))
    own_text = node.text(deep=False)
    # A price is short: a long text (a paragraph, a script-like blob) is never a lone amount.
    if not own_text or len(own_text) > 80 or not _DIGIT.search(own_text):
        return False
    own_text = own_text.translate(LOCAL_DIGITS)
    if not LONE_AMOUNT.match(own_text):
        return False
    if _HAS_CURRENCY.search(own_text):
        return True
    # Without a currency only "12.50" counts, and not in the small print where allergen codes ("1,10")
    # and footnote numbers live.
    return bool(_HAS_CENTS.search(own_text)) and node.tag not in _SMALL_PRINT


def _has_digit(node: Node) -> bool:
    return bool(_DIGIT.search(node.text(deep=True)))


def _beside_an_amount(node: Node) -> bool:
    parent = node.parent
    return parent is not None and any(
        _is_price(n) and _has_digit(n) for n in _inside(parent) if not _contains(node, n)
    )


def _has_words(node: Node) -> bool:
    text = node.text(deep=True, separator=" ")
    return sum(c.isalpha() for c in text) >= 2


def _has_block_children(node: Node) -> bool:
    return bool(_inside(node, "div, p, li, tr, table, ul"))


def _in_skipped(node: Node) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.tag in SKIPPED_TAGS:
            return True
        parent = parent.parent
    return False
