"""The OpenAPI schema as clients need it: every error response declared as a problem (RFC 9457, the one
shape `yolobatch.http.problems` answers with), next to the bearer scheme FastAPI declares from
`current_org`'s HTTPBearer, so Swagger's "Authorize" and "Try it out" work."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI

from yolobatch.http.problems import MEDIA_TYPE, Problem

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
# FastAPI's own 422 schemas, replaced by the problem everywhere.
FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")


def _errors_of(path: str, operation: dict[str, Any]) -> set[str]:
    """The errors any request to this operation may meet, besides those it declares itself."""
    found = {"500"}
    if operation.get("security"):
        found |= {"401", "403", "429"}  # no or a bad token; a cross-site session; too many bad tokens
    if "{" in path:
        found.add("404")
    if operation.get("parameters") or operation.get("requestBody"):
        found.add("422")
    if operation.get("requestBody"):
        found.add("413")
    return found


def add_problems(spec: dict[str, Any]) -> dict[str, Any]:
    """`spec` with every 4xx/5xx response's body the problem schema."""
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem.pop("$defs", {}))
    schemas["Problem"] = problem
    for path, operations in spec.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for code in sorted(set(responses) | _errors_of(path, operation)):
                if code.isdigit() and int(code) >= 400:
                    entry = responses.get(code) or {"description": HTTPStatus(int(code)).phrase}
                    # A route may declare a problem with extension members (e.g. a 409's `duplicates`).
                    declared = entry.get("content", {}).get("application/json", {}).get("schema") or {}
                    own = declared.get("$ref", "").rsplit("/", 1)[-1].endswith("Problem")
                    entry["content"] = {MEDIA_TYPE: {"schema": declared if own else PROBLEM_REF}}
                    responses[code] = entry
    for name in FASTAPI_VALIDATION:
        schemas.pop(name, None)
    return spec


def documented(app: FastAPI) -> None:
    """Make `app.openapi()` answer the schema with the problems added (computed once, like FastAPI's)."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = add_problems(original())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
