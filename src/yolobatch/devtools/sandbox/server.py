"""Run a sandbox on a real port: in a background thread (tests, demos) or blocking (CLI)."""

from __future__ import annotations

import threading
import time
from types import TracebackType

import uvicorn
from fastapi import FastAPI

from yolobatch.devtools.sandbox.app import create_app
from yolobatch.devtools.sandbox.settings import SandboxSettings

# Requests hung by a `timeout` fault must not hold up shutdown for `hang_seconds`.
GRACEFUL_SHUTDOWN_SECONDS = 2


class RunningSandbox:
    """A sandbox served by uvicorn in a daemon thread with its own event loop."""

    def __init__(self, app: FastAPI, server: uvicorn.Server, thread: threading.Thread, url: str) -> None:
        self.app = app
        self.url = url
        self._server = server
        self._thread = thread

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout)

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _config(app: FastAPI, host: str, port: int, log_level: str = "warning") -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        log_config=None,  # its records go through yolobatch.logs, like every other record of the process
        lifespan="off",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )


def start_in_thread(
    settings: SandboxSettings | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    startup_timeout: float = 10.0,
) -> RunningSandbox:
    """Start a sandbox and return once it accepts connections; port 0 picks a free port."""
    app = create_app(settings)
    server = uvicorn.Server(_config(app, host, port))
    thread = threading.Thread(target=server.run, name=f"sandbox-{host}:{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError(f"sandbox failed to start on {host}:{port}")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise TimeoutError(f"sandbox did not start on {host}:{port} within {startup_timeout} s")
        time.sleep(0.01)
    bound_port = server.servers[0].sockets[0].getsockname()[1]
    url_host = f"[{host}]" if ":" in host else host
    return RunningSandbox(app, server, thread, f"http://{url_host}:{bound_port}")


def serve(settings: SandboxSettings | None = None, host: str = "127.0.0.1", port: int = 8765) -> None:
    """Serve a sandbox in the foreground until interrupted (Ctrl+C)."""
    uvicorn.Server(_config(create_app(settings), host, port)).run()
