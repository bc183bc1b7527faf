"""A real local HTTP server for fixed responses (pages, bombs, API payloads), with a log of requests."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Served:
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class PageServer:
    url: str
    routes: dict[str, Served]
    requests: list[str]

    @property
    def netloc(self) -> str:
        return self.url.removeprefix("http://")


@contextlib.contextmanager
def page_server(routes: dict[str, Served]) -> Iterator[PageServer]:
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            requests.append(f"{self.command} {self.path}")
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            served = routes.get(self.path)
            if served is None:
                self.send_error(404)
                return
            self.send_response(served.status)
            self.send_header("Content-Type", served.content_type)
            self.send_header("Content-Length", str(len(served.body)))
            for name, value in served.headers.items():
                self.send_header(name, value)
            self.end_headers()
            # A client that stops reading (a size cap) closes the connection: not an error here.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(served.body)

        do_GET = _answer
        do_POST = _answer

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield PageServer(f"http://127.0.0.1:{server.server_address[1]}", routes, requests)
    finally:
        server.shutdown()
        server.server_close()
