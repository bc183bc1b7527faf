"""Wiring from settings to the store, the Temporal server and the worker, shared by the CLI and the API."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from temporalio.client import Client
from temporalio.service import TLSConfig

from yolobatch.engine.devserver import DevServer, start_dev_server, wait_for_server
from yolobatch.settings import Settings
from yolobatch.store.crypto import SecretBox
from yolobatch.store.db import make_engine, migrate
from yolobatch.store.repository import Store


def open_store(settings: Settings) -> Store:
    engine = make_engine(settings.resolved_database_url)
    migrate(engine)
    secret = settings.secret_key.get_secret_value() if settings.secret_key else None
    return Store(engine, SecretBox.from_settings(secret, settings.data_dir))


def client_options(settings: Settings) -> dict[str, Any]:
    """`Client.connect` options for the configured cluster: namespace, TLS (mTLS with a client
    certificate) and API key. Every process that talks to Temporal uses these."""
    tls: bool | TLSConfig = bool(settings.temporal_tls or settings.temporal_api_key)
    if settings.temporal_tls_cert is not None and settings.temporal_tls_key is not None:
        tls = TLSConfig(
            client_cert=settings.temporal_tls_cert.read_bytes(),
            client_private_key=settings.temporal_tls_key.read_bytes(),
        )
    api_key = settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None
    return {"namespace": settings.temporal_namespace, "tls": tls, "api_key": api_key}


@dataclass
class Engine:
    client: Client
    server: DevServer | None  # None when TEMPORAL_ADDRESS points at an external server


@contextlib.asynccontextmanager
async def temporal(settings: Settings) -> AsyncIterator[Engine]:
    """Connect to `TEMPORAL_ADDRESS`, or start the embedded dev server for the lifetime of the context."""
    if settings.temporal_address:
        client = await wait_for_server(settings.temporal_address, timeout=30, **client_options(settings))
        yield Engine(client, None)
        return
    extra = () if settings.temporal_namespace == "default" else (settings.temporal_namespace,)
    server = await start_dev_server(settings.data_dir, settings.temporal_port, namespaces=extra)
    try:
        client = await Client.connect(server.address, namespace=settings.temporal_namespace)
        yield Engine(client, server)
    finally:
        server.stop()
