"""A ~3 MB store page for the extraction benchmark, built here rather than stored (issue #12 item 7).

Its structure is the one restaurants' own sites and site builders publish: a schema.org JSON-LD
`Restaurant` → `hasMenu` → `Menu` → `hasMenuSection` → `hasMenuItem` (name, description, `offers.price`)
in the head, and the same menu as visible markup (`section` > `h2`, `article` > `h3` / `p` / `.price`),
as in this corpus's schema.org pages — so the page is parsed twice over (extruct's lxml pass for the
JSON-LD, selectolax for the DOM), like a real one. Item names are unique so that the truth is exact.
"""

from __future__ import annotations

import json
from decimal import Decimal
from itertools import product
from typing import Any

LARGE_ID = "large-jsonld-3mb"
URL = "https://www.grand-food-hall.example/menu"
COOKING = [
    "Smoked",
    "Grilled",
    "Crispy",
    "Braised",
    "Roasted",
    "Spiced",
    "Charred",
    "Steamed",
    "Glazed",
    "Pan-fried",
]
DISHES = [
    "Chicken Thigh", "Pork Belly", "Lamb Shoulder", "Beef Brisket", "Salmon Fillet", "King Prawns",
    "Tofu", "Cauliflower", "Halloumi", "Duck Leg", "Pumpkin", "Mushrooms", "Eggplant", "Squid", "Short Rib",
    "Chickpeas", "Snapper", "Venison", "Kumara", "Scallops",
]  # fmt: skip
STYLES = [
    "with Chimichurri", "Bao", "Rice Bowl", "Flatbread", "Salad", "Noodles", "Tacos", "Burger",
    "Curry", "Skewers", "Sandwich", "Pie", "Risotto", "Ramen", "Wrap",
]  # fmt: skip
SIDES = ["", " & Fries", " & Slaw", " & Greens"]
DESCRIPTION = (
    "Slow-cooked in house with seasonal vegetables, pickled shallots, toasted seeds and a bright herb "
    "dressing; ask our team about allergens & substitutions."
)


def large_page(target_bytes: int = 3_000_000) -> tuple[bytes, dict[str, Any]]:
    """(page bytes, truth) for a menu page of about `target_bytes`, in the truth format of the harness."""
    names = (f"{c} {d} {s}{e}" for e, s, c, d in product(SIDES, STYLES, COOKING, DISHES))
    sections: list[dict[str, Any]] = []
    markup: list[str] = []
    size, index = 0, 0
    while size < target_bytes:
        section = {"@type": "MenuSection", "name": f"Kitchen {len(sections) + 1:02d}", "hasMenuItem": []}
        markup.append(f'<section class="menu-section"><h2>{section["name"]}</h2>')
        for _ in range(60):
            name = next(names)
            price = Decimal(650 + (index * 37) % 3000) / 100
            index += 1
            item = {
                "@type": "MenuItem",
                "name": name,
                "description": DESCRIPTION,
                "offers": {"@type": "Offer", "price": f"{price:.2f}", "priceCurrency": "NZD"},
            }
            section["hasMenuItem"].append(item)
            row = (
                f'<article class="menu-item"><h3 class="menu-item__name">{name}</h3>'
                f'<p class="menu-item__description">{DESCRIPTION.replace("&", "&amp;")}</p>'
                f'<span class="menu-item__price">${price:.2f}</span></article>'
            )
            markup.append(row)
            # Each item is in the page twice: its JSON-LD and its markup.
            size += len(row) + len(json.dumps(item))
        markup.append("</section>")
        sections.append(section)
    restaurant = {
        "@context": "https://schema.org",
        "@type": "Restaurant",
        "name": "Grand Food Hall",
        "url": URL,
        "hasMenu": {"@type": "Menu", "name": "All day", "hasMenuSection": sections},
    }
    html = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Grand Food Hall — Menu</title>"
        f'<script type="application/ld+json">{json.dumps(restaurant)}</script></head>'
        f"<body><header><h1>Grand Food Hall</h1></header><main>{''.join(markup)}</main></body></html>"
    )
    truth = {
        "page": f"{LARGE_ID}.html",
        "url": URL,
        "format": "schema.org JSON-LD, large",
        "strategy": "jsonld",
        "categories": [s["name"] for s in sections],
        "items": [
            {"name": i["name"], "price": i["offers"]["price"], "categories": [s["name"]]}
            for s in sections
            for i in s["hasMenuItem"]
        ],
    }
    return html.encode(), truth
