"""What the request pipeline and the operation handlers exchange: `Call` in, `Reply` out."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse, Response

if TYPE_CHECKING:
    from yolobatch.devtools.sandbox.state import RestaurantRecord, World


@dataclass(frozen=True)
class Reply:
    """An answer before it becomes an HTTP response; `raw` replaces the JSON body for non-JSON faults."""

    status: int
    body: dict[str, Any] | None = None
    raw: bytes | None = None
    media_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def storable(self) -> bool:
        """Only completed JSON answers are kept for idempotent replay; errors must let a retry run again."""
        return 200 <= self.status < 300 and self.body is not None

    def with_headers(self, **headers: str) -> Reply:
        return replace(self, headers={**self.headers, **headers})

    def to_response(self) -> Response:
        if self.body is None:
            return Response(
                self.raw or b"", self.status, headers=dict(self.headers), media_type=self.media_type
            )
        return JSONResponse(self.body, self.status, headers=dict(self.headers))


def ok(**fields: Any) -> Reply:
    return Reply(200, {"success": True, **fields})


def fail(status: int, error: str, **fields: Any) -> Reply:
    return Reply(status, {"success": False, "error": error, **fields})


@dataclass
class Call:
    """One executing operation: who asked, for which restaurant, with what body."""

    world: World
    endpoint: str
    org_id: str
    restaurant_id: str
    body: dict[str, Any]
    path_params: Mapping[str, str] = field(default_factory=dict)

    def text(self, key: str) -> str | None:
        """The trimmed string value of `key`, or None when it is absent, blank or not a string."""
        value = self.body.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
        return None

    async def work(self, nominal_seconds: float) -> None:
        """The time the original spends in its browser script or upstream API, scaled and jittered."""
        await asyncio.sleep(self.world.latency(nominal_seconds))

    def registered_restaurant(self) -> RestaurantRecord | None:
        record = self.world.restaurant(self.org_id, self.restaurant_id)
        return record if record is not None and record.platform_restaurants else None

    def effect(self, subject: str | None = None) -> None:
        """Count a side effect on the platform; `subject` defaults to the restaurant."""
        self.world.record_effect(self.endpoint, self.org_id, self.restaurant_id, subject)


Handler = Callable[[Call], Awaitable[Reply]]

NOT_REGISTERED = "Restaurant is not registered on the platform"
