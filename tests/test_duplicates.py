"""The same restaurant in two batches of one organisation is refused at upload (issue 17 item 2): by the
API (JSON and file upload), the dashboard's form and the CLI, naming the other batch and restaurant,
unless the upload says force. Nothing is created by a refused upload."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update
from temporalio.client import Client

from tests.conftest import database_urls, make_store, settings_for
from tests.test_api import serving
from tests.test_cli import EXAMPLES, yolobatch
from yolobatch.cli import sandbox_settings
from yolobatch.devtools.demo import demo_pipeline_batch
from yolobatch.domain.batch_input import RestaurantInput, parse_upload
from yolobatch.domain.identities import IdentityKind, identity_keys, store_url_key
from yolobatch.engine.runtime import open_store
from yolobatch.http.context import AppContext
from yolobatch.settings import Settings
from yolobatch.store.tables import Job


def test_one_store_however_staff_spell_its_url():
    same = [
        "https://www.Jax-Burgers.co.nz/store/",
        "http://jax-burgers.co.nz/store",
        "HTTPS://JAX-BURGERS.CO.NZ//store",
    ]
    assert len({store_url_key(url) for url in same}) == 1
    assert store_url_key("https://jax-burgers.co.nz/store") != store_url_key(
        "https://jax-burgers.co.nz/other"
    )
    assert store_url_key("http://127.0.0.1:8001/s/a") != store_url_key("http://127.0.0.1:8002/s/a")
    row = RestaurantInput.model_validate(
        {
            "name": "Jax",
            "storeUrl": "https://jax.co.nz",
            "email": "Owner@Jax.co.nz",
            "companyNumber": "12 345-6",
        }
    )
    assert dict(identity_keys(row)) == {
        IdentityKind.STORE_URL: "jax.co.nz",
        IdentityKind.COMPANY_NUMBER: "123456",
        IdentityKind.ACCOUNT_EMAIL: "owner@jax.co.nz",
    }


@pytest.fixture(params=database_urls())
async def api(request, dev_server, world, tmp_path):
    store = make_store(request.param, tmp_path, schema="yolobatch_duplicates")
    client = await Client.connect(dev_server.address)
    settings = settings_for(store, world, tmp_path, **sandbox_settings(world.url))
    for org in ("org-a", "org-b"):
        store.ensure_org(org)
    a = {"Authorization": f"Bearer {store.create_token('org-a', 'test')}"}
    b = {"Authorization": f"Bearer {store.create_token('org-b', 'test')}"}
    async with (
        serving(AppContext(settings=settings, store=store, client=client, sandbox_url=world.url)) as base,
        httpx.AsyncClient(base_url=base, timeout=30) as http,
    ):
        yield http, a, b, store


async def test_a_restaurant_in_another_batch_is_refused_naming_it_unless_forced(api, world):
    http, a, b, store = api
    rows = demo_pipeline_batch(3, world.url)["restaurants"]
    first = await http.post("/api/batches", json={"name": "Week 48", "restaurants": rows[:2]}, headers=a)
    assert first.status_code == 201, first.text
    first_id = first.json()["batch_id"]
    jobs = {j.restaurant_name: j.job_id for j in store.job_summaries(first_id)}

    # The same store spelled differently, a new row beside it: refused, both batch and restaurant named.
    again = dict(rows[0], storeUrl=rows[0]["storeUrl"].replace("/stores/", "//stores/") + "/")
    again.pop("email", None)
    second = await http.post(
        "/api/batches", json={"name": "Week 49", "restaurants": [rows[2], again]}, headers=a
    )
    assert second.status_code == 409, second.text
    assert second.headers["content-type"] == "application/problem+json"  # one error shape (RFC 9457)
    body = second.json()
    assert body["status"] == 409 and body["instance"] == "/api/batches"
    (duplicate,) = body["duplicates"]
    assert duplicate == {
        "row": 2,
        "name": rows[0]["name"],
        "kind": "store_url",
        "value": store_url_key(rows[0]["storeUrl"]),
        "batch_id": first_id,
        "batch_name": "Week 48",
        "job_id": jobs[rows[0]["name"]],
        "restaurant_name": rows[0]["name"],
        "status": "pending",
    }
    assert "Week 48" in body["detail"] and rows[0]["name"] in body["detail"] and "force" in body["detail"]
    assert (await http.get("/api/batches", headers=a)).json()["total"] == 1  # nothing was created

    # Another store with the same company number or account email is the same restaurant too.
    by_number = dict(rows[2], companyNumber="9429-041-535-611")
    numbered = await http.post("/api/batches", json={"restaurants": [by_number]}, headers=a)
    assert numbered.status_code == 201, numbered.text
    other_store = dict(rows[2], storeUrl=f"{world.url}/stores/elsewhere", companyNumber="9429041535611")
    other_store.pop("email", None)
    refused = await http.post("/api/batches", json={"restaurants": [other_store]}, headers=a)
    assert refused.status_code == 409 and refused.json()["duplicates"][0]["kind"] == "company_number"
    by_email = dict(rows[2], storeUrl=f"{world.url}/stores/elsewhere", email=rows[1]["email"].upper())
    by_email.pop("companyNumber", None)
    refused = await http.post("/api/batches", json={"restaurants": [by_email]}, headers=a)
    assert refused.status_code == 409 and refused.json()["duplicates"][0]["kind"] == "account_email"

    # The file upload refuses it the same way; force creates it.
    csv = f"name,storeUrl\n{rows[0]['name']},{rows[0]['storeUrl']}\n".encode()
    files = {"file": ("again.csv", csv, "text/csv")}
    upload = await http.post("/api/batches/upload", files=files, headers=a)
    assert upload.status_code == 409 and upload.json()["duplicates"][0]["batch_id"] == first_id
    forced = await http.post("/api/batches/upload", files=files, data={"force": "true"}, headers=a)
    assert forced.status_code == 201, forced.text
    forced_json = {"restaurants": [again], "force": True}
    assert (await http.post("/api/batches", json=forced_json, headers=a)).status_code == 201

    # Another organisation's batches are not this one's business; a cancelled restaurant is no duplicate.
    assert (await http.post("/api/batches", json={"restaurants": rows[:1]}, headers=b)).status_code == 201
    with store.transaction() as s:
        s.execute(update(Job).where(Job.org_id == "org-a").values(status="cancelled"))
    assert (await http.post("/api/batches", json={"restaurants": rows[:1]}, headers=a)).status_code == 201
    # ...unless it was cancelled after the platform created its restaurant: a new upload would make a second.
    with store.transaction() as s:
        s.execute(update(Job).where(Job.org_id == "org-a").values(status="cancelled"))
    store.record_sub_step(jobs[rows[0]["name"]], "restaurantRegistration", "completed", 0)
    created = await http.post("/api/batches", json={"restaurants": rows[:1]}, headers=a)
    assert created.status_code == 409, created.text
    assert created.json()["duplicates"][0]["job_id"] == jobs[rows[0]["name"]]


async def test_an_idempotent_resend_is_not_its_own_duplicate(api, world):
    http, a, _, _ = api
    rows = demo_pipeline_batch(1, world.url)["restaurants"]
    key = {**a, "Idempotency-Key": "upload-1"}
    first = await http.post("/api/batches", json={"restaurants": rows}, headers=key)
    resent = await http.post("/api/batches", json={"restaurants": rows}, headers=key)
    assert first.status_code == resent.status_code == 201
    assert first.json()["batch_id"] == resent.json()["batch_id"]


def test_the_cli_refuses_a_duplicate_upload_and_force_runs_it(tmp_path: Path):
    """The example file is already a batch of this data directory: `run` names it and creates nothing;
    `--force` runs the batch."""
    example = EXAMPLES / "restaurants.csv"
    store = open_store(Settings(data_dir=tmp_path))  # as the CLI opens it: its key file, its database
    store.ensure_org("default")
    batch = parse_upload(example.read_bytes(), example.name, "Monday's run", None, _menus, None)
    existing = store.create_batch("default", "Monday's run", batch.restaurants)
    store.engine.dispose()

    refused = yolobatch("run", str(example), "--sandbox", "--time-scale", "0.01", data_dir=tmp_path)
    assert refused.returncode == 2, refused.stdout[-3000:] + refused.stderr[-3000:]
    out = " ".join((refused.stdout + refused.stderr).split())
    assert "3 restaurant(s) already in another batch; nothing was created" in out
    assert f"'Jax Burger Shack' (pending) in batch \"Monday's run\" ({existing})" in out
    assert "--force" in out

    forced = yolobatch(
        "run", str(example), "--sandbox", "--time-scale", "0.01", "--json", "--force", data_dir=tmp_path
    )
    assert forced.returncode == 0, forced.stderr[-3000:]
    assert json.loads(forced.stdout)["status"] == "completed"


def _menus(path: str) -> str:
    return (EXAMPLES / path).read_text(encoding="utf-8")


@pytest.mark.reliability
@pytest.mark.parametrize("kind", database_urls())
def test_concurrent_uploads_of_one_restaurant_create_one_batch(kind: str, tmp_path: Path) -> None:
    """Eight uploads of the same restaurant at once (API processes share the database): the check and the
    insert of each happen one organisation at a time, so exactly one is created and seven are refused."""
    from concurrent.futures import ThreadPoolExecutor

    from yolobatch.domain.identities import DuplicateRestaurants

    store = make_store(kind, tmp_path, schema="yolobatch_duplicates_race")
    store.ensure_org("race-org")
    restaurant = RestaurantInput.model_validate(
        {"name": "Jax Burger Shack", "storeUrl": "https://jax.example/stores/jax"}
    )

    def upload(n: int) -> str:
        try:
            store.create_batch("race-org", f"upload {n}", [restaurant], refuse_duplicates=True)
            return "created"
        except DuplicateRestaurants:
            return "refused"

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(upload, range(8)))
    assert sorted(outcomes) == ["created"] + ["refused"] * 7
    assert store.list_batches("race-org")[1] == 1


def test_one_store_twice_in_one_upload_is_refused_naming_both_rows() -> None:
    """Review D3: two spellings of one store page in one file would register it twice; the identical-row
    check missed them. A chain's stores (one company, one owner's email) stay allowed in one upload."""
    from yolobatch.domain.batch_input import BatchInputError, parse_batch

    rows = [
        {"name": "Jax Burger Shack", "storeUrl": "https://www.jax.example/stores/jax/"},
        {"name": "Jax (again)", "storeUrl": "https://JAX.example/stores/jax"},
    ]
    with pytest.raises(BatchInputError) as refused:
        parse_batch(json.dumps({"name": "w48", "restaurants": rows}))
    assert refused.value.problems == [
        "restaurant 2 (Jax (again)): storeUrl: the same store page as restaurant 1 (Jax Burger Shack)"
    ]
    chain = [
        {
            "name": f"Jax {city}",
            "storeUrl": f"https://jax.example/stores/{city}",
            "companyNumber": "9429041000038",
        }
        for city in ("auckland", "wellington")
    ]
    assert len(parse_batch(json.dumps({"name": "chain", "restaurants": chain})).restaurants) == 2
