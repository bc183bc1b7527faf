"""The operator's outputs (issue 15 item 5): read out of step 6's answers, in the API, the export, and the
owner's password revealed only on purpose and audited. Over real HTTP, with the sandbox and the dev server."""

from __future__ import annotations

import csv
import html
import io
import json
import logging
import os
import subprocess
import sys
import uuid

import httpx
import pytest

from tests.conftest import SECRET_KEY
from tests.engine_helpers import all_settled, state, wait_until
from tests.test_api import api  # noqa: F401 - the fixture, reused
from tests.test_platform_adapters import KEY, ORG, original, original_sandbox, seed  # noqa: F401
from tests.web_helpers import open_session
from yolobatch.devtools.demo import demo_batch
from yolobatch.devtools.sandbox.server import start_in_thread
from yolobatch.devtools.sandbox.settings import SandboxSettings
from yolobatch.domain.outputs import OUTPUT_FIELDS
from yolobatch.domain.plan import PLAN, SubStep
from yolobatch.http.security import csrf_token
from yolobatch.integrations.registration.conformance import synthetic_restaurant
from yolobatch.integrations.registration.outputs import outputs_from_response, outputs_from_status_read
from yolobatch.integrations.registration.payloads import context_from_response
from yolobatch.integrations.registration.port import make_adapter
from yolobatch.service.outputs import neutralise

PLANTED = "Planted-Owner-Secret-7Qx!"
HEADERS = {"X-Service-Key": KEY, "X-Organisation-ID": ORG}
FORMULA_NAME = '=HYPERLINK("https://evil.example","click")'


def test_outputs_are_read_from_either_contracts_answers_and_never_invented():
    S = SubStep
    # The original answers an owner registered before with the account nested under "account" (§4.4-1).
    again = {
        "success": False,
        "error": "Account already registered",
        "account": {"email": "o@x.nz", "account_id": "A1"},
    }
    assert outputs_from_response(S.CLOUDWAITRESS_ACCOUNT, again).present() == {
        "account_email": "o@x.nz",
        "account_id": "A1",
    }
    registered = {
        "restaurant": {
            "pumpd_restaurant_id": "RES9",
            "pumpd_subdomain": "jax",
            "pumpd_full_url": "https://jax.pumpd.co.nz",
            "dashboard_url": "https://admin.pumpd.co.nz/restaurants/RES9",
        }
    }
    assert outputs_from_response(S.RESTAURANT_REGISTRATION, registered).present() == {
        "platform_restaurant_id": "RES9",
        "subdomain": "jax",
        "demo_store_url": "https://jax.pumpd.co.nz",
        "dashboard_url": "https://admin.pumpd.co.nz/restaurants/RES9",
    }
    # No link asked for: null, not a made-up one; a non-web "link" is not passed on to be clicked.
    assert outputs_from_response(S.PAYMENT_CONFIG, {"stripeConnectUrl": None}).present() == {}
    assert outputs_from_response(S.WEBSITE_CONFIG, {"demoStoreUrl": "javascript:alert(1)"}).present() == {}
    assert outputs_from_response(S.SYNC_ONBOARDING_USER, {"onboardingId": "ONB1"}).present() == {
        "onboarding_user_id": "ONB1"
    }
    assert outputs_from_response(S.MENU_IMPORT, {"success": True}).present() == {}
    assert outputs_from_response(S.RESTAURANT_REGISTRATION, None).present() == {}


@pytest.mark.parametrize("contract", ["contract", "original"])
async def test_every_output_is_read_from_the_sandboxs_answers_in_both_contracts(contract):
    """The whole plan through each adapter against the sandbox speaking that contract, answers folded
    into outputs as the recording activity does: every output is found, none invented."""
    running = start_in_thread(SandboxSettings(contract=contract, time_scale=0.002, jitter=0))
    try:
        rid, mid = (f"R-{uuid.uuid4().hex[:8]}", "M-1") if contract == "original" else (None, None)
        if contract == "original":
            seed(running, rid, mid)
        config, menu = synthetic_restaurant(rid, mid)
        found: dict[str, str] = {}
        context: dict = {}
        async with httpx.AsyncClient() as http:
            port = make_adapter(contract, http, running.url, KEY, ORG, timeout_scale=0.05)
            for spec in PLAN:
                request = port.build(spec.key, "job-out", config, menu, context)
                result = await port.call(spec.key, request, f"job-out:{spec.key}", 0.02)
                context |= context_from_response(spec.key, result.body)
                found |= outputs_from_response(spec.key, result.body).present()
        platform = json.dumps(state(running))  # the platform's own records
    finally:
        running.stop()
    assert sorted(found) == sorted(OUTPUT_FIELDS)
    assert found["platform_restaurant_id"].startswith("RES") and found["platform_restaurant_id"] in platform
    assert found["account_email"] == found["onboarding_user_email"] == config.account.email
    assert found["demo_store_url"] == f"https://{found['subdomain']}.pumpd.co.nz"


async def test_the_originals_status_read_gives_the_outputs_of_a_call_verified_as_done(original):  # noqa: F811
    """After an ambiguous registration verified through the status read, the outputs come from that read."""
    rid = f"R-{uuid.uuid4().hex[:8]}"
    seed(original, rid, "M-1")
    config, menu = synthetic_restaurant(rid, "M-1")

    async def register() -> dict:
        async with httpx.AsyncClient() as http:
            port = make_adapter("original", http, original.url, KEY, ORG, timeout_scale=0.05)
            for key in (SubStep.CLOUDWAITRESS_ACCOUNT, SubStep.RESTAURANT_REGISTRATION):
                await port.call(key, port.build(key, "job-v", config, menu, {}), "", 0.02)
            return (await http.get(f"{original.url}/api/registration/status/{rid}", headers=HEADERS)).json()

    before = httpx.get(f"{original.url}/api/registration/status/{rid}", headers=HEADERS).json()
    assert outputs_from_status_read(before).present() == {}
    read = await register()
    found = outputs_from_status_read(read).present()
    assert found["platform_restaurant_id"].startswith("RES") and found["subdomain"]
    assert found["account_email"] == config.account.email and found["account_id"]


@pytest.mark.parametrize("lead", ["=", "+", "-", "@", "\t", "\r"])
def test_a_cell_a_spreadsheet_would_run_is_quoted(lead):
    assert neutralise(f"{lead}1+1") == f"'{lead}1+1"
    assert neutralise("Jax 1+1") == "Jax 1+1"


def _batch(tag: str) -> dict:
    batch = demo_batch(2)
    for index, restaurant in enumerate(batch["restaurants"]):
        config = restaurant["config"]
        config["account"]["password"] = config["onboarding"]["userPassword"] = PLANTED
        config["account"]["email"] = config["account"]["email"].replace("@", f"+{tag}{index}@")
        config["onboarding"]["userEmail"] = config["account"]["email"]
        config["payment"]["includeStripeLink"] = True
    batch["restaurants"][1]["name"] = FORMULA_NAME
    return batch


async def test_a_finished_batch_exports_every_output_and_the_password_only_on_purpose(
    api,  # noqa: F811
    world,
    caplog,
    structured_log,
    tmp_path,
):
    caplog.set_level(logging.DEBUG)
    base, a, b, store = api
    batch = _batch(uuid.uuid4().hex[:6])
    async with httpx.AsyncClient(base_url=base, timeout=30, headers=a) as http:
        created = await http.post("/api/batches", json={**batch, "start": True})
        assert created.status_code == 201, created.text
        batch_id = created.json()["batch_id"]
        progress = await wait_until(store, batch_id, all_settled, timeout=120)
        assert progress["status"] == "completed"
        job_ids = [j["job_id"] for j in progress["jobs"]]

        # Every output, for every restaurant, in the job detail — and they agree with the platform's records.
        platform = json.dumps(state(world))  # the platform's own records
        for job_id in job_ids:
            detail = (await http.get(f"/api/jobs/{job_id}")).json()
            outputs = detail["outputs"]
            missing = [name for name in OUTPUT_FIELDS if not outputs[name]]
            assert not missing, (missing, outputs)
            assert outputs["platform_restaurant_id"].startswith("RES")
            assert outputs["demo_store_url"] == f"https://{outputs['subdomain']}.pumpd.co.nz"
            assert outputs["stripe_connect_url"].startswith("https://connect.stripe.com/")
            assert outputs["account_email"] == store.config_wire(job_id)["account"]["email"]
            assert outputs["onboarding_user_email"] == outputs["account_email"]
            assert outputs["platform_restaurant_id"] in platform

        # The export: one row per restaurant with every output; no passwords without the flag.
        as_json = await http.get(f"/api/batches/{batch_id}/export", params={"format": "json"})
        assert as_json.status_code == 200 and as_json.headers["cache-control"] == "no-store"
        rows = as_json.json()["restaurants"]
        assert [r["job_id"] for r in rows] == job_ids
        for row in rows:
            assert row["status"] == "completed" and row["errors"] == []
            assert all(row[name] for name in OUTPUT_FIELDS), row
            assert "owner_password" not in row
        as_csv = await http.get(f"/api/batches/{batch_id}/export", params={"format": "csv"})
        assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
        assert f'filename="batch-{batch_id}.csv"' in as_csv.headers["content-disposition"]
        table = list(csv.DictReader(io.StringIO(as_csv.text)))
        assert [r["platform_restaurant_id"] for r in table] == [r["platform_restaurant_id"] for r in rows]
        assert table[1]["restaurant"] == "'" + FORMULA_NAME  # shown as text, never run
        assert "owner_password" not in as_csv.text
        assert (
            await http.get(f"/api/batches/{batch_id}/export", params={"format": "xlsx"})
        ).status_code == 422

        # The reveal: a reason is required; the answer is the password; the audit log says who and why.
        job_id = job_ids[0]
        for body in ({}, {"reason": ""}, {"reason": "   "}):
            refused = await http.post(f"/api/jobs/{job_id}/reveal-password", json=body)
            assert refused.status_code == 422, (body, refused.text)
        revealed = await http.post(f"/api/jobs/{job_id}/reveal-password", json={"reason": "owner locked out"})
        assert revealed.status_code == 200, revealed.text
        assert revealed.json()["password"] == PLANTED
        assert revealed.headers["cache-control"] == "no-store"
        events = (await http.get(f"/api/jobs/{job_id}")).json()["events"]
        audited = [e for e in events if e["kind"] == "password_revealed"]
        assert len(audited) == 1
        assert audited[0]["actor"] == "api:test" and "owner locked out" in audited[0]["message"]

        # Passwords in an export: only with the flag AND a reason, and audited once for the batch.
        flagged = f"/api/batches/{batch_id}/export"
        no_reason = await http.get(flagged, params={"format": "csv", "include_passwords": "true"})
        assert no_reason.status_code == 422
        with_reason = await http.get(
            flagged, params={"format": "csv", "include_passwords": "true", "reason": "handover to ops"}
        )
        assert with_reason.status_code == 200
        assert [r["owner_password"] for r in csv.DictReader(io.StringIO(with_reason.text))] == [PLANTED] * 2
        batch_events = [
            e for e in store.events(batch_id=batch_id) if e.kind == "password_revealed" and e.job_id is None
        ]
        assert len(batch_events) == 1 and "handover to ops" in batch_events[0].message
        assert batch_events[0].actor == "api:test"

        # Another organisation: 404, exactly like an unknown id; nothing revealed, nothing audited.
        other = {"Authorization": b["Authorization"]}
        assert (await http.get(f"/api/batches/{batch_id}/export", headers=other)).status_code == 404
        stolen = await http.post(
            f"/api/jobs/{job_id}/reveal-password", json={"reason": "curious"}, headers=other
        )
        assert stolen.status_code == 404 and PLANTED not in stolen.text
        flagged_other = await http.get(
            flagged, params={"include_passwords": "true", "reason": "x"}, headers=other
        )
        assert flagged_other.status_code == 404

        # Planted-secret search: lists, the job detail, exports without the flag, and the logs.
        seen = [caplog.text, structured_log.getvalue(), as_json.text, as_csv.text]
        for path in ("/api/batches", f"/api/batches/{batch_id}", f"/api/jobs/{job_id}"):
            seen.append((await http.get(path)).text)

    # The dashboard: an Outputs panel in the drawer, export buttons, and the reveal as a POST with CSRF.
    token = a["Authorization"][7:]
    session = open_session(store, token)
    async with httpx.AsyncClient(base_url=base, timeout=30, cookies={"yb_session": session}) as page:
        drawer = await page.get(f"/jobs/{job_id}/drawer")
        assert drawer.status_code == 200
        first = (await page.get(f"/api/jobs/{job_id}")).json()["outputs"]
        assert "Outputs" in drawer.text and html.escape(first["stripe_connect_url"]) in drawer.text
        assert first["platform_restaurant_id"] in drawer.text
        batch_page = await page.get(f"/batches/{batch_id}")
        assert f"/api/batches/{batch_id}/export?format=csv" in batch_page.text
        seen += [drawer.text, batch_page.text]
        forged = await page.post(f"/jobs/{job_id}/reveal-password", data={"reason": "x"})
        assert forged.status_code == 403 and PLANTED not in forged.text  # no CSRF token: refused
        csrf = {"X-CSRF-Token": csrf_token(session), "HX-Request": "true"}
        unexplained = await page.post(f"/jobs/{job_id}/reveal-password", data={"reason": " "}, headers=csrf)
        assert unexplained.status_code == 200 and "reason is required" in unexplained.text
        seen.append(unexplained.text)
        shown = await page.post(
            f"/jobs/{job_id}/reveal-password", data={"reason": "phone call"}, headers=csrf
        )
        assert shown.status_code == 200 and PLANTED in shown.text
        assert shown.headers["cache-control"] == "no-store"
        seen.append((await page.get(f"/jobs/{job_id}/drawer")).text)  # shown once, not kept in the drawer
    # The command line, as a user runs it, on the same database.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YOLOBATCH_", "TEMPORAL_"))}
    env |= {
        "YOLOBATCH_DATABASE_URL": store.engine.url.render_as_string(hide_password=False),
        "YOLOBATCH_SECRET_KEY": SECRET_KEY,
        "YOLOBATCH_DATA_DIR": str(tmp_path / "cli"),
    }

    def yolobatch(*args: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "yolobatch", *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)

    exported = yolobatch("export", batch_id, "--format", "json")
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout)["restaurants"] == rows
    target = tmp_path / "out.csv"
    written = yolobatch("export", batch_id, "-o", str(target))
    assert written.returncode == 0 and target.read_bytes() == as_csv.content
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    assert yolobatch("export", batch_id, "--include-passwords").returncode == 2  # no reason
    assert yolobatch("export", "no-such-batch").returncode == 1
    assert yolobatch("reveal-password", job_id, "--reason", "  ").returncode == 2
    cli_reveal = yolobatch("reveal-password", job_id, "--reason", "support ticket 7", "--actor", "cli:ana")
    assert cli_reveal.returncode == 0 and cli_reveal.stdout.strip() == PLANTED
    seen += [exported.stdout, exported.stderr, written.stdout, written.stderr, cli_reveal.stderr]

    seen += [
        caplog.text,
        structured_log.getvalue(),
    ]  # again: the dashboard's and CLI's reveals logged nothing
    leaks = [s for s in seen if PLANTED in s]
    assert not leaks, leaks[0][:500]
    reveals = [e for e in store.events(job_id=job_id) if e.kind == "password_revealed"]
    assert [(e.actor, e.data["reason"]) for e in reveals] == [
        ("api:test", "owner locked out"),
        ("dashboard:test", "phone call"),
        ("cli:ana", "support ticket 7"),
    ]


def test_export_on_a_terminal_shows_control_characters_escaped_and_keeps_lines():
    from yolobatch.terminal import visible_lines

    assert visible_lines("a,\x1b[31mred\r\nb,ok\r\n") == "a,\\x1b[31mred\nb,ok\n"
