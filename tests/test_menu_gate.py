"""The menu gate (issue 17 item 3): extraction that finds no menu leaves the restaurant waiting for a
person, even in YOLO mode (the original blocked too), instead of registering a store nobody can order
from. A person uploads a menu file, retries extraction rendered, or continues without; a batch whose
`menu_policy` is `continue` goes on by itself."""

from __future__ import annotations

import asyncio
import json
import re

import httpx
import pytest
from playwright.async_api import expect
from temporalio.client import Client

from tests.conftest import settings_for
from tests.engine_helpers import all_settled, wait_until
from tests.test_api import api  # noqa: F401 - the API with a worker, over HTTP
from tests.test_cli import EXAMPLES
from tests.test_pipeline import step, waiting_at
from tests.web_helpers import ORG as WEB_ORG
from tests.web_helpers import chromium, log_in, shot
from tests.web_helpers import serving as web_serving
from yolobatch.cli import sandbox_settings
from yolobatch.devtools.demo import demo_pipeline_batch
from yolobatch.domain.batch_input import parse_batch
from yolobatch.service import inbox

JAX, PIZZA, DRAGON = range(3)


def no_menu_batch(world, policy: str | None = None) -> dict:
    data = demo_pipeline_batch(3, world.url)
    for row in data["restaurants"][:2]:  # Jax and Pizza Palace: "Opening soon", no menu on the page
        row["storeUrl"] = f"{world.url}/stores/_no-menu?for={row['name'].split()[0].lower()}"
    options = {"yolo": True, **({"menu_policy": policy} if policy else {})}
    return {"name": "no menus", "restaurants": data["restaurants"], "options": options, "start": True}


async def test_no_menu_waits_for_a_person_who_uploads_one_or_continues_without(api, world):  # noqa: F811
    base, a, _, store = api
    async with httpx.AsyncClient(base_url=base, headers=a, timeout=60) as http:
        created = await http.post("/api/batches", json=no_menu_batch(world))
        assert created.status_code == 201, created.text
        batch_id = created.json()["batch_id"]
        for index in (JAX, PIZZA):
            progress = await wait_until(store, batch_id, waiting_at(index, 1), timeout=120)
        jobs = [j["job_id"] for j in progress["jobs"]]
        assert "No menu found" in step(progress, JAX, 1)["reason"]
        assert progress["jobs"][JAX]["sub_steps"]["menuImport"]["status"] == "pending"  # nothing registered
        original = (await http.get(f"/api/registration-batches/{batch_id}/progress")).json()
        assert original["step_requiring_action"] == 1
        waiting = {(i.kind, i.restaurant) for i in inbox.waiting(store, "org-a")}
        assert ("menu", "Jax Burger Shack") in waiting and ("menu", "Pizza Palace CBD") in waiting

        # A file that is not a menu is refused and changes nothing.
        url = f"/api/jobs/{jobs[JAX]}/menu"
        bad = await http.post(url, data={"action": "uploaded"}, files={"file": ("m.json", b'{"x": 1}')})
        assert bad.status_code == 409 and "not a menu" in bad.json()["detail"], bad.text
        assert store.menu_ids(jobs[JAX]) == []

        # Two people upload a file at the same moment: one answer is taken, and its file is the menu; the
        # other is refused and its file changes nothing (it used to overwrite the stored menu first).
        menu = json.loads((EXAMPLES / "menus" / "jax-burger-shack.json").read_bytes())
        files = [json.dumps({**menu, "id": f"upload-{n}"}).encode() for n in (1, 2)]
        answers = await asyncio.gather(
            *(http.post(url, data={"action": "uploaded"}, files={"file": ("jax.json", f)}) for f in files)
        )
        codes = sorted(answer.status_code for answer in answers)
        assert codes == [200, 409], [answer.text for answer in answers]
        taken = next(n for n, answer in zip((1, 2), answers, strict=True) if answer.status_code == 200)
        await wait_until(store, batch_id, lambda p: p["jobs"][JAX]["steps"]["1"]["status"] == "completed")
        assert store.menu_ids(jobs[JAX]) == [f"upload-{taken}"]
        again = await http.post(url, data={"action": "continue"})
        assert again.status_code == 409  # answered: nothing waits any more
        skip = await http.post(f"/api/jobs/{jobs[PIZZA]}/menu", data={"action": "continue", "reason": "soon"})
        assert skip.status_code == 200, skip.text

        progress = await wait_until(store, batch_id, all_settled, timeout=180)
    assert progress["status"] == "completed", progress
    assert step(progress, JAX, 1)["reason"].startswith("Menu uploaded by api:")
    assert step(progress, PIZZA, 1)["reason"].startswith("Continued without a menu by api:")
    assert progress["jobs"][JAX]["sub_steps"]["menuImport"]["status"] == "completed"  # the uploaded menu
    assert progress["jobs"][PIZZA]["sub_steps"]["menuImport"]["status"] == "skipped"
    assert progress["jobs"][DRAGON]["steps"]["1"]["status"] == "completed"  # its page had a menu
    audit = {(e.kind, e.actor) for e in store.events(job_id=jobs[PIZZA])}
    assert ("extraction_menu_continue", "api:test") in audit


async def test_a_batch_whose_policy_is_continue_goes_on_without_a_menu(api, world):  # noqa: F811
    base, a, _, store = api
    async with httpx.AsyncClient(base_url=base, headers=a, timeout=60) as http:
        created = await http.post("/api/batches", json=no_menu_batch(world, "continue"))
        assert created.status_code == 201, created.text
        progress = await wait_until(store, created.json()["batch_id"], all_settled, timeout=180)
    assert progress["status"] == "completed"
    assert progress["jobs"][JAX]["sub_steps"]["menuImport"]["status"] == "skipped"


async def test_retry_rendered_extracts_again_in_a_browser_and_asks_again_if_still_no_menu(
    api,  # noqa: F811
    world,
):
    base, a, _, store = api
    async with httpx.AsyncClient(base_url=base, headers=a, timeout=60) as http:
        created = await http.post("/api/batches", json=no_menu_batch(world))
        batch_id = created.json()["batch_id"]
        progress = await wait_until(store, batch_id, waiting_at(JAX, 1), timeout=120)
        job_id = progress["jobs"][JAX]["job_id"]
        assert not step(progress, JAX, 1)["result"]["rendered"]
        answer = await http.post(f"/api/jobs/{job_id}/menu", data={"action": "retry_render"})
        assert answer.status_code == 200, answer.text

        def rendered_and_waiting(p) -> bool:
            one = step(p, JAX, 1)
            return one["status"] == "action_required" and bool((one["result"] or {}).get("rendered"))

        progress = await wait_until(store, batch_id, rendered_and_waiting, timeout=120)
    assert step(progress, JAX, 1)["reason"].endswith("(the page was rendered)")
    kinds = [e.kind for e in store.events(job_id=job_id)]
    assert "extraction_menu_retry_render" in kinds


@pytest.fixture
async def dash(dev_server, world, store, tmp_path):
    client = await Client.connect(dev_server.address)
    settings = settings_for(store, world, tmp_path, **sandbox_settings(world.url))
    async with web_serving(client, store, settings, world) as running:
        yield running


async def test_the_inbox_shows_the_missing_menu_and_continues_without_it(dash, world):
    store = dash.store
    data = no_menu_batch(world)
    batch = parse_batch(json.dumps({"name": data["name"], "restaurants": data["restaurants"][:1]}))
    batch_id = store.create_batch(WEB_ORG, batch.name, batch.restaurants, options={"yolo": True})
    async with chromium() as browser:
        page = await (await browser.new_context(viewport={"width": 1280, "height": 900})).new_page()
        await log_in(page, dash)
        await page.goto(f"{dash.url}/batches/{batch_id}")
        await page.get_by_role("button", name="Start batch").click()
        await wait_until(store, batch_id, waiting_at(JAX, 1), timeout=120)
        await page.goto(f"{dash.url}/inbox")
        card = page.locator("article[data-kind=menu]", has_text="Jax Burger Shack")
        await expect(card).to_contain_text("No menu found")
        await shot(page, "inbox-menu-gate")
        await card.get_by_role("button", name="Continue without a menu").click()
        await expect(page.locator(".flash.ok")).to_contain_text("Continues without a menu")
        progress = await wait_until(store, batch_id, all_settled, timeout=180)
    assert progress["status"] == "completed"
    assert step(progress, JAX, 1)["reason"] == "Continued without a menu by dashboard:dashboard-test"


@pytest.mark.parametrize(
    ("menu", "says"),
    [
        (b"{not json", "the menu file is not a menu"),
        (json.dumps({"id": "m" * 65, "categories": []}).encode(), "id: String should have at most 64"),
        (json.dumps({"categories": [{"name": "Mains", "items": []}]}).encode(), "has no items"),
        (
            json.dumps(
                {
                    "categories": [
                        {
                            "name": "Mains",
                            "items": [
                                {"name": "Burger", "price": 18.5, "image_url": "http://10.0.0.7/b.jpg"}
                            ],
                        }
                    ]
                }
            ).encode(),
            "10.0.0.7 is not a public address",
        ),
        (b"x" * 5_000_001, "larger than 5 MB"),
    ],
    ids=["not-json", "id-too-long", "no-items", "private-image", "too-large"],
)
def test_a_menu_file_that_cannot_be_used_is_refused_saying_why(menu: bytes, says: str) -> None:
    from yolobatch.service.control import DecisionRejected
    from yolobatch.service.menu_gate import parse_menu

    with pytest.raises(DecisionRejected, match=re.escape(says)):
        parse_menu(menu)
