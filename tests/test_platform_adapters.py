"""The platform port: both adapters over real HTTP against the sandbox speaking each contract, the pure
outcome classification, call timeouts, platform-id validation and the image URL guard."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from yolobatch.devtools.sandbox.server import RunningSandbox, start_in_thread
from yolobatch.devtools.sandbox.settings import SandboxSettings
from yolobatch.domain.config import RegistrationConfig
from yolobatch.domain.derive import derive_config
from yolobatch.domain.extraction import Branding, ExtractionResult
from yolobatch.domain.image_urls import UnsafeImageUrl, check_image_url
from yolobatch.domain.plan import SubStep
from yolobatch.integrations.registration.client import CallFailed, RegistrationClient
from yolobatch.integrations.registration.conformance import synthetic_restaurant
from yolobatch.integrations.registration.original_payloads import MissingPlatformId
from yolobatch.integrations.registration.outcomes import classify, may_retry_blind
from yolobatch.integrations.registration.payloads import build_request
from yolobatch.integrations.registration.port import (
    SERVICE_LIMIT_SECONDS,
    ContractAdapter,
    OriginalAdapter,
    PlatformPort,
    call_timeout,
    make_adapter,
)

S = SubStep
KEY = "sandbox-service-key"
ORG = "org-original"


@pytest.fixture(scope="module")
def original_sandbox() -> Iterator[RunningSandbox]:
    running = start_in_thread(
        SandboxSettings(contract="original", time_scale=0.002, jitter=0, hang_seconds=30)
    )
    yield running
    running.stop()


@pytest.fixture
def original(original_sandbox: RunningSandbox) -> RunningSandbox:
    httpx.post(f"{original_sandbox.url}/_sandbox/reset").raise_for_status()
    return original_sandbox


def seed(sandbox: RunningSandbox, restaurant_id: str, menu_id: str, images: int = 2) -> None:
    menu = {
        "categories": [
            {
                "name": "Mains",
                "items": [
                    {
                        "name": f"Dish {i}",
                        "price": "12.00",
                        "image_url": f"https://images.example.com/{i}.jpg",
                    }
                    for i in range(images)
                ],
            }
        ],
        "option_sets": [{"name": "Size", "items": [{"name": "Large", "price": "2.00"}]}],
    }
    body = {
        "orgId": ORG,
        "restaurantId": restaurant_id,
        "name": "Seeded Diner",
        "primaryColor": "#112233",
        "secondaryColor": "#445566",
        "menus": {menu_id: menu},
    }
    httpx.post(f"{sandbox.url}/_sandbox/platform-restaurants", json=body).raise_for_status()


def state(sandbox: RunningSandbox) -> dict[str, Any]:
    return httpx.get(f"{sandbox.url}/_sandbox/state").json()


def calls(sandbox: RunningSandbox, endpoint: str) -> list[dict[str, Any]]:
    return httpx.get(f"{sandbox.url}/_sandbox/calls", params={"endpoint": endpoint}).json()


def fault(sandbox: RunningSandbox, endpoint: str, kind: str, **extra: Any) -> None:
    httpx.post(
        f"{sandbox.url}/_sandbox/faults", json={"endpoint": endpoint, "fault": kind, **extra}
    ).raise_for_status()


def with_ids(
    config: RegistrationConfig, restaurant_id: str | None, menu_id: str | None
) -> RegistrationConfig:
    return config.model_copy(update={"platform_restaurant_id": restaurant_id, "platform_menu_id": menu_id})


async def run(port, key: SubStep, config, menu, context=None, poll_interval: float = 0.02):
    request = port.build(key, "job-1", config, menu, context or {})
    return request, await port.call(key, request, f"job-1:{key}", poll_interval)


# --- the original adapter against the sandbox speaking the original contract


async def test_original_requests_carry_the_platform_ids_and_no_idempotency_key(original):
    seed(original, "R-100", "M-100")
    config, menu = synthetic_restaurant("R-100", "M-100")
    async with httpx.AsyncClient() as http:
        port = make_adapter("original", http, original.url, KEY, ORG, timeout_scale=0.05)
        for key in (
            S.CLOUDWAITRESS_ACCOUNT,
            S.CODE_GENERATION,
            S.UPLOAD_IMAGES,
            S.RESTAURANT_REGISTRATION,
            S.MENU_IMPORT,
        ):
            request, result = await run(port, key, config, menu)
            assert result.status_code == 200, key
        assert request.json == {"restaurantId": "R-100", "menuId": "M-100"}
    assert calls(original, "upload-images")[0]["path"] == "/api/menus/M-100/upload-images"
    # The original reads colours from its own records; the payload carries only noGradient.
    code_call = calls(original, "generate-code-injections")[0]
    assert set(code_call["payload"]) == {"restaurantId", "noGradient"}
    assert all(c["idempotency_key"] is None for c in httpx.get(f"{original.url}/_sandbox/calls").json())


async def test_unknown_platform_restaurant_is_404_restaurant_not_found_and_never_invented(original):
    config, menu = synthetic_restaurant("R-unknown", "M-unknown")
    async with httpx.AsyncClient() as http:
        port = make_adapter("original", http, original.url, KEY, ORG, timeout_scale=0.05)
        with pytest.raises(CallFailed) as raised:
            await run(port, S.CLOUDWAITRESS_ACCOUNT, config, menu)
        assert raised.value.status_code == 404 and "Restaurant not found" in str(raised.value)
        assert classify(raised.value) == "before_effect"
        bare, _ = synthetic_restaurant()
        with pytest.raises(MissingPlatformId, match="platformRestaurantId"):
            port.build(S.CODE_GENERATION, "job-1", bare, menu, {})
        with pytest.raises(MissingPlatformId, match="platformMenuId"):
            port.build(S.MENU_IMPORT, "job-1", with_ids(bare, "R-1", None), menu, {})
    assert state(original)["side_effects"] == {}


async def test_a_repeat_on_the_original_duplicates_and_the_audit_counts_it(original):
    """Idempotency keys are ignored: the same call twice is two restaurants. This is why the adapter
    declares every operation non-idempotent."""
    seed(original, "R-200", "M-200")
    config, menu = synthetic_restaurant("R-200", "M-200")
    async with httpx.AsyncClient() as http:
        port = make_adapter("original", http, original.url, KEY, ORG, timeout_scale=0.05)
        await run(port, S.CLOUDWAITRESS_ACCOUNT, config, menu)
        request, first = await run(port, S.RESTAURANT_REGISTRATION, config, menu)
        again = await port.call(S.RESTAURANT_REGISTRATION, request, "job-1:restaurantRegistration")
    assert not again.replayed
    assert first.body["restaurant"]["pumpd_restaurant_id"] != again.body["restaurant"]["pumpd_restaurant_id"]
    duplicates = state(original)["duplicates"]
    assert {
        "restaurant_id": "R-200",
        "endpoint": "register-restaurant",
        "count": 2,
        "org_id": ORG,
    } in duplicates
    assert not any(port.is_idempotent(key) for key in SubStep)


async def test_a_lost_answer_is_ambiguous_and_verify_finds_it_done(original):
    """The answer is lost after the restaurant was created: not retried blind, the status read says done."""
    seed(original, "R-300", "M-300")
    config, menu = synthetic_restaurant("R-300", "M-300")
    async with httpx.AsyncClient() as http:
        client = RegistrationClient(http, original.url, KEY, ORG)
        port = OriginalAdapter(client, timeout_scale=0.002)
        await run(port, S.CLOUDWAITRESS_ACCOUNT, config, menu)
        assert await port.verify(S.RESTAURANT_REGISTRATION, "job-1", config) == "not_done"
        fault(original, "register-restaurant", "timeout")
        with pytest.raises(CallFailed) as raised:
            await run(port, S.RESTAURANT_REGISTRATION, config, menu)
        verdict = classify(raised.value)
        assert verdict == "ambiguous" and not may_retry_blind(
            verdict, port.is_idempotent(S.RESTAURANT_REGISTRATION)
        )
        assert await port.verify(S.RESTAURANT_REGISTRATION, "job-1", config) == "done"
        assert await port.verify(S.CLOUDWAITRESS_ACCOUNT, "job-1", config) == "done"
        assert await port.verify(S.CODE_GENERATION, "job-1", config) == "not_done"
        await run(port, S.CODE_GENERATION, config, menu)
        assert await port.verify(S.CODE_GENERATION, "job-1", config) == "done"
        # No read exists for these: a person decides.
        assert await port.verify(S.PAYMENT_CONFIG, "job-1", config) == "unknown"
        assert await port.verify(S.OPTION_SETS, "job-1", config) == "unknown"
    assert state(original)["duplicates"] == []


async def test_429_and_5xx_on_the_original_are_classified_and_leave_no_effect(original):
    seed(original, "R-400", "M-400")
    config, menu = synthetic_restaurant("R-400", "M-400")
    async with httpx.AsyncClient() as http:
        port = make_adapter("original", http, original.url, KEY, ORG, timeout_scale=0.05)
        fault(original, "register-account", "429", retry_after=7)
        with pytest.raises(CallFailed) as limited:
            await run(port, S.CLOUDWAITRESS_ACCOUNT, config, menu)
        assert limited.value.status_code == 429 and limited.value.retry_after == 7
        assert classify(limited.value) == "before_effect"
        fault(original, "register-account", "503")
        with pytest.raises(CallFailed) as failed:
            await run(port, S.CLOUDWAITRESS_ACCOUNT, config, menu)
        assert classify(failed.value) == "ambiguous"
        # Here the 503 came before the effect, and the read says so: the caller may now run it again.
        assert await port.verify(S.CLOUDWAITRESS_ACCOUNT, "job-1", config) == "not_done"
        await run(port, S.CLOUDWAITRESS_ACCOUNT, config, menu)
    assert state(original)["side_effects"] == {"register-account": 1}


async def test_the_original_upload_status_is_nested_and_polled_to_completion(original):
    seed(original, "R-500", "M-500", images=14)
    config, menu = synthetic_restaurant("R-500", "M-500")
    async with httpx.AsyncClient() as http:
        port = make_adapter("original", http, original.url, KEY, ORG, timeout_scale=0.05)
        _, result = await run(port, S.UPLOAD_IMAGES, config, menu)
        assert result.body["mode"] == "asynchronous"
        assert result.extra["upload"] == {"total": 14, "uploaded": 14}
        raw = await http.get(
            original.url + result.body["progressUrl"],
            headers={"X-Service-Key": KEY, "X-Organisation-ID": ORG},
        )
    assert raw.json()["batch"]["status"] == "completed" and "status" not in raw.json()


async def test_the_verification_reads_answer_the_references_fields(original):
    seed(original, "R-600", "M-600")
    headers = {"X-Service-Key": KEY, "X-Organisation-ID": ORG}
    async with httpx.AsyncClient(base_url=original.url) as http:
        status = (await http.get("/api/registration/status/R-600", headers=headers)).json()
        injection = (await http.get("/api/registration/code-injection/R-600", headers=headers)).json()
        unknown = await http.get("/api/registration/status/R-nope", headers=headers)
        unauthenticated = await http.get("/api/registration/status/R-600")
    assert status == {"account": None, "pumpdRestaurant": None, "hasAccount": False, "hasRestaurant": False}
    assert set(injection) == {"hasContent", "codeInjectionId", "generatedAt", "config"}
    assert unknown.status_code == 404 and unknown.json()["error"] == "Restaurant not found"
    assert unauthenticated.status_code == 401


def test_seeding_is_validated(original):
    response = httpx.post(f"{original.url}/_sandbox/platform-restaurants", json={"restaurantId": "R"})
    assert response.status_code == 400 and "orgId" in response.json()["error"]


# --- the contract adapter


async def test_contract_adapter_replays_and_declares_every_operation_idempotent(world):
    config, menu = synthetic_restaurant()
    async with httpx.AsyncClient() as http:
        port = make_adapter("contract", http, world.url, KEY, "org-c", timeout_scale=0.05)
        assert isinstance(port, ContractAdapter) and all(port.is_idempotent(key) for key in SubStep)
        await run(port, S.CLOUDWAITRESS_ACCOUNT, config, menu)
        request, first = await run(port, S.RESTAURANT_REGISTRATION, config, menu)
        again = await port.call(S.RESTAURANT_REGISTRATION, request, "job-1:restaurantRegistration")
        assert again.replayed and again.body == first.body
        assert await port.verify(S.RESTAURANT_REGISTRATION, "job-1", config) == "unknown"
        # The contract has no verification reads; the sandbox says so instead of inventing them.
        missing = await http.get(
            f"{world.url}/api/registration/status/job-1",
            headers={"X-Service-Key": KEY, "X-Organisation-ID": "o"},
        )
        assert missing.status_code == 404
    assert state(world)["duplicates"] == []


def test_both_adapters_implement_the_port():
    http = httpx.AsyncClient()
    for contract in ("contract", "original"):
        adapter = make_adapter(contract, http, "http://x", "k", "o")
        assert isinstance(adapter, PlatformPort) and adapter.name == contract


def test_unknown_contract_is_refused():
    with pytest.raises(ValueError, match="contract, original"):
        make_adapter("legacy", httpx.AsyncClient(), "http://x", "k", "o")  # type: ignore[arg-type]


# --- classification (pure)


def wrapped(cause: Exception, status: int | None = None) -> CallFailed:
    try:
        raise CallFailed("call failed", retryable=True, status_code=status) from cause
    except CallFailed as exc:
        return exc


REQUEST = httpx.Request("POST", "http://platform/api/registration/register-restaurant")


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (httpx.ConnectError("refused", request=REQUEST), "before_effect"),
        (wrapped(httpx.ConnectError("refused", request=REQUEST)), "before_effect"),
        (wrapped(httpx.ConnectTimeout("slow connect", request=REQUEST)), "before_effect"),
        (wrapped(httpx.PoolTimeout("no connection", request=REQUEST)), "before_effect"),
        (wrapped(httpx.ReadTimeout("no answer", request=REQUEST)), "ambiguous"),
        (wrapped(httpx.WriteTimeout("half sent", request=REQUEST)), "ambiguous"),
        (wrapped(httpx.RemoteProtocolError("peer closed", request=REQUEST)), "ambiguous"),
        (wrapped(httpx.ReadError("reset", request=REQUEST)), "ambiguous"),
        (CallFailed("HTTP 400", retryable=False, status_code=400), "before_effect"),
        (CallFailed("HTTP 404", retryable=False, status_code=404), "before_effect"),
        (CallFailed("HTTP 409", retryable=True, status_code=409), "before_effect"),
        (CallFailed("HTTP 422", retryable=False, status_code=422), "before_effect"),
        (CallFailed("HTTP 429", retryable=True, status_code=429), "before_effect"),
        (CallFailed("HTTP 408", retryable=True, status_code=408), "ambiguous"),
        (CallFailed("HTTP 500", retryable=True, status_code=500), "ambiguous"),
        (CallFailed("HTTP 503", retryable=True, status_code=503), "ambiguous"),
        (CallFailed("unreadable 200", retryable=True, status_code=200), "ambiguous"),
        (CallFailed("no status", retryable=True), "ambiguous"),
        (UnsafeImageUrl("file:///etc/passwd"), "before_effect"),
        (MissingPlatformId("no id"), "before_effect"),
        (RuntimeError("unexpected"), "ambiguous"),
    ],
)
def test_classify(exc, expected):
    assert classify(exc) == expected


def test_blind_retry_only_before_the_effect_or_when_idempotent():
    assert may_retry_blind("before_effect", idempotent=False)
    assert may_retry_blind("ambiguous", idempotent=True)
    assert not may_retry_blind("ambiguous", idempotent=False)


async def test_connection_refused_over_real_sockets_is_before_effect():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    config, menu = synthetic_restaurant("R-1", "M-1")
    async with httpx.AsyncClient() as http:
        port = make_adapter("original", http, f"http://127.0.0.1:{closed_port}", KEY, ORG)
        with pytest.raises(CallFailed) as raised:
            await run(port, S.SERVICES_CONFIG, config, menu)
    assert classify(raised.value) == "before_effect"


# --- timeouts


def test_call_timeouts_have_a_margin_over_the_services_own_limits():
    for key, limit in SERVICE_LIMIT_SECONDS.items():
        timeout = call_timeout(key)
        assert timeout > (limit or 0) + 29, key
    assert call_timeout(S.WEBSITE_CONFIG) == 240 * 1.25 + 30
    assert call_timeout(S.OPTION_SETS) > 3600
    assert call_timeout(S.RESTAURANT_REGISTRATION, scale=0.01) == pytest.approx((180 * 1.25 + 30) * 0.01)


# --- platform ids in the config


@pytest.mark.parametrize("bad", ["", "R 1", "R/1", "../x", "x" * 129, "Ré"])
def test_platform_ids_are_validated(bad):
    config, _ = synthetic_restaurant()
    wire = config.to_wire() | {"platformRestaurantId": bad}
    with pytest.raises(ValidationError, match="platformRestaurantId|platform_restaurant_id"):
        RegistrationConfig.model_validate(wire)


def test_platform_ids_round_trip_with_their_camel_case_names():
    config, _ = synthetic_restaurant("RES-1f2e", "menu_77")
    again = RegistrationConfig.model_validate(config.to_wire())
    assert (again.platform_restaurant_id, again.platform_menu_id) == ("RES-1f2e", "menu_77")
    assert config.to_wire()["platformRestaurantId"] == "RES-1f2e"


# --- image URLs sent to the platform

REFUSED = [
    "file:///etc/passwd",
    "ftp://images.example.com/a.jpg",
    "javascript:alert(1)",
    "data:image/png;base64,AAAA",
    "http://127.0.0.1/a.jpg",
    "http://127.1.2.3:8080/a.jpg",
    "http://10.0.0.5/a.jpg",
    "http://192.168.1.1/a.jpg",
    "http://172.16.0.1/a.jpg",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/a.jpg",
    "http://[fe80::1]/a.jpg",
    "http://[::ffff:127.0.0.1]/a.jpg",
    "http://100.64.0.1/a.jpg",
    "http://0.0.0.0/a.jpg",
    "http://localhost/a.jpg",
    "http://printer.local/a.jpg",
    "https:///nohost.jpg",
    "http://host:notaport/a.jpg",
]


@pytest.mark.parametrize("url", REFUSED)
def test_the_image_guard_refuses_non_public_urls(url):
    with pytest.raises(UnsafeImageUrl):
        check_image_url(url)


@pytest.mark.parametrize(
    "url", ["https://images.example.com/a.jpg", "http://8.8.8.8/a.png", "https://ucarecdn.com/x/logo.png"]
)
def test_the_image_guard_accepts_public_http_urls(url):
    assert check_image_url(url) == url


@pytest.mark.parametrize(
    ("key", "field"),
    [
        (S.UPLOAD_IMAGES, "menu"),
        (S.MENU_IMPORT, "menu"),
        (S.WEBSITE_CONFIG, "logoUrl"),
        (S.WEBSITE_CONFIG, "faviconUrl"),
        (S.WEBSITE_CONFIG, "headerImageUrl"),
    ],
)
def test_payload_builders_refuse_a_private_image_url(key, field):
    config, menu = synthetic_restaurant()
    if field == "menu":
        menu.categories[0].items[0].image_url = "http://169.254.169.254/latest/meta-data/"
    else:
        snake = {"logoUrl": "logo_url", "faviconUrl": "favicon_url", "headerImageUrl": "header_image_url"}[
            field
        ]
        website = config.website.model_copy(update={snake: "file:///etc/passwd"})
        config = config.model_copy(update={"website": website})
    with pytest.raises(UnsafeImageUrl):
        build_request(key, "job-1", config, menu, {"codeInjectionId": "CI"})


def test_derived_configs_leave_local_branding_images_out_with_a_warning():
    extraction = ExtractionResult(
        url="https://store.example.com",
        source="dom",
        branding=Branding(
            logo_url="http://127.0.0.1:8765/logo.png", favicon_url="https://cdn.example.com/f.ico"
        ),
    )
    wire, warnings = derive_config(
        "Diner", {"email": "a@example.com"}, extraction, None, None, "Pw-" + uuid.uuid4().hex
    )
    assert (
        "logoUrl" not in wire["website"] and wire["website"]["faviconUrl"] == "https://cdn.example.com/f.ico"
    )
    assert any("logoUrl" in w and "not a public" in w for w in warnings)
