"""How the API is served: uvicorn with limits on slow clients.

uvicorn bounds an idle keep-alive connection (`timeout_keep_alive`) and the size of a request head (h11),
but not how long a client may take to send one: a few hundred connections trickling headers a byte at a
time would stay open for ever. Here every connection must deliver each request head within
`http_head_timeout` of the moment the server starts waiting for it, and a body may pause no longer than
`http_body_idle_timeout` and take no longer than `http_body_timeout` in all; a client that is slower is
disconnected. `limit_concurrency` answers 503 once `http_max_connections` are open.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from yolobatch.settings import Settings

# A request line and headers larger than this are refused (400): h11's default, stated here on purpose.
MAX_HEAD_BYTES = 16 * 1024


class SlowClientGuard(H11Protocol):
    """uvicorn's h11 protocol with deadlines for receiving a request head and body."""

    head_timeout = 10.0
    body_idle_timeout = 30.0
    body_timeout = 300.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._timer: asyncio.TimerHandle | None = None
        self._phase: str | None = None  # "head" or "body": what the client is expected to send now
        self._body_deadline = 0.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._watch()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop()
        super().connection_lost(exc)

    def _watch(self) -> None:
        """Arm the deadline that fits what the client is expected to send next."""
        if self.transport.is_closing():
            self._stop()
            return
        now = self.loop.time()
        if self.cycle is None or self.cycle.response_complete:
            # Waiting for a request head: bytes trickling in do not extend the deadline.
            if self._phase != "head":
                self._arm("head", self.head_timeout)
        elif self.conn.their_state is h11.SEND_BODY:
            if self._phase != "body":
                self._body_deadline = now + self.body_timeout
            # Each piece of the body restarts the pause allowance, never past the total deadline.
            self._arm("body", min(self.body_idle_timeout, self._body_deadline - now))
        else:  # the request is in; the application answers at its own pace (e.g. an event stream)
            self._stop()

    def _arm(self, phase: str, delay: float) -> None:
        self._stop()
        self._phase = phase
        self._timer = self.loop.call_later(max(0.0, delay), self._too_slow)

    def _stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._phase = None, None

    def _too_slow(self) -> None:
        self._timer = None
        if not self.transport.is_closing():
            self.transport.close()


def guarded_protocol(settings: Settings) -> type[SlowClientGuard]:
    """The protocol class with this installation's deadlines."""
    return type(
        "ConfiguredSlowClientGuard",
        (SlowClientGuard,),
        {
            "head_timeout": settings.http_head_timeout,
            "body_idle_timeout": settings.http_body_idle_timeout,
            "body_timeout": settings.http_body_timeout,
        },
    )


def server_config(app: Any, host: str, port: int, settings: Settings) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        log_config=None,  # uvicorn's records go through yolobatch.logs like every other, not its own handlers
        lifespan="off",
        http=guarded_protocol(settings),
        limit_concurrency=settings.http_max_connections,
        timeout_keep_alive=5,
        h11_max_incomplete_event_size=MAX_HEAD_BYTES,
    )
