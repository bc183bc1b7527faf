"""The four kinds of restaurant store page the sandbox serves, built from the demo batch.

Each kind carries its menu the way real sites do (schema.org JSON-LD, Deliveroo's `__NEXT_DATA__`,
Uber Eats' `__REACT_QUERY_STATE__` with option groups per item, plain HTML; the platforms' shapes are
those of the real captures listed in tests/fixtures/real/SOURCES.md) and each sprinkles the
delivery-platform UI noise the extractor must remove (the original's menu import stripped it): "Plus small",
"Thumb up outline 94% (120)", "No. 2 most liked", "(12)" counts and hard line breaks. Clean names,
prices and option sets equal the demo data.
"""

from __future__ import annotations

import html
import json
from decimal import Decimal
from typing import Any, Literal

PageKind = Literal["jsonld", "deliveroo", "ubereats", "dom"]
KINDS: list[PageKind] = ["jsonld", "deliveroo", "ubereats", "dom"]
DAY_CODES = "Mo-Su"


def page_kind(index: int) -> PageKind:
    """0, 4, 8 → JSON-LD; 1, 5, 9 → Deliveroo; 2, 6 → Uber Eats; 3, 7 → DOM only."""
    return KINDS[index % len(KINDS)]


def noisy_name(name: str, position: int) -> str:
    return [
        f"{name}\nPlus small",
        f"{name} Thumb up outline 94% ({120 + position})",
        f"{name}\nNo. {position} most liked",
        f"  {name}  ",
    ][position % 4]


def noisy_description(description: str, position: int) -> str:
    return f"{description}\n Thumb up outline {80 + position}% ({10 + position})"


def noisy_category(name: str, count: int) -> str:
    return f"{name} ({count})"


def _cents(price: str) -> int:
    return int(Decimal(price) * 100)


def _script_json(value: Any) -> str:
    # "</script>" inside a string would end the script element early.
    return json.dumps(value).replace("</", "<\\/")


def _head(restaurant: dict[str, Any], slug: str, extra: str = "") -> str:
    name = html.escape(restaurant["name"])
    return (
        f"<head><meta charset='utf-8'><title>{name} | Order online</title>"
        f'<meta property="og:title" content="{name}">'
        f'<meta property="og:image" content="https://images.example.com/{slug}/cover.jpg">'
        f'<meta name="theme-color" content="{restaurant["config"]["website"]["primaryColor"]}">'
        f'<link rel="icon" type="image/x-icon" href="/stores/{slug}/favicon.ico">'
        f"{extra}</head>"
    )


def _footer(restaurant: dict[str, Any]) -> str:
    details = restaurant["config"]["restaurant"]
    phone = html.escape(details["phone"])
    return (
        f'<footer><a href="tel:{phone}">{phone}</a><address>{html.escape(details["address"])}</address>'
        f'<a href="mailto:{html.escape(restaurant["config"]["account"]["email"])}">Email us</a></footer>'
    )


def _option_sets(restaurant: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {o["name"]: o for o in restaurant["menu"]["option_sets"]}


# -- JSON-LD -------------------------------------------------------------------------------------------

DIETS = {"vegan": "VeganDiet", "vegetarian": "VegetarianDiet", "gf": "GlutenFreeDiet"}


def jsonld_page(restaurant: dict[str, Any], index: int, slug: str) -> str:
    details = restaurant["config"]["restaurant"]
    street, city, country = (part.strip() for part in details["address"].split(",", 2))
    option_sets = _option_sets(restaurant)
    sections = []
    for category in restaurant["menu"]["categories"]:
        items = []
        for position, item in enumerate(category["items"]):
            node: dict[str, Any] = {
                "@type": "MenuItem",
                "name": noisy_name(item["name"], position),
                "description": noisy_description(item["description"], position),
                "image": item["image_url"],
                # Prices as strings and as numbers: both occur in the wild.
                "offers": {
                    "@type": "Offer",
                    "price": item["price"] if position % 2 else float(item["price"]),
                    "priceCurrency": "NZD",
                },
            }
            diets = [f"https://schema.org/{DIETS[t]}" for t in item["tags"] if t in DIETS]
            keywords = [t for t in item["tags"] if t not in DIETS]
            if diets:
                node["suitableForDiet"] = diets
            if keywords:
                node["keywords"] = ", ".join(keywords)
            if item["option_sets"]:
                node["menuAddOn"] = [
                    {
                        "@type": "MenuSection",
                        "name": name,
                        "hasMenuItem": [
                            {"@type": "MenuItem", "name": o["name"], "offers": {"price": o["price"]}}
                            for o in option_sets[name]["items"]
                        ],
                    }
                    for name in item["option_sets"]
                ]
            items.append(node)
        sections.append(
            {
                "@type": "MenuSection",
                "name": noisy_category(category["name"], len(items)),
                "hasMenuItem": items,
            }
        )
    if index % 8 == 4:
        # A section the site left empty: the extractor drops it with a warning.
        sections.append({"@type": "MenuSection", "name": "Specials", "hasMenuItem": []})
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Restaurant",
        "name": restaurant["name"],
        "url": f"/stores/{slug}",
        "logo": f"/stores/{slug}/logo.png",
        "image": f"https://images.example.com/{slug}/cover.jpg",
        "telephone": details["phone"],
        "email": restaurant["config"]["account"]["email"],
        "servesCuisine": restaurant["config"]["website"]["cuisines"],
        "address": {
            "@type": "PostalAddress",
            "streetAddress": street,
            "addressLocality": city,
            "addressCountry": country,
        },
        "hasMenu": {"@type": "Menu", "name": "Menu", "hasMenuSection": sections},
    }
    hours = details["openingHours"]
    if index % 8 == 4:
        # The compact text form; the other JSON-LD pages use openingHoursSpecification.
        data["openingHours"] = f"{DAY_CODES} {hours[0]['open']}-{hours[0]['close']}"
    else:
        data["openingHoursSpecification"] = [
            {
                "@type": "OpeningHoursSpecification",
                "dayOfWeek": f"https://schema.org/{h['day']}",
                "opens": f"{h['open']}:00",
                "closes": h["close"],
            }
            for h in hours
        ]
    script = f'<script type="application/ld+json">{_script_json(data)}</script>'
    body = (
        f"<body><main><h1>{html.escape(restaurant['name'])}</h1><p>Order online for pickup.</p></main></body>"
    )
    return f"<!doctype html><html lang='en'>{_head(restaurant, slug, script)}{body}</html>"


# -- Deliveroo (`__NEXT_DATA__`) ------------------------------------------------------------------------


def _fractional(price: str) -> dict[str, Any]:
    return {"code": "NZD", "fractional": _cents(price), "formatted": f"NZ${Decimal(price):.2f}"}


def deliveroo_page(restaurant: dict[str, Any], index: int, slug: str) -> str:
    """The real Deliveroo state (tests/fixtures/real/SOURCES.md): categories, items with a categoryId,
    modifier groups by id, prices in minor units, and each modifier option again among the items
    without a category. Deliveroo items carry only a `popular` flag, so other demo tags do not show."""
    option_sets = _option_sets(restaurant)
    group_ids = {name: f"{index}{n:03d}" for n, name in enumerate(option_sets)}
    details = restaurant["config"]["restaurant"]
    street, city, _country = (part.strip() for part in details["address"].split(",", 2))
    categories, items, hidden = [], [], []
    for c, category in enumerate(restaurant["menu"]["categories"]):
        category_id = f"{index}{c:02d}"
        categories.append(
            {"id": category_id, "name": noisy_category(category["name"], len(category["items"]))}
        )
        for position, item in enumerate(category["items"]):
            items.append(
                {
                    "id": f"{category_id}{position:02d}",
                    "drnId": f"{slug}-{c}-{position}",
                    "categoryId": category_id,
                    "name": noisy_name(item["name"], position),
                    "description": noisy_description(item["description"], position),
                    "price": _fractional(item["price"]),
                    "priceDiscounted": None,
                    "image": {"typeName": "Image", "altText": item["name"], "url": item["image_url"]},
                    "popular": "popular" in item["tags"],
                    "available": True,
                    "modifierGroupIds": [group_ids[name] for name in item["option_sets"]],
                }
            )
    groups = []
    for name, option_set in option_sets.items():
        options = []
        for n, option in enumerate(option_set["items"]):
            record = {
                "id": f"{group_ids[name]}{n:02d}",
                "name": option["name"],
                "price": _fractional(option["price"]),
                "available": True,
                "modifierGroupIds": [],
            }
            options.append(record)
            # Deliveroo lists every option again as an item without a category, unavailable.
            hidden.append(
                {**record, "categoryId": "", "description": None, "image": None, "available": False}
            )
        groups.append(
            {
                "id": group_ids[name],
                "name": name,
                "minSelection": option_set.get("min_selections", 0),
                "maxSelection": option_set.get("max_selections", 1),
                "multiselect": option_set.get("multiple_selections_allowed", False),
                "modifierOptions": options,
            }
        )
    root = {
        "restaurant": {
            "id": str(index),
            "name": restaurant["name"],
            "currencyCode": "NZD",
            "location": {
                "address": {"address1": street, "postCode": None, "neighborhood": city, "city": city.lower()}
            },
        },
        "categories": categories,
        "modifierGroups": groups,
        "items": items + hidden,
    }
    header = {"title": restaurant["name"], "image": {"url": f"https://images.example.com/{slug}/cover.jpg"}}
    state = {
        "props": {"initialState": {"menuPage": {"menu": {"metas": {"root": root}, "header": header}}}},
        "page": "/menu/[city]/[neighborhood]/[restaurant]",
    }
    logo = (
        f'<header class="site-header"><img class="store-logo" src="/stores/{slug}/logo.png" '
        f'alt="{html.escape(restaurant["name"])}"></header>'
    )
    script = f'<script id="__NEXT_DATA__" type="application/json">{_script_json(state)}</script>'
    body = (
        f'<body><div id="__next">{logo}<main>Loading menu…</main>{_footer(restaurant)}</div>{script}</body>'
    )
    return f"<!doctype html><html lang='en' dir='ltr'>{_head(restaurant, slug)}{body}</html>"


# -- Uber Eats (`__REACT_QUERY_STATE__` + getMenuItemV1) ------------------------------------------------


def ubereats_item_uuid(slug: str, category: int, position: int) -> str:
    return f"{slug}-item-{category}-{position}"


def ubereats_page(restaurant: dict[str, Any], index: int, slug: str) -> str:
    """The real Uber Eats `getStoreV1` state, escaped as Uber does, with a "Picks for you" carousel
    repeating dishes of the real sections; option groups are served per item by `getMenuItemV1`."""
    section = f"{slug}-menu"
    subsections, first_items = [], []
    for c, category in enumerate(restaurant["menu"]["categories"]):
        items = []
        for position, item in enumerate(category["items"]):
            items.append(
                {
                    "uuid": ubereats_item_uuid(slug, c, position),
                    "imageUrl": item["image_url"],
                    "title": noisy_name(item["name"], position),
                    "itemDescription": noisy_description(item["description"], position),
                    "price": _cents(item["price"]),
                    "priceTagline": {"text": f"NZ${Decimal(item['price']):.2f}"},
                    "isSoldOut": False,
                    "hasCustomizations": bool(item["option_sets"]),
                    "subsectionUuid": f"{slug}-sub-{c}",
                    "sectionUuid": section,
                    "isAvailable": True,
                }
            )
        first_items.append(items[0])
        subsections.append(
            {
                "type": "VERTICAL_GRID",
                "catalogSectionUUID": f"{slug}-sub-{c}",
                "payload": {
                    "type": "standardItemsPayload",
                    "standardItemsPayload": {
                        "title": {"text": noisy_category(category["name"], len(items))},
                        "catalogItems": items,
                    },
                },
            }
        )
    picks = {
        "type": "HORIZONTAL_GRID",
        "catalogSectionUUID": f"{slug}-picks",
        "payload": {
            "type": "standardItemsPayload",
            "standardItemsPayload": {"title": {"text": "Picks for you"}, "catalogItems": first_items},
        },
    }
    details = restaurant["config"]["restaurant"]
    street, city, country = (part.strip() for part in details["address"].split(",", 2))
    meta = {
        "@context": "https://schema.org",
        "@type": "Restaurant",
        "name": restaurant["name"],
        "telephone": details["phone"],
        "openingHoursSpecification": [
            {
                "@type": "OpeningHoursSpecification",
                "dayOfWeek": [h["day"]],
                # Uber Eats writes times unpadded: "11:0".
                "opens": f"{int(h['open'][:2])}:{int(h['open'][3:])}",
                "closes": f"{int(h['close'][:2])}:{int(h['close'][3:])}",
            }
            for h in details["openingHours"]
        ],
    }
    store = {
        "uuid": slug,
        "title": restaurant["name"],
        "heroImageUrls": [
            {"url": f"https://images.example.com/{slug}/cover-small.jpg", "width": 550},
            {"url": f"https://images.example.com/{slug}/cover.jpg", "width": 2880},
        ],
        "location": {"streetAddress": street, "city": city, "country": country, "region": "ANZ"},
        "phoneNumber": details["phone"],
        "metaJson": json.dumps(meta),
        "sections": [{"uuid": section, "title": "Menu", "isTop": True}],
        "catalogSectionsMap": {section: [picks, *subsections]},
    }
    state = {
        "mutations": [],
        "queries": [
            {
                "queryKey": ["getStoreV1", {"storeUuid": slug}],
                "queryHash": json.dumps(["getStoreV1", {"storeUuid": slug}]),
                "state": {"data": store, "status": "success"},
            }
        ],
    }
    script = (
        '<script type="application/json" id="__REACT_QUERY_STATE__">'
        f"{_uber_escaped(json.dumps(state))}</script>"
    )
    # On a platform's page its icons are the platform's: the store's logo is the header image.
    logo = (
        f'<header class="site-header"><img class="store-logo" src="/stores/{slug}/logo.png" '
        f'alt="{html.escape(restaurant["name"])}"></header>'
    )
    body = f'<body><div id="root">{logo}</div>{_footer(restaurant)}{script}</body>'
    return f"<!doctype html><html lang='en'>{_head(restaurant, slug)}{body}</html>"


def _uber_escaped(text: str) -> str:
    """The JSON as the body of a JS string literal, the way Uber Eats serves it (`{\\u0022queries...`)."""
    body = json.dumps(text)[1:-1]
    for char in "\"<>&'":
        body = body.replace(char if char != '"' else '\\"', f"\\u{ord(char):04X}")
    return body


def ubereats_item(restaurant: dict[str, Any], slug: str, item_uuid: str) -> dict[str, Any] | None:
    """The `getMenuItemV1` answer for one item of a sandbox store, or None for an unknown item."""
    option_sets = _option_sets(restaurant)
    for c, category in enumerate(restaurant["menu"]["categories"]):
        for position, item in enumerate(category["items"]):
            if ubereats_item_uuid(slug, c, position) != item_uuid:
                continue
            groups = [
                {
                    "uuid": f"{slug}-{name}",
                    "title": name,
                    "minPermitted": option_sets[name].get("min_selections", 0),
                    "maxPermitted": option_sets[name].get("max_selections", 1),
                    "options": [
                        {
                            "uuid": f"{slug}-{name}-{o['name']}",
                            "title": o["name"],
                            "price": _cents(o["price"]),
                        }
                        for o in option_sets[name]["items"]
                    ],
                }
                for name in item["option_sets"]
            ]
            return {
                "status": "success",
                "data": {"uuid": item_uuid, "title": item["name"], "customizationsList": groups},
            }
    return None


# -- plain HTML -----------------------------------------------------------------------------------------


def dom_page(restaurant: dict[str, Any], index: int, slug: str) -> str:
    sections = []
    for category in restaurant["menu"]["categories"]:
        cards = []
        for position, item in enumerate(category["items"]):
            badges = "".join(f'<span class="badge">{html.escape(t.title())}</span>' for t in item["tags"])
            cards.append(
                '<li class="menu-item">'
                f'<img src="{html.escape(item["image_url"])}" alt="">'
                f'<div class="menu-item__body"><h3>{html.escape(noisy_name(item["name"], position))}</h3>'
                f'<p class="menu-item__description">'
                f"{html.escape(noisy_description(item['description'], position))}</p>"
                f"{badges}</div>"
                f'<span class="menu-item__price">${html.escape(item["price"])}</span></li>'
            )
        title = html.escape(noisy_category(category["name"], len(cards)))
        sections.append(f'<section class="menu-category"><h2>{title}</h2><ul>{"".join(cards)}</ul></section>')
    name = html.escape(restaurant["name"])
    body = (
        f'<body><nav><a href="/">Home</a> <span class="price">$5 delivery</span></nav>'
        f'<main><div class="intro"><img src="/stores/{slug}/logo.png" alt="{name} logo" width="120"></div>'
        f"<h1>{name}</h1>{''.join(sections)}</main>{_footer(restaurant)}</body>"
    )
    return f"<!doctype html><html lang='en'>{_head(restaurant, slug)}{body}</html>"


RENDERERS = {
    "jsonld": jsonld_page,
    "deliveroo": deliveroo_page,
    "ubereats": ubereats_page,
    "dom": dom_page,
}
