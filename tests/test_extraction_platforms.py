"""Step 1 on delivery platforms' embedded state (issue #12, 12a): Deliveroo, Talabat, Uber Eats.

The real-format pages are the corpus fixtures (tests/fixtures/real, SOURCES.md says what each reproduces),
served in memory through the real `extract_store`; the per-item option requests, their budget, pace and
faults go to the sandbox's Uber Eats stores over real HTTP.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest
from benchmarks.extraction import CORPUS, extract_page

from yolobatch.devtools.demo import demo_batch
from yolobatch.devtools.sandbox import RunningSandbox, SandboxSettings, start_in_thread
from yolobatch.domain.extraction import ExtractionResult
from yolobatch.integrations.extraction import UrlGuard, extract_from_html, extract_store
from yolobatch.integrations.extraction.builder import RawCategory, RawItem, RawMenu, build_menu
from yolobatch.integrations.extraction.platforms.ubereats import (
    extract_ubereats_menu,
    fetch_item_options,
    option_groups,
)

DEMO = demo_batch()["restaurants"]
SLUGS = [r["menu"]["id"].removeprefix("menu-") for r in DEMO]
UBER_STORES = [i for i in range(len(DEMO)) if i % 4 == 2]


def _truth(page_id: str) -> dict[str, Any]:
    return json.loads((CORPUS / f"{page_id}.truth.json").read_text(encoding="utf-8"))


async def _corpus(page_id: str) -> ExtractionResult:
    return await extract_page(_truth(page_id))


def _items(result: ExtractionResult) -> dict[str, list[tuple[str, str]]]:
    assert result.menu is not None
    return {c.name: [(i.name, str(i.price)) for i in c.items] for c in result.menu.categories}


@pytest.fixture(scope="module")
def sandbox() -> Any:
    running = start_in_thread(SandboxSettings(time_scale=0.001))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def guard(sandbox: RunningSandbox) -> UrlGuard:
    return UrlGuard(allowed_hosts=frozenset({urlsplit(sandbox.url).netloc}))


# -- Deliveroo ------------------------------------------------------------------------------------------


async def test_deliveroo_skips_modifier_option_records_listed_among_the_items() -> None:
    result = await _corpus("platform-deliveroo-ae")
    names = [i.name for i in result.menu.items()] if result.menu else []
    # The page lists Sambar, Jain Sambar, Boondi... as items with an empty categoryId: none is a dish.
    assert not {"Sambar", "Jain Sambar", "Boondi", "Coca Cola"} & set(names)
    # A dish that is also an add-on option stays one dish at its own price.
    assert _items(result)["Indian Bread"][-1] == ("Tandoori Roti", "5.00")
    assert names.count("Tandoori Roti") == 1
    assert result.source == "deliveroo" and result.menu is not None and result.menu.currency == "AED"


async def test_deliveroo_groups_sharing_a_title_keep_it_as_display_name() -> None:
    result = await _corpus("platform-deliveroo-ae")
    assert result.menu is not None
    sets = {s.name: s for s in result.menu.option_sets}
    assert set(sets) == {"Your Choice Of", "Your Choice Of (2)", "Add on's"}
    # Two groups with the same title and the same options are one set; a different one gets its own name.
    assert [o.name for o in sets["Your Choice Of"].items] == ["Sambar", "Jain Sambar"]
    assert [o.name for o in sets["Your Choice Of (2)"].items] == ["Vegetables", "Boondi"]
    assert sets["Your Choice Of (2)"].display_name == "Your Choice Of"
    items = {i.name: i for i in result.menu.items()}
    assert items["Idli"].option_sets == items["Wada"].option_sets == ["Your Choice Of"]
    assert items["Raita"].option_sets == ["Your Choice Of (2)"]
    add_ons = sets["Add on's"]
    assert (add_ons.min_selections, add_ons.max_selections, add_ons.multiple_selections_allowed) == (
        0,
        11,
        True,
    )
    assert [(o.name, o.price) for o in add_ons.items][:2] == [
        ("Tandoori Roti", Decimal("5.00")),
        ("Butter Roti", Decimal("6.00")),
    ]
    assert items["Paneer Bhurjee"].tags == ["popular"]


def test_deliveroo_price_falls_back_to_the_formatted_string() -> None:
    page = (CORPUS / "platform-deliveroo-ae.html").read_text(encoding="utf-8")
    page = page.replace('"fractional":4600,"formatted":"AED 46"', '"formatted":"AED 46.50"')
    _doc, result = extract_from_html(_truth("platform-deliveroo-ae")["url"], page)
    assert result.menu is not None
    assert {i.name: str(i.price) for i in result.menu.items()}["Paneer Tikka Masala"] == "46.50"


async def test_deliveroo_branding_cover_from_state_and_a_cover_photo_is_no_logo() -> None:
    result = await _corpus("platform-deliveroo-ae")
    branding = result.branding
    assert branding.cover_image_url is not None and "787920e8" in branding.cover_image_url
    # The image URL's size placeholders are filled: nothing downstream can fetch "{w}".
    assert "{w}" not in branding.cover_image_url and "width=800" in branding.cover_image_url
    images = [i.image_url for i in result.menu.items() if i.image_url] if result.menu else []
    assert images and all("{" not in url for url in images)
    # The only image candidates are the og:image (a food/cover photo) and Deliveroo's own icons.
    assert branding.logo_confidence <= 0.5 and "low_confidence_logo" in result.warning_codes()
    icons = [c for c in branding.logo_candidates if "roocdn.com/_next" in c.url]
    assert icons and all(c.confidence < 0.3 for c in icons)
    assert branding.favicon_url == "https://cwa.roocdn.com/_next/static/favicon-32x32.9ac59871.png"
    assert (result.contact.address, result.contact.city) == ("The Palm, Dubai", "Dubai")


# -- Talabat --------------------------------------------------------------------------------------------


async def test_talabat_drops_the_synthetic_picks_section() -> None:
    result = await _corpus("platform-talabat-ae-en")
    items = _items(result)
    assert "Picks for you 🔥" not in items and "Picks for you" not in items
    assert list(items) == ["Thali", "Idli & Wada", "Dosa", "Refreshers", "Stimulators"]
    names = [i.name for i in result.menu.items()] if result.menu else []
    assert names.count("Thali") == 1 and names.count("Zafrani Tea") == 1
    assert items["Stimulators"][0] == ("Zafrani Tea", "12.00")
    assert result.menu is not None and result.menu.currency == "AED"


async def test_talabat_entities_in_json_are_decoded() -> None:
    raw = (CORPUS / "platform-talabat-ae-en.html").read_text(encoding="utf-8")
    assert "?width=172&amp;height=172" in raw  # the trap is really in the page
    page = raw.replace('"originalImage"', '"originalImageGone"')
    _doc, result = extract_from_html(_truth("platform-talabat-ae-en")["url"], page)
    assert result.menu is not None
    urls = [i.image_url for i in result.menu.items()]
    assert urls and all(url and "&amp;" not in url and "&height=172" in url for url in urls)
    # Names escaped the same way come out as a person reads them.
    page = page.replace('"name":"Masala Tea"', '"name":"Masala Tea &amp; Rusk"')
    _doc, result = extract_from_html(_truth("platform-talabat-ae-en")["url"], page)
    assert result.menu is not None and "Masala Tea & Rusk" in [i.name for i in result.menu.items()]


async def test_talabat_arabic_rtl_page() -> None:
    result = await _corpus("platform-talabat-ae-ar")
    items = _items(result)
    assert list(items) == ["ثالي", "ايدلي و وادا", "دوسا"]
    assert items["دوسا"] == [("سادا دوسا", "17.00"), ("مسالا دوسا", "21.00")]
    descriptions = [i.description or "" for i in result.menu.items()] if result.menu else []
    assert any("٤" in d for d in descriptions)  # Arabic-Indic digits kept as written
    assert result.branding.cover_image_url and "KAMAT_" in result.branding.cover_image_url
    assert result.branding.logo_candidates[0].source == "platform_logo"


# -- Uber Eats ------------------------------------------------------------------------------------------


async def test_ubereats_escaped_state_carousel_and_cross_listing() -> None:
    raw = (CORPUS / "platform-ubereats-us.html").read_text(encoding="utf-8")
    assert "{\\u0022mutations\\u0022" in raw
    result = await _corpus("platform-ubereats-us")
    items = _items(result)
    assert list(items) == ["Burritos & Crunchwraps", "Birria Tacos", "Bowls", "Desserts"]
    # The carousel is gone; the dish listed in two real sections is in both, with the same options.
    assert ("Guac Time Burrito Bowl", "12.99") in items["Bowls"]
    assert ("Guac Time Burrito Bowl", "12.99") in items["Burritos & Crunchwraps"]
    assert items["Birria Tacos"][0] == ("Beef Birria Taco's 2(pcs)", "13.99")
    assert result.menu is not None and result.menu.currency == "USD"


async def test_ubereats_options_per_item_and_max_zero_means_no_limit() -> None:
    result = await _corpus("platform-ubereats-us")
    assert result.menu is not None
    sets = {s.name: s for s in result.menu.option_sets}
    extras = sets["Add Extras"]  # maxPermitted 0 on the platform
    assert (extras.min_selections, extras.max_selections) == (0, len(extras.items))
    assert extras.multiple_selections_allowed and not extras.is_required
    protein = sets["Choice of Protein"]
    assert (protein.is_required, protein.min_selections, protein.max_selections) == (True, 1, 1)
    assert [(o.name, o.price) for o in protein.items][1] == ("Steak", Decimal("2.00"))
    bowls = [i for i in result.menu.items() if i.name == "Guac Time Burrito Bowl"]
    assert len(bowls) == 2 and all(b.option_sets == ["Choice of Protein", "Add Extras"] for b in bowls)


async def test_ubereats_details_without_platform_region_codes() -> None:
    result = await _corpus("platform-ubereats-us")
    assert result.contact.address == "391 Jay Street, Brooklyn, 11201, US"
    assert "NAMER" not in (result.contact.address or "")
    assert result.contact.phone == "+13472944227"
    # metaJson writes "10:30" to "3:0": read as 03:00 (after midnight), every day.
    assert {(h.open, h.close) for h in result.opening_hours} == {("10:30", "03:00")}
    assert len(result.opening_hours) == 7
    assert result.branding.cover_image_url and result.branding.cover_image_url.endswith(
        "3ac2b39ad528f8c8c5dc77c59abb683d.jpeg"
    )


@pytest.mark.parametrize("encoding", ["percent", "plain"])
def test_uber_state_read_however_it_is_encoded(encoding: str) -> None:
    raw = (CORPUS / "platform-ubereats-us.html").read_text(encoding="utf-8")
    body = raw.split('id="__REACT_QUERY_STATE__">')[1].split("</script>")[0]
    state = json.loads(f'"{body}"')  # the JSON text, as the escaped script says it
    script = quote(state, safe="") if encoding == "percent" else state.replace("</", "<\\/")
    page = raw.replace(body, script)
    _doc, result = extract_from_html(_truth("platform-ubereats-us")["url"], page)
    assert result.source == "ubereats" and result.menu is not None
    assert ("Beef Birria Taco's 2(pcs)", "13.99") in [(i.name, str(i.price)) for i in result.menu.items()]


def test_older_deliveroo_pages_keep_the_menu_at_meta() -> None:
    page = (CORPUS / "platform-deliveroo-ae.html").read_text(encoding="utf-8")
    page = page.replace('"metas":{"root":{', '"meta":{').replace('"header":{"title"', '"header":{"title"')
    # `metas.root` closed one brace deeper: drop one closing brace after the items list.
    page = page.replace(']}},"header":', ']},"header":')
    _doc, result = extract_from_html(_truth("platform-deliveroo-ae")["url"], page)
    assert result.source == "deliveroo" and result.menu is not None
    assert len(result.menu.items()) == len(_truth("platform-deliveroo-ae")["items"])


def test_broken_uber_state_is_a_warning() -> None:
    state = "{\\u0022queries\\u0022:["  # cut off mid-way
    script = f'<script type="application/json" id="__REACT_QUERY_STATE__">{state}</script>'
    page = f"<html><body>{script}</body></html>"
    _doc, result = extract_from_html("https://www.ubereats.com/store/x/y", page)
    assert result.menu is None
    assert {"invalid_page_state", "no_menu"} <= set(result.warning_codes())


async def test_item_options_go_through_the_url_guard() -> None:
    item = RawItem(name="Burrito", price=Decimal("12.99"), options_request={"menuItemUuid": "x"})
    raw = RawMenu(
        categories=[RawCategory(name="Mains", items=[item])],
        options_url="http://169.254.169.254/_p/api/getMenuItemV1",
    )
    asked: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(request)
        return httpx.Response(200, json={"data": {"customizationsList": []}})

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        warnings = await fetch_item_options(
            raw, http=http, guard=UrlGuard(), timeout=5, budget=5, per_second=50
        )
    assert asked == []
    assert [w.code for w in warnings] == ["item_options_unavailable"]
    assert "ssrf_refused" in warnings[0].message


# -- the sandbox serves the real formats ---------------------------------------------------------------


async def test_sandbox_pages_are_the_real_platform_formats(sandbox: RunningSandbox) -> None:
    async with httpx.AsyncClient() as http:
        deliveroo = (await http.get(f"{sandbox.url}/stores/{SLUGS[1]}")).text
        uber = (await http.get(f"{sandbox.url}/stores/{SLUGS[2]}")).text
    assert '"menuPage":{"menu":{"metas":{"root"' in deliveroo.replace(" ", "")
    assert '"categoryId": ""' in deliveroo  # the modifier options' own records
    assert 'id="__REACT_QUERY_STATE__"' in uber and "\\u0022catalogSectionsMap\\u0022" in uber
    assert "Picks for you" in uber


async def _store_item_calls(sandbox: RunningSandbox) -> list[dict[str, Any]]:
    async with httpx.AsyncClient() as http:
        return (await http.get(f"{sandbox.url}/_sandbox/calls", params={"endpoint": "store-item"})).json()


async def test_uber_store_options_within_budget_and_pace(sandbox: RunningSandbox, guard: UrlGuard) -> None:
    index = UBER_STORES[1]
    with_options = sum(1 for c in DEMO[index]["menu"]["categories"] for i in c["items"] if i["option_sets"])
    assert with_options >= 3
    before = len(await _store_item_calls(sandbox))
    started = time.monotonic()
    async with httpx.AsyncClient() as http:
        result = await extract_store(
            f"{sandbox.url}/stores/{SLUGS[index]}", http=http, guard=guard, item_budget=2, item_rate=10
        )
    elapsed = time.monotonic() - started
    assert len(await _store_item_calls(sandbox)) - before == 2
    assert elapsed >= 0.1  # two requests at 10/s: the second waits its turn
    assert "item_options_budget" in result.warning_codes()
    assert result.menu is not None
    assert sum(1 for i in result.menu.items() if i.option_sets) == 2


async def test_uber_item_fault_leaves_the_menu_with_a_warning(
    sandbox: RunningSandbox, guard: UrlGuard
) -> None:
    slug = SLUGS[UBER_STORES[0]]
    async with httpx.AsyncClient() as http:
        plan = {"endpoint": "store-item", "restaurant_id": slug, "fault": "503", "times": 1}
        assert (await http.post(f"{sandbox.url}/_sandbox/faults", json=plan)).status_code == 200
        result = await extract_store(f"{sandbox.url}/stores/{slug}", http=http, guard=guard, item_rate=100)
    assert result.menu is not None and result.source == "ubereats"
    assert "item_options_unavailable" in result.warning_codes()
    with_sets = [i for i in result.menu.items() if i.option_sets]
    expected = sum(
        1 for c in DEMO[UBER_STORES[0]]["menu"]["categories"] for i in c["items"] if i["option_sets"]
    )
    assert len(with_sets) == expected - 1


def test_corpus_pages_exist_for_every_platform() -> None:
    ids = {p.name.removesuffix(".truth.json") for p in Path(CORPUS).glob("platform-*.truth.json")}
    assert {
        "platform-deliveroo-ae",
        "platform-talabat-ae-en",
        "platform-talabat-ae-ar",
        "platform-ubereats-us",
    } <= ids


# -- GrabFood -------------------------------------------------------------------------------------------


async def test_grab_prices_follow_the_currency_exponent_and_personal_sections_go() -> None:
    result = await _corpus("platform-grab-id")
    # IDR has exponent 2 on Grab: 2900000 is Rp 29.000 (not 29,000,000 nor 290).
    assert _items(result) == {"Menu promo": [("Puas Burger Extra", "29000.00")]}
    assert result.menu is not None and result.menu.currency == "IDR" and result.source == "grab"
    assert result.branding.cover_image_url and "IDGFSTI00000fe5/hero" in result.branding.cover_image_url


def test_grab_exponent_zero_and_opening_hours() -> None:
    page = (CORPUS / "platform-grab-id.html").read_text(encoding="utf-8")
    # A Vietnamese store: VND has no minor unit, "Salt Coffee" at 18000 is 18,000 VND.
    page = page.replace('"code":"IDR","symbol":"Rp","exponent":2', '"code":"VND","symbol":"₫","exponent":0')
    page = page.replace('"priceInMinorUnit":2900000', '"priceInMinorUnit":18000').replace(
        "Puas Burger Extra", "Salt Coffee"
    )
    page = page.replace('"mon":""', '"mon":"11:00am-10:00pm"').replace(
        '"sat":""', '"sat":"7:30am-12:00pm,5:00pm-2:00am"'
    )
    _doc, result = extract_from_html("https://food.grab.com/vn/en/restaurant/x/5-ABC", page)
    assert result.menu is not None and result.menu.currency == "VND"
    assert [(i.name, str(i.price)) for i in result.menu.items()] == [("Salt Coffee", "18000.00")]
    hours = [(h.day, h.open, h.close) for h in result.opening_hours]
    assert hours == [
        ("Monday", "11:00", "22:00"),
        ("Saturday", "07:30", "12:00"),
        ("Saturday", "17:00", "02:00"),
    ]


def test_uber_diet_badges_become_tags() -> None:
    # Real catalogue items (moonbowls, Brooklyn; SOURCES.md): the badge is spoken after the title.
    bowl = {
        "uuid": "u1",
        "title": "BBQ Chicken Bowl",
        "price": 1550,
        "titleBadge": {"text": "BBQ Chicken Bowl", "accessibilityText": "BBQ Chicken Bowl, GLUTEN_FREE"},
    }
    nuggets = {"uuid": "u2", "title": "Crispy Chicken Nuggets", "price": 800, "titleBadge": {"text": "x"}}
    payload = {"standardItemsPayload": {"title": {"text": "Bowls"}, "catalogItems": [bowl, nuggets]}}
    store = {"uuid": "s", "catalogSectionsMap": {"m": [{"type": "VERTICAL_GRID", "payload": payload}]}}
    menu, _warnings = build_menu(extract_ubereats_menu(store, "https://www.ubereats.com/store/m/x"))
    assert menu is not None
    assert [(i.name, str(i.price), i.tags) for i in menu.items()] == [
        ("BBQ Chicken Bowl", "15.50", ["gluten free"]),
        ("Crispy Chicken Nuggets", "8.00", []),
    ]


def test_uber_store_with_two_menus_lists_each_section_once() -> None:
    def section(uuid: str, title: str, dishes: list[tuple[str, str, int]]) -> dict[str, Any]:
        items = [{"uuid": u, "title": t, "price": p, "sectionUuid": uuid} for u, t, p in dishes]
        payload = {"standardItemsPayload": {"title": {"text": title}, "catalogItems": items}}
        return {"type": "VERTICAL_GRID", "catalogSectionUUID": f"{uuid}-{title}", "payload": payload}

    tacos = [("t1", "Beef Birria Taco's 2(pcs)", 1399)]
    store = {
        "uuid": "s",
        "location": {"country": "US"},
        "sections": [{"uuid": "breakfast"}, {"uuid": "all-day"}],
        "catalogSectionsMap": {
            "breakfast": [section("breakfast", "Birria Tacos", tacos)],
            "all-day": [
                section("all-day", "Birria Tacos", [*tacos, ("t2", "Chicken Birria Taco's (2pcs.)", 1399)]),
                section("all-day", "Popular Items", [tacos[0]]),
            ],
        },
    }
    raw = extract_ubereats_menu(store, "https://www.ubereats.com/store/x/y")
    assert raw is not None and raw.currency == "USD"
    assert [(c.name, [i.name for i in c.items]) for c in raw.categories] == [
        ("Birria Tacos", ["Beef Birria Taco's 2(pcs)", "Chicken Birria Taco's (2pcs.)"])
    ]


async def test_a_logo_at_confidence_one_half_is_warned_about() -> None:
    """schema.org `image` (confidence 0.5) is as often a dish photo as a logo: it is a guess."""
    page = (
        '<html><head><script type="application/ld+json">'
        '{"@context": "https://schema.org", "@type": "Restaurant", "name": "Kamat",'
        ' "image": "https://cdn.example.com/thali.png"}</script></head><body></body></html>'
    )
    png = bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d4944415478da63f8cfc0f01f0005000201a5f6e8e90000000049454e44ae426082"
    )

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith(".png"):
            return httpx.Response(200, content=png, headers={"content-type": "image/png"})
        return httpx.Response(200, text=page, headers={"content-type": "text/html"})

    guard = UrlGuard(allowed_hosts=frozenset({"kamat.example", "cdn.example.com"}))
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        result = await extract_store("https://kamat.example/", http=http, guard=guard)
    assert result.branding.logo_url == "https://cdn.example.com/thali.png"
    assert result.branding.logo_confidence == 0.5
    assert "low_confidence_logo" in result.warning_codes()


def test_uber_item_answer_keeps_top_level_groups() -> None:
    """A real `getMenuItemV1` answer (Big Mac®, McDonald's Bethnal Green Road, pence; see SOURCES.md):
    meal branches nest their own groups under an option; the menu import has one level, so the
    top-level choice is kept with its price deltas and the nested groups are left out."""
    comes_with = {"title": "Big Mac® Comes With", "minPermitted": 0, "maxPermitted": 12, "options": []}
    answer = {
        "status": "success",
        "data": {
            "title": "Big Mac®",
            "price": 589,
            "customizationsList": [
                {
                    "title": "Select Option",
                    "minPermitted": 1,
                    "maxPermitted": 1,
                    "options": [
                        {
                            "title": "Large Big Mac® Meal",
                            "price": 280,
                            "childCustomizationList": [comes_with],
                        },
                        {"title": "Big Mac®", "price": 0, "childCustomizationList": [comes_with]},
                    ],
                }
            ],
        },
    }
    [group] = option_groups(answer, "GBP")
    assert (group.name, group.min_selections, group.max_selections) == ("Select Option", 1, 1)
    assert [(o.name, o.price) for o in group.options] == [
        ("Large Big Mac® Meal", Decimal("2.80")),
        ("Big Mac®", Decimal("0.00")),
    ]
