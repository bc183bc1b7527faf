"""HTTP client of the platform's registration API: idempotency keys, outcome rules, redaction."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from yolobatch.domain.plan import SubStep
from yolobatch.domain.redaction import redact, redacted_excerpt
from yolobatch.integrations.bounded import ResponseTooLarge, request_bounded
from yolobatch.integrations.errors import ExternalCallError, retry_after_seconds
from yolobatch.integrations.registration.payloads import Request

S = SubStep
MAX_ERROR_CHARS = 500

# A 2xx `success: false` body that means "done, but look at this" rather than "not done".
WARNING_MARKERS = ("already registered", "completed with warnings")
# ...except where a warning hides a real failure: a menu import "with warnings" imported nothing usable.
WARNINGS_ARE_FAILURES = frozenset({S.MENU_IMPORT})


class CallFailed(ExternalCallError):
    """A registration call that did not succeed. `retryable` says whether trying again can help."""


@dataclass
class CallResult:
    status_code: int
    body: dict[str, Any]
    warning: str | None = None
    replayed: bool = False
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


class RegistrationClient:
    """One organisation's view of the registration API. Secrets given here are redacted from all output."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        service_key: str,
        org_id: str,
        *,
        secrets: list[str] | None = None,
    ) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._headers = {"X-Service-Key": service_key, "X-Organisation-ID": org_id}
        self._secrets = [service_key, *(secrets or [])]

    def redact(self, value: Any) -> Any:
        return redact(value, self._secrets)

    async def call(
        self, key: SubStep, request: Request, idempotency_key: str, timeout: float, poll_interval: float = 1.0
    ) -> CallResult:
        started = time.monotonic()
        response = await self._send(request.method, request.path, request.json, idempotency_key, timeout)
        body = self._json_body(response)
        result = self._outcome(key, response, body)
        if key == S.UPLOAD_IMAGES and body.get("mode") == "asynchronous":
            # The original did not wait, so menus were imported before their images reached the CDN.
            result.extra["upload"] = await self._wait_for_upload(body, timeout, poll_interval)
        result.seconds = time.monotonic() - started
        return result

    async def get(self, path: str, timeout: float) -> dict[str, Any]:
        """A read of the platform (no side effect): its JSON object, or CallFailed."""
        return self._json_body(await self._send("GET", path, None, None, timeout))

    async def _send(
        self,
        method: str,
        path: str,
        payload: dict[str, Any] | None,
        idempotency_key: str | None,
        timeout: float,
    ) -> httpx.Response:
        headers = dict(self._headers)
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        try:
            return await request_bounded(
                self._http, method, self._base_url + path, json=payload, headers=headers, timeout=timeout
            )
        except ResponseTooLarge as exc:
            # No platform answer is this big. A 2xx means the call happened: a retry (same idempotency key)
            # would only replay the same answer, so a person has to look.
            raise CallFailed(
                f"{method} {path}: {exc}", retryable=_retryable(exc.status_code), status_code=exc.status_code
            ) from None
        except httpx.TimeoutException as exc:
            raise CallFailed(f"{method} {path} timed out after {timeout:.1f} s", retryable=True) from exc
        except httpx.HTTPError as exc:
            raise CallFailed(self.redact(f"{method} {path} failed: {exc!r}"), retryable=True) from exc

    def _json_body(self, response: httpx.Response) -> dict[str, Any]:
        if response.status_code >= 400:
            self._raise_for_status(response)
        try:
            body = response.json()
        except (ValueError, RecursionError):  # RecursionError: `[[[[...` nested thousands deep
            body = None
        if not isinstance(body, dict):
            snippet = redacted_excerpt(response.text, self._secrets, 200)
            raise CallFailed(
                f"HTTP {response.status_code} with an unreadable body (expected a JSON object): {snippet!r}",
                retryable=True,
                status_code=response.status_code,
            )
        return body

    def _raise_for_status(self, response: httpx.Response) -> None:
        status = response.status_code
        try:
            body = response.json()
        except (ValueError, RecursionError):
            body = redacted_excerpt(response.text, self._secrets, MAX_ERROR_CHARS)
        detail = body.get("error") or body.get("message") if isinstance(body, dict) else body
        excerpt = redacted_excerpt(str(detail or response.reason_phrase), self._secrets, MAX_ERROR_CHARS)
        message = self.redact(f"HTTP {status}: {excerpt}")
        retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        raise CallFailed(
            message,
            retryable=_retryable(status),
            status_code=status,
            retry_after=retry_after,
            response=self.redact(body),
        )

    def _outcome(self, key: SubStep, response: httpx.Response, body: dict[str, Any]) -> CallResult:
        result = CallResult(
            status_code=response.status_code,
            body=self.redact(body),
            replayed=response.headers.get("Idempotent-Replayed", "").lower() == "true",
        )
        if body.get("success", True) is not False:
            return result
        message = redacted_excerpt(
            str(body.get("message") or body.get("error") or "success: false"), self._secrets, MAX_ERROR_CHARS
        )
        is_warning = any(marker in message.lower() for marker in WARNING_MARKERS)
        if is_warning and key not in WARNINGS_ARE_FAILURES:
            result.warning = message
            return result
        # The platform said it did not (fully) do it. Repeating blindly could duplicate partial work.
        raise CallFailed(
            f"platform answered success: false: {message}",
            retryable=False,
            status_code=response.status_code,
            response=result.body,
        )

    async def _wait_for_upload(self, body: dict[str, Any], timeout: float, interval: float) -> dict[str, Any]:
        url = body.get("progressUrl")
        if not isinstance(url, str) or not url.startswith("/"):
            raise CallFailed(f"asynchronous upload without a usable progressUrl: {url!r}", retryable=False)
        while True:
            response = await self._send("GET", url, None, None, timeout)
            progress = upload_progress(self._json_body(response))
            if progress.get("status") == "completed":
                return {"total": progress.get("total"), "uploaded": progress.get("uploaded")}
            if progress.get("status") == "failed":
                raise CallFailed(f"image upload batch failed: {progress.get('error')}", retryable=False)
            await asyncio.sleep(interval)


def upload_progress(body: dict[str, Any]) -> dict[str, Any]:
    """The upload batch's fields: the original nests them under `batch` (issue 15), the contract does not."""
    nested = body.get("batch")
    return nested if isinstance(nested, dict) else body


def _retryable(status: int) -> bool:
    # 409 = the same idempotency key is still executing on the platform: wait and ask again.
    return status in (408, 409, 425, 429) or status >= 500
