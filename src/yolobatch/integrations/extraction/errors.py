"""The one error type of extraction: a stable `code` for callers and whether retrying can help."""

from __future__ import annotations

from typing import Literal

from yolobatch.integrations.errors import ExternalCallError

ErrorCode = Literal[
    "ssrf_refused",
    "invalid_url",
    "unreachable",
    "timeout",
    "http_error",
    "too_many_redirects",
    "too_large",
    "not_html",
    "not_image",
    "not_json",
    "bad_encoding",
]


class ExtractionError(ExternalCallError):
    """A page or image that could not be fetched. Timeouts, 5xx/429 and unreachable hosts are retryable."""

    def __init__(
        self, message: str, code: ErrorCode, retryable: bool = False, status: int | None = None
    ) -> None:
        super().__init__(message, retryable=retryable, status_code=status)
        self.code: ErrorCode = code
        self.status = status

    def __repr__(self) -> str:
        return f"ExtractionError(code={self.code!r}, retryable={self.retryable}, message={self.message!r})"
