"""Batch and organisation defaults (issue 17 item 4): settings for every plain row given once at upload,
and an organisation's country, currency, locale and time zone. What a restaurant's row says wins over its
batch's defaults, which win over its organisation's (and those over the installation's settings)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.engine_helpers import all_settled, wait_until
from tests.test_api import api  # noqa: F401 - the API with a worker, over HTTP
from tests.test_cli import yolobatch
from yolobatch.devtools.demo import demo_pipeline_batch

DEFAULTS = {
    "payment.includeStripeLink": True,
    "website.theme": "light",
    "website.itemLayout": "list",
    "stepsEnabled.servicesConfig": "false",  # as text, the way a CSV cell or a form field gives it
}


async def test_batch_and_org_defaults_reach_each_plain_rows_config(api, world):  # noqa: F811
    base, a, b, store = api
    async with httpx.AsyncClient(base_url=base, headers=a, timeout=60) as http:
        # Refused, naming why, and nothing created: a restaurant's own field, a wrong value.
        for bad, says in (
            ({"account.email": "all@same.example"}, "cannot be a batch default"),
            ({"website.theme": "pink"}, "website.theme"),
        ):
            body = {**demo_pipeline_batch(1, world.url), "defaults": bad}
            refused = await http.post("/api/batches", json=body)
            assert refused.status_code == 422 and says in " ".join(
                e["detail"] for e in refused.json()["errors"]
            ), refused.text
        assert (await http.get("/api/batches")).json()["total"] == 0

        # The organisation reads phone numbers as Australian ones; the other organisation is untouched.
        assert (await http.put("/api/org/defaults", json={"country": "xx"})).status_code == 422
        org = await http.put("/api/org/defaults", json={"country": "au", "time_zone": "Australia/Sydney"})
        assert org.json() == {
            "country": "AU",
            "currency": None,
            "locale": None,
            "time_zone": "Australia/Sydney",
        }
        assert (await http.get("/api/org/defaults", headers=b)).json()["country"] is None

        data = demo_pipeline_batch(2, world.url)
        data["restaurants"][0]["phone"] = "0412 345 678"  # no +code: the organisation's country decides
        body = {**data, "options": {"yolo": True}, "defaults": DEFAULTS, "start": True}
        created = await http.post("/api/batches", json=body)
        assert created.status_code == 201, created.text
        progress = await wait_until(store, created.json()["batch_id"], all_settled, timeout=180)
    assert progress["status"] == "completed", progress
    for job in progress["jobs"]:
        config = store.config_review(job["job_id"])["config"]
        assert config["payment"]["includeStripeLink"] is True
        assert (config["website"]["theme"], config["website"]["itemLayout"]) == ("light", "list")
        assert job["sub_steps"]["servicesConfig"]["status"] == "skipped"  # the batch turned it off
        assert job["sub_steps"]["paymentConfig"]["status"] == "completed"
    first = store.config_review(progress["jobs"][0]["job_id"])["config"]
    assert first["account"]["phone"] == "+61412345678"
    # Each restaurant keeps its own facts: defaults never touch them.
    emails = {store.config_review(j["job_id"])["config"]["account"]["email"] for j in progress["jobs"]}
    assert emails == {r["email"] for r in data["restaurants"]}


def test_the_cli_sets_org_defaults_and_refuses_bad_batch_defaults(tmp_path: Path):
    shown = yolobatch("org", "defaults", "--country", "nz", "--locale", "en_nz", data_dir=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "country: NZ" in shown.stdout and "locale: en-NZ" in shown.stdout
    assert "time zone: (not set)" in shown.stdout
    bad = yolobatch("org", "defaults", "--time-zone", "Mars/Olympus", data_dir=tmp_path)
    assert bad.returncode == 2 and "--time-zone" in bad.stderr and "Mars/Olympus" in bad.stderr
    again = yolobatch("org", "defaults", data_dir=tmp_path)
    assert "country: NZ" in again.stdout  # kept

    csv = tmp_path / "one.csv"
    csv.write_text("name,storeUrl\nJax Burger Shack,https://jax.example/menu\n")
    defaults = tmp_path / "defaults.json"
    defaults.write_text(json.dumps({"website.theme": "light"}))
    refused = yolobatch(
        "run",
        str(csv),
        "--defaults",
        str(defaults),
        "--default",
        "account.password=hunter2",
        data_dir=tmp_path,
    )
    assert refused.returncode == 2
    assert "'account.password' cannot be a batch default" in " ".join(refused.stderr.split())


def test_a_menu_whose_page_names_no_currency_takes_the_organisations() -> None:
    """Org defaults' currency (item 4): "$12.50" on a page that names no country is the organisation's
    dollar; a currency the page states still wins."""
    from yolobatch.integrations.extraction.page import extract_from_html

    def page(offer: str) -> str:
        menu = {
            "@context": "https://schema.org",
            "@type": "Restaurant",
            "name": "Jax Burger Shack",
            "hasMenu": {
                "@type": "Menu",
                "hasMenuSection": [
                    {
                        "@type": "MenuSection",
                        "name": "Burgers",
                        "hasMenuItem": [
                            {"@type": "MenuItem", "name": "Classic", "offers": json.loads(offer)}
                        ],
                    }
                ],
            },
        }
        return f'<html><script type="application/ld+json">{json.dumps(menu)}</script></html>'

    bare = page('{"@type": "Offer", "price": "12.50"}')
    _, as_given = extract_from_html("https://jax.example/menu", bare, currency="AUD")
    assert as_given.menu is not None and as_given.menu.currency == "AUD"
    _, unset = extract_from_html("https://jax.example/menu", bare)
    assert unset.menu is not None and unset.menu.currency == "NZD"  # no organisation currency: NZD
    stated = page('{"@type": "Offer", "price": "12.50", "priceCurrency": "GBP"}')
    _, own = extract_from_html("https://jax.example/menu", stated, currency="AUD")
    assert own.menu is not None and own.menu.currency == "GBP"
