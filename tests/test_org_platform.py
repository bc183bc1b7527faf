"""Per-organisation registration platform (issue 15 item 1): set through the API and the CLI, the key
sealed at rest and never returned, audited, bad input refused with the field named."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from temporalio.client import Client

from tests.conftest import settings_for
from yolobatch.engine.devserver import free_port
from yolobatch.engine.runtime import open_store
from yolobatch.http.app import create_app
from yolobatch.http.context import AppContext
from yolobatch.settings import Settings

SECRET = "platform-key-that-must-never-show-9f2c"


@pytest.fixture
async def api(dev_server, world, store, tmp_path) -> AsyncIterator[tuple]:
    client = await Client.connect(dev_server.address)
    store.ensure_org("acme", "Acme Eats Ltd")
    store.ensure_org("rival", "Rival Foods")
    token = store.create_token("acme", "alice")
    application = create_app(AppContext(settings_for(store, world, tmp_path), store, client, world.url))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application),
        base_url="http://yolobatch.test",
        headers={"Authorization": f"Bearer {token}"},
    ) as http:
        yield http, store


async def test_api_sets_the_organisations_platform_key_sealed_never_returned_and_audited(api):
    http, store = api
    before = (await http.get("/api/org/platform")).json()
    assert before["own"] is False and before["contract"] == "contract"

    body = {"url": "https://platform.example.com/", "key": SECRET, "contract": "original"}
    response = await http.put("/api/org/platform", json=body)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "url": "https://platform.example.com",
        "contract": "original",
        "service_key_set": True,
        "own": True,
    }
    assert SECRET not in response.text
    assert SECRET not in (await http.get("/api/org/platform")).text

    # The engine reads it in clear; the database holds it sealed; another organisation is untouched.
    assert store.org_platform("acme").service_key == SECRET
    assert store.org_platform("rival") is None
    with store.engine.connect() as connection:
        sealed = connection.execute(text("SELECT service_key FROM org_platforms")).scalar_one()
    assert SECRET not in sealed

    events = [e for e in store.events(org_id="acme") if e.kind == "org_platform_set"]
    assert len(events) == 1 and events[0].actor == "api:alice"
    assert "https://platform.example.com" in events[0].message
    assert SECRET not in str(events[0].data) + events[0].message


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (
            {"url": "ftp://platform.example.com", "key": SECRET, "contract": "original"},
            "url: expected an http",
        ),
        ({"url": "https://platform.example.com", "key": "  ", "contract": "original"}, "key: the platform"),
        ({"url": "https://platform.example.com", "key": SECRET, "contract": "graphql"}, "contract"),
    ],
)
async def test_api_refuses_an_unusable_platform_naming_the_field(api, body, words):
    http, store = api
    response = await http.put("/api/org/platform", json=body)
    assert response.status_code == 422
    assert words in response.text
    assert SECRET not in response.text
    assert store.org_platform("acme") is None


def test_cli_sets_and_shows_an_organisations_platform(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YOLOBATCH_", "TEMPORAL_"))}
    env |= {"YOLOBATCH_DATA_DIR": str(tmp_path), "YOLOBATCH_TEMPORAL_PORT": str(free_port())}

    def yolobatch(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "yolobatch", "org", "platform", "--org", "acme", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    store = open_store(Settings(data_dir=tmp_path))
    store.ensure_org("acme")
    shown = yolobatch()
    assert shown.returncode == 0, shown.stderr
    assert "default platform" in shown.stdout

    refused = yolobatch("--url", "not a url", "--key", SECRET)
    assert refused.returncode == 2 and "url: expected an http" in refused.stderr

    done = yolobatch("--url", "http://10.0.0.5:8080", "--contract", "original", "--key", SECRET)
    assert done.returncode == 0, done.stderr
    assert SECRET not in done.stdout + done.stderr
    assert store.org_platform("acme").contract == "original"
    shown = yolobatch()
    assert "http://10.0.0.5:8080 (original contract), key set" in shown.stdout and SECRET not in shown.stdout
