"""Every API error in one shape: RFC 9457 problem details (`application/problem+json`).

`type`, `title` (the status's phrase), `status`, `detail` (what went wrong, for a person) and `instance`
(the path asked for), plus `errors` for a validation failure: one entry per problem, with a JSON pointer
to the field when there is one. Dashboard pages keep HTML error pages; the OpenAPI schema declares the
problem for every error response, so clients generated from it can read them.
"""

from __future__ import annotations

import html
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

MEDIA_TYPE = "application/problem+json"
# Paths served as pages: an error there is an HTML page, unless the caller asked for JSON.
API_PREFIXES = ("/api/", "/healthz", "/readyz", "/openapi.json", "/docs", "/redoc")


class ProblemItem(BaseModel):
    detail: str = Field(description="one problem, for a person")
    pointer: str | None = Field(default=None, description="JSON pointer to the field, e.g. /body/name")


class Problem(BaseModel):
    """RFC 9457 problem details; a problem may carry extension members (e.g. /readyz's checks)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "example": {
                "type": "about:blank",
                "title": "Unprocessable Content",
                "status": 422,
                "detail": "the batch has problems; nothing was created",
                "instance": "/api/batches",
                "errors": [{"detail": "restaurant 2 (Pizza Palace): storeUrl: not a URL"}],
            }
        },
    )

    type: str = Field(default="about:blank", description="about:blank: the status says it all")
    title: str = Field(description="the HTTP status's phrase")
    status: int
    detail: str | None = None
    instance: str | None = Field(default=None, description="the path the problem is about")
    errors: list[ProblemItem] | None = Field(default=None, description="validation: each problem")


def _printable(value: Any) -> Any:
    """`value` with every string made encodable: a 422 echoes the input, and a lone surrogate in it
    would turn the answer itself into a 500."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {_printable(k): _printable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_printable(v) for v in value]
    return value


def problem(
    status: int,
    detail: str | None,
    *,
    instance: str | None = None,
    errors: list[ProblemItem] | None = None,
    headers: dict[str, str] | None = None,
    extensions: dict[str, Any] | None = None,
) -> JSONResponse:
    body = Problem(
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        instance=instance,
        errors=errors,
        **(extensions or {}),
    )
    content = _printable(body.model_dump(exclude_none=True))
    return JSONResponse(content, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _wants_page(request: Request) -> bool:
    if request.url.path.startswith(API_PREFIXES):
        return False
    accept = request.headers.get("accept", "")
    return "text/html" in accept or "application/json" not in accept


def _page(status: int, detail: str | None, headers: dict[str, str] | None) -> HTMLResponse:
    title = f"{status} {HTTPStatus(status).phrase}"
    text = html.escape(detail or HTTPStatus(status).description)
    body = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        '<link rel="stylesheet" href="/static/dashboard.css"></head><body><main>'
        f'<h1>{title}</h1><p>{text}</p><p><a href="/">Back to the batches</a></p></main></body></html>'
    )
    return HTMLResponse(body, status_code=status, headers=headers)


def _pointer(location: tuple[Any, ...] | list[Any]) -> str:
    return "/" + "/".join(str(part).replace("~", "~0").replace("/", "~1") for part in location)


def validation_errors(errors: list[dict[str, Any]]) -> list[ProblemItem]:
    return [
        ProblemItem(detail=str(error.get("msg", "invalid")), pointer=_pointer(error.get("loc", ())))
        for error in jsonable_encoder(errors)
    ]


def install(app: FastAPI) -> None:
    """Answer every error of `app` as a problem (or, on a dashboard page, an HTML page)."""

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if exc.status_code < 400:  # a redirect (log in first) keeps its Location
            return await http_exception_handler(request, exc)
        detail = exc.detail if isinstance(exc.detail, str) else None
        headers = getattr(exc, "headers", None)
        if _wants_page(request):
            return _page(exc.status_code, detail, headers)
        return problem(exc.status_code, detail, instance=request.url.path, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = validation_errors(list(exc.errors()))
        if _wants_page(request):
            return _page(422, "; ".join(e.detail for e in errors), None)
        return problem(422, "the request is not valid", instance=request.url.path, errors=errors)

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> Response:
        # The traceback goes to the log (Starlette re-raises after answering); the caller learns nothing
        # of the internals.
        detail = "an internal error; it was logged"
        if _wants_page(request):
            return _page(500, detail, None)
        return problem(500, detail, instance=request.url.path)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries declaring the problem for each of `statuses`."""
    return {
        status: {
            "description": HTTPStatus(status).phrase,
            "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }
