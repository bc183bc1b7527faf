"""What every company registry adapter offers, its error, and the search flow they share.

A failed search raises `RegistryError`; it never turns into "zero results", which the original did and
which sent restaurants down the "no company" path because of a network blip.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from typing import Any, Protocol, TypeVar, runtime_checkable

import httpx
from pydantic import BaseModel, ValidationError

from yolobatch.domain.company import (
    CompanyCandidate,
    CompanyDetails,
    MatchedOn,
    SearchTerms,
    clean_search_name,
    street_search_terms,
)
from yolobatch.domain.redaction import redact, redacted_excerpt
from yolobatch.integrations.bounded import ResponseTooLarge, request_bounded
from yolobatch.integrations.errors import ExternalCallError, retry_after_seconds
from yolobatch.integrations.registry.ranking import rank

logger = logging.getLogger(__name__)

MAX_ERROR_CHARS = 300
DEFAULT_TIMEOUT = 20.0
Model = TypeVar("Model", bound=BaseModel)


class RegistryError(ExternalCallError):
    """A registry call that did not give a usable answer. `retryable` says whether trying again can help."""


@runtime_checkable
class Registry(Protocol):
    source: str

    async def search(self, terms: SearchTerms) -> list[CompanyCandidate]:
        """Candidates found by trading name and by street + city, merged, ranked, best first."""
        ...

    async def details(self, number: str) -> CompanyDetails:
        """The company behind `CompanyCandidate.number`."""
        ...


class HttpRegistry(ABC):
    """The shared half of an adapter: HTTP with error classification and redaction, and the search flow."""

    source: str
    service: str  # for messages: "NZBN", "Companies House"

    def __init__(
        self, http: httpx.AsyncClient, base_url: str, api_key: str, *, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        self._http = http
        self._api_key = api_key
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._secrets = [api_key, *self._secret_forms(api_key)]

    @abstractmethod
    async def _search_term(self, term: str) -> list[CompanyCandidate]:
        """One registry search, unranked, in the registry's order."""

    @abstractmethod
    async def details(self, number: str) -> CompanyDetails:
        """The company behind `CompanyCandidate.number`."""

    @abstractmethod
    def _auth(self) -> dict[str, Any]:
        """Keyword arguments for `httpx.AsyncClient.get` that authenticate the request."""

    def _secret_forms(self, api_key: str) -> list[str]:
        """Encodings of the key that could surface in an error (e.g. a basic-auth token)."""
        return []

    async def search(self, terms: SearchTerms) -> list[CompanyCandidate]:
        name = clean_search_name(terms.name)
        street = street_search_terms(terms.address, terms.city)
        searches = [self._search_term(name)]
        if street:
            searches.append(self._search_term(street))
        # Both run to the end even when one fails, so no task is left running unobserved.
        outcomes = await asyncio.gather(*searches, return_exceptions=True)
        found: list[list[CompanyCandidate]] = []
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
            found.append(outcome)
        by_name = _found_by(found[0], "name")
        by_address = _found_by(found[1], "address") if street else []
        candidates = rank(merge(by_name, by_address), terms)
        logger.info("%s search %r / %r: %d candidate(s)", self.service, name, street or "-", len(candidates))
        return candidates

    async def _get(self, path: str, model: type[Model], params: dict[str, Any] | None = None) -> Model:
        what = f"{self.service} GET {path}"
        try:
            response = await request_bounded(
                self._http, "GET", self._base_url + path, params=params, timeout=self._timeout, **self._auth()
            )
        except ResponseTooLarge as exc:
            # No registry answer is this big; asking again only helps when the status says so.
            raise RegistryError(
                f"{what}: {exc}", retryable=_retryable(exc.status_code), status_code=exc.status_code
            ) from None
        except httpx.TimeoutException as exc:
            raise RegistryError(f"{what} timed out after {self._timeout:.1f} s", retryable=True) from exc
        except httpx.HTTPError as exc:
            # Connection refused or reset, a truncated body: the next attempt may well succeed.
            raise RegistryError(self._redact(f"{what} failed: {exc!r}"), retryable=True) from exc
        if response.status_code >= 400:
            raise self._status_error(what, response)
        try:
            body = response.json()
        except (ValueError, RecursionError) as exc:  # RecursionError: `[[[[...` nested thousands deep
            snippet = redacted_excerpt(response.text, self._secrets, 120)
            raise RegistryError(
                f"{what}: HTTP {response.status_code} with a body that is not JSON: {snippet!r}",
                retryable=True,  # proxies and gateways answer 200 with HTML pages now and then
                status_code=response.status_code,
            ) from exc
        try:
            return model.model_validate(body)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()[:3]
            )
            raise RegistryError(
                self._redact(f"{what}: HTTP {response.status_code} with an unexpected body ({problems})"),
                retryable=True,
                status_code=response.status_code,
            ) from exc

    def _status_error(self, what: str, response: httpx.Response) -> RegistryError:
        status = response.status_code
        detail = redacted_excerpt(_error_detail(response), self._secrets, MAX_ERROR_CHARS)
        if status in (401, 403):
            message = f"{what}: HTTP {status}, the registry refused the API key ({detail})"
        elif status == 404:
            message = f"{what}: HTTP 404, not found ({detail})"
        else:
            message = f"{what}: HTTP {status} ({detail})"
        return RegistryError(
            message,
            retryable=_retryable(status),
            status_code=status,
            retry_after=retry_after_seconds(response.headers.get("Retry-After")),
        )

    def _redact(self, text: str) -> str:
        return redact(text, self._secrets)


def merge(by_name: list[CompanyCandidate], by_address: list[CompanyCandidate]) -> list[CompanyCandidate]:
    """Name results, then address results, one entry per number; a company found both
    ways keeps its name-search entry and remembers the address match."""
    merged: dict[str, CompanyCandidate] = {}
    for candidate in [*by_name, *by_address]:
        seen = merged.get(candidate.number)
        if seen is None:
            merged[candidate.number] = candidate
            continue
        matched_on = [*seen.matched_on, *(m for m in candidate.matched_on if m not in seen.matched_on)]
        merged[candidate.number] = seen.model_copy(
            update={
                "matched_on": matched_on,
                "address": seen.address or candidate.address,
                "trading_names": seen.trading_names or candidate.trading_names,
            }
        )
    return list(merged.values())


def _found_by(candidates: list[CompanyCandidate], search: MatchedOn) -> list[CompanyCandidate]:
    return [c.model_copy(update={"matched_on": [search]}) for c in candidates]


def _retryable(status: int) -> bool:
    return status in (408, 425, 429) or status >= 500


def _error_detail(response: httpx.Response) -> str:
    """The error the registry gave, whole: it is cut only after its secrets are masked."""
    try:
        body = response.json()
    except (ValueError, RecursionError):
        return response.text or response.reason_phrase
    if isinstance(body, dict):
        # NZBN gateway: {"message"} or {"errorDescription"}; Companies House: {"error"} or {"errors": [...]}
        for key in ("message", "errorDescription", "error"):
            if isinstance(body.get(key), str):
                return body[key]
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return str(errors[0].get("error") or errors[0])
    return str(body)
