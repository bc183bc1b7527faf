"""Wiring from settings to the store, the Temporal server and the worker, shared by the CLI and the API."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
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
from yolobatch.store.opening import PRIVATE_FILES, open_store, private_data_dir
from yolobatch.store.repository import Store

__all__ = ["PRIVATE_FILES", "open_store", "private_data_dir"]  # opened here before; now the store's job


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
