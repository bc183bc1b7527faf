"""Wiring from settings to the store, the Temporal server and the worker, shared by the CLI and the API."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.service import TLSConfig

from yolobatch.engine.devserver import DevServer, start_dev_server, wait_for_server
from yolobatch.settings import Settings
from yolobatch.store.crypto import SecretBox, SecretKeyMissing
from yolobatch.store.db import make_engine, migrate
from yolobatch.store.repository import Store


def open_store(settings: Settings) -> Store:
    """The migrated store with its secret key; refuses (SecretKeyMissing) when secrets are stored and the
    key that sealed them is missing or another one, rather than start and fail on every restaurant."""
    private_data_dir(settings.data_dir)
    engine = make_engine(settings.resolved_database_url)
    migrate(engine)
    private_data_dir(settings.data_dir)  # the database file may have just been created
    secret = settings.secret_key.get_secret_value() if settings.secret_key else None
    sample = Store.sealed_sample(engine)
    box = SecretBox.from_settings(secret, settings.data_dir, may_generate=sample is None)
    if sample is not None:
        try:
            box.open(sample)
        except ValueError:
            raise SecretKeyMissing(
                "the stored secrets cannot be decrypted with this secret key (YOLOBATCH_SECRET_KEY or "
                f"{settings.data_dir / 'secret.key'}): give the key they were sealed with (while rotating, "
                "`NEW,OLD`)"
            ) from None
    return Store(engine, box)


# Our files in the data dir: the SQLite database (and its journals), the secret key, the local token and
# the embedded Temporal server's files.
PRIVATE_FILES = ("yolobatch.db*", "secret.key", "local-token", "sandbox-admin-token", "temporal.*")


def private_data_dir(data_dir: Path) -> None:
    """The data dir 0700 and our files in it 0600: they hold the secret key, tokens and every config.

    An existing directory is tightened only when this user owns it and it is not a shared sticky one
    (`--data-dir /tmp`), so pointing the data dir somewhere odd never locks others out of it."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = data_dir.stat()
    if info.st_uid == os.getuid() and not info.st_mode & stat.S_ISVTX:
        data_dir.chmod(0o700)
    for pattern in PRIVATE_FILES:
        for path in data_dir.glob(pattern):
            if path.is_file() and path.stat().st_uid == os.getuid():
                path.chmod(0o600)


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
