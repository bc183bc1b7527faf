"""Fetching store pages and images: guarded on every redirect hop, size-capped, with clear error codes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urljoin

import httpx

from yolobatch.integrations.extraction.decoding import (
    ACCEPT_ENCODING,
    StreamDecoder,
    UnsupportedEncoding,
    decode_html,
)
from yolobatch.integrations.extraction.errors import ErrorCode, ExtractionError
from yolobatch.integrations.extraction.guard import IPAddress, UrlGuard

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
JSON_TYPES = frozenset({"application/json", "text/json"})
IMAGE_TYPES = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/jpg",
        "image/gif",
        "image/webp",
        "image/x-icon",
        "image/vnd.microsoft.icon",
    }
)
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
USER_AGENT = "yolobatch-extractor/1.0 (+restaurant onboarding)"


@dataclass(frozen=True)
class Fetched:
    url: str
    final_url: str
    status: int
    content_type: str
    charset: str | None
    body: bytes


@dataclass(frozen=True)
class Post:
    """A JSON request body (and extra headers) for the platforms' per-item APIs."""

    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class Page:
    url: str
    final_url: str
    status: int
    content_type: str
    text: str


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


async def fetch_page(
    url: str,
    *,
    http: httpx.AsyncClient,
    guard: UrlGuard,
    max_bytes: int = 5_000_000,
    timeout: float = 20.0,
    max_redirects: int = 5,
) -> Page:
    """GET an HTML page. Raises `ExtractionError` (see `errors.ErrorCode`) for anything else."""
    fetched = await fetch_bytes(
        url,
        http=http,
        guard=guard,
        accept=lambda mt: mt in HTML_TYPES,
        refusal="not_html",
        max_bytes=max_bytes,
        timeout=timeout,
        max_redirects=max_redirects,
    )
    _encoding, text = decode_html(fetched.body, fetched.content_type)
    return Page(url, fetched.final_url, fetched.status, fetched.content_type, text)


async def fetch_image(
    url: str,
    *,
    http: httpx.AsyncClient,
    guard: UrlGuard,
    max_bytes: int = 5_000_000,
    timeout: float = 20.0,
    max_redirects: int = 5,
) -> Fetched:
    """GET a raster image (SVG is refused: nothing here can rasterise it)."""
    return await fetch_bytes(
        url,
        http=http,
        guard=guard,
        accept=lambda mt: mt in IMAGE_TYPES,
        refusal="not_image",
        max_bytes=max_bytes,
        timeout=timeout,
        max_redirects=max_redirects,
    )


async def post_json(
    url: str,
    payload: object,
    *,
    http: httpx.AsyncClient,
    guard: UrlGuard,
    headers: dict[str, str] | None = None,
    max_bytes: int = 2_000_000,
    timeout: float = 20.0,
) -> object:
    """POST JSON, read JSON back, through the same guard and caps as a page fetch."""
    fetched = await fetch_bytes(
        url,
        http=http,
        guard=guard,
        accept=lambda mt: mt in JSON_TYPES,
        refusal="not_json",
        max_bytes=max_bytes,
        timeout=timeout,
        max_redirects=2,
        post=Post(json.dumps(payload).encode(), headers or {}),
    )
    try:
        return json.loads(fetched.body)
    except ValueError as exc:
        raise ExtractionError(f"{url} answered something that is not JSON", "not_json") from exc


async def fetch_bytes(
    url: str,
    *,
    http: httpx.AsyncClient,
    guard: UrlGuard,
    accept: Callable[[str], bool],
    refusal: ErrorCode,
    max_bytes: int,
    timeout: float,
    max_redirects: int,
    post: Post | None = None,
) -> Fetched:
    """The shared fetch loop; `timeout` bounds the whole fetch, redirects and slow bodies included."""
    try:
        async with asyncio.timeout(timeout):
            return await _fetch(url, http, guard, accept, refusal, max_bytes, timeout, max_redirects, post)
    except TimeoutError as exc:
        raise ExtractionError(f"Fetching {url} took longer than {timeout} s", "timeout", True) from exc


async def _fetch(
    url: str,
    http: httpx.AsyncClient,
    guard: UrlGuard,
    accept: Callable[[str], bool],
    refusal: ErrorCode,
    max_bytes: int,
    timeout: float,
    max_redirects: int,
    post: Post | None = None,
) -> Fetched:
    current = url
    for _hop in range(max_redirects + 1):
        # DNS resolution blocks; keep it off the event loop.
        pinned = await asyncio.to_thread(guard.check, current)
        try:
            # Redirects are followed by hand so that every hop passes the guard.
            request = _pinned_request(http, current, pinned, timeout, post)
            response = await http.send(request, stream=True, follow_redirects=False)
        except httpx.TimeoutException as exc:
            raise ExtractionError(f"Timed out fetching {current}", "timeout", True) from exc
        except (httpx.TransportError, httpx.InvalidURL) as exc:
            raise ExtractionError(f"Cannot reach {current}: {exc}", "unreachable", True) from exc
        try:
            if response.status_code in REDIRECT_STATUSES and "location" in response.headers:
                current = urljoin(current, response.headers["location"])
                if response.status_code in (301, 302, 303):
                    post = None  # what browsers do: the body is not sent on to the new place
                continue
            return await _read(url, current, response, accept, refusal, max_bytes)
        finally:
            await response.aclose()
    raise ExtractionError(f"More than {max_redirects} redirects from {url}", "too_many_redirects")


def _pinned_request(
    http: httpx.AsyncClient, url: str, address: IPAddress | None, timeout: float, post: Post | None = None
) -> httpx.Request:
    """A GET (or `post`) of `url` that connects to `address` (the one the guard approved), not to a new
    resolution. The Host header and the TLS server name (SNI and certificate check) stay those of the URL."""
    # Accept-Encoding set by hand: httpx would offer every coding it has a decoder for, but the body is
    # decoded here, in bounded steps, for the codings listed.
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": ACCEPT_ENCODING}
    method, body = ("POST", post.body) if post is not None else ("GET", None)
    if post is not None:
        headers |= {"Content-Type": "application/json", **post.headers}
    if address is None:
        return http.build_request(method, url, headers=headers, content=body, timeout=timeout)
    target = httpx.URL(url)
    headers["Host"] = target.netloc.decode("ascii")
    request = http.build_request(
        method, target.copy_with(host=str(address)), headers=headers, content=body, timeout=timeout
    )
    if target.scheme == "https":
        request.extensions["sni_hostname"] = target.host
    return request


async def _read(
    url: str,
    current: str,
    response: httpx.Response,
    accept: Callable[[str], bool],
    refusal: ErrorCode,
    max_bytes: int,
) -> Fetched:
    status = response.status_code
    if status >= 400:
        raise ExtractionError(
            f"{current} answered HTTP {status}",
            "http_error",
            retryable=status >= 500 or status in (408, 429),
            status=status,
        )
    content_type = response.headers.get("content-type", "")
    if not accept(media_type(content_type)):
        raise ExtractionError(
            f"{current} is {content_type or 'of unknown type'}, not what was expected",
            refusal,
        )
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise ExtractionError(f"{current} declares {declared} bytes, over {max_bytes}", "too_large")
    body = bytearray()
    if response.is_stream_consumed:
        # Built in memory (an httpx.MockTransport answer with `content=`): httpx has already read and
        # decoded it, so there is nothing left to bound but the size.
        _append(body, response.content, max_bytes, current)
        return Fetched(url, current, status, content_type, response.charset_encoding, bytes(body))
    try:
        decoder = StreamDecoder(response.headers.get("content-encoding"))
    except UnsupportedEncoding as exc:
        raise ExtractionError(f"{current}: {exc}", "bad_encoding") from exc
    try:
        # Raw bytes, decoded here a bounded chunk at a time: counting after httpx's decoder would count
        # only once a whole network read had been inflated (a 486 KB gzip bomb peaked at 151 MB so).
        async for raw in response.aiter_raw():
            for chunk in decoder.feed(raw):
                _append(body, chunk, max_bytes, current)
        for chunk in decoder.flush():
            _append(body, chunk, max_bytes, current)
    except UnsupportedEncoding as exc:
        raise ExtractionError(f"{current}: {exc}", "bad_encoding") from exc
    except httpx.TimeoutException as exc:
        raise ExtractionError(f"Timed out reading {current}", "timeout", True) from exc
    except httpx.TransportError as exc:
        raise ExtractionError(f"Connection lost reading {current}: {exc}", "unreachable", True) from exc
    return Fetched(url, current, status, content_type, response.charset_encoding, bytes(body))


def _append(body: bytearray, chunk: bytes, max_bytes: int, current: str) -> None:
    # Decoded bytes count, per chunk: a lying or absent Content-Length must not let a body fill memory.
    if len(body) + len(chunk) > max_bytes:
        raise ExtractionError(f"{current} is larger than {max_bytes} bytes", "too_large")
    body += chunk
