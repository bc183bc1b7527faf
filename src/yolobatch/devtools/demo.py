"""The demo batch: ten plausible New Zealand restaurants with menus, for `yolobatch demo` and the tests."""

from __future__ import annotations

import random
import re
from typing import Any

NAMES = [
    ("Jax Burger Shack", "Auckland", "#D62828", "#F7B801", "burgers"),
    ("Pizza Palace CBD", "Wellington", "#1D3557", "#E63946", "pizza"),
    ("Golden Dragon Noodle House", "Christchurch", "#B22222", "#FFD700", "chinese"),
    ("Kiwi Fish & Chips", "Dunedin", "#0077B6", "#FFFFFF", "fish and chips"),
    ("Spice Route Curry", "Hamilton", "#FF8C00", "#3D0C02", "indian"),
    ("Taco Loco", "Tauranga", "#2A9D8F", "#E9C46A", "mexican"),
    ("Sakura Sushi Bar", "Napier", "#FFB7C5", "#222222", "japanese"),
    ("The Green Bowl", "Nelson", "#2D6A4F", "#D8F3DC", "vegan"),
    ("Bangkok Street Kitchen", "Palmerston North", "#6A0572", "#FFD166", "thai"),
    ("Mama Rosa Trattoria", "Queenstown", "#006400", "#FFF8DC", "italian"),
]
ITEMS = ["Classic", "Deluxe", "Spicy", "Veggie", "Family", "Kids", "Signature", "Chef's Special"]
TAGS = [["popular"], ["vegan"], ["hot"], ["gf"], ["new"], [], ["vegetarian"], ["most liked"]]


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def demo_restaurant(index: int, name: str, city: str, primary: str, secondary: str, cuisine: str) -> dict:
    rng = random.Random(index)
    slug = _slug(name)
    menu_id = f"menu-{slug}"
    option_sets = [
        {
            "name": "Size",
            "is_required": True,
            "min_selections": 1,
            "max_selections": 1,
            "items": [{"name": "Regular", "price": "0"}, {"name": "Large", "price": "3.50"}],
        },
        {
            "name": "Extras",
            "multiple_selections_allowed": True,
            "max_selections": 3,
            "items": [{"name": "Cheese", "price": "1.50"}, {"name": "Bacon", "price": "2.50"}],
        },
    ]
    categories = []
    for c, category in enumerate(["Mains", "Sides", "Drinks"]):
        items = []
        for i in range(3 + rng.randrange(3)):
            item = ITEMS[(i + c) % len(ITEMS)]
            items.append(
                {
                    "name": f"{item} {category[:-1]}",
                    "price": f"{rng.randrange(4, 30)}.{rng.choice(['00', '50', '90'])}",
                    "description": f"Our {item.lower()} {cuisine} {category[:-1].lower()}",
                    "image_url": f"https://images.example.com/{slug}/{c}-{i}.jpg",
                    "tags": TAGS[(i + c) % len(TAGS)],
                    "option_sets": ["Size", "Extras"] if category == "Mains" else [],
                }
            )
        categories.append({"name": category, "items": items})
    email = f"owner@{slug}.co.nz"
    password = re.sub(r"[^A-Za-z]", "", name).capitalize() + "789!"
    return {
        "name": name,
        "config": {
            "account": {"email": email, "password": password, "phone": f"+6421{rng.randrange(10**6, 10**7)}"},
            "restaurant": {
                "name": name,
                "address": f"{rng.randrange(1, 300)} Main Street, {city}, New Zealand",
                "city": city,
                "phone": f"+649{rng.randrange(10**6, 10**7)}",
                "openingHours": [
                    {"day": day, "open": "11:00", "close": "21:30"}
                    for day in ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
                ],
            },
            "menu": {"selectedMenuId": menu_id},
            "website": {
                "theme": "dark" if index % 2 else "light",
                "primaryColor": primary,
                "secondaryColor": secondary,
                "cuisines": [cuisine],
            },
            "payment": {"includeStripeLink": index % 3 == 0},
            "onboarding": {
                "createOnboardingUser": True,
                "syncOnboardingRecord": True,
                "userName": f"Owner of {name}",
                "userEmail": email,
            },
        },
        "menu": {"id": menu_id, "categories": categories, "option_sets": option_sets},
    }


def demo_batch(count: int = 10) -> dict[str, Any]:
    """`count` restaurants; beyond ten, names repeat with a branch number."""
    restaurants = []
    for index in range(count):
        name, *rest = NAMES[index % len(NAMES)]
        if index >= len(NAMES):
            name = f"{name} #{index // len(NAMES) + 1}"
        restaurants.append(demo_restaurant(index, name, *rest))
    return {"name": f"Demo batch ({count} restaurants)", "restaurants": restaurants}


# The demo's documented non-interactive choice: staff who know the company put its number in the input.
# Pizza Palace CBD trades as "Pizza Palace" through PIZZA PALACE LIMITED (NZBN 9429041000038), which the
# registry ranks level with an unrelated PIZZA PALACE CBD LIMITED: only a person can tell them apart.
DEMO_COMPANY_NUMBERS: dict[str, str] = {"Pizza Palace CBD": "9429041000038"}


def demo_pipeline_batch(count: int, sandbox_url: str) -> dict[str, Any]:
    """The demo restaurants as staff have them: a name, a store page and contact facts, nothing else."""
    restaurants = []
    for index in range(count):
        name, city, *_ = NAMES[index % len(NAMES)]
        slug = _slug(name)
        branch = index // len(NAMES) + 1
        label = name if branch == 1 else f"{name} #{branch}"
        # A branch is a store of its own (one store page twice in a batch is refused as a duplicate); the
        # sandbox serves every branch the chain's page.
        row: dict[str, Any] = {
            "name": label,
            "storeUrl": f"{sandbox_url}/stores/{slug}" + (f"?branch={branch}" if branch > 1 else ""),
            "city": city,
            "email": f"owner@{_slug(label)}.co.nz",
        }
        if name in DEMO_COMPANY_NUMBERS:
            row["companyNumber"] = DEMO_COMPANY_NUMBERS[name]
        restaurants.append(row)
    return {"name": f"Demo pipeline ({count} restaurants)", "restaurants": restaurants}
