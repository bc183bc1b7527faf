"""The dashboard in a real browser: log in, upload a batch, watch it live, answer the inbox, repair a call."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import asdict

import httpx
import pytest
from playwright.async_api import Page, expect
from temporalio.client import Client

from tests.conftest import batch_of, settings_for
from tests.engine_helpers import fault, sub_step_is, wait_until
from tests.web_helpers import (
    ORG,
    Dashboard,
    browser_page,
    log_in,
    login_csrf,
    open_session,
    serving,
    shot,
)
from yolobatch.cli import sandbox_settings
from yolobatch.http.security import csrf_token
from yolobatch.store.access import Access
from yolobatch.web import views
from yolobatch.web.actions import router as web_actions
from yolobatch.web.routes import router as web_router

LIVE = 120_000  # ms: the whole pipeline runs at test speed, but a person's page must keep up with it


@pytest.fixture
async def dash(dev_server, world, store, tmp_path) -> AsyncIterator[Dashboard]:
    client = await Client.connect(dev_server.address)
    settings = settings_for(store, world, tmp_path, **sandbox_settings(world.url))
    async with serving(client, store, settings, world) as running:
        yield running


@pytest.fixture
async def page(dash) -> AsyncIterator[Page]:
    async with browser_page() as opened:
        yield opened


def store_csv(world_url: str) -> str:
    rows = [
        ("Jax Burger Shack", "jax-burger-shack", "Auckland", "owner@jax-web.co.nz"),
        ("Pizza Palace CBD", "pizza-palace-cbd", "Wellington", "owner@pizza-web.co.nz"),
    ]
    lines = ["name,storeUrl,city,email"]
    lines += [f"{name},{world_url}/stores/{slug},{city},{email}" for name, slug, city, email in rows]
    return "\n".join(lines) + "\n"


async def upload(page: Page, dash: Dashboard, name: str, text: str, *, start: bool = True) -> None:
    await page.goto(f"{dash.url}/batches/new")
    await page.fill("input[name=name]", name)
    if not start:
        await page.uncheck("input[name=start]")
    await page.set_input_files(
        "input[name=file]", files=[{"name": "batch.csv", "mimeType": "text/csv", "buffer": text.encode()}]
    )
    await page.click("main form button[type=submit]")


async def inbox_item(page: Page, dash: Dashboard, kind: str, restaurant: str):
    """The inbox card once it appears (the inbox is a page, not live, so look again until it is there),
    opened: cards are collapsed to one line until a person opens one."""
    card = page.locator(f"article[data-kind={kind}]", has_text=restaurant)
    for _ in range(240):
        await page.goto(f"{dash.url}/inbox")
        if await card.count():
            if await card.locator("details.item-body").get_attribute("open") is None:
                await card.locator("details.item-body > summary").click()
            return card
        await page.wait_for_timeout(500)
    raise AssertionError(f"no {kind} item for {restaurant} in the inbox")


@pytest.mark.security
async def test_pages_need_a_session_and_actions_need_the_csrf_token(dash, page):
    async with httpx.AsyncClient(base_url=dash.url) as http:
        for path in ("/", "/inbox", "/batches/new"):
            response = await http.get(path)
            assert response.status_code == 303 and response.headers["location"] == "/login", path
        refused = await http.post("/login", data={"token": "yb_wrong", **await login_csrf(http)})
        assert refused.status_code == 401 and "not valid" in refused.text

        http.cookies.set("yb_session", dash.token)  # the API token is not a session
        assert (await http.get("/")).status_code == 303
        http.cookies.set("yb_session", dash.session)
        assert (await http.get("/")).status_code == 200
        no_csrf = await http.post("/batches/new", files={"file": ("b.csv", b"name\nX\n")})
        assert no_csrf.status_code == 403
    assert dash.store.list_batches(ORG)[1] == 0  # nothing was created by the refused post

    await page.goto(f"{dash.url}/inbox")
    await expect(page).to_have_url(f"{dash.url}/login")
    await shot(page, "login")
    await log_in(page, dash)
    cookie = next(c for c in await page.context.cookies() if c["name"] == "yb_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    await expect(page.get_by_role("heading", name="No batches yet")).to_be_visible()
    await expect(page.get_by_role("link", name="Create batch")).to_be_visible()
    await shot(page, "batches-empty")


@pytest.mark.security
async def test_the_session_cookie_is_secure_behind_https(dash):
    async with httpx.AsyncClient(base_url=dash.url) as http:
        plain = await http.post("/login", data={"token": dash.token, **await login_csrf(http)})
        behind_tls = await http.post(
            "/login",
            data={"token": dash.token, **await login_csrf(http)},
            headers={"X-Forwarded-Proto": "https"},
        )
    flags = [
        next(c for c in r.headers.get_list("set-cookie") if c.startswith("yb_session=")).lower().split("; ")
        for r in (plain, behind_tls)
    ]
    for cookie in flags:
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie, cookie
    assert "secure" not in flags[0]  # plain http on a laptop: a Secure cookie would never be sent back
    assert "secure" in flags[1], flags[1]


@pytest.mark.security
async def test_no_dashboard_route_reaches_another_organisations_batch_or_restaurant(dash):
    batch = batch_of(1)
    batch_id = dash.store.create_batch(ORG, "theirs", batch.restaurants)
    job_id = dash.store.batch_progress(batch_id).jobs[0].job_id
    name = batch.restaurants[0].name
    dash.store.ensure_org("other-org")
    intruder = open_session(dash.store, dash.store.create_token("other-org", "intruder"))
    scoped = [
        (method, route.path)
        for route in [*web_router.routes, *web_actions.routes]
        for method in getattr(route, "methods", ())
        if "{batch_id}" in route.path or "{job_id}" in route.path
    ]
    assert len(scoped) == 14  # every such route; a new one joins this test automatically
    async with httpx.AsyncClient(base_url=dash.url, cookies={"yb_session": intruder}) as http:
        form = {
            "csrf_token": csrf_token(intruder),
            "action": "retry",
            "step": "servicesConfig",
            "reason": "x",
        }
        for method, path in scoped:
            for action in ("start", "cancel", "approve-all") if "{action}" in path else ("",):
                concrete = path.format(batch_id=batch_id, job_id=job_id, action=action, which="logo")
                response = await http.request(method, concrete, data=form if method == "POST" else None)
                assert name not in response.text, (method, concrete)
                if response.status_code == 303:  # a form post goes back to its page, saying why not
                    assert "not+found" in response.headers["location"], (method, concrete, response.headers)
                else:
                    assert response.status_code == 404, (method, concrete, response.status_code)
    # Nothing happened to the batch: still a draft, and its only event is its creation.
    assert dash.store.batch_progress(batch_id).status == "draft"
    assert [e.kind for e in dash.store.events(batch_id=batch_id)] == ["batch_created"]


@pytest.mark.reliability
async def test_a_form_sent_twice_creates_one_batch(dash, world):
    async with httpx.AsyncClient(base_url=dash.url, cookies={"yb_session": dash.session}) as http:
        form = (await http.get("/batches/new")).text
        submission = re.search(r'name="submission" value="([0-9a-f]{32})"', form).group(1)
        fields = {"csrf_token": csrf_token(dash.session), "submission": submission, "name": "twice"}
        files = {"file": ("b.csv", store_csv(world.url).encode(), "text/csv")}
        sent = [await http.post("/batches/new", data=fields, files=files) for _ in range(2)]
        assert [r.status_code for r in sent] == [303, 303]
        assert sent[0].headers["location"].split("?")[0] == sent[1].headers["location"].split("?")[0]
        # The same form with another file is refused, and shown afresh with a new submission id.
        other = {"file": ("c.csv", store_csv(world.url).replace("Jax", "Max").encode(), "text/csv")}
        reused = await http.post("/batches/new", data=fields, files=other)
        assert reused.status_code == 409 and "already sent" in reused.text
        assert submission not in reused.text
    names = [b.name for b in dash.store.list_batches(ORG)[0]]
    assert names == ["twice"]


async def test_a_bad_upload_shows_every_bad_row_and_creates_nothing(dash, page):
    await log_in(page, dash)
    await upload(page, dash, "Broken", "name,storeUrl,city,email\nA,https://a.example/x,Auckland,nope\n,,,\n")
    problems = page.locator(".problems li")
    await expect(problems).to_have_count(2)
    await expect(problems.first).to_contain_text("row 2")
    await shot(page, "new-batch-errors")
    assert dash.store.list_batches(ORG)[1] == 0


async def test_a_batch_from_upload_to_registered_stores(dash, page):
    world = dash.world
    code = Access(dash.store).create_login_code(Access(dash.store).token_caller(dash.token).token_id)
    await page.goto(f"{dash.url}/login?code={code}")  # a one-time link, as `yolobatch login-link` prints
    await page.click(f"main button:has-text('Log in to {ORG}')")
    await expect(page).to_have_url(f"{dash.url}/")
    await expect(page.locator("header .org")).to_contain_text(ORG)
    await upload(page, dash, "Dashboard batch", store_csv(world.url), start=False)
    await expect(page.locator(".flash.ok")).to_contain_text("Created with 2 restaurants")
    batch_id = page.url.split("/batches/")[1].split("?")[0]
    jobs = {j.restaurant_name: j.job_id for j in dash.store.batch_progress(batch_id).jobs}
    # Jax's services call will be refused once (planned before the start, so it cannot be missed): the
    # person retries it from the drawer.
    fault(world, "configure-services", "400", restaurant_id=jobs["Jax Burger Shack"])
    await page.get_by_role("button", name="Start batch").click()

    # Live: the grid changes while the page stays loaded (a marker on `window` would vanish on reload).
    await page.evaluate("window.__stayed = true")
    jax_row = page.locator("tr.row", has_text="Jax Burger Shack")
    await expect(jax_row.locator("td.cell").first).to_have_class(re.compile("s-completed"), timeout=LIVE)
    await expect(page.locator("tr.row", has_text="Pizza Palace CBD")).to_have_class(
        re.compile("st-waiting"), timeout=LIVE
    )
    assert await page.evaluate("window.__stayed === true")
    await page.check("#filter-done")  # nobody is done: everyone waits for a config review at least
    await expect(page.locator("tr.row:visible")).to_have_count(0)
    await page.check("#filter-waiting")
    await expect(page.locator("tr.row:visible", has_text="Pizza Palace CBD")).to_have_count(1)
    await page.check("#filter-all")
    await page.check("#show-calls")
    await shot(page, "batch-grid-waiting")

    # The inbox: choose Pizza Palace's company from the ranked candidates.
    card = await inbox_item(page, dash, "company", "Pizza Palace CBD")
    await expect(card.locator("table.candidates tbody tr").first).to_be_visible()
    await shot(page, "inbox-company")
    await card.locator("table.candidates button", has_text="Choose").first.click()
    await expect(page.locator(".flash.ok")).to_contain_text("Company answer sent")

    # Config reviews: edit one field of Jax's config, then approve both.
    card = await inbox_item(page, dash, "config", "Jax Burger Shack")
    await card.locator("select[name='website.itemLayout']").select_option("list")
    await shot(page, "inbox-config")
    await card.get_by_role("button", name="Save & approve").click()
    await expect(page.locator(".flash.ok")).to_contain_text("Approved")
    assert dash.store.config_review(jobs["Jax Burger Shack"])["config"]["website"]["itemLayout"] == "list"
    card = await inbox_item(page, dash, "config", "Pizza Palace CBD")
    await card.get_by_role("button", name="Save & approve").click()
    await expect(page.locator(".flash.ok")).to_contain_text("Approved")

    # Jax's services call fails on the injected 400: repair it from the drawer.
    services_failed = sub_step_is(list(jobs).index("Jax Burger Shack"), "servicesConfig", "failed")
    progress = await wait_until(dash.store, batch_id, services_failed, timeout=120)
    failures = {k: v["error"] for j in progress["jobs"] for k, v in j["sub_steps"].items() if v["error"]}
    assert set(failures) == {"servicesConfig"}, failures  # only the injected fault, nothing else
    await page.goto(f"{dash.url}/batches/{batch_id}")
    await expect(jax_row).to_have_class(re.compile("st-failed"), timeout=LIVE)
    await jax_row.get_by_role("link", name="Jax Burger Shack").click()
    failed = page.locator("#drawer details.call.s-failed", has_text="servicesConfig")
    await expect(failed).to_be_visible()
    await expect(failed.locator("pre").first).to_be_visible()  # the redacted request
    await shot(page, "drawer-failed-call")
    await failed.get_by_role("button", name="Retry").click()
    await expect(page.locator("#drawer .flash.ok")).to_contain_text("servicesConfig: retry")

    summary = page.locator("#grid .summary")
    await expect(summary).to_have_attribute("data-status", "completed", timeout=LIVE)
    await page.click("#drawer button[aria-label=Close]")
    await shot(page, "batch-grid-completed")
    progress = asdict(dash.store.batch_progress(batch_id))
    assert progress["status"] == "completed"
    services = progress["jobs"][0]["sub_steps"]["servicesConfig"]
    assert services["status"] == "completed" and services["generation"] == 1
    audit = {(e.kind, e.actor) for e in dash.store.events(batch_id=batch_id)}
    person = "dashboard:dashboard-test"  # the channel and the name of the session's token
    assert ("sub_step_retry", person) in audit and ("config_approve", person) in audit

    # The operator's outputs: the drawer's panel, the export buttons, and the password only on purpose.
    jax = jobs["Jax Burger Shack"]
    await page.goto(f"{dash.url}/batches/{batch_id}")
    await expect(page.get_by_role("link", name="Export CSV")).to_be_visible()
    await jax_row.get_by_role("link", name="Jax Burger Shack").click()
    panel = page.locator("#drawer section.outputs")
    await expect(panel).to_contain_text(dash.store.job_outputs(jax).platform_restaurant_id or "missing")
    password = dash.store.config_wire(jax)["account"]["password"]
    assert password not in await page.content()
    await panel.locator("input[name=reason]").fill("owner phoned")
    await panel.get_by_role("button", name="Reveal owner's password").click()
    await expect(page.locator("#drawer code.secret")).to_have_text(password)
    await shot(page, "drawer-outputs")
    reveals = [(e.actor, e.data) for e in dash.store.events(job_id=jax) if e.kind == "password_revealed"]
    assert reveals == [(person, {"reason": "owner phoned", "what": "Owner's password"})]

    await page.goto(f"{dash.url}/")
    await expect(page.locator("table.list tbody tr")).to_have_count(1)
    await expect(page.locator("table.list .badge").first).to_have_text("completed")
    await shot(page, "batches")


async def test_a_large_batch_is_paged_filtered_and_stays_on_its_page_when_live(dash, page):
    store = dash.store
    batch_id = store.create_batch(ORG, "Big batch", batch_of(230).restaurants)
    ids = [j.job_id for j in store.job_summaries(batch_id)]
    for job_id in ids[:3]:
        store.record_job(job_id, "completed")
    await log_in(page, dash)
    await page.goto(f"{dash.url}/batches/{batch_id}")
    await expect(page.locator(".pager")).to_contain_text("Rows 1–100 of 230")
    await expect(page.locator("tr.row")).to_have_count(100)

    await page.get_by_role("button", name="Next ›").click()
    await expect(page.locator(".pager")).to_contain_text("Rows 101–200 of 230", timeout=LIVE)
    row = page.locator(f'tr.row[data-job="{ids[150]}"]')
    await expect(row).to_have_class(re.compile("st-running"))
    # A live update re-reads the page being looked at, not page 1.
    store.record_job(ids[150], "completed")
    store.add_event(ORG, batch_id, ids[150], "job_completed", "done")
    await expect(row).to_have_class(re.compile("st-done"), timeout=LIVE)
    await expect(page.locator(".pager")).to_contain_text("Rows 101–200 of 230")
    await expect(page.locator("#fc-done")).to_have_text("4", timeout=LIVE)

    await page.check("#filter-done")  # the server filters the whole batch, back on its first page
    await expect(page.locator("tr.row")).to_have_count(4, timeout=LIVE)
    await expect(page.locator(".pager")).to_have_count(0)
    await shot(page, "batch-grid-paged")


@pytest.mark.security
async def test_no_page_trips_the_content_security_policy_and_the_api_docs_render_offline(dash, page):
    """The policy allows no inline script, handler or style: every page, the drawer and the pager still
    work, and the browser reports no violation. /docs renders from local assets alone."""
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    await log_in(page, dash)
    batch_id = dash.store.create_batch(ORG, "csp", batch_of(2).restaurants)
    for path in ("/", "/inbox", "/batches/new", f"/batches/{batch_id}"):
        await page.goto(f"{dash.url}{path}")
        await expect(page.locator("header .org")).to_contain_text(ORG)
    await page.locator("a[data-drawer]").first.click()
    await expect(page.locator("#drawer .drawer")).to_be_visible()
    await page.click("#drawer button[aria-label=Close]")
    await expect(page.locator("#drawer .drawer")).to_have_count(0)
    await page.goto(f"{dash.url}/docs")
    await expect(page.locator(".swagger-ui .info .title")).to_contain_text("yolobatch")
    assert violations == [], violations
    await page.goto(f"{dash.url}/redoc")
    await expect(page.locator("redoc h1")).to_contain_text("yolobatch")
    # ReDoc's bundle asks for its "powered by" logo from its CDN: the policy blocks that, and only that.
    assert all("img-src" in v and "cdn.redoc.ly" in v for v in violations), violations


async def test_a_call_answered_success_false_shows_as_a_warning_in_the_grid(dash):
    """The platform's `success: false` kept as a warning completes the call, but the grid must not show
    it as plain green: the cell, the restaurant's step 6 and the batch summary say so."""
    batch = batch_of(2)
    batch_id = dash.store.create_batch(ORG, "warned", batch.restaurants)
    warned, clean = [j.job_id for j in dash.store.job_summaries(batch_id)]
    for job_id in (warned, clean):
        dash.store.record_step(job_id, 6, "running")
        for key in views.SUB_STEPS:
            warning = "Stripe account not connected" if job_id == warned and key == "paymentConfig" else None
            dash.store.record_sub_step(job_id, key, "completed", 0, warning=warning)
        dash.store.record_step(job_id, 6, "completed")
        dash.store.record_job(job_id, "completed")
    async with httpx.AsyncClient(base_url=dash.url, cookies={"yb_session": dash.session}) as http:
        grid = (await http.get(f"/batches/{batch_id}/grid")).text
        detail = (await http.get(f"/api/batches/{batch_id}")).json()
    rows = {m.group(1): m.group(2) for m in re.finditer(r'data-job="([^"]+)">(.*?)</tr>', grid, re.S)}
    cell = 's-warning" title="paymentConfig: completed — warning: Stripe account not connected"'
    assert cell in rows[warned]
    assert "12/12 ⚠ 1" in rows[warned]
    assert "s-warning" not in rows[clean] and "12/12</td>" in rows[clean]
    assert "1 with warnings" in grid
    assert detail["with_warnings"] == 1


async def test_skip_and_mark_done_from_the_drawer_need_a_reason(dash):
    batch_id = dash.store.create_batch(ORG, "reasons", batch_of(1).restaurants)
    (job_id,) = [j.job_id for j in dash.store.job_summaries(batch_id)]
    async with httpx.AsyncClient(base_url=dash.url, cookies={"yb_session": dash.session}) as http:
        for action in ("skip", "mark_done"):
            form = {"csrf_token": csrf_token(dash.session), "action": action, "step": "servicesConfig"}
            answer = await http.post(f"/jobs/{job_id}/decide", data=form | {"reason": " "})
            assert answer.status_code == 303 and "reason+is+required" in answer.headers["location"], action
    assert [e.kind for e in dash.store.events(job_id=job_id)] == []  # nothing was decided
