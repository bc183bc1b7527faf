"""Wiring from settings to the store, the Temporal server and the worker, shared by the CLI and the API."""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from temporalio.client import Client

from yolobatch.engine.devserver import DevServer, start_dev_server, wait_for_server
from yolobatch.engine.embedded import (
    RECORD_FILE,
    EngineRecord,
    ForeignEngine,
    ensure_record,
    load_record,
    running_engine,
)
from yolobatch.engine.temporal_client import connect_config
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


class EngineUnavailable(RuntimeError):
    """No engine to talk to, or one that must not be used; the message says what to do."""


@dataclass
class Engine:
    client: Client
    server: DevServer | None  # None when the server is not ours to run (a cluster, or already running)
    address: str
    ui_url: str | None  # the Temporal Web UI, when known

    @property
    def namespace(self) -> str:
        return self.client.namespace


def workflow_url(ui_url: str | None, namespace: str, workflow_id: str) -> str | None:
    """The Temporal Web UI's page of one workflow."""
    if not ui_url:
        return None
    return (
        f"{ui_url.rstrip('/')}/namespaces/{quote(namespace, safe='')}/workflows/{quote(workflow_id, safe='')}"
    )


def embedded_record(settings: Settings, store: Store, ip: str | None = None) -> EngineRecord:
    """The data dir's embedded-engine record, created at first use; explicit settings are recorded."""
    return ensure_record(
        settings.data_dir,
        store.installation().id,
        port=settings.temporal_port,
        ui_port=settings.temporal_ui_port,
        namespace=settings.temporal_namespace,
        ip=ip,
    )


@contextlib.asynccontextmanager
async def temporal(
    settings: Settings, store: Store, *, ip: str | None = None, embedded: bool = False
) -> AsyncIterator[Engine]:
    """Connect to the configured cluster, or start the data dir's embedded server for the lifetime of
    the context (never someone else's: see `yolobatch.engine.embedded`). `embedded` starts it even when a
    cluster is configured: `yolobatch engine` is that cluster."""
    config = {} if embedded else connect_config(settings)
    if "target_host" in config:
        client = await wait_for_server(config.pop("target_host"), timeout=30, **config)
        yield Engine(client, None, client.service_client.config.target_host, settings.temporal_ui_url)
        return
    record = await asyncio.to_thread(embedded_record, settings, store, ip)
    try:
        running = await running_engine(record, settings.data_dir)
    except ForeignEngine as exc:
        raise EngineUnavailable(str(exc)) from None
    if running is not None:
        raise EngineUnavailable(
            f"this data dir's engine already runs at {record.address} (another `yolobatch up`, `run` or "
            f"`engine` with --data-dir {settings.data_dir}): stop it first, or use the commands that "
            "talk to it (`yolobatch step`, `cancel`, `reconcile`)"
        )
    server = await start_dev_server(
        settings.data_dir,
        record.port,
        ui_port=record.ui_port if settings.temporal_ui else None,
        namespaces=record.namespaces,
        ip=record.ip,
    )
    try:
        # Checked again: whoever took the port between the first check and the start would have answered.
        started = await running_engine(record, settings.data_dir)
        if started is None or server.process.poll() is not None:
            raise EngineUnavailable(f"the engine did not start: see {server.log_path}")
        yield Engine(started, server, server.address, record.ui_url if settings.temporal_ui else None)
    except ForeignEngine as exc:
        raise EngineUnavailable(str(exc)) from None
    finally:
        server.stop()


async def connect(settings: Settings, store: Store) -> Engine:
    """A client of the engine that already runs: the configured cluster, or this data dir's embedded
    server (`yolobatch up`), checked to be this installation's."""
    config = connect_config(settings)
    if "target_host" in config:
        address = config.pop("target_host")
        try:
            client = await Client.connect(address, **config)
        except RuntimeError:
            raise EngineUnavailable(f"No Temporal server answers at {address}") from None
        return Engine(client, None, address, settings.temporal_ui_url)
    record = load_record(settings.data_dir)
    if record is None:
        raise EngineUnavailable(
            f"No engine has run for {settings.data_dir} ({RECORD_FILE} missing): start `yolobatch up`, or "
            "set TEMPORAL_ADDRESS"
        )
    try:
        running = await running_engine(record, settings.data_dir)
    except ForeignEngine as exc:
        raise EngineUnavailable(str(exc)) from None
    if running is None:
        raise EngineUnavailable(
            f"No engine at {record.address}: start `yolobatch up` (with --data-dir {settings.data_dir})"
        )
    return Engine(running, None, record.address, record.ui_url)
