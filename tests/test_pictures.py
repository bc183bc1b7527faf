"""The dashboard's pictures (issue 17 item 8) and basics (item 9), in a real browser over a real run.

The timeline's bars are checked against the sandbox's own log of the calls it received: every attempt must
be drawn, in order, with the waits (for a person, at the account gate) drawn as such.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, expect
from temporalio.client import Client

from tests.conftest import batch_of, settings_for
from tests.engine_helpers import calls, fault, sub_step_is, wait_until
from tests.web_helpers import ORG, Dashboard, browser_page, doc_shot, log_in, serving
from yolobatch.cli import sandbox_settings
from yolobatch.domain.pace import earliest_completions
from yolobatch.domain.plan import PLAN
from yolobatch.http.security import csrf_token
from yolobatch.store.pictures import BatchPace, Lane, Segment, Timeline
from yolobatch.web.pictures import LABEL_W, TIMELINE_W, pace_bound, pace_rows, pace_svg, timeline_svg

LIVE = 120_000
CSS = Path(__file__).resolve().parent.parent / "src" / "yolobatch" / "web" / "static" / "dashboard.css"
RECT = re.compile(
    r'<rect class="seg k-(\w+)" data-kind="(\w+)" data-start="([\d.]+)" data-end="([\d.]+)" x="([\d.]+)"'
)


@pytest.fixture
async def dash(dev_server, world, store, tmp_path) -> AsyncIterator[Dashboard]:
    client = await Client.connect(dev_server.address)
    # One account per 0.3 s and two platform calls at once: the gate and the cap both show in the pictures.
    settings = settings_for(
        store,
        world,
        tmp_path,
        **sandbox_settings(world.url),
        accounts_per_minute=2.0,
        platform_concurrency=2,
        display_timezone="Pacific/Auckland",
    )
    async with serving(client, store, settings, world) as running:
        yield running


@pytest.fixture
async def page(dash) -> AsyncIterator[Page]:
    async with browser_page() as opened:
        yield opened


def lanes(svg: str) -> dict[str, list[tuple[str, str, float, float, float]]]:
    """lane -> its bars as (kind class, data-kind, start, end, x), in document order."""
    found: dict[str, list[tuple[str, str, float, float, float]]] = defaultdict(list)
    for lane, body in re.findall(r'<g class="lane" data-lane="(\w+)">(.*?)</g>', svg, re.S):
        for kind, data_kind, start, end, x in RECT.findall(body):
            found[lane].append((kind, data_kind, float(start), float(end), float(x)))
    return found


async def test_the_timeline_draws_every_attempt_and_every_wait_and_the_chart_the_pace(dash, page):
    world = dash.world
    batch_id = dash.store.create_batch(ORG, "Pictures", batch_of(3).restaurants)
    jobs = [j.job_id for j in dash.store.job_summaries(batch_id)]
    first = jobs[0]
    # The services call is refused once by a 503 (Temporal tries again by itself); the website call once
    # by a 400 (it waits for a person, who retries it).
    fault(world, "configure-services", "503", restaurant_id=first)
    fault(world, "configure-website", "400", restaurant_id=first)
    await log_in(page, dash)
    await page.goto(f"{dash.url}/batches/{batch_id}")
    await page.get_by_role("button", name="Start batch").click()
    await wait_until(dash.store, batch_id, sub_step_is(0, "websiteConfig", "failed"), timeout=120)
    async with httpx.AsyncClient(base_url=dash.url, cookies={"yb_session": dash.session}) as http:
        form = {"csrf_token": csrf_token(dash.session), "action": "retry", "step": "websiteConfig"}
        assert (await http.post(f"/jobs/{first}/decide", data=form)).status_code == 303
    progress = await wait_until(
        dash.store, batch_id, lambda p: all(j["status"] == "completed" for j in p["jobs"]), timeout=120
    )

    bars = lanes(await _drawer(dash, first))
    # Every call the sandbox received is one attempt bar, in the order it received them.
    received = defaultdict(list)
    for call in calls(world, restaurant_id=first):
        received[call["endpoint"]].append(call["status_code"])
    assert received["configure-services"] == [503, 200] and received["configure-website"] == [400, 200]
    for spec in PLAN:
        endpoint = spec.endpoint.rsplit("/", 1)[1]
        if endpoint in received:
            drawn = [b[0] for b in bars[spec.key.value] if b[0].startswith("attempt")]
            expected = ["attempt_ok" if code < 300 else "attempt_failed" for code in received[endpoint]]
            assert drawn == expected, (spec.key, bars[spec.key.value])
    assert len(received) >= 8  # the comparison above covered most calls, not a lucky few
    for lane in bars.values():
        starts = [b[2] for b in lane]
        xs = [b[4] for b in lane]
        assert starts == sorted(starts) and xs == sorted(xs), lane  # left to right in time
        assert all(end >= start for _, _, start, end, _ in lane)
    website = bars["websiteConfig"]
    person = [b for b in website if b[0] == "person"]
    assert len(person) == 1, website
    failed = next(b for b in website if b[0] == "attempt_failed")
    retried = next(b for b in website if b[0] == "attempt_ok")
    assert failed[3] <= person[0][2] and person[0][3] <= retried[2]  # between the failure and the retry
    # The later restaurants' accounts waited at the gate (one account per 0.3 s).
    gated = []
    for job in jobs[1:]:
        gated += [b for b in lanes(await _drawer(dash, job))["cloudwaitressAccount"] if b[0] == "gate"]
    assert gated, "no account call waited at the rate gate"
    pace = dash.store.batch_pace(batch_id, ORG)
    assert len(pace.completions) == 3 and pace.quickest_tail and pace.platform_seconds
    assert max(level for _, level in pace.in_flight) == 2  # the cap, reached and never passed

    # The pictures in the browser: the chart on the batch page (redrawn live, the page never reloaded
    # since the start), the timeline in the drawer.
    await expect(page.locator("#pace svg.pace circle.completion")).to_have_count(3)
    await page.goto(f"{dash.url}/batches/{batch_id}")
    chart = page.locator("#pace")
    await expect(chart.locator("svg.pace circle.completion")).to_have_count(3)
    await expect(chart).to_contain_text("Pacific/Auckland")
    await expect(chart.locator("polyline.pace-bound")).to_have_count(1)
    await expect(chart.locator("polyline.cap")).to_have_count(1)
    await doc_shot(chart, "batch-chart")
    link = page.locator("tr.row a", has_text=progress["jobs"][0]["restaurant_name"])
    assert await link.get_attribute("href") == f"/jobs/{first}"  # a real link, for no-script browsers
    await link.click()
    drawer_panel = page.locator("#drawer .drawer")
    await expect(drawer_panel).to_be_focused()
    timeline = page.locator("#drawer .timeline-wrap")
    await expect(timeline.locator("svg.timeline rect.k-attempt_failed").first).to_be_visible()
    await expect(timeline).to_contain_text("Pacific/Auckland")
    await timeline.locator("details.as-table summary").click()
    await expect(timeline.locator("table.timeline-table tbody tr").first).to_be_visible()
    await doc_shot(timeline, "restaurant-timeline")
    await page.keyboard.press("Escape")
    await expect(page.locator("#drawer .drawer")).to_have_count(0)
    await expect(link).to_be_focused()

    # Without JavaScript the same link opens the restaurant's own page.
    async with httpx.AsyncClient(base_url=dash.url, cookies={"yb_session": dash.session}) as http:
        own = await http.get(f"/jobs/{first}")
    assert own.status_code == 200 and 'class="timeline"' in own.text


async def _drawer(dash: Dashboard, job_id: str) -> str:
    async with httpx.AsyncClient(base_url=dash.url, cookies={"yb_session": dash.session}) as http:
        return (await http.get(f"/jobs/{job_id}/drawer")).text


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(ink: str, paper: str) -> float:
    lighter, darker = sorted((_luminance(ink), _luminance(paper)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_every_status_badge_meets_wcag_aa_contrast():
    css = CSS.read_text()
    variables = dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", css))
    assert contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)  # the formula, checked

    def resolve(value: str) -> str:
        value = value.strip()
        return variables[value[6:-1]] if value.startswith("var(") else value

    rules = re.findall(r"((?:\.s-\w+,?\s*)+)\{([^}]*)\}", css)
    checked = {}
    for selectors, body in rules:
        props = dict(re.findall(r"(background|color):\s*([^;]+);", body))
        if {"background", "color"} <= props.keys():
            for selector in re.findall(r"\.s-(\w+)", selectors):
                checked[selector] = contrast(resolve(props["color"]), resolve(props["background"]))
    base = re.search(r"\.badge \{([^}]*)\}", css).group(1)
    props = dict(re.findall(r"(background|color):\s*([^;]+);", base))
    checked["(default)"] = contrast(resolve(props["color"]), resolve(props["background"]))
    assert {"completed", "running", "failed", "action_required", "skipped", "pending"} <= checked.keys()
    too_faint = {name: round(ratio, 2) for name, ratio in checked.items() if ratio < 4.5}
    assert not too_faint, too_faint


def test_bars_sit_where_their_times_are_and_the_pace_bound_follows_the_limits():
    start = datetime(2026, 1, 1, tzinfo=UTC)

    def at(seconds: float) -> datetime:
        return start + timedelta(seconds=seconds)

    lane = Lane("servicesConfig", "Services")
    lane.segments.extend(
        [
            Segment("attempt_failed", at(0), at(1), "attempt 1.1: failed (503)"),
            Segment("person", at(1), at(6), "waited for a person"),
            Segment("attempt_ok", at(6), at(10), "attempt 2.1: ok (200)"),
        ]
    )
    svg = str(timeline_svg(Timeline(start, at(10), [], [lane], 2), UTC, "UTC"))
    bars = lanes(svg)["servicesConfig"]
    assert [b[0] for b in bars] == ["attempt_failed", "person", "attempt_ok"]
    widths = [float(w) for w in re.findall(r'<rect class="seg[^>]*width="([\d.]+)"', svg)]
    plot = TIMELINE_W - LABEL_W - 14
    assert [round(b[4] - LABEL_W, 1) for b in bars] == [0.0, round(plot * 0.1, 1), round(plot * 0.6, 1)]
    assert [round(w, 1) for w in widths] == [round(plot * 0.1, 1), round(plot * 0.5, 1), round(plot * 0.4, 1)]
    assert svg.count("<title") == 4  # the picture's own and one per bar

    # Ten restaurants, one account per 60 s, a 100 s tail: the gate sets the pace, not a cap of 8 on
    # 120 s of platform work each (k × 15 s) — until the cap is the tighter of the two.
    bound = earliest_completions(10, account_interval=60, cap=8, quickest_tail=100, platform_seconds=120)
    assert bound == [100 + 60 * k for k in range(10)]
    tight = earliest_completions(3, account_interval=1, cap=1, quickest_tail=5, platform_seconds=30)
    assert tight == [30, 60, 90]


def test_a_big_batchs_chart_stays_small_and_keeps_a_moments_peak_at_the_cap():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    levels = [1] * 50_000
    levels[31_337] = 8  # the cap, reached for one moment among 50 000 changes
    in_flight = [(start + timedelta(seconds=i), level) for i, level in enumerate(levels)]
    completions = [start + timedelta(seconds=5 * i) for i in range(1, 10_001)]
    pace = BatchPace(start, start + timedelta(days=1), 10_000, completions, in_flight, 30.0, 60.0)
    bound = pace_bound(pace, cap=8, account_interval=5, time_scale=1)
    svg = str(pace_svg(pace, bound, cap=8, zone=UTC, zone_name="UTC"))
    assert len(svg) < 200_000
    flight = re.search(r'<polyline class="in-flight" points="([^"]+)"', svg).group(1)
    cap_y = float(re.search(r'<polyline class="cap" points="[\d.]+,([\d.]+)', svg).group(1))
    assert any(abs(float(p.split(",")[1]) - cap_y) < 0.01 for p in flight.split())
    assert len(pace_rows(pace, bound, UTC)) == 100


def test_times_read_in_the_display_zone_and_an_unknown_zone_is_refused_by_name():
    from pydantic import ValidationError

    from yolobatch.settings import Settings
    from yolobatch.web.views import display_zone, local_time

    zone, name = display_zone(Settings(display_timezone="Pacific/Auckland"))
    assert name == "Pacific/Auckland"
    assert local_time("2026-01-01T00:30:00+00:00", zone) == "13:30:00"  # NZDT is UTC+13 in January
    assert local_time("2026-07-01T00:30:00+00:00", zone, date=True) == "2026-07-01 12:30"  # NZST, +12
    with pytest.raises(ValidationError, match="unknown time zone 'Mars/Olympus'"):
        Settings(display_timezone="Mars/Olympus")


async def test_an_organisations_own_time_zone_wins_over_the_installations(dash):
    """Item 9: times read in the organisation's zone (its defaults), named; the installation's otherwise."""
    from yolobatch.domain.org_defaults import OrgDefaults

    batch = batch_of(1)
    dash.store.create_batch(ORG, "zones", batch.restaurants)
    async with httpx.AsyncClient(base_url=dash.url, cookies={"yb_session": dash.session}) as http:
        assert "Created (Pacific/Auckland)" in (await http.get("/")).text  # YOLOBATCH_DISPLAY_TIMEZONE
        dash.store.set_org_defaults(ORG, OrgDefaults(time_zone="Asia/Tokyo"), actor="test")
        page = (await http.get("/")).text
        assert "Created (Asia/Tokyo)" in page and "Pacific/Auckland" not in page
    bearer = {"Authorization": f"Bearer {dash.token}"}
    async with httpx.AsyncClient(base_url=dash.url, headers=bearer) as http:
        assert "Created (Asia/Tokyo)" in (await http.get("/")).text


def test_a_large_batchs_chart_is_drawn_at_most_once_per_interval(store, monkeypatch):
    """The chart reads every call attempt of its batch; for a large batch (here: from 2 restaurants) it is
    drawn once and served for PACE_MAX_AGE seconds, a small batch's on every request."""
    from yolobatch.settings import Settings
    from yolobatch.web import views

    monkeypatch.setattr(views, "PACE_CACHED_FROM", 2)
    store.ensure_org(ORG)
    settings = Settings(display_timezone="UTC")
    large = store.create_batch(ORG, "large", batch_of(2).restaurants)
    small = store.create_batch(ORG, "small", batch_of(1).restaurants)
    first = views.pace_chart(store, large, ORG, settings)
    assert views.pace_chart(store, large, ORG, settings) is first  # served as drawn
    assert views.pace_chart(store, small, ORG, settings) is not views.pace_chart(store, small, ORG, settings)
    monkeypatch.setattr(views, "PACE_MAX_AGE", 0.0)
    assert views.pace_chart(store, large, ORG, settings) is not first  # older than allowed: drawn again
