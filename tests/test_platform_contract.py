"""docs/platform-contract.yaml: a valid OpenAPI 3.1 document that agrees with the payload builders, the
conformance check's expectations and the sandbox, which serves the contract over real HTTP."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry
from referencing.jsonschema import DRAFT202012
from starlette.routing import Match

from yolobatch.devtools.sandbox.app import create_app
from yolobatch.devtools.sandbox.settings import SandboxSettings
from yolobatch.domain.plan import PLAN, SubStep
from yolobatch.integrations.registration.conformance import REQUIRED_FIELDS, synthetic_restaurant
from yolobatch.integrations.registration.payloads import ENDPOINTS, build_request, context_from_response

DOC_PATH = Path(__file__).parents[1] / "docs" / "platform-contract.yaml"
DOC: dict[str, Any] = yaml.safe_load(DOC_PATH.read_text())
REGISTRY = Registry().with_resource("urn:contract", DRAFT202012.create_resource(DOC))
SCHEMAS = DOC["components"]["schemas"]


def openapi_path(key: SubStep) -> str:
    return ENDPOINTS[key].replace("{menu_id}", "{menuId}")


def operation(key: SubStep) -> dict[str, Any]:
    return DOC["paths"][openapi_path(key)]["post"]


def schema_of(ref_holder: dict[str, Any]) -> dict[str, Any]:
    ref = ref_holder["content"]["application/json"]["schema"]["$ref"]
    return {"$ref": "urn:contract" + ref}


def validator(schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(schema, registry=REGISTRY)


def declared_properties(name: str) -> set[str]:
    """Every property a request schema declares, through `allOf` and `$ref`."""
    schema = SCHEMAS[name]
    if "$ref" in schema:
        return declared_properties(schema["$ref"].rsplit("/", 1)[1])
    found = set(schema.get("properties", {}))
    for part in schema.get("allOf", []):
        found |= (
            declared_properties(part["$ref"].rsplit("/", 1)[1]) if "$ref" in part else set(part["properties"])
        )
    return found


def test_the_document_is_valid_openapi_3_1_and_versioned():
    validate(DOC)
    assert DOC["openapi"].startswith("3.1")
    major, minor, patch = DOC["info"]["version"].split(".")
    assert major.isdigit() and minor.isdigit() and patch.isdigit()


def test_every_sub_step_is_one_operation_with_auth_and_idempotency():
    ids = {op["operationId"] for path in DOC["paths"].values() for op in path.values()}
    assert ids == {str(key) for key in SubStep} | {"getUploadBatch"}
    for key in SubStep:
        op = operation(key)
        assert op["operationId"] == key
        refs = {p.get("$ref", "").rsplit("/", 1)[-1] for p in op["parameters"]}
        assert {"ServiceKey", "OrganisationId", "IdempotencyKey"} <= refs, key
        # Every error an operation can give has the one error shape.
        for status in ("400", "401", "404", "409", "422", "429", "5XX"):
            assert status in op["responses"], (key, status)
    for name in ("BadRequest", "Unauthorized", "TooManyRequests", "ServerError"):
        assert DOC["components"]["responses"][name]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Error"
        }


@pytest.mark.parametrize("key", list(SubStep))
def test_payload_builders_send_exactly_what_the_document_declares(key):
    config, menu = synthetic_restaurant()
    context = {
        "codeInjectionId": "CI1",
        "filePaths": {"head": "h"},
        "stripeConnectUrl": "https://connect.stripe.com/x",
    }
    request = build_request(key, "job-1", config, menu, context)
    op = operation(key)
    schema_name = op["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    errors = [e.message for e in validator(schema_of(op["requestBody"])).iter_errors(request.json)]
    assert errors == [], errors
    undeclared = set(request.json) - declared_properties(schema_name)
    assert undeclared == set(), f"{key} sends fields the contract does not declare: {undeclared}"


def test_the_payloads_carry_branding_and_company_details():
    config, menu = synthetic_restaurant()
    website = build_request(SubStep.WEBSITE_CONFIG, "job-1", config, menu, {"codeInjectionId": "CI"}).json
    assert website["logoUrl"] == config.website.logo_url and website["cuisines"] == ["Test"]
    assert website["primaryColor"] == "#112233" and website["theme"] == "dark"
    sync = build_request(SubStep.SYNC_ONBOARDING_USER, "job-1", config, menu, {}).json
    assert sync["company"] == {"legalName": config.company.legal_name, "companyNumber": "1234567"}


def test_conformance_expectations_are_the_documents_required_fields():
    for key in SubStep:
        ref = operation(key)["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        required = SCHEMAS[ref.rsplit("/", 1)[1]].get("required", [])
        assert set(REQUIRED_FIELDS[key]) == set(required), key


def test_the_sandbox_routes_every_documented_path():
    app = create_app(SandboxSettings())
    for path, methods in DOC["paths"].items():
        concrete = path.replace("{menuId}", "m1").replace("{batchId}", "b1")
        for method in methods:
            scope = {"type": "http", "path": concrete, "method": method.upper()}
            assert any(route.matches(scope)[0] == Match.FULL for route in app.routes), (method, path)


async def test_the_sandbox_answers_match_the_documented_shapes(world):
    """All 12 operations against the contract sandbox over real HTTP; each raw 200 validates against its
    schema, and the asynchronous upload's poll answers validate against UploadBatch."""
    config, menu = synthetic_restaurant()
    context: dict[str, Any] = {}
    headers = {"X-Service-Key": "sandbox-service-key", "X-Organisation-ID": "org-contract"}
    batch_schema = schema_of(DOC["paths"]["/api/upload-batches/{batchId}"]["get"]["responses"]["200"])
    async with httpx.AsyncClient(base_url=world.url, timeout=30) as http:
        for spec in PLAN:
            request = build_request(spec.key, "job-contract", config, menu, context)
            response = await http.post(
                request.path, json=request.json, headers={**headers, "Idempotency-Key": f"job:{spec.key}"}
            )
            assert response.status_code == 200, (spec.key, response.text)
            body = response.json()
            response_schema = schema_of(operation(spec.key)["responses"]["200"])
            errors = [e.message for e in validator(response_schema).iter_errors(body)]
            assert errors == [], (spec.key, errors)
            context |= context_from_response(spec.key, body)
            if spec.key == SubStep.UPLOAD_IMAGES:
                assert body["mode"] == "asynchronous"
                for _ in range(200):
                    poll = (await http.get(body["progressUrl"], headers=headers)).json()
                    assert [e.message for e in validator(batch_schema).iter_errors(poll)] == []
                    if poll["status"] == "completed":
                        break
                    await asyncio.sleep(0.05)
                assert poll["status"] == "completed" and poll["uploaded"] == 12
        error = (await http.post("/api/registration/register-account", json={}, headers=headers)).json()
    error_schema = {"$ref": "urn:contract#/components/schemas/Error"}
    assert [e.message for e in validator(error_schema).iter_errors(error)] == []
