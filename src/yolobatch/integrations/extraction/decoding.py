"""Bytes of a response into what a browser would see: content codings undone as a bounded stream, then
the page's characters decoded with the browser's charset rules.

A gzip bomb inflates about a thousandfold, so one 64 KB network read can become 64 MB if decompressed in
one call (httpx's own decoders do that). Every decoder here emits at most `OUTPUT_CHUNK` bytes per step,
so the caller can count decoded bytes and stop at its cap with memory bounded by the chunk, not the bomb.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from typing import Protocol

from w3lib.encoding import html_to_unicode, read_bom

OUTPUT_CHUNK = 64 * 1024


def _bounded_brotli() -> bool:
    """brotli ≥ 1.2 caps the output of one call (`output_buffer_limit`); older bindings inflate a whole
    input at once, like httpx's decoders, and would reopen the bomb."""
    try:
        import brotli

        brotli.Decompressor().process(b"", output_buffer_limit=1)
    except (ImportError, TypeError):
        return False
    return True


BROTLI = _bounded_brotli()
# Only what can be decoded in bounded steps is offered to servers.
ACCEPT_ENCODING = "gzip, deflate, br" if BROTLI else "gzip, deflate"


class UnsupportedEncoding(ValueError):
    """A Content-Encoding this module cannot undo, or a body that is not valid in its coding."""


class _Stage(Protocol):
    def feed(self, data: bytes) -> Iterator[bytes]: ...

    def flush(self) -> Iterator[bytes]: ...


class _ZlibStage:
    """gzip (`wbits` 16+MAX) or deflate; HTTP "deflate" is meant to be zlib-wrapped but some servers send
    it raw, so a deflate stream that does not start as zlib is retried raw, as browsers do."""

    def __init__(self, coding: str) -> None:
        self._coding = coding
        self._started = False
        self._obj = zlib.decompressobj(16 + zlib.MAX_WBITS if coding == "gzip" else zlib.MAX_WBITS)

    def feed(self, data: bytes) -> Iterator[bytes]:
        if not self._started and self._coding == "deflate":
            self._started = True
            try:
                first = self._obj.decompress(data, OUTPUT_CHUNK)
            except zlib.error:
                self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
            else:
                yield from self._drain(first)
                return
        self._started = True
        yield from self._drain(self._step(data))

    def _step(self, data: bytes) -> bytes:
        try:
            return self._obj.decompress(data, OUTPUT_CHUNK)
        except zlib.error as exc:
            raise UnsupportedEncoding(f"invalid {self._coding} data: {exc}") from exc

    def _drain(self, out: bytes) -> Iterator[bytes]:
        if out:
            yield out
        # Whatever `max_length` held back waits in `unconsumed_tail`: take it a chunk at a time.
        while self._obj.unconsumed_tail and not self._obj.eof:
            out = self._step(self._obj.unconsumed_tail)
            if not out:
                break
            yield out

    def flush(self) -> Iterator[bytes]:
        yield from self._drain(b"")


class _BrotliStage:
    """Brotli in bounded steps: after an output-capped call, the decoder is drained with empty input until
    it can take more (the binding's contract)."""

    def __init__(self) -> None:
        import brotli

        self._error = brotli.error
        self._obj = brotli.Decompressor()

    def feed(self, data: bytes) -> Iterator[bytes]:
        try:
            out = self._obj.process(data, output_buffer_limit=OUTPUT_CHUNK)
            while True:
                if out:
                    yield out
                if self._obj.can_accept_more_data() or self._obj.is_finished():
                    return
                out = self._obj.process(b"", output_buffer_limit=OUTPUT_CHUNK)
                if not out:
                    return
        except self._error as exc:
            raise UnsupportedEncoding(f"invalid br data: {exc}") from exc

    def flush(self) -> Iterator[bytes]:
        return iter(())


class _Identity:
    def feed(self, data: bytes) -> Iterator[bytes]:
        if data:
            yield data

    def flush(self) -> Iterator[bytes]:
        return iter(())


def _stage(coding: str) -> _Stage:
    if coding in ("", "identity"):
        return _Identity()
    if coding in ("gzip", "x-gzip"):
        return _ZlibStage("gzip")
    if coding == "deflate":
        return _ZlibStage("deflate")
    if coding == "br" and BROTLI:
        return _BrotliStage()
    raise UnsupportedEncoding(f"unsupported Content-Encoding {coding!r}")


class StreamDecoder:
    """Undoes a Content-Encoding header's codings (applied in order, so undone in reverse)."""

    def __init__(self, content_encoding: str | None) -> None:
        codings = [c.strip().lower() for c in (content_encoding or "").split(",") if c.strip()]
        self._stages = [_stage(c) for c in reversed(codings)]

    def feed(self, data: bytes) -> Iterator[bytes]:
        return self._through(0, [data])

    def flush(self) -> Iterator[bytes]:
        return self._through(0, [], flush=True)

    def _through(self, index: int, pieces: Iterable[bytes], flush: bool = False) -> Iterator[bytes]:
        if index == len(self._stages):
            yield from pieces
            return
        stage = self._stages[index]
        # Lazily chained: a piece goes through every later stage before the next is decoded.
        for piece in pieces:
            yield from self._through(index + 1, stage.feed(piece))
        if flush:
            yield from self._through(index + 1, stage.flush(), flush=True)


def _utf8_or_windows_1252(body: bytes) -> str:
    """No charset anywhere: UTF-8 when the bytes are valid UTF-8, else windows-1252, the legacy default
    browsers use for Western pages (the HTML standard's fallback for most locales)."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def decode_html(body: bytes, content_type: str | None) -> tuple[str, str]:
    """(encoding used, text): BOM, then the Content-Type charset, then `<meta charset>` / http-equiv,
    then a sniff, with the browser's aliases (ISO-8859-1 and ASCII mean windows-1252, Shift_JIS cp932)."""
    header = content_type if content_type and "charset" in content_type.lower() else None
    encoding, text = html_to_unicode(header, body, auto_detect_fun=_utf8_or_windows_1252)
    if encoding.startswith(("utf-16", "utf-32")) and read_bom(body) == (None, None) and header is None:
        # A page that could say "utf-16" in readable ASCII is not UTF-16: the HTML standard reads such a
        # <meta> as UTF-8 (w3lib takes it at its word and returns garbage).
        return "utf-8", body.decode("utf-8", errors="replace")
    return encoding, text
