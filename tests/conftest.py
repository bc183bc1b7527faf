"""Shared fixtures: a real Temporal dev server (once per session), real databases, the sandbox on a port."""

from __future__ import annotations

import io
import json
import logging
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from yolobatch.devtools.demo import demo_batch
from yolobatch.domain.batch_input import BatchInput, parse_batch
from yolobatch.engine.devserver import DevServer, free_port, start_dev_server
from yolobatch.settings import Settings
from yolobatch.store.crypto import SecretBox
from yolobatch.store.db import make_engine, migrate
from yolobatch.store.repository import Store

# The engine runs at 1/100 of real durations; the sandbox answers at 1/200, so every call fits its timeout.
ENGINE_SCALE = 0.01
SANDBOX_SCALE = 0.005
SECRET_KEY = Fernet.generate_key().decode()
POSTGRES_URL = os.environ.get("YOLOBATCH_TEST_POSTGRES_URL")
OTHER_NAMESPACE = "yolobatch-ops"  # a namespace besides `default`, as a shared cluster would give us
# How many times the CI budget the generative suites (hypothesis, schemathesis) spend: CI keeps 1; a
# release check runs e.g. `YOLOBATCH_FUZZ_BUDGET=10 pytest tests/test_properties.py tests/test_api_fuzz.py`.
FUZZ_BUDGET = max(1, int(os.environ.get("YOLOBATCH_FUZZ_BUDGET", "1")))


@pytest.fixture(scope="session")
def tmp_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("yolobatch")


@pytest.fixture(scope="session")
async def dev_server(tmp_root: Path) -> AsyncIterator[DevServer]:
    server = await start_dev_server(tmp_root / "temporal", free_port(), namespaces=(OTHER_NAMESPACE,))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sandbox() -> Iterator:
    from yolobatch.devtools.sandbox.server import start_in_thread
    from yolobatch.devtools.sandbox.settings import SandboxSettings

    world = start_in_thread(SandboxSettings(time_scale=SANDBOX_SCALE, jitter=0.1))
    yield world
    world.stop()


@pytest.fixture
def world(sandbox):
    """The sandbox, emptied for this test."""
    httpx.post(f"{sandbox.url}/_sandbox/reset").raise_for_status()
    return sandbox


def _reset_postgres(url: str, schema: str) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()


def database_urls() -> list:
    return [
        pytest.param("sqlite", id="sqlite"),
        pytest.param(
            "postgres",
            id="postgres",
            marks=[
                pytest.mark.postgres,
                pytest.mark.skipif(not POSTGRES_URL, reason="YOLOBATCH_TEST_POSTGRES_URL not set"),
            ],
        ),
    ]


def make_store(kind: str, tmp_path: Path, schema: str = "yolobatch_test") -> Store:
    """A migrated store: a SQLite file in `tmp_path`, or a fresh PostgreSQL schema."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'yolobatch.db'}"
    else:
        assert POSTGRES_URL
        _reset_postgres(POSTGRES_URL, schema)
        url = POSTGRES_URL + ("&" if "?" in POSTGRES_URL else "?") + f"options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    migrate(engine)
    return Store(engine, SecretBox(SECRET_KEY))


@pytest.fixture
def structured_log() -> Iterator[io.StringIO]:
    """Everything the process logs during the test, rendered as a deployment ships it (JSON lines, DEBUG and
    up, through yolobatch.logs); the previous logging setup is restored afterwards."""
    from yolobatch.logs import CHATTY, configure

    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    chatty = {name: logging.getLogger(name).level for name in CHATTY}
    out = io.StringIO()
    handler = configure(level="DEBUG", fmt="json", stream=out)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        for kept in handlers:
            if kept not in root.handlers:
                root.addHandler(kept)
        root.setLevel(level)
        for name, was in chatty.items():
            logging.getLogger(name).setLevel(was)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return make_store("sqlite", tmp_path)


def settings_for(store: Store, world, data_dir: Path, **overrides) -> Settings:
    values = dict(
        data_dir=data_dir,
        database_url=store.engine.url.render_as_string(hide_password=False),
        secret_key=SECRET_KEY,
        registration_api_url=world.url,
        time_scale=ENGINE_SCALE,
        accounts_per_minute=60.0,  # 1/s at this scale would be 100/s; tests that measure it override
        platform_concurrency=16,
        retry_attempts=3,
    )
    values.update(overrides)
    return Settings(**values)


def batch_of(count: int, mutate=None) -> BatchInput:
    data = demo_batch(count)
    for restaurant in data["restaurants"]:
        # Unique owners per test run, so the sandbox never sees "already registered" by accident.
        tag = uuid.uuid4().hex[:8]
        for section in ("account", "onboarding"):
            email = restaurant["config"][section].get("userEmail" if section == "onboarding" else "email")
            local, domain = email.split("@")
            new = f"{local}+{tag}@{domain}"
            restaurant["config"][section]["userEmail" if section == "onboarding" else "email"] = new
        if mutate:
            mutate(restaurant)
    return parse_batch(json.dumps(data))


def asgi_client(app, token: str) -> httpx.AsyncClient:
    """An HTTP client that calls the app in-process (no port), with `token`'s bearer header."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://yolobatch.test",
        headers={"Authorization": f"Bearer {token}"},
        timeout=120,
    )
