"""`yolobatch platform check`: does a platform implement its contract? Each operation, an idempotent
replay, error shapes and asynchronous upload polling, each reported as conforming or not.

It registers one synthetic restaurant (names and emails marked "conformance"), so run it against a test
organisation of the platform. With the `original` contract it needs a restaurant and menu already present
on the platform (their ids), and it checks the verification reads instead of a replay (that service
ignores idempotency keys, so a replay would duplicate).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from yolobatch.domain.config import RegistrationConfig
from yolobatch.domain.menu import Menu
from yolobatch.domain.plan import PLAN, SubStep
from yolobatch.integrations.errors import ExternalCallError
from yolobatch.integrations.registration.client import CallResult, RegistrationClient
from yolobatch.integrations.registration.payloads import context_from_response
from yolobatch.integrations.registration.port import VERIFIABLE, ContractName, make_adapter

S = SubStep
DEFAULT_ORG = "yolobatch-conformance"
# More images than any sensible synchronous threshold, so that the upload is asynchronous and polled.
ASYNC_IMAGES = 12
MAX_429_WAITS = 3
MAX_RETRY_AFTER_SECONDS = 60.0

# What each operation's 200 answer must hold (docs/platform-contract.yaml, `required` of its response).
REQUIRED_FIELDS: dict[SubStep, tuple[str, ...]] = {
    S.CLOUDWAITRESS_ACCOUNT: ("success",),
    S.CODE_GENERATION: ("success", "codeInjectionId"),
    S.CREATE_ONBOARDING_USER: ("success",),
    S.UPLOAD_IMAGES: ("success",),
    S.RESTAURANT_REGISTRATION: ("success", "restaurant"),
    S.WEBSITE_CONFIG: ("success",),
    S.SERVICES_CONFIG: ("success",),
    S.PAYMENT_CONFIG: ("success",),
    S.MENU_IMPORT: ("success",),
    S.SYNC_ONBOARDING_USER: ("success",),
    S.OPTION_SETS: ("success",),
    S.ITEM_TAGS: ("success",),
}
# The original's reads and the fields they answer.
READ_FIELDS = {
    "/api/registration/status/{rid}": ("account", "pumpdRestaurant", "hasAccount", "hasRestaurant"),
    "/api/registration/code-injection/{rid}": ("hasContent", "codeInjectionId", "generatedAt", "config"),
}


@dataclass(frozen=True)
class Check:
    name: str  # an operation id (a sub-step key) or a cross-cutting check such as "idempotent replay"
    ok: bool
    detail: str


def synthetic_restaurant(
    platform_restaurant_id: str | None = None, platform_menu_id: str | None = None
) -> tuple[RegistrationConfig, Menu]:
    tag = uuid.uuid4().hex[:10]
    email = f"conformance+{tag}@example.com"
    images = [f"https://images.example.com/conformance/{tag}/{i}.jpg" for i in range(ASYNC_IMAGES)]
    menu = Menu.model_validate(
        {
            "categories": [
                {
                    "name": "Conformance",
                    "items": [
                        {"name": f"Item {i}", "price": "9.50", "image_url": url, "tags": ["Popular"]}
                        for i, url in enumerate(images)
                    ]
                    + [{"name": "Plain", "price": "4.00", "option_sets": ["Size"]}],
                }
            ],
            "option_sets": [{"name": "Size", "items": [{"name": "Large", "price": "2.00"}]}],
        }
    )
    config = RegistrationConfig.model_validate(
        {
            "account": {"email": email, "password": f"Conf-{tag}-Pw9!", "phone": "+6421000000"},
            "restaurant": {
                "name": f"Conformance {tag}",
                "address": "1 Test Street, Auckland",
                "city": "Auckland",
            },
            "menu": {"selectedMenuId": menu.id},
            "website": {
                "primaryColor": "#112233",
                "secondaryColor": "#FFEEDD",
                "cuisines": ["Test"],
                "logoUrl": f"https://images.example.com/conformance/{tag}/logo.png",
            },
            "payment": {"includeStripeLink": True},
            "onboarding": {"createOnboardingUser": True, "userName": "Conformance Owner", "userEmail": email},
            "company": {"legalName": f"Conformance {tag} Limited", "companyNumber": "1234567"},
            "platformRestaurantId": platform_restaurant_id,
            "platformMenuId": platform_menu_id,
        }
    )
    return config, menu


def _missing(body: dict[str, Any], fields: tuple[str, ...]) -> list[str]:
    return [name for name in fields if name not in body]


async def _error_shape(http: httpx.AsyncClient, url: str, headers: dict[str, str], name: str) -> Check:
    """A refused request must answer `{success: false, error: <text>}` with a 4xx."""
    try:
        response = await http.post(url, json={"restaurantId": "conformance-missing-fields"}, headers=headers)
    except httpx.HTTPError as exc:
        return Check(name, False, f"no answer: {exc!r}")
    try:
        body = response.json()
    except ValueError:
        body = None
    shape_ok = isinstance(body, dict) and body.get("success") is False and isinstance(body.get("error"), str)
    if 400 <= response.status_code < 500 and shape_ok:
        return Check(name, True, f"HTTP {response.status_code} {{success: false, error}}")
    return Check(
        name, False, f"expected a 4xx {{success: false, error}}, got HTTP {response.status_code}: {body!r}"
    )


async def check_platform(
    url: str,
    key: str,
    org: str = DEFAULT_ORG,
    contract: ContractName = "contract",
    *,
    platform_restaurant_id: str | None = None,
    platform_menu_id: str | None = None,
    timeout_scale: float = 1.0,
    poll_interval: float = 0.5,
) -> list[Check]:
    """Every check, in order; the service key is redacted from every detail."""
    config, menu = synthetic_restaurant(platform_restaurant_id, platform_menu_id)
    base = url.rstrip("/")
    checks: list[Check] = []
    async with httpx.AsyncClient() as http:
        port = make_adapter(
            contract, http, base, key, org, secrets=config.secrets(), timeout_scale=timeout_scale
        )
        redactor = RegistrationClient(http, base, key, org, secrets=config.secrets())
        headers = {"X-Service-Key": key, "X-Organisation-ID": org}
        account_url = base + "/api/registration/register-account"
        checks.append(await _error_shape(http, account_url, {}, "error shape: missing credentials (401)"))
        checks.append(await _error_shape(http, account_url, headers, "error shape: invalid request (400)"))
        job_id = f"conformance-{uuid.uuid4()}"
        context: dict[str, Any] = {}
        requests: dict[SubStep, tuple[Any, str, CallResult]] = {}
        for spec in PLAN:
            step = spec.key
            idempotency_key = f"{job_id}:{step}:1"
            try:
                request = port.build(step, job_id, config, menu, context)
                result, waits = await _call_honouring_retry_after(
                    port, step, request, idempotency_key, poll_interval
                )
            except (ExternalCallError, ValueError) as exc:
                checks.append(Check(step, False, redactor.redact(str(exc))))
                continue
            missing = _missing(result.body, REQUIRED_FIELDS[step])
            if missing:
                checks.append(Check(step, False, f"answer lacks {', '.join(missing)}"))
                continue
            detail = f"HTTP {result.status_code} in {result.seconds:.1f} s"
            if waits:
                detail += f" (after {waits} × 429 with Retry-After, honoured)"
            if step == S.UPLOAD_IMAGES:
                upload = result.extra.get("upload")
                detail += (
                    f"; asynchronous upload polled to completion ({upload})"
                    if upload
                    else "; answered synchronously (polling not exercised)"
                )
            checks.append(
                Check(step, True, detail + (f"; warning: {result.warning}" if result.warning else ""))
            )
            context |= context_from_response(step, result.body)
            requests[step] = (request, idempotency_key, result)
        if contract == "contract":
            checks += await _replay_checks(port, requests, poll_interval)
        else:
            checks += await _read_checks(redactor, port, job_id, config, platform_restaurant_id or "")
    return checks


async def _call_honouring_retry_after(
    port: Any, step: SubStep, request: Any, idempotency_key: str, poll_interval: float
) -> tuple[CallResult, int]:
    """429 with Retry-After is allowed by the contract (before any effect): wait as asked and call again."""
    for waits in range(MAX_429_WAITS + 1):
        try:
            return await port.call(step, request, idempotency_key, poll_interval), waits
        except ExternalCallError as exc:
            if exc.status_code != 429 or exc.retry_after is None or waits == MAX_429_WAITS:
                raise
            await asyncio.sleep(min(exc.retry_after, MAX_RETRY_AFTER_SECONDS))
    raise AssertionError("unreachable")


async def _replay_checks(port: Any, requests: dict[SubStep, Any], poll_interval: float) -> list[Check]:
    """The same key and request must return the first answer, flagged as replayed, with no new effect."""
    step = S.RESTAURANT_REGISTRATION
    name = f"idempotent replay ({step})"
    if step not in requests:
        return [Check(name, False, f"not checked: {step} did not succeed")]
    request, idempotency_key, first = requests[step]
    checks = []
    try:
        again = await port.call(step, request, idempotency_key, poll_interval)
    except ExternalCallError as exc:
        return [Check(name, False, f"the replay failed: {exc}")]
    first_id = (first.body.get("restaurant") or {}).get("pumpd_restaurant_id")
    again_id = (again.body.get("restaurant") or {}).get("pumpd_restaurant_id")
    if again.replayed and first_id == again_id:
        checks.append(Check(name, True, "same answer, Idempotent-Replayed: true"))
    else:
        checks.append(
            Check(
                name,
                False,
                f"a repeat with the same Idempotency-Key ran again (replayed={again.replayed}, "
                f"restaurant {first_id!r} then {again_id!r})",
            )
        )
    changed = type(request)(request.method, request.path, {**request.json, "restaurantName": "Changed"})
    try:
        await port.call(step, changed, idempotency_key, poll_interval)
        checks.append(
            Check("idempotency key reuse (422)", False, "a different request with a used key was accepted")
        )
    except ExternalCallError as exc:
        ok = exc.status_code == 422
        checks.append(Check("idempotency key reuse (422)", ok, str(exc)))
    return checks


async def _read_checks(
    client: RegistrationClient, port: Any, job_id: str, config: RegistrationConfig, restaurant_id: str
) -> list[Check]:
    checks = []
    for path, fields in READ_FIELDS.items():
        name = f"read {path}"
        try:
            body = await client.get(path.format(rid=restaurant_id), 60)
        except ExternalCallError as exc:
            checks.append(Check(name, False, str(exc)))
            continue
        missing = _missing(body, fields)
        checks.append(Check(name, not missing, f"lacks {', '.join(missing)}" if missing else "all fields"))
    for step in VERIFIABLE:
        name = f"verify {step}"
        try:
            verdict = await port.verify(step, job_id, config)
        except ExternalCallError as exc:
            checks.append(Check(name, False, str(exc)))
            continue
        checks.append(Check(name, verdict == "done", f"after the call the read says {verdict}"))
    return checks
