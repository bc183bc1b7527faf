"""The registration client's outcome rules, over httpx.MockTransport (the platform's answers, scripted)."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import batch_of
from yolobatch.domain.plan import SubStep
from yolobatch.integrations.registration.client import CallFailed, RegistrationClient
from yolobatch.integrations.registration.payloads import build_request
from yolobatch.integrations.registry import NzbnRegistry, RegistryError

S = SubStep
PASSWORD_HOLDER = batch_of(1).restaurants[0]


def client_for(handler) -> RegistrationClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    config = PASSWORD_HOLDER.config
    return RegistrationClient(http, "http://platform", "svc-key-123", "org-1", secrets=config.secrets())


def request(key: SubStep, context=None):
    r = PASSWORD_HOLDER
    return build_request(key, "job-1", r.config, r.menu, context or {})


async def test_headers_and_payload_follow_the_reference():
    seen: list[httpx.Request] = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        return httpx.Response(200, json={"success": True, "restaurant": {"pumpd_restaurant_id": "RES1"}})

    result = await client_for(handler).call(
        S.RESTAURANT_REGISTRATION, request(S.RESTAURANT_REGISTRATION), "job-1/restaurantRegistration/0", 5
    )
    sent = seen[0]
    assert sent.url.path == "/api/registration/register-restaurant"
    assert sent.headers["Idempotency-Key"] == "job-1/restaurantRegistration/0"
    assert sent.headers["X-Service-Key"] == "svc-key-123" and sent.headers["X-Organisation-ID"] == "org-1"
    body = httpx.Request("POST", "/", content=sent.content).read()
    assert b'"registrationType":"existing_account_first_restaurant"' in body.replace(b" ", b"")
    assert result.body["restaurant"]["pumpd_restaurant_id"] == "RES1"


@pytest.mark.parametrize(
    ("key", "body", "warning"),
    [
        (S.CLOUDWAITRESS_ACCOUNT, {"success": False, "error": "Account already registered"}, True),
        (S.WEBSITE_CONFIG, {"success": False, "message": "Website completed with warnings"}, True),
        (S.MENU_IMPORT, {"success": False, "message": "Import completed with warnings"}, False),
        (S.SERVICES_CONFIG, {"success": False, "message": "Browser crashed"}, False),
    ],
)
async def test_success_false_is_a_warning_or_a_failure_never_silent(key, body, warning):
    client = client_for(lambda req: httpx.Response(200, json=body))
    if warning:
        result = await client.call(key, request(key, {"codeInjectionId": "c"}), "k", 5)
        assert result.warning
    else:
        with pytest.raises(CallFailed) as caught:
            await client.call(key, request(key), "k", 5)
        assert not caught.value.retryable


async def test_status_codes_map_to_retry_decisions_and_retry_after():
    answers = {
        429: httpx.Response(429, json={"success": False, "error": "slow down"}, headers={"Retry-After": "7"}),
        503: httpx.Response(503, text="upstream down"),
        400: httpx.Response(400, json={"success": False, "error": "Restaurant colors not configured"}),
        409: httpx.Response(409, json={"success": False, "error": "in progress"}),
    }
    for status, response in answers.items():
        with pytest.raises(CallFailed) as caught:
            await client_for(lambda req, r=response: r).call(
                S.SERVICES_CONFIG, request(S.SERVICES_CONFIG), "k", 5
            )
        assert caught.value.retryable is (status != 400), status
        assert caught.value.status_code == status
    with pytest.raises(CallFailed) as caught:
        await client_for(lambda req: answers[429]).call(S.SERVICES_CONFIG, request(S.SERVICES_CONFIG), "k", 5)
    assert caught.value.retry_after == 7


async def test_garbage_and_transport_errors_are_retryable_and_redacted():
    password = PASSWORD_HOLDER.config.account.password.get_secret_value()

    def garbage(req):
        return httpx.Response(200, text=f"<html>oops {password}</html>")

    with pytest.raises(CallFailed) as caught:
        await client_for(garbage).call(S.SERVICES_CONFIG, request(S.SERVICES_CONFIG), "k", 5)
    assert caught.value.retryable and password not in caught.value.message

    def echo_error(req):
        return httpx.Response(500, json={"success": False, "error": f"login failed for {password}"})

    with pytest.raises(CallFailed) as caught:
        await client_for(echo_error).call(S.CLOUDWAITRESS_ACCOUNT, request(S.CLOUDWAITRESS_ACCOUNT), "k", 5)
    assert password not in caught.value.message and "********" in caught.value.message

    def refuse(req):
        raise httpx.ConnectError("connection refused")

    with pytest.raises(CallFailed) as caught:
        await client_for(refuse).call(S.SERVICES_CONFIG, request(S.SERVICES_CONFIG), "k", 5)
    assert caught.value.retryable


async def test_asynchronous_image_upload_is_awaited():
    polls = []

    def handler(req: httpx.Request) -> httpx.Response:
        if req.method == "POST":
            return httpx.Response(
                200, json={"success": True, "mode": "asynchronous", "progressUrl": "/api/upload-batches/b1"}
            )
        polls.append(req.url.path)
        done = len(polls) >= 3
        return httpx.Response(200, json={"status": "completed" if done else "processing", "total": 12})

    result = await client_for(handler).call(
        S.UPLOAD_IMAGES, request(S.UPLOAD_IMAGES), "k", 5, poll_interval=0.01
    )
    assert polls == ["/api/upload-batches/b1"] * 3 and result.extra["upload"]["total"] == 12


@pytest.mark.security
@pytest.mark.parametrize(
    ("status", "answer", "limit"),
    [
        pytest.param(400, lambda text: {"error": text}, 500, id="4xx-error-field"),
        pytest.param(200, lambda text: {"success": False, "message": text}, 500, id="success-false-message"),
        pytest.param(502, lambda text: text, 500, id="5xx-text-body"),
        pytest.param(200, lambda text: text, 200, id="unreadable-2xx-body"),
    ],
)
async def test_a_secret_echoed_across_the_cut_of_an_error_never_shows_its_start(status, answer, limit):
    """Error bodies are cut to a few hundred characters; a secret the platform echoes right where the
    cut falls must be masked before it, or its first characters would leak."""
    (password,) = PASSWORD_HOLDER.config.secrets()[:1]
    text = "x" * (limit - len(password) // 2) + password + " and more"
    body = answer(text)

    def handler(req: httpx.Request) -> httpx.Response:
        if isinstance(body, dict):
            return httpx.Response(status, json=body)
        return httpx.Response(status, text=body)

    key = S.SERVICES_CONFIG
    with pytest.raises(CallFailed) as failed:
        await client_for(handler).call(key, request(key), "k", 5)
    shown = str(failed.value) + repr(failed.value.response)
    assert password[: len(password) // 2] not in shown, shown[-200:]
    assert len(str(failed.value)) < limit + 100  # still cut


@pytest.mark.security
async def test_a_registry_key_echoed_across_the_cut_of_an_error_never_shows_its_start():
    key = "registry-key-0123456789abcdef0123456789"
    echoed = "y" * (300 - len(key) // 2) + key

    def handler(req: httpx.Request) -> httpx.Response:
        return httpx.Response(403, json={"message": echoed})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        registry = NzbnRegistry(http, "http://registry", key)
        with pytest.raises(RegistryError) as failed:
            await registry.details("9429041000038")
    assert key[: len(key) // 2] not in str(failed.value)
