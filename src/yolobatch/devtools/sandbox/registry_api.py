"""Company registries in the sandbox: the NZBN API v5 under `/nzbn/v5` and Companies House under
`/companies-house`, with their own authentication, error shapes, latency, call log and scripted faults.

Faults are scripted only (`POST /_sandbox/faults` with endpoint "nzbn-search", "nzbn-entity", "ch-search",
"ch-company" or "ch-officers"; `restaurant_id` narrows a plan to one search term or company number):
random fault rates model the registration platform, not the registries.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
from collections.abc import Callable

from fastapi import APIRouter, Request
from starlette.responses import Response

from yolobatch.devtools.sandbox import registry_data as data
from yolobatch.devtools.sandbox.catalog import REGISTRY_NOMINAL_SECONDS
from yolobatch.devtools.sandbox.faults import Fault
from yolobatch.devtools.sandbox.pipeline import sandbox_of, serve_scripted
from yolobatch.devtools.sandbox.protocol import Reply

NZBN_KEY_HEADER = "Ocp-Apim-Subscription-Key"
NZBN_MAX_PAGE_SIZE = 1000
CH_MAX_ITEMS_PER_PAGE = 100

Authenticate = Callable[[Request, str], Reply | None]


def router() -> APIRouter:
    routes = APIRouter()

    @routes.get("/nzbn/v5/entities")
    async def nzbn_search(request: Request) -> Response:
        term = (request.query_params.get("search-term") or "").strip()
        page_size = _int_param(request, "page-size", 50, NZBN_MAX_PAGE_SIZE)

        def answer() -> Reply:
            if not term:
                return _nzbn_error(400, "search-term is required")
            if page_size is None:
                return _nzbn_error(400, f"page-size must be a whole number from 1 to {NZBN_MAX_PAGE_SIZE}")
            return Reply(200, data.nzbn_search_page(term, page_size))

        return await _serve(request, "nzbn-search", term, _nzbn_auth, answer)

    @routes.get("/nzbn/v5/entities/{nzbn}")
    async def nzbn_entity(nzbn: str, request: Request) -> Response:
        def answer() -> Reply:
            company = data.by_nzbn(nzbn)
            if company is None:
                return _nzbn_error(404, f"No entity found with NZBN {nzbn}")
            return Reply(200, data.nzbn_entity(company))

        return await _serve(request, "nzbn-entity", nzbn, _nzbn_auth, answer)

    @routes.get("/companies-house/search/companies")
    async def ch_search(request: Request) -> Response:
        term = (request.query_params.get("q") or "").strip()
        per_page = _int_param(request, "items_per_page", 20, CH_MAX_ITEMS_PER_PAGE)

        def answer() -> Reply:
            if not term:
                return _ch_error(400, "q-required")
            if per_page is None:
                return _ch_error(400, "items-per-page-invalid")
            return Reply(200, data.ch_search_page(term, per_page))

        return await _serve(request, "ch-search", term, _ch_auth, answer)

    @routes.get("/companies-house/company/{number}")
    async def ch_company(number: str, request: Request) -> Response:
        def answer() -> Reply:
            company = data.by_ch_number(number)
            return (
                _ch_error(404, "company-profile-not-found")
                if company is None
                else Reply(200, data.ch_profile(company))
            )

        return await _serve(request, "ch-company", number, _ch_auth, answer)

    @routes.get("/companies-house/company/{number}/officers")
    async def ch_officers(number: str, request: Request) -> Response:
        def answer() -> Reply:
            company = data.by_ch_number(number)
            return (
                _ch_error(404, "company-officers-not-found")
                if company is None
                else Reply(200, data.ch_officers(company))
            )

        return await _serve(request, "ch-officers", number, _ch_auth, answer)

    return routes


async def _serve(
    request: Request, endpoint: str, subject: str, authenticate: Authenticate, answer: Callable[[], Reply]
) -> Response:
    async def answer_after_latency(fault: Fault | None) -> Reply:
        if fault is not None and fault.kind == "success_false":
            # Not a registry answer at all: a 200 that a careless client would read as "no companies".
            return Reply(200, {"success": False, "message": "Search completed with warnings"})
        await asyncio.sleep(sandbox_of(request).world.latency(REGISTRY_NOMINAL_SECONDS))
        return answer()

    return await serve_scripted(
        request,
        endpoint,
        subject,
        answer_after_latency,
        refuse=lambda world: authenticate(request, world.settings.registry_api_key),
    )


def _nzbn_auth(request: Request, api_key: str) -> Reply | None:
    # Shaped like the answers of the API gateway in front of the NZBN API.
    presented = request.headers.get(NZBN_KEY_HEADER)
    if not presented:
        return Reply(
            401,
            {
                "statusCode": 401,
                "message": "Access denied due to missing subscription key. "
                "Make sure to include subscription key when making requests to an API.",
            },
        )
    if not hmac.compare_digest(presented.encode(), api_key.encode()):
        return Reply(
            401,
            {
                "statusCode": 401,
                "message": "Access denied due to invalid subscription key. "
                "Make sure to provide a valid key for an active subscription.",
            },
        )
    return None


def _ch_auth(request: Request, api_key: str) -> Reply | None:
    # Companies House: HTTP basic auth, the API key as the user name and an empty password.
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    try:
        user = base64.b64decode(token, validate=True).decode().partition(":")[0] if scheme == "Basic" else ""
    except (binascii.Error, UnicodeDecodeError):
        user = ""
    if not user or not hmac.compare_digest(user.encode(), api_key.encode()):
        return Reply(
            401,
            {"error": "Invalid Authorization", "type": "ch:service"},
            headers={"WWW-Authenticate": 'Basic realm="CH API"'},
        )
    return None


def _nzbn_error(status: int, description: str) -> Reply:
    return Reply(status, {"errorCode": str(status), "errorDescription": description})


def _ch_error(status: int, error: str) -> Reply:
    return Reply(status, {"errors": [{"error": error, "type": "ch:service"}]})


def _int_param(request: Request, name: str, default: int, maximum: int) -> int | None:
    """The query parameter as an int in 1..maximum, `default` when absent, None when invalid."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if 1 <= value <= maximum else None
