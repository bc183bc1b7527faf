"""Reading an answer from the outside world with a size cap, so a broken or hostile upstream (a 50 MB
"JSON" page, a compressed bomb) cannot fill the worker's memory. Registry and platform answers are a few
kilobytes; the cap is far above that."""

from __future__ import annotations

from typing import Any

import httpx

MAX_RESPONSE_BYTES = 5_000_000
# Describe the body as it was when decoded here, not as it travelled.
_TRANSFER_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


class ResponseTooLarge(Exception):
    """The answer's body is over the cap; it was not read to the end."""

    def __init__(self, message: str, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


async def request_bounded(
    http: httpx.AsyncClient, method: str, url: str, *, max_bytes: int = MAX_RESPONSE_BYTES, **kwargs: Any
) -> httpx.Response:
    """`http.request(method, url, **kwargs)`, except that a body over `max_bytes` (decoded, so compression
    does not hide its size) raises `ResponseTooLarge` as soon as it passes the cap. Transport errors
    (including a body cut short) raise as `httpx` raises them."""
    async with http.stream(method, url, **kwargs) as response:
        status = response.status_code
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise ResponseTooLarge(f"HTTP {status} declares a {declared}-byte body, over {max_bytes}", status)
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > max_bytes:
                raise ResponseTooLarge(f"HTTP {status} with a body over {max_bytes} bytes", status)
    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _TRANSFER_HEADERS]
    extensions = {k: v for k, v in response.extensions.items() if k in ("http_version", "reason_phrase")}
    return httpx.Response(
        status, headers=headers, content=bytes(body), request=response.request, extensions=extensions
    )
