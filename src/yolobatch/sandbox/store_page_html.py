"""The four kinds of restaurant store page the sandbox serves, built from the demo batch.

Each kind carries its menu the way real sites do (schema.org JSON-LD, Next.js `__NEXT_DATA__`,
React Query state, plain HTML) and each sprinkles the delivery-platform UI noise the extractor must
remove (reference §4.4 (9)): "Plus small", "Thumb up outline 94% (120)", "No. 2 most liked", "(12)"
counts and hard line breaks. Clean names, prices and option sets equal the demo data.
"""

from __future__ import annotations

import html
import json
from decimal import Decimal
from typing import Any, Literal

PageKind = Literal["jsonld", "next_data", "react_query", "dom"]
KINDS: list[PageKind] = ["jsonld", "next_data", "react_query", "dom"]
DAY_CODES = "Mo-Su"


def page_kind(index: int) -> PageKind:
    """0, 4, 8 → JSON-LD; 1, 5, 9 → __NEXT_DATA__; 2, 6 → React Query; 3, 7 → DOM only."""
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


# -- __NEXT_DATA__ (UberEats-like) -----------------------------------------------------------------------


def next_data_page(restaurant: dict[str, Any], index: int, slug: str) -> str:
    option_sets = _option_sets(restaurant)
    catalog = []
    for category in restaurant["menu"]["categories"]:
        items = []
        for position, item in enumerate(category["items"]):
            items.append(
                {
                    "uuid": f"{slug}-{category['name']}-{position}",
                    "title": noisy_name(item["name"], position),
                    "itemDescription": noisy_description(item["description"], position),
                    "price": _cents(item["price"]),
                    "imageUrl": item["image_url"],
                    "tags": [{"text": t.title()} for t in item["tags"]],
                    "customizations": [
                        {
                            "uuid": f"{slug}-{name}",
                            "title": name,
                            "minPermitted": option_sets[name].get("min_selections", 0),
                            "maxPermitted": option_sets[name].get("max_selections", 1),
                            "options": [
                                {"title": o["name"], "price": _cents(o["price"])}
                                for o in option_sets[name]["items"]
                            ],
                        }
                        for name in item["option_sets"]
                    ],
                }
            )
        catalog.append({"title": noisy_category(category["name"], len(items)), "items": items})
    state = {
        "props": {
            "pageProps": {
                "store": {
                    "uuid": slug,
                    "title": restaurant["name"],
                    "currencyCode": "NZD",
                    "heroImageUrl": f"https://images.example.com/{slug}/cover.jpg",
                    "catalog": catalog,
                }
            }
        },
        "page": "/store/[slug]",
        "buildId": "sandbox",
    }
    header = (
        f'<header class="site-header"><img class="store-logo" src="/stores/{slug}/logo.png" '
        f'alt="{html.escape(restaurant["name"])}"></header>'
    )
    script = f'<script id="__NEXT_DATA__" type="application/json">{_script_json(state)}</script>'
    body = (
        f'<body><div id="__next">{header}<main>Loading menu…</main>{_footer(restaurant)}</div>{script}</body>'
    )
    return f"<!doctype html><html lang='en'>{_head(restaurant, slug)}{body}</html>"


# -- __REACT_QUERY_STATE__ (DoorDash-like) --------------------------------------------------------------


def react_query_page(restaurant: dict[str, Any], index: int, slug: str) -> str:
    option_sets = _option_sets(restaurant)
    # One page states its currency, the other only shows it in the display prices ("NZ$12.50").
    explicit_currency = index % 8 == 2
    sign = "$" if explicit_currency else "NZ$"

    def display(price: str, prefix: str = "") -> str:
        return "Free" if Decimal(price) == 0 else f"{prefix}{sign}{Decimal(price):.2f}"

    categories = []
    for category in restaurant["menu"]["categories"]:
        items = []
        for position, item in enumerate(category["items"]):
            items.append(
                {
                    "id": f"{slug}-{category['name']}-{position}",
                    "name": noisy_name(item["name"], position),
                    "description": noisy_description(item["description"], position),
                    "displayPrice": display(item["price"]),
                    "imageUrl": item["image_url"],
                    "badges": [{"type": "tag", "title": t.upper()} for t in item["tags"]],
                    "optionGroups": [
                        {
                            "name": name,
                            "minSelection": option_sets[name].get("min_selections", 0),
                            "maxSelection": option_sets[name].get("max_selections", 1),
                            "options": [
                                {"name": o["name"], "displayPrice": display(o["price"], "+")}
                                for o in option_sets[name]["items"]
                            ],
                        }
                        for name in item["option_sets"]
                    ],
                }
            )
        categories.append({"name": noisy_category(category["name"], len(items)), "items": items})
    menu: dict[str, Any] = {"id": slug, "categories": categories}
    if explicit_currency:
        menu["currency"] = "NZD"
    state = {
        "mutations": [],
        "queries": [
            {"queryKey": ["store", slug], "state": {"data": {"store": {"name": restaurant["name"]}}}},
            {"queryKey": ["menu", slug], "state": {"data": {"menu": menu}, "status": "success"}},
        ],
    }
    extra = f'<link rel="apple-touch-icon" sizes="180x180" href="/stores/{slug}/logo.png">'
    script = (
        "<script>window.__APP_VERSION__ = '1.0';\n"
        f"window.__REACT_QUERY_STATE__ = {_script_json(state)};</script>"
    )
    body = f'<body><div id="root"></div>{_footer(restaurant)}{script}</body>'
    return f"<!doctype html><html lang='en'>{_head(restaurant, slug, extra)}{body}</html>"


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
    "next_data": next_data_page,
    "react_query": react_query_page,
    "dom": dom_page,
}
