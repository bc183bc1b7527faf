"""The compact inbox and the config review's previews (issue 17 item 8), in a real browser over a real
pipeline run: images, colours, the menu and the opening hours shown as what they are, the week grid and
colour pickers round-tripping to the same config, and the bulk accept of suggested company matches."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.async_api import expect

from tests.conftest import batch_of
from tests.engine_helpers import wait_until
from tests.test_dashboard import dash, inbox_item, page, store_csv, upload  # noqa: F401  (fixtures)
from tests.web_helpers import ORG, doc_shot
from yolobatch.web.config_form import changes_from_form, form_sections

LIVE = 120_000


def _waiting(progress) -> bool:
    steps = {j["restaurant_name"]: j["steps"] for j in progress["jobs"]}
    return (
        steps["Jax Burger Shack"].get("5", {}).get("status") == "action_required"
        and steps["Pizza Palace CBD"].get("3", {}).get("status") == "action_required"
    )


async def test_the_compact_inbox_previews_the_config_and_accepts_company_matches_in_bulk(dash, page):  # noqa: F811
    await page.goto(f"{dash.url}/login")
    await page.fill("input[name=token]", dash.token)
    await page.click("main button[type=submit]")
    await upload(page, dash, "Review batch", store_csv(dash.world.url))
    await expect(page.locator(".flash.ok")).to_contain_text("Created with 2 restaurants")
    batch_id = page.url.split("/batches/")[1].split("?")[0]
    progress = await wait_until(dash.store, batch_id, _waiting, timeout=120)
    jobs = {j["restaurant_name"]: j["job_id"] for j in progress["jobs"]}

    # Compact: every card is one closed line; the kind chips filter without a script.
    await page.goto(f"{dash.url}/inbox")
    cards = page.locator("article.item")
    await expect(cards).to_have_count(2)
    for index in range(2):
        assert await cards.nth(index).locator("details.item-body").get_attribute("open") is None
    company_line = page.locator("article[data-kind=company] details.item-body > summary")
    await expect(company_line).to_contain_text("best match:")
    await doc_shot(page.locator("main"), "inbox-compact")
    await page.locator(".kind-filters a", has_text="Company choice").click()
    await expect(page.locator("article.item")).to_have_count(1)
    await expect(page.locator("article.item")).to_have_attribute("data-kind", "company")

    # The config review shows what the config makes: images, colours, menu and a week of hours.
    jax = jobs["Jax Burger Shack"]
    config = dash.store.config_review(jax)["config"]
    card = await inbox_item(page, dash, "config", "Jax Burger Shack")
    logo = card.locator(".config-preview figure.image-logo img")
    await expect(logo).to_be_visible()
    served = await page.request.get(dash.url + (await logo.get_attribute("src") or ""))
    assert served.status == 200 and served.headers["content-type"].startswith("image/"), await served.text()
    await logo.evaluate("img => img.decode()")  # fails if the browser cannot load and decode it
    assert await logo.evaluate("img => img.naturalWidth") > 0
    primary = config["website"]["primaryColor"]
    await expect(card.locator(f'.swatches rect[fill="{primary}"]')).to_have_count(1)
    colour_input = card.locator("input[type=color][name='website.primaryColor']")
    await expect(colour_input).to_have_value(primary.lower())
    menu = dash.store.job_menu(jax, config["menu"]["selectedMenuId"])
    first_item = menu["categories"][0]["items"][0]
    preview = card.locator("details.menu-preview")
    await preview.locator("summary").click()
    await expect(preview).to_contain_text(first_item["name"])
    await expect(preview).to_contain_text(f"{float(first_item['price']):.2f}")
    await expect(preview.locator("summary")).to_contain_text(f"{len(menu['categories'])} categor")
    if menu["option_sets"]:
        await expect(preview.locator(".option-groups li")).to_have_count(len(menu["option_sets"]))
    assert menu["categories"] and config["menu"]["selectedMenuId"] not in await card.inner_text()  # no UUID
    hours = config["restaurant"]["openingHours"]
    assert hours, "the sandbox's store page has opening hours"
    grid = card.locator("table.hours")
    assert "openingHours" not in await card.locator("textarea").evaluate_all(
        "ts => ts.map(t => t.name).join()"
    )
    first = hours[0]
    await expect(grid.locator(f"input[name='restaurant.openingHours.{first['day']}.0.open']")).to_have_value(
        first["open"]
    )
    await doc_shot(card, "config-review")

    # Saved untouched, nothing changes: the grid and the pickers give back the same config.
    await card.get_by_role("button", name="Save edits").click()
    await expect(page.locator(".flash.ok")).to_contain_text("No changes")
    assert dash.store.config_review(jax)["config"] == config

    # An edit through the grid and a picker lands in the config as data.
    card = await inbox_item(page, dash, "config", "Jax Burger Shack")
    await card.locator("input[name='restaurant.openingHours.Sunday.0.open']").fill("10:00")
    await card.locator("input[name='restaurant.openingHours.Sunday.0.close']").fill("14:30")
    await card.locator("input[type=color][name='website.secondaryColor']").fill("#12ab34")
    await card.locator("input[name='website.secondaryColor:none']").uncheck()
    await card.get_by_role("button", name="Save edits").click()
    await expect(page.locator(".flash.ok")).to_contain_text("Saved 2 change(s)")
    edited = dash.store.config_review(jax)["config"]
    assert {"day": "Sunday", "open": "10:00", "close": "14:30"} in edited["restaurant"]["openingHours"]

    def others(entries):
        return sorted((h["day"], h["open"], h["close"]) for h in entries if h["day"] != "Sunday")

    assert others(edited["restaurant"]["openingHours"]) == others(hours)
    assert edited["website"]["secondaryColor"] == "#12ab34"

    # Bulk accept: the ticked restaurant gets its best-ranked candidate, read on the server.
    pizza = jobs["Pizza Palace CBD"]
    best = dash.store.candidates(pizza)[0]["number"]
    await page.goto(f"{dash.url}/inbox")
    await page.locator(f"article[data-job='{pizza}'] input[name=job]").check()
    await page.get_by_role("button", name="Accept the best match of the ticked restaurants").click()
    await expect(page.locator(".flash.ok")).to_contain_text("Accepted the best match for 1 restaurant")
    chosen = await wait_until(
        dash.store,
        batch_id,
        lambda p: next(j for j in p["jobs"] if j["job_id"] == pizza)["steps"]["3"]["status"] == "completed",
        timeout=60,
    )
    step3 = next(j for j in chosen["jobs"] if j["job_id"] == pizza)["steps"]["3"]
    assert step3["result"] == {"number": best}
    audit = [(e.kind, e.actor) for e in dash.store.events(job_id=pizza) if e.kind.startswith("company")]
    assert audit and all(re.match(r"dashboard:", actor) for _, actor in audit)

    # Pizza's timeline shows the wait for a person at step 3, ending when the choice was made.
    async with httpx.AsyncClient(base_url=dash.url, cookies={"yb_session": dash.session}) as http:
        drawer = (await http.get(f"/jobs/{pizza}/drawer")).text
    step3 = re.search(r'<g class="lane" data-lane="step3">(.*?)</g>', drawer, re.S)
    assert step3 and 'data-kind="person"' in step3.group(1), drawer[:2000]


async def test_the_batch_list_searches_names_and_filters_by_status(dash):  # noqa: F811
    names = ["Auckland lunch", "Wellington dinner", "Auckland dinner"]
    ids = [dash.store.create_batch(ORG, name, batch_of(1).restaurants) for name in names]
    # Started, with its one restaurant completed: "Auckland dinner" is the one completed batch.
    dash.store.mark_batch_started(ids[2])
    dash.store.record_job(dash.store.job_summaries(ids[2])[0].job_id, "completed")
    async with httpx.AsyncClient(base_url=dash.url, cookies={"yb_session": dash.session}) as http:

        async def listed(**query: str) -> list[str]:
            page = (await http.get("/", params=query)).text
            return re.findall(r'<td><a href="/batches/[^"]+">([^<]+)</a></td>', page)

        assert sorted(await listed()) == sorted(names)
        assert sorted(await listed(q="auckland")) == ["Auckland dinner", "Auckland lunch"]
        assert await listed(q="DINNER", status="draft") == ["Wellington dinner"]
        assert await listed(status="completed") == ["Auckland dinner"]
        assert await listed(status="no-such-status") == (await listed())  # unknown: no filter, no error
        page = (await http.get("/", params={"q": "nowhere"})).text
        assert "No batch matches" in page and "nowhere" in page


def test_the_week_grid_and_colour_pickers_round_trip_and_refuse_half_a_row():
    hours = [
        {"day": "Tuesday", "open": "17:00", "close": "21:00"},
        {"day": "Monday", "open": "11:00", "close": "14:00"},
        {"day": "Tuesday", "open": "11:00", "close": "14:00"},
    ]
    public = {"restaurant": {"openingHours": hours}, "website": {"primaryColor": "#AA00FF"}}
    (hours_field,) = [f for _, fields in form_sections(public) for f in fields if f.field.kind == "hours"]
    # The form as a browser sends it back untouched: every row of the grid, the picker in lower case.
    form = {"restaurant.openingHours": ["grid"], "website.primaryColor": ["#aa00ff"]}
    for day, slots in hours_field.week:
        for n, (opens, closes) in enumerate(slots):
            form[f"restaurant.openingHours.{day}.{n}.open"] = [opens]
            form[f"restaurant.openingHours.{day}.{n}.close"] = [closes]
    assert changes_from_form(form, public) == {}
    assert [s for _, s in hours_field.week][1] == [("11:00", "14:00"), ("17:00", "21:00"), ("", "")]
    # "none" clears the colour; a half-filled row is refused, naming the day.
    assert changes_from_form({**form, "website.primaryColor:none": ["1"]}, public) == {
        "website.primaryColor": None
    }
    form["restaurant.openingHours.Friday.0.open"] = ["09:00"]
    with pytest.raises(ValueError, match="Friday"):
        changes_from_form(form, public)
