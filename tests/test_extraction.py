"""Step 1, menu & branding extraction, against the sandbox's store pages over real HTTP."""

from __future__ import annotations

import io
import json
import socket
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from PIL import Image, ImageDraw

from yolobatch.devtools.demo import demo_batch
from yolobatch.devtools.sandbox import RunningSandbox, SandboxSettings, start_in_thread
from yolobatch.devtools.sandbox.store_page_html import page_kind
from yolobatch.domain.extraction import ExtractionResult
from yolobatch.integrations.extraction import (
    ExtractionError,
    UrlGuard,
    clean_name,
    clean_text,
    extract_from_html,
    extract_store,
    fetch_image,
    fetch_page,
    palette_from_image,
    parse_price,
)
from yolobatch.integrations.extraction.cleaning import squash
from yolobatch.integrations.extraction.palette import distance, parse_hex

DEMO = demo_batch()["restaurants"]
SLUGS = [r["menu"]["id"].removeprefix("menu-") for r in DEMO]
COLOUR_TOLERANCE = 12.0  # RGB distance; the sandbox's logos are flat colours, so recovery is near exact

# Golden expectations, one restaurant per page kind, written out so a change in the demo data or the
# extractor shows up as a readable diff rather than being compared against itself.
GOLDEN: dict[str, dict[str, Any]] = {
    "jax-burger-shack": {
        "source": "jsonld",
        "categories": {
            "Mains": [
                ("Classic Main", "28.50"),
                ("Deluxe Main", "5.50"),
                ("Spicy Main", "20.50"),
                ("Veggie Main", "16.50"),
            ],
            "Sides": [
                ("Deluxe Side", "15.90"),
                ("Spicy Side", "10.90"),
                ("Veggie Side", "8.50"),
                ("Family Side", "8.00"),
            ],
            "Drinks": [
                ("Spicy Drink", "29.50"),
                ("Veggie Drink", "21.90"),
                ("Family Drink", "29.90"),
                ("Kids Drink", "8.50"),
                ("Signature Drink", "7.90"),
            ],
        },
        # schema.org diets come back under the platform's preset names; badges via `keywords`.
        "tags": {
            "Veggie Main": ["gluten free"],
            "Signature Drink": ["vegetarian"],
            "Classic Main": ["popular"],
        },
        # schema.org cannot say min/max selections: optional single choice is the documented default.
        "option_sets": {
            "Size": (0, 1, [("Regular", "0.00"), ("Large", "3.50")]),
            "Extras": (0, 1, [("Cheese", "1.50"), ("Bacon", "2.50")]),
        },
    },
    "pizza-palace-cbd": {
        "source": "deliveroo",
        "categories": {
            "Mains": [("Classic Main", "22.00"), ("Deluxe Main", "12.00"), ("Spicy Main", "19.50")],
            "Sides": [
                ("Deluxe Side", "24.50"),
                ("Spicy Side", "29.00"),
                ("Veggie Side", "7.50"),
                ("Family Side", "4.50"),
            ],
            "Drinks": [
                ("Spicy Drink", "23.00"),
                ("Veggie Drink", "26.50"),
                ("Family Drink", "12.90"),
                ("Kids Drink", "29.00"),
            ],
        },
        # Deliveroo items carry a `popular` flag and no other tags.
        "tags": {"Veggie Side": [], "Classic Main": ["popular"], "Family Side": []},
        "option_sets": {
            "Size": (1, 1, [("Regular", "0.00"), ("Large", "3.50")]),
            "Extras": (0, 3, [("Cheese", "1.50"), ("Bacon", "2.50")]),
        },
    },
    "golden-dragon-noodle-house": {
        "source": "ubereats",
        "categories": {
            "Mains": [("Classic Main", "6.00"), ("Deluxe Main", "15.00"), ("Spicy Main", "27.90")],
            "Sides": [
                ("Deluxe Side", "12.90"),
                ("Spicy Side", "10.90"),
                ("Veggie Side", "5.90"),
                ("Family Side", "25.00"),
            ],
            "Drinks": [
                ("Spicy Drink", "24.50"),
                ("Veggie Drink", "29.90"),
                ("Family Drink", "20.50"),
                ("Kids Drink", "21.50"),
            ],
        },
        "tags": {"Spicy Main": [], "Deluxe Side": []},  # Uber Eats' catalogue items carry no tags
        "option_sets": {
            "Size": (1, 1, [("Regular", "0.00"), ("Large", "3.50")]),
            "Extras": (0, 3, [("Cheese", "1.50"), ("Bacon", "2.50")]),
        },
    },
    "kiwi-fish-chips": {
        "source": "dom",
        "categories": {
            "Mains": [("Classic Main", "22.90"), ("Deluxe Main", "8.50"), ("Spicy Main", "23.50")],
            "Sides": [
                ("Deluxe Side", "22.00"),
                ("Spicy Side", "23.00"),
                ("Veggie Side", "19.50"),
                ("Family Side", "21.00"),
                ("Kids Side", "10.90"),
            ],
            "Drinks": [
                ("Spicy Drink", "21.90"),
                ("Veggie Drink", "19.50"),
                ("Family Drink", "24.00"),
                ("Kids Drink", "11.90"),
            ],
        },
        "tags": {"Veggie Drink": ["gf"], "Family Drink": ["new"]},
        "option_sets": {},  # plain HTML does not carry modifiers
    },
}
JSONLD_TAGS = {"gf": "gluten free"}
NOISE = ["plus small", "thumb up", "most liked", "%", "(", ")", "\n"]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    running = start_in_thread(SandboxSettings(time_scale=0.001))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def guard(sandbox: RunningSandbox) -> UrlGuard:
    return UrlGuard(allowed_hosts=frozenset({urlsplit(sandbox.url).netloc}))


async def _extract(sandbox: RunningSandbox, guard: UrlGuard, path: str, **kwargs: Any) -> ExtractionResult:
    async with httpx.AsyncClient() as http:
        return await extract_store(f"{sandbox.url}{path}", http=http, guard=guard, **kwargs)


async def _error(sandbox: RunningSandbox, guard: UrlGuard, path: str, **kwargs: Any) -> ExtractionError:
    with pytest.raises(ExtractionError) as caught:
        await _extract(sandbox, guard, path, **kwargs)
    return caught.value


# -- menus ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("slug", list(GOLDEN))
async def test_golden_menu_per_page_kind(sandbox: RunningSandbox, guard: UrlGuard, slug: str) -> None:
    golden = GOLDEN[slug]
    result = await _extract(sandbox, guard, f"/stores/{slug}")

    assert result.source == golden["source"]
    assert result.menu is not None
    assert result.menu.currency == "NZD"
    got = {c.name: [(i.name, str(i.price)) for i in c.items] for c in result.menu.categories}
    assert got == golden["categories"]
    items = {i.name: i for i in result.menu.items()}
    for name, tags in golden["tags"].items():
        assert items[name].tags == tags
    option_sets = {
        o.name: (o.min_selections, o.max_selections, [(x.name, str(x.price)) for x in o.items])
        for o in result.menu.option_sets
    }
    assert option_sets == golden["option_sets"]
    for item in items.values():
        assert all(isinstance(i.price, Decimal) and i.price.as_tuple().exponent == -2 for i in [item])


@pytest.mark.parametrize("index", range(len(DEMO)))
async def test_every_store_matches_the_demo_menu(
    sandbox: RunningSandbox, guard: UrlGuard, index: int
) -> None:
    restaurant, kind = DEMO[index], page_kind(index)
    result = await _extract(sandbox, guard, f"/stores/{SLUGS[index]}")

    assert result.source == kind
    assert result.menu is not None
    expected_sets = {o["name"]: o for o in restaurant["menu"]["option_sets"]}
    assert [c.name for c in result.menu.categories] == [c["name"] for c in restaurant["menu"]["categories"]]
    for category, expected in zip(result.menu.categories, restaurant["menu"]["categories"], strict=True):
        assert len(category.items) == len(expected["items"])
        for item, want in zip(category.items, expected["items"], strict=True):
            assert item.name == want["name"]
            assert item.price == Decimal(want["price"])
            assert item.description == want["description"]
            assert item.image_url == want["image_url"]
            tags = {
                "jsonld": [JSONLD_TAGS.get(t, t) for t in want["tags"]],
                "deliveroo": [t for t in want["tags"] if t == "popular"],
                "ubereats": [],
            }.get(kind, want["tags"])
            assert sorted(item.tags) == sorted(tags)
            assert item.option_sets == ([] if kind == "dom" else want["option_sets"])
    if kind in ("deliveroo", "ubereats"):
        for option_set in result.menu.option_sets:
            want = expected_sets[option_set.name]
            assert option_set.min_selections == want.get("min_selections", 0)
            assert option_set.max_selections == want.get("max_selections", 1)
            assert option_set.is_required == want.get("is_required", False)
            assert option_set.multiple_selections_allowed == want.get("multiple_selections_allowed", False)
            assert [(o.name, o.price) for o in option_set.items] == [
                (o["name"], Decimal(o["price"])) for o in want["items"]
            ]
    # Option sets are defined once per menu however many items use them.
    assert len(result.menu.option_sets) == (0 if kind == "dom" else 2)


@pytest.mark.parametrize("index", range(len(DEMO)))
async def test_ui_noise_is_gone(sandbox: RunningSandbox, guard: UrlGuard, index: int) -> None:
    # The pages really are noisy: the test would be vacuous otherwise.
    async with httpx.AsyncClient() as http:
        raw = (await http.get(f"{sandbox.url}/stores/{SLUGS[index]}")).text
    assert "Plus small" in raw and "Thumb up outline" in raw and "most liked" in raw

    result = await _extract(sandbox, guard, f"/stores/{SLUGS[index]}")
    assert result.menu is not None
    texts = [c.name for c in result.menu.categories]
    texts += [t for i in result.menu.items() for t in (i.name, i.description or "")]
    for text in texts:
        assert not any(noise in text.lower() for noise in NOISE), text
        assert text == text.strip()


def test_clean_text_rules() -> None:
    assert clean_name("Classic Burger\nPlus small") == "Classic Burger"
    assert clean_name("Fries Thumb up outline 94% (1,203)") == "Fries"
    assert clean_name("No. 2 most liked Chicken Wrap") == "Chicken Wrap"
    assert clean_name("Shake #1 most liked") == "Shake"
    assert clean_name("Mains (12)") == "Mains"
    assert clean_name("Plus small") is None
    # Descriptions keep a bare percentage, which there is content, not a rating.
    assert clean_text("100% beef patty\n  with cheese 87% (12)") == "100% beef patty with cheese"
    # A page's JSON may spell a lone surrogate ("\ud800"): no database or page could hold it (issue 16).
    assert clean_name(json.loads('"Caf\\ud800 Cr\\udfffme"')) == "Caf\ufffd Cr\ufffdme"
    assert squash(json.loads('"09 \\udc00 555"')) == "09 \ufffd 555"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("$12.50", "12.50"),
        ("NZ$ 1,234.5", "1234.50"),
        ("12,50 €", "12.50"),
        ("+$3", "3.00"),
        (1250 / 100, "12.50"),
        (7, "7.00"),
        ("Free", "0.00"),
        ("12.345", "12345.00"),
        ("Market price", None),
        (-1, None),
        (None, None),
        (True, None),
    ],
)
def test_parse_price(raw: object, expected: str | None) -> None:
    price = parse_price(raw)
    assert (str(price) if price is not None else None) == expected


def test_microdata_menu() -> None:
    html = """<html><body><div itemscope itemtype="https://schema.org/Restaurant">
      <span itemprop="name">Micro Cafe</span><span itemprop="telephone">(09) 555 1234</span>
      <div itemprop="hasMenu" itemscope itemtype="https://schema.org/Menu">
        <div itemprop="hasMenuSection" itemscope itemtype="https://schema.org/MenuSection">
          <h2 itemprop="name">Breakfast (4)</h2>
          <div itemprop="hasMenuItem" itemscope itemtype="https://schema.org/MenuItem">
            <span itemprop="name">Big Breakfast
Plus small</span>
            <link itemprop="suitableForDiet" href="https://schema.org/VegetarianDiet">
            <div itemprop="offers" itemscope itemtype="https://schema.org/Offer">
              <span itemprop="price" content="21.5">$21.50</span><meta itemprop="priceCurrency" content="AUD">
            </div></div>
          <div itemprop="hasMenuItem" itemscope itemtype="https://schema.org/MenuItem">
            <span itemprop="name">Toast</span></div>
        </div></div></div></body></html>"""
    _doc, result = extract_from_html("https://cafe.example/", html)
    assert result.source == "microdata"
    assert result.menu is not None and result.menu.currency == "AUD"
    [category] = result.menu.categories
    assert category.name == "Breakfast"
    assert [(i.name, str(i.price), i.tags) for i in category.items] == [
        ("Big Breakfast", "21.50", ["vegetarian"]),
        ("Toast", "0.00", []),
    ]
    assert {"missing_price", "no_images"} <= set(result.warning_codes())
    assert result.contact.phone == "(09) 555 1234"


# -- branding, hours, contact ---------------------------------------------------------------------------


@pytest.mark.parametrize("index", range(len(DEMO)))
async def test_branding_colours_come_from_the_logo(
    sandbox: RunningSandbox, guard: UrlGuard, index: int
) -> None:
    website = DEMO[index]["config"]["website"]
    result = await _extract(sandbox, guard, f"/stores/{SLUGS[index]}")
    branding = result.branding

    assert branding.logo_url == f"{sandbox.url}/stores/{SLUGS[index]}/logo.png"
    assert branding.logo_confidence >= 0.6
    assert branding.primary_color is not None and branding.secondary_color is not None
    assert distance(parse_hex(branding.primary_color), parse_hex(website["primaryColor"])) <= COLOUR_TOLERANCE
    assert (
        distance(parse_hex(branding.secondary_color), parse_hex(website["secondaryColor"]))
        <= COLOUR_TOLERANCE
    )
    assert branding.favicon_url == f"{sandbox.url}/stores/{SLUGS[index]}/favicon.ico"
    assert branding.cover_image_url == f"https://images.example.com/{SLUGS[index]}/cover.jpg"
    assert [c.confidence for c in branding.logo_candidates] == sorted(
        (c.confidence for c in branding.logo_candidates), reverse=True
    )
    assert not {"no_logo", "low_confidence_logo", "no_colours"} & set(result.warning_codes())


@pytest.mark.parametrize("index", [0, 4, 8])
async def test_jsonld_hours_and_contact(sandbox: RunningSandbox, guard: UrlGuard, index: int) -> None:
    details = DEMO[index]["config"]["restaurant"]
    result = await _extract(sandbox, guard, f"/stores/{SLUGS[index]}")

    assert [h.model_dump() for h in result.opening_hours] == details["openingHours"]
    assert result.contact.phone == details["phone"]
    assert result.contact.address == details["address"]
    assert result.contact.city == details["city"]
    assert result.contact.email == DEMO[index]["config"]["account"]["email"]


async def test_contact_from_page_links(sandbox: RunningSandbox, guard: UrlGuard) -> None:
    details = DEMO[3]["config"]["restaurant"]
    result = await _extract(sandbox, guard, f"/stores/{SLUGS[3]}")
    assert result.contact.phone == details["phone"]
    assert result.contact.address == details["address"]
    assert result.contact.email == DEMO[3]["config"]["account"]["email"]
    assert result.opening_hours == []


def _png(
    size: int, background: tuple[int, int, int, int], shapes: list[tuple[tuple[int, ...], str]]
) -> bytes:
    image = Image.new("RGBA", (size, size), background)
    draw = ImageDraw.Draw(image)
    for box, colour in shapes:
        draw.rectangle(box, fill=colour)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_palette_and_theme_rules() -> None:
    # Opaque white background: ignored; the background decides the theme.
    on_white = palette_from_image(
        _png(100, (255, 255, 255, 255), [((10, 10, 89, 60), "#D62828"), ((10, 61, 89, 80), "#1D3557")])
    )
    assert on_white is not None
    assert (on_white.primary, on_white.secondary, on_white.theme) == ("#D62828", "#1D3557", "light")
    # Opaque black background.
    on_black = palette_from_image(_png(100, (0, 0, 0, 255), [((10, 10, 89, 89), "#2A9D8F")]))
    assert on_black is not None and (on_black.primary, on_black.secondary, on_black.theme) == (
        "#2A9D8F",
        None,
        "dark",
    )
    # Transparent logo of mostly white artwork: needs a dark site to stay visible. White counts as a colour.
    white_art = palette_from_image(
        _png(100, (0, 0, 0, 0), [((10, 10, 89, 70), "#FFFFFF"), ((10, 71, 89, 89), "#0077B6")])
    )
    assert white_art is not None
    assert (white_art.primary, white_art.secondary, white_art.theme) == ("#0077B6", "#FFFFFF", "dark")
    # Grey-only logo: no saturated colour, so the commonest colour is primary.
    grey = palette_from_image(_png(100, (0, 0, 0, 0), [((10, 10, 89, 89), "#555555")]))
    assert grey is not None and grey.primary == "#555555" and grey.theme == "light"
    assert palette_from_image(b"not an image") is None
    assert palette_from_image(_png(10, (0, 0, 0, 0), [])) is None


# -- hostile pages --------------------------------------------------------------------------------------


async def test_huge_page_is_refused(sandbox: RunningSandbox, guard: UrlGuard) -> None:
    error = await _error(sandbox, guard, "/stores/_huge")
    assert (error.code, error.retryable) == ("too_large", False)


async def test_size_cap_applies_to_ordinary_pages_and_declared_lengths(
    sandbox: RunningSandbox, guard: UrlGuard
) -> None:
    async with httpx.AsyncClient() as http:
        page = await fetch_page(f"{sandbox.url}/stores/{SLUGS[0]}", http=http, guard=guard)
        assert len(page.text) > 2_000
        with pytest.raises(ExtractionError) as caught:
            await fetch_page(f"{sandbox.url}/stores/{SLUGS[0]}", http=http, guard=guard, max_bytes=1_000)
        assert caught.value.code == "too_large"
        with pytest.raises(ExtractionError) as caught:
            await fetch_image(
                f"{sandbox.url}/stores/{SLUGS[0]}/logo.png", http=http, guard=guard, max_bytes=100
            )
        assert caught.value.code == "too_large"


async def test_broken_page_state_falls_back_to_the_dom(sandbox: RunningSandbox, guard: UrlGuard) -> None:
    result = await _extract(sandbox, guard, "/stores/_invalid-json")
    assert result.source == "dom"
    assert result.menu is not None
    assert [(i.name, str(i.price)) for i in result.menu.items()] == [
        ("Market Fish", "0.00"),
        ("Soup of the Day", "9.50"),
    ]
    assert result.menu.items()[1].description == "Ask our staff"
    codes = result.warning_codes()
    assert {"invalid_page_state", "missing_price", "no_images", "no_logo", "no_colours"} <= set(codes)


async def test_page_without_menu(sandbox: RunningSandbox, guard: UrlGuard) -> None:
    result = await _extract(sandbox, guard, "/stores/_no-menu")
    assert result.menu is None
    assert {"no_menu", "low_confidence_logo"} <= set(result.warning_codes())
    # The og:image is only a guess at the logo, but it is readable, so its colours are offered.
    assert result.branding.logo_confidence < 0.5
    assert result.branding.primary_color == DEMO[0]["config"]["website"]["primaryColor"]


async def test_empty_category_is_dropped_with_a_warning(sandbox: RunningSandbox, guard: UrlGuard) -> None:
    result = await _extract(sandbox, guard, f"/stores/{SLUGS[4]}")
    assert result.menu is not None and "Specials" not in [c.name for c in result.menu.categories]
    assert "empty_category" in result.warning_codes()


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/stores/_redirect-loop", "too_many_redirects"),
        ("/stores/_not-html", "not_html"),
        ("/stores/_redirect-private", "ssrf_refused"),
        ("/stores/no-such-restaurant", "http_error"),
    ],
)
async def test_hostile_pages_fail_with_clear_codes(
    sandbox: RunningSandbox, guard: UrlGuard, path: str, code: str
) -> None:
    error = await _error(sandbox, guard, path)
    assert error.code == code
    assert error.retryable is False


async def test_redirects_are_followed_to_the_final_page(sandbox: RunningSandbox, guard: UrlGuard) -> None:
    result = await _extract(sandbox, guard, f"/stores/_moved/{SLUGS[5]}")
    assert result.url == f"{sandbox.url}/stores/_moved/{SLUGS[5]}"
    assert result.final_url == f"{sandbox.url}/stores/{SLUGS[5]}"
    assert result.source == "deliveroo"


async def test_retryable_failures(sandbox: RunningSandbox) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/slow":
            raise httpx.ReadTimeout("slow", request=request)
        return httpx.Response(503, text="down")

    guard = UrlGuard(allowed_hosts=frozenset({"store.test"}))
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        with pytest.raises(ExtractionError) as caught:
            await fetch_page("http://store.test/down", http=http, guard=guard)
        assert (caught.value.code, caught.value.status, caught.value.retryable) == ("http_error", 503, True)
        with pytest.raises(ExtractionError) as caught:
            await fetch_page("http://store.test/slow", http=http, guard=guard)
        assert (caught.value.code, caught.value.retryable) == ("timeout", True)

    # A real closed port: nothing listens on the sandbox's port once a throwaway server stops.
    closed = start_in_thread(SandboxSettings(time_scale=0.001))
    closed.stop()
    async with httpx.AsyncClient() as http:
        with pytest.raises(ExtractionError) as caught:
            await fetch_page(f"{closed.url}/stores/x", http=http, guard=UrlGuard(allow_private=True))
        assert (caught.value.code, caught.value.retryable) == ("unreachable", True)


# -- scripted faults on the store pages -----------------------------------------------------------------


async def _plan_fault(sandbox: RunningSandbox, endpoint: str, slug: str, fault: str, **extra: Any) -> None:
    async with httpx.AsyncClient() as http:
        plan = {"endpoint": endpoint, "restaurant_id": slug, "fault": fault, "times": 1, **extra}
        answer = await http.post(f"{sandbox.url}/_sandbox/faults", json=plan)
    assert answer.status_code == 200, answer.text


async def _calls(sandbox: RunningSandbox, endpoint: str, path: str) -> list[tuple[int | None, str | None]]:
    # The sandbox is shared by the module: callers look only at their path and at the calls they made.
    async with httpx.AsyncClient() as http:
        calls = (await http.get(f"{sandbox.url}/_sandbox/calls", params={"endpoint": endpoint})).json()
    return [(c["status_code"], c["fault"]) for c in calls if c["path"] == path]


async def test_store_page_503_is_retryable_and_logged(sandbox: RunningSandbox, guard: UrlGuard) -> None:
    slug = SLUGS[1]
    before = len(await _calls(sandbox, "store-page", f"/stores/{slug}"))
    await _plan_fault(sandbox, "store-page", slug, "503")

    error = await _error(sandbox, guard, f"/stores/{slug}")
    assert (error.code, error.status, error.retryable) == ("http_error", 503, True)
    result = await _extract(sandbox, guard, f"/stores/{slug}")  # the plan was used up
    assert result.menu is not None and result.source == "deliveroo"

    assert (await _calls(sandbox, "store-page", f"/stores/{slug}"))[before:] == [(503, "503"), (200, None)]


async def test_store_page_429_is_retryable_with_retry_after(sandbox: RunningSandbox, guard: UrlGuard) -> None:
    slug = SLUGS[2]
    await _plan_fault(sandbox, "store-page", slug, "429", retry_after=7)
    async with httpx.AsyncClient() as http:
        answer = await http.get(f"{sandbox.url}/stores/{slug}")
    assert (answer.status_code, answer.headers.get("Retry-After")) == (429, "7")

    await _plan_fault(sandbox, "store-page", slug, "429")
    error = await _error(sandbox, guard, f"/stores/{slug}")
    assert (error.code, error.status, error.retryable) == ("http_error", 429, True)
    assert (await _extract(sandbox, guard, f"/stores/{slug}")).menu is not None


async def test_store_page_timeout_is_retryable(sandbox: RunningSandbox, guard: UrlGuard) -> None:
    slug = SLUGS[6]
    await _plan_fault(sandbox, "store-page", slug, "timeout")
    error = await _error(sandbox, guard, f"/stores/{slug}", timeout=0.5)
    assert (error.code, error.retryable) == ("timeout", True)
    assert (await _extract(sandbox, guard, f"/stores/{slug}")).menu is not None


async def test_store_page_garbage_is_a_page_without_menu(sandbox: RunningSandbox, guard: UrlGuard) -> None:
    slug = SLUGS[7]
    await _plan_fault(sandbox, "store-page", slug, "garbage")
    result = await _extract(sandbox, guard, f"/stores/{slug}")
    assert result.menu is None and "no_menu" in result.warning_codes()


async def test_logo_fault_leaves_a_usable_extraction_with_a_warning(
    sandbox: RunningSandbox, guard: UrlGuard
) -> None:
    slug = SLUGS[3]
    before = len(await _calls(sandbox, "store-logo", f"/stores/{slug}/logo.png"))
    await _plan_fault(sandbox, "store-logo", slug, "503")

    result = await _extract(sandbox, guard, f"/stores/{slug}")
    assert result.menu is not None and result.menu.items()
    assert "logo_unreadable" in result.warning_codes()
    assert result.branding.logo_url != f"{sandbox.url}/stores/{slug}/logo.png"

    assert (await _calls(sandbox, "store-logo", f"/stores/{slug}/logo.png"))[before:] == [(503, "503")]
    again = await _extract(sandbox, guard, f"/stores/{slug}")
    assert again.branding.logo_url == f"{sandbox.url}/stores/{slug}/logo.png"
    assert "logo_unreadable" not in again.warning_codes()


# -- SSRF guard -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.1.2.3/menu",
        "http://192.168.0.1/",
        "http://100.64.0.1/",  # carrier-grade NAT
        "http://[::1]:8080/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://localhost:8000/",
        "file:///etc/passwd",
        "ftp://example.com/menu.pdf",
        "gopher://127.0.0.1:6379/_",
    ],
)
def test_guard_refuses_private_and_odd_urls(url: str) -> None:
    with pytest.raises(ExtractionError) as caught:
        UrlGuard().check(url)
    assert caught.value.code == "ssrf_refused"


def test_guard_allows_public_and_listed_hosts() -> None:
    UrlGuard().check("https://93.184.216.34/store")  # a public literal: no DNS needed
    UrlGuard(allowed_hosts=frozenset({"localhost"})).check("http://localhost:8000/")
    UrlGuard(allowed_hosts=frozenset({"127.0.0.1:8000"})).check("http://127.0.0.1:8000/stores/x")
    UrlGuard(allow_private=True).check("http://10.1.2.3/")
    with pytest.raises(ExtractionError):
        # host:port allows that port only
        UrlGuard(allowed_hosts=frozenset({"127.0.0.1:8000"})).check("http://127.0.0.1:8001/")
    with pytest.raises(ExtractionError):
        # allow_private never opens non-http schemes
        UrlGuard(allow_private=True).check("file:///etc/passwd")


async def test_guard_stops_the_fetch_before_any_request(sandbox: RunningSandbox) -> None:
    async with httpx.AsyncClient() as http:
        with pytest.raises(ExtractionError) as caught:
            await extract_store(f"{sandbox.url}/stores/{SLUGS[0]}", http=http, guard=UrlGuard())
    assert caught.value.code == "ssrf_refused"


@pytest.mark.security
async def test_dns_rebinding_cannot_turn_a_checked_name_into_a_private_address(
    sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name that resolves to a public address for the check and to 127.0.0.1 right after (TTL 0): the
    fetch connects to the address that was checked, never to a second resolution."""
    port = urlsplit(sandbox.url).port
    real = socket.getaddrinfo
    answers: list[str] = []

    def rebinding(host, *args, **kwargs):
        if (host.decode() if isinstance(host, bytes) else host) != "rebind.test":
            return real(host, *args, **kwargs)
        answers.append("93.184.216.34" if not answers else "127.0.0.1")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[-1], port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    async with httpx.AsyncClient() as http:
        with pytest.raises(ExtractionError) as caught:
            await fetch_page(
                f"http://rebind.test:{port}/stores/{SLUGS[0]}", http=http, guard=UrlGuard(), timeout=2
            )
    # Had the connection resolved again, it would have reached the local sandbox and returned its page.
    assert caught.value.code in ("unreachable", "timeout")
    assert answers == ["93.184.216.34"]  # resolved once, by the guard
