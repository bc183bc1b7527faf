"""The embedded Temporal server belongs to its data dir.

Its ports and namespaces are chosen at first start and recorded in `<data dir>/engine.json`; later starts
reuse them, and nothing but the recorded address is ever connected to. A server that answers there is
accepted only if it holds this installation's marker namespace (named after the installation's identity in
its database): another installation's server, or anything else on that port, is refused with a message.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from yolobatch.engine.devserver import free_port

RECORD_FILE = "engine.json"


class ForeignEngine(RuntimeError):
    """Something that is not this installation's engine answers at the address its data dir records."""


@dataclass(frozen=True)
class EngineRecord:
    port: int
    ui_port: int
    namespace: str  # where this installation's workflows live
    marker: str  # a namespace only this installation's server holds: proof of whose server answers
    ip: str = "127.0.0.1"

    @property
    def address(self) -> str:
        return f"{_connect_host(self.ip)}:{self.port}"

    @property
    def ui_url(self) -> str:
        return f"http://{_connect_host(self.ip)}:{self.ui_port}"

    @property
    def namespaces(self) -> tuple[str, ...]:
        """The namespaces the server must create at start, besides `default`."""
        return tuple(dict.fromkeys(ns for ns in (self.marker, self.namespace) if ns != "default"))


def _connect_host(ip: str) -> str:
    return "127.0.0.1" if ip in ("0.0.0.0", "::") else ip


def marker_namespace(installation_id: str) -> str:
    return f"yolobatch-{installation_id[:12]}"


def load_record(data_dir: Path) -> EngineRecord | None:
    path = data_dir / RECORD_FILE
    try:
        return EngineRecord(**json.loads(path.read_text()))
    except FileNotFoundError:
        return None
    except (ValueError, TypeError) as exc:
        raise ForeignEngine(f"{path} is damaged ({exc}); remove it to choose new ports") from None


def ensure_record(
    data_dir: Path,
    installation_id: str,
    *,
    port: int | None = None,
    ui_port: int | None = None,
    namespace: str | None = None,
    ip: str | None = None,
) -> EngineRecord:
    """The data dir's record, created at first start with free ports and a namespace named after the
    installation; explicit values replace what is recorded (and are recorded)."""
    record = load_record(data_dir)
    if record is None:
        marker = marker_namespace(installation_id)
        # A data dir from before this record keeps its workflows, which live in `default`.
        legacy = (data_dir / "temporal.db").exists()
        port = port or free_port()
        while ui_port is None or ui_port == port:
            ui_port = free_port()
        record = EngineRecord(
            port=port,
            ui_port=ui_port,
            namespace=namespace or ("default" if legacy else marker),
            marker=marker,
            ip=ip or "127.0.0.1",
        )
    else:
        record = replace(
            record,
            port=record.port if port is None else port,
            ui_port=record.ui_port if ui_port is None else ui_port,
            namespace=namespace or record.namespace,
            ip=ip or record.ip,
        )
    _write(data_dir / RECORD_FILE, record)
    return record


def _write(path: Path, record: EngineRecord) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(asdict(record), indent=2) + "\n")
    os.replace(temporary, path)


def port_answers(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((host, port)) == 0


async def running_engine(record: EngineRecord, data_dir: Path) -> Client | None:
    """A client of this installation's server if it runs at the recorded address; None if nothing listens
    there. Raises ForeignEngine when something else answers."""
    host = _connect_host(record.ip)
    if not await asyncio.to_thread(port_answers, host, record.port):
        return None
    where = f"{record.address} (recorded in {data_dir / RECORD_FILE})"
    try:
        client = await asyncio.wait_for(Client.connect(record.address, namespace=record.namespace), 10)
    except (RuntimeError, TimeoutError):
        raise ForeignEngine(
            f"port {record.port} is taken by a program that is not a Temporal server: {where}. Stop it, "
            "or give this data dir another port (--temporal-port)"
        ) from None
    try:
        await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=record.marker))
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        raise ForeignEngine(
            f"the Temporal server at {where} is not this installation's (it has no namespace "
            f"{record.marker}): another installation uses that port. Refusing to run work there; stop "
            "it, or give this data dir another port (--temporal-port)"
        ) from None
    return client
