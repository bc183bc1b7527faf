"""The platform sandbox: a real HTTP server with state, latency, faults and the original's hazards."""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from yolobatch.devtools.sandbox import RunningSandbox, SandboxSettings, create_app, start_in_thread

ORG = "org-1"
AUTH = {"X-Service-Key": "sandbox-service-key", "X-Organisation-ID": ORG}
EMAIL = "owner@example.com"
PASSWORD = "Secret123!"
RID = "job-1"
IMAGES = ["https://img.example/burger.jpg", "https://img.example/salad.jpg"]
MENU: dict[str, Any] = {
    "id": "menu-1",
    "categories": [
        {
            "name": "Mains",
            "items": [
                {
                    "name": "Burger",
                    "price": "12.50",
                    "image_url": IMAGES[0],
                    "tags": ["Most Liked", "HOT"],
                    "option_sets": ["Size"],
                },
                {"name": "Salad", "price": 9, "image_url": IMAGES[1], "tags": ["vegan", "GF", "unknown"]},
                {"name": "Chips", "price": 4.0},
            ],
        }
    ],
    "option_sets": [
        {
            "name": "Size",
            "is_required": True,
            "multiple_selections_allowed": False,
            "min_selections": 1,
            "max_selections": 1,
            "items": [{"name": "Large", "price": "2.00"}],
        },
        {
            "name": "Sauces",
            "is_required": False,
            "multiple_selections_allowed": True,
            "min_selections": 0,
            "max_selections": 3,
            "items": [{"name": "Aioli", "price": 0.5}, {"name": "Ketchup", "price": 0}],
        },
    ],
}

StartSandbox = Callable[..., RunningSandbox]
FAST = 0.0002  # time_scale: the slowest call (configure-website, 200 s nominal) takes 40 ms


@pytest.fixture
def start() -> Iterator[StartSandbox]:
    running: list[RunningSandbox] = []

    def _start(**overrides: Any) -> RunningSandbox:
        sandbox = start_in_thread(SandboxSettings(**{"time_scale": FAST, **overrides}))
        running.append(sandbox)
        return sandbox

    yield _start
    for sandbox in running:
        sandbox.stop()


@pytest.fixture(scope="module")
def shared_sandbox() -> Iterator[RunningSandbox]:
    sandbox = start_in_thread(SandboxSettings(time_scale=FAST))
    yield sandbox
    sandbox.stop()


@pytest.fixture
def sandbox(shared_sandbox: RunningSandbox) -> RunningSandbox:
    """The default-settings sandbox, reset to a fresh world (tests needing other settings use `start`)."""
    httpx.post(f"{shared_sandbox.url}/_sandbox/reset").raise_for_status()
    return shared_sandbox


@pytest.fixture
def client(sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url, headers=AUTH, timeout=10) as http:
        yield http


def path_of(endpoint: str, menu_id: str = "menu-1") -> str:
    if endpoint == "upload-images":
        return f"/api/menus/{menu_id}/upload-images"
    return f"/api/registration/{endpoint}"


def post(
    http: httpx.Client,
    endpoint: str,
    body: dict[str, Any],
    *,
    key: str | None = None,
    headers: dict[str, str] | None = None,
    **kwargs: Any,
) -> httpx.Response:
    extra = dict(headers or {})
    if key is not None:
        extra["Idempotency-Key"] = key
    return http.post(path_of(endpoint), json=body, headers=extra, **kwargs)


def state(http: httpx.Client) -> dict[str, Any]:
    return http.get("/_sandbox/state").json()


def calls(http: httpx.Client, **filters: str) -> list[dict[str, Any]]:
    return http.get("/_sandbox/calls", params=filters).json()


def add_fault(http: httpx.Client, **plan: Any) -> dict[str, Any]:
    response = http.post("/_sandbox/faults", json=plan)
    assert response.status_code == 200, response.text
    return response.json()


def account_body(rid: str = RID, email: str = EMAIL) -> dict[str, Any]:
    return {"restaurantId": rid, "email": email, "password": PASSWORD, "phone": "+6421000000"}


def restaurant_body(rid: str = RID, email: str = EMAIL, name: str = "Buzz Burgers") -> dict[str, Any]:
    return {
        "restaurantId": rid,
        "registrationType": "existing_account_first_restaurant",
        "email": email,
        "password": PASSWORD,
        "restaurantName": name,
        "city": "Auckland",
    }


def register(http: httpx.Client, rid: str = RID, email: str = EMAIL) -> dict[str, Any]:
    """A platform account (if needed) and one registered restaurant; returns the restaurant."""
    assert post(http, "register-account", account_body(rid, email)).status_code == 200
    response = post(http, "register-restaurant", restaurant_body(rid, email))
    assert response.status_code == 200, response.text
    return response.json()["restaurant"]


def import_menu(http: httpx.Client, rid: str = RID, menu: dict[str, Any] | None = None) -> httpx.Response:
    return post(http, "import-menu-direct", {"restaurantId": rid, "menuId": "menu-1", "menu": menu or MENU})


def restaurant_state(http: httpx.Client, rid: str = RID) -> dict[str, Any]:
    return state(http)["restaurants"][rid]


def assert_error(response: httpx.Response, status: int, fragment: str = "") -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    assert fragment in body["error"]


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


# --- settings and server ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        {"time_scale": 0},
        {"fault_rate_5xx": 1.5},
        {"fault_rate_429": -0.1},
        {"fault_rate_timeout": 2},
        {"jitter": -0.1},
        {"fault_rate_500": 0.1},
    ],
)
def test_settings_reject_out_of_range_and_unknown_values(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        SandboxSettings(**overrides)


def test_settings_defaults() -> None:
    settings = SandboxSettings()
    assert settings.service_key == "sandbox-service-key"
    assert (settings.time_scale, settings.jitter, settings.seed) == (1.0, 0.2, 0)
    assert (settings.fault_rate_5xx, settings.fault_rate_429, settings.fault_rate_timeout) == (0, 0, 0)
    assert (settings.retry_after_seconds, settings.hang_seconds, settings.async_upload_threshold) == (
        1.0,
        3600,
        10,
    )


def test_each_app_owns_its_state() -> None:
    first, second = create_app(), create_app()
    assert first.state.sandbox is not second.state.sandbox
    assert first.state.sandbox.world is not second.state.sandbox.world


def test_server_binds_a_real_port_and_stops(start: StartSandbox) -> None:
    sandbox = start()
    assert sandbox.port > 0
    assert sandbox.url == f"http://127.0.0.1:{sandbox.port}"
    assert httpx.get(f"{sandbox.url}/_sandbox/health").json() == {"ok": True}
    assert sandbox.app.state.sandbox.settings.time_scale == FAST
    sandbox.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{sandbox.url}/_sandbox/health")


def test_two_sandboxes_in_one_process_are_independent(start: StartSandbox) -> None:
    first, second = start(), start()
    assert first.port != second.port
    with (
        httpx.Client(base_url=first.url, headers=AUTH) as one,
        httpx.Client(base_url=second.url, headers=AUTH) as two,
    ):
        register(one)
        assert state(one)["side_effects"] == {"register-account": 1, "register-restaurant": 1}
        assert state(two)["side_effects"] == {}
        assert calls(two) == []


# --- auth, body and routing ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "fragment"),
    [
        ({}, "X-Service-Key"),
        ({"X-Service-Key": "wrong", "X-Organisation-ID": ORG}, "X-Service-Key"),
        ({"X-Service-Key": "sandbox-service-key"}, "X-Organisation-ID"),
        ({"X-Service-Key": "sandbox-service-key", "X-Organisation-ID": ""}, "X-Organisation-ID"),
    ],
)
def test_auth_is_required_on_every_api_route(
    sandbox: RunningSandbox, headers: dict[str, str], fragment: str
) -> None:
    with httpx.Client(base_url=sandbox.url, headers=headers) as http:
        assert_error(post(http, "register-account", account_body()), 401, fragment)
        assert_error(post(http, "upload-images", {"restaurantId": RID, "images": IMAGES}), 401, fragment)
        assert_error(http.get("/api/upload-batches/batch_x"), 401, fragment)
        assert state(http)["side_effects"] == {}
        assert [c["status_code"] for c in calls(http)] == [401, 401, 401]


def test_custom_service_key(start: StartSandbox) -> None:
    sandbox = start(service_key="other-key")
    with httpx.Client(base_url=sandbox.url) as http:
        assert_error(post(http, "register-account", account_body(), headers=AUTH), 401)
        headers = {"X-Service-Key": "other-key", "X-Organisation-ID": ORG}
        assert post(http, "register-account", account_body(), headers=headers).json()["success"] is True


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"{not json", "valid JSON"),
        (b"", "valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'"text"', "JSON object"),
    ],
)
def test_malformed_or_non_object_body_is_a_400(client: httpx.Client, content: bytes, fragment: str) -> None:
    response = client.post(
        path_of("register-account"), content=content, headers={"Content-Type": "application/json"}
    )
    assert_error(response, 400, fragment)


def test_body_over_5_mb_is_a_413(client: httpx.Client) -> None:
    padding = "x" * (5 * 1024 * 1024)
    response = client.post(
        path_of("register-account"),
        content=f'{{"restaurantId": "{RID}", "pad": "{padding}"}}'.encode(),
        headers={"Content-Type": "application/json"},
    )
    assert_error(response, 413)
    assert state(client)["side_effects"] == {}


def test_restaurant_id_is_required(client: httpx.Client) -> None:
    assert_error(
        post(client, "register-account", {"email": EMAIL, "password": PASSWORD}), 400, "restaurantId"
    )
    assert_error(post(client, "configure-services", {"restaurantId": 42}), 400, "restaurantId")


def test_unknown_routes_use_the_error_shape(client: httpx.Client) -> None:
    assert_error(post(client, "make-coffee", {"restaurantId": RID}), 404, "make-coffee")
    assert_error(client.get("/api/nothing-here"), 404)
    assert_error(client.get(path_of("register-account")), 405)


# --- endpoints: the happy path ---------------------------------------------------------------------


def test_full_registration_happy_path(client: httpx.Client) -> None:
    account = post(client, "register-account", account_body()).json()
    assert account["success"] is True
    assert account["message"] == "Account registered"
    assert account["account_id"].startswith("ACC")
    assert account["email"] == EMAIL

    code = post(
        client,
        "generate-code-injections",
        {
            "restaurantId": RID,
            "noGradient": False,
            "restaurantName": "Buzz Burgers",
            "primaryColor": "#FF6600",
            "secondaryColor": "#1a1a1a",
            "theme": "dark",
        },
    ).json()
    assert code["success"] is True
    assert code["codeInjectionId"].startswith("CI")
    assert code["generatedAt"]
    assert set(code["filePaths"]) == {"headInjection", "bodyInjection", "configuration"}
    assert code["filePaths"]["headInjection"] == "generated-code/buzz-burgers/head-injection.html"

    user = post(
        client,
        "create-onboarding-user",
        {"restaurantId": RID, "userName": "Olive Owner", "userEmail": "Olive@Example.com"},
    ).json()
    assert user == {
        "success": True,
        "userName": "Olive Owner",
        "userEmail": "Olive@Example.com",
        "passwordGenerated": True,
        "message": user["message"],
    }

    upload = post(client, "upload-images", {"restaurantId": RID, "images": IMAGES}).json()
    assert upload["success"] is True
    assert upload["mode"] == "synchronous"
    assert upload["stats"] == {"total": 2, "uploaded": 2}
    assert [r["url"] for r in upload["results"]] == IMAGES
    assert all(r["cdnUrl"].startswith("https://ucarecdn.com/") for r in upload["results"])

    restaurant = post(client, "register-restaurant", restaurant_body()).json()
    assert restaurant["success"] is True
    details = restaurant["restaurant"]
    assert details["registration_status"] == "completed"
    assert details["pumpd_subdomain"] == "buzzburgers"
    assert details["pumpd_restaurant_id"].startswith("RES") and len(details["pumpd_restaurant_id"]) == 11
    assert details["pumpd_restaurant_id"] in details["dashboard_url"]

    website = post(
        client,
        "configure-website",
        {
            "restaurantId": RID,
            "codeInjectionId": code["codeInjectionId"],
            "headerConfig": {"enabled": True, "backgroundSource": "cover_image_url"},
            "itemsConfig": {"layout": "list"},
            "textColorConfig": {"navText": "auto", "boxText": "auto"},
            "navLogoTintConfig": {"darkColor": None, "lightColor": None},
            "headerLogoTintConfig": {"darkColor": None, "lightColor": None},
        },
    ).json()
    assert website["success"] is True
    assert website["demoStoreUrl"] == "https://buzzburgers.pumpd.co.nz"
    assert website["uploadedLogoUrl"].startswith("https://ucarecdn.com/")

    assert post(client, "configure-services", {"restaurantId": RID}).json()["success"] is True

    payment = post(client, "configure-payment", {"restaurantId": RID, "includeConnectLink": True}).json()
    assert payment["success"] is True
    assert payment["includeConnectLink"] is True
    assert payment["stripeConnectUrl"].startswith("https://connect.stripe.com/setup/s/")

    imported = import_menu(client).json()
    assert imported == {
        "success": True,
        "message": "CSV import completed successfully",
        "itemsImported": 3,
        "imagesAttached": 2,
    }

    synced = post(
        client,
        "update-onboarding-record",
        {
            "restaurantId": RID,
            "userEmail": "olive@example.com",
            "contactPerson": "Olive Owner",
            "updates": {"stripeConnectUrl": payment["stripeConnectUrl"], "nzbn": ""},
        },
    ).json()
    assert synced["success"] is True
    assert synced["onboardingId"].startswith("ONB")
    assert synced["updatedFields"] == ["contact_person", "restaurant_id", "stripeConnectUrl"]

    option_sets = post(client, "add-option-sets", {"restaurantId": RID, "menuId": "menu-1"}).json()
    assert option_sets["success"] is True
    assert option_sets["summary"] == {"total": 2, "created": 2, "failed": 0}

    tags = post(client, "add-item-tags", {"restaurantId": RID, "menuId": "menu-1"}).json()
    assert tags["success"] is True
    # Burger: Popular + Spicy; Salad: Vegan + Gluten Free; "unknown" maps to nothing.
    assert tags["summary"] == {"total": 10, "created": 10, "failed": 0, "itemsAssigned": 4}

    world = state(client)
    assert world["restaurants"][RID] == {
        "org_id": ORG,
        "platform_restaurants": [details["pumpd_restaurant_id"]],
        "registrations": 1,
        "code_injections": 1,
        "website_runs": 1,
        "services_runs": 1,
        "services_enabled": True,
        "payment_methods": 1,
        "menu_imports": 1,
        "items_without_image": 0,
        "option_sets_created": 2,
        "tags_created": 10,
        "onboarding_updates": 1,
        "cdn_images": 2,
    }
    assert world["side_effects"] == {
        "register-account": 1,
        "generate-code-injections": 1,
        "create-onboarding-user": 1,
        "upload-images": 1,
        "register-restaurant": 1,
        "configure-website": 1,
        "configure-services": 1,
        "configure-payment": 1,
        "import-menu-direct": 1,
        "update-onboarding-record": 1,
        "add-option-sets": 1,
        "add-item-tags": 1,
    }
    assert world["duplicates"] == []
    assert world["onboarding_users"] == ["Olive@Example.com"]
    assert world["accounts"] == [
        {
            "org_id": ORG,
            "email": EMAIL,
            "account_id": account["account_id"],
            "restaurant_id": RID,
            "phone": "+6421000000",
        }
    ]
    assert world["in_flight"] == 0
    assert world["max_in_flight"] == 1


def test_payment_without_connect_link(client: httpx.Client) -> None:
    register(client)
    payment = post(client, "configure-payment", {"restaurantId": RID, "includeConnectLink": False}).json()
    assert payment["includeConnectLink"] is False
    assert payment["stripeConnectUrl"] is None


def test_onboarding_user_with_given_password(client: httpx.Client) -> None:
    body = {"restaurantId": RID, "userName": "O", "userEmail": "o@example.com", "userPassword": "Pw1!"}
    assert post(client, "create-onboarding-user", body).json()["passwordGenerated"] is False


def test_short_names_get_an_order_prefixed_subdomain(client: httpx.Client) -> None:
    post(client, "register-account", account_body())
    restaurant = post(client, "register-restaurant", restaurant_body(name="K.F.")).json()["restaurant"]
    assert restaurant["pumpd_subdomain"] == "order-kf"


def test_no_images_and_no_option_sets(client: httpx.Client) -> None:
    upload = post(client, "upload-images", {"restaurantId": RID, "images": []}).json()
    assert upload == {"success": True, "message": "No images to upload", "stats": {"total": 0, "uploaded": 0}}
    register(client)
    assert import_menu(client, menu={**MENU, "option_sets": []}).status_code == 200
    summary = post(client, "add-option-sets", {"restaurantId": RID, "menuId": "menu-1"}).json()
    assert summary["success"] is True
    assert summary["summary"] == {"total": 0, "created": 0, "failed": 0}
    assert restaurant_state(client)["option_sets_created"] == 0
    assert "upload-images" not in state(client)["side_effects"]


def test_account_already_registered_is_a_200_without_side_effect(client: httpx.Client) -> None:
    first = post(client, "register-account", account_body()).json()
    again = post(client, "register-account", account_body("job-2", EMAIL.upper()))
    assert again.status_code == 200
    assert again.json() == {
        "success": False,
        "error": "Account already registered",
        "account": {"email": EMAIL, "account_id": first["account_id"]},
    }
    assert state(client)["side_effects"] == {"register-account": 1}
    assert len(state(client)["accounts"]) == 1


def test_images_not_on_the_cdn_are_imported_without_image(client: httpx.Client) -> None:
    register(client)
    post(client, "upload-images", {"restaurantId": RID, "images": IMAGES[:1]})
    imported = import_menu(client).json()
    assert imported["itemsImported"] == 3
    assert imported["imagesAttached"] == 1
    assert restaurant_state(client)["items_without_image"] == 1


# --- validation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "body", "status", "fragment"),
    [
        ("register-account", {"restaurantId": RID, "email": EMAIL}, 400, "password"),
        ("register-account", {"restaurantId": RID, "password": PASSWORD, "email": "  "}, 400, "email"),
        (
            "generate-code-injections",
            {"restaurantId": RID, "primaryColor": "#FF6600"},
            400,
            "Restaurant colors not configured",
        ),
        (
            "generate-code-injections",
            {"restaurantId": RID, "primaryColor": "#FF6600", "secondaryColor": "red"},
            400,
            "Restaurant colors not configured",
        ),
        ("create-onboarding-user", {"restaurantId": RID, "userEmail": "a@b.c"}, 400, "userName"),
        ("upload-images", {"restaurantId": RID, "images": "https://x/y.jpg"}, 400, "images"),
        (
            "register-restaurant",
            {"restaurantId": RID, "email": EMAIL, "password": PASSWORD},
            400,
            "restaurantName",
        ),
        ("register-restaurant", restaurant_body(email="nobody@example.com"), 400, "No platform account for"),
        ("configure-website", {"restaurantId": RID, "codeInjectionId": "CI1"}, 400, "not registered"),
        ("configure-services", {"restaurantId": RID}, 400, "not registered"),
        ("configure-payment", {"restaurantId": RID}, 400, "not registered"),
        ("import-menu-direct", {"restaurantId": RID, "menu": MENU}, 400, "not registered"),
        (
            "update-onboarding-record",
            {"restaurantId": RID, "userEmail": "x@y.z"},
            404,
            "Onboarding user not found",
        ),
        ("add-option-sets", {"restaurantId": RID, "menuId": "menu-1"}, 400, "No menu imported"),
        ("add-item-tags", {"restaurantId": RID, "menuId": "menu-1"}, 400, "No menu imported"),
    ],
)
def test_validation_errors(
    client: httpx.Client, endpoint: str, body: dict[str, Any], status: int, fragment: str
) -> None:
    post(client, "register-account", account_body("other-job"))
    assert_error(post(client, endpoint, body), status, fragment)
    assert set(state(client)["side_effects"]) == {"register-account"}


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"codeInjectionId": "CI-not-mine"}, "Code injection not generated"),
        ({}, "Code injection not generated"),
        ({"codeInjectionId": "__real__", "headerConfig": "yes"}, "headerConfig must be an object"),
    ],
)
def test_configure_website_validation(client: httpx.Client, body: dict[str, Any], fragment: str) -> None:
    register(client)
    code = post(
        client,
        "generate-code-injections",
        {"restaurantId": RID, "primaryColor": "#000000", "secondaryColor": "#FFFFFF"},
    ).json()["codeInjectionId"]
    if body.get("codeInjectionId") == "__real__":
        body = {**body, "codeInjectionId": code}
    assert_error(post(client, "configure-website", {"restaurantId": RID, **body}), 400, fragment)
    assert restaurant_state(client)["website_runs"] == 0


@pytest.mark.parametrize(
    ("menu", "fragment"),
    [
        (None, "menu is required"),
        ({"id": "m", "categories": []}, "no items"),
        ({"id": "m", "categories": [{"name": "Empty", "items": []}]}, "no items"),
        ({"id": "m", "categories": [{"name": "C", "items": [{"name": "No price"}]}]}, "Invalid menu"),
    ],
)
def test_import_rejects_missing_or_empty_menus(client: httpx.Client, menu: Any, fragment: str) -> None:
    register(client)
    assert_error(post(client, "import-menu-direct", {"restaurantId": RID, "menu": menu}), 400, fragment)
    assert restaurant_state(client)["menu_imports"] == 0


def test_onboarding_user_email_is_unique_case_insensitively(client: httpx.Client) -> None:
    body = {"restaurantId": RID, "userName": "A", "userEmail": "Dup@Example.com"}
    assert post(client, "create-onboarding-user", body).status_code == 200
    again = post(client, "create-onboarding-user", {**body, "userEmail": "dup@example.COM"})
    assert_error(again, 400, "User already exists in onboarding system")
    assert state(client)["side_effects"] == {"create-onboarding-user": 1}


def test_state_is_scoped_by_organisation(client: httpx.Client) -> None:
    register(client)
    other = {"X-Organisation-ID": "org-2"}
    assert_error(
        post(client, "register-restaurant", restaurant_body(), headers=other), 400, "No platform account"
    )
    assert_error(
        post(client, "configure-services", {"restaurantId": RID}, headers=other), 400, "not registered"
    )
    # The same email is free in another organisation.
    assert post(client, "register-account", account_body(), headers=other).json()["success"] is True


# --- idempotency -----------------------------------------------------------------------------------


def test_same_key_replays_without_a_second_side_effect(client: httpx.Client) -> None:
    post(client, "register-account", account_body())
    first = post(client, "register-restaurant", restaurant_body(), key="reg-1")
    second = post(client, "register-restaurant", restaurant_body(), key="reg-1")
    assert first.status_code == second.status_code == 200
    assert "Idempotent-Replayed" not in first.headers
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    assert restaurant_state(client)["registrations"] == 1
    logged = calls(client, endpoint="register-restaurant")
    assert [c["replayed"] for c in logged] == [False, True]
    assert [c["idempotency_key"] for c in logged] == ["reg-1", "reg-1"]


def test_success_false_answers_are_replayed_too(client: httpx.Client) -> None:
    post(client, "register-account", account_body())
    first = post(client, "register-account", account_body(), key="acc-again")
    post(client, "register-account", account_body("job-2", "second@example.com"))
    second = post(client, "register-account", account_body(), key="acc-again")
    assert first.json()["error"] == "Account already registered"
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()


def test_same_key_with_a_different_body_is_a_422(client: httpx.Client) -> None:
    post(client, "register-account", account_body())
    assert post(client, "register-restaurant", restaurant_body(), key="k").status_code == 200
    changed = post(client, "register-restaurant", restaurant_body(name="Other Name"), key="k")
    assert_error(changed, 422, "different request")
    other_endpoint = post(client, "configure-services", {"restaurantId": RID}, key="k")
    assert_error(other_endpoint, 422)
    assert restaurant_state(client)["registrations"] == 1
    assert restaurant_state(client)["services_runs"] == 0


def test_same_key_while_the_first_is_executing_is_a_409(start: StartSandbox) -> None:
    sandbox = start(time_scale=0.01, jitter=0)  # register-restaurant takes ~1 s
    with httpx.Client(base_url=sandbox.url, headers=AUTH, timeout=10) as http:
        post(http, "register-account", account_body())
        results: dict[str, httpx.Response] = {}
        first = threading.Thread(
            target=lambda: results.setdefault(
                "first", post(http, "register-restaurant", restaurant_body(), key="k")
            )
        )
        first.start()
        wait_until(lambda: any(c["status_code"] is None for c in calls(http, endpoint="register-restaurant")))
        concurrent = post(http, "register-restaurant", restaurant_body(), key="k")
        assert concurrent.status_code == 409
        assert concurrent.json() == {
            "success": False,
            "error": "A request with this Idempotency-Key is in progress",
        }
        first.join()
        assert results["first"].status_code == 200
        replay = post(http, "register-restaurant", restaurant_body(), key="k")
        assert replay.headers["Idempotent-Replayed"] == "true"
        assert replay.json() == results["first"].json()
        assert restaurant_state(http)["registrations"] == 1


def test_errors_are_not_stored_so_a_retry_runs_again(client: httpx.Client) -> None:
    body = {"restaurantId": RID}
    assert_error(post(client, "configure-services", body, key="svc"), 400, "not registered")
    register(client)
    retried = post(client, "configure-services", body, key="svc")
    assert retried.status_code == 200
    assert "Idempotent-Replayed" not in retried.headers
    assert restaurant_state(client)["services_runs"] == 1


def test_keys_are_scoped_by_organisation(client: httpx.Client) -> None:
    assert post(client, "register-account", account_body(), key="same").json()["success"] is True
    other = post(
        client, "register-account", account_body(), key="same", headers={"X-Organisation-ID": "org-2"}
    )
    assert "Idempotent-Replayed" not in other.headers
    assert other.json()["success"] is True
    assert len(state(client)["accounts"]) == 2


def test_requests_without_a_key_are_never_deduplicated(client: httpx.Client) -> None:
    register(client)
    first = post(client, "register-restaurant", restaurant_body()).json()["restaurant"]
    world = state(client)
    platform_ids = world["restaurants"][RID]["platform_restaurants"]
    assert len(platform_ids) == 2 and len(set(platform_ids)) == 2
    assert first["pumpd_restaurant_id"] == platform_ids[-1]
    assert {"restaurant_id": RID, "endpoint": "register-restaurant", "count": 2, "org_id": ORG} in world[
        "duplicates"
    ]


# --- scripted faults -------------------------------------------------------------------------------


def test_scripted_500_then_retry_with_the_same_key_executes(client: httpx.Client) -> None:
    post(client, "register-account", account_body())
    plan = add_fault(client, endpoint="register-restaurant", fault="500")
    assert plan["id"] and plan["remaining"] == 1
    assert_error(post(client, "register-restaurant", restaurant_body(), key="r"), 500, "sandbox fault")
    assert state(client)["side_effects"] == {"register-account": 1}
    retried = post(client, "register-restaurant", restaurant_body(), key="r")
    assert retried.status_code == 200
    assert "Idempotent-Replayed" not in retried.headers
    assert restaurant_state(client)["registrations"] == 1
    assert [c["fault"] for c in calls(client, endpoint="register-restaurant")] == ["500", None]
    [listed] = client.get("/_sandbox/faults").json()
    assert (listed["id"], listed["used"], listed["remaining"]) == (plan["id"], 1, 0)


@pytest.mark.parametrize("status", ["503", "400"])
def test_scripted_error_statuses_happen_before_the_side_effect(client: httpx.Client, status: str) -> None:
    register(client)
    add_fault(client, endpoint="configure-payment", fault=status)
    assert_error(post(client, "configure-payment", {"restaurantId": RID}), int(status))
    assert restaurant_state(client)["payment_methods"] == 0


def test_scripted_429_carries_retry_after(start: StartSandbox) -> None:
    sandbox = start(retry_after_seconds=1.5)
    with httpx.Client(base_url=sandbox.url, headers=AUTH) as http:
        add_fault(http, endpoint="register-account", fault="429", retry_after=2.2)
        add_fault(http, endpoint="register-account", fault="429")
        limited = post(http, "register-account", account_body())
        assert_error(limited, 429)
        assert limited.headers["Retry-After"] == "3"
        default = post(http, "register-account", account_body())
        assert default.headers["Retry-After"] == str(math.ceil(1.5))
        assert state(http)["accounts"] == []
        assert post(http, "register-account", account_body()).json()["success"] is True


def test_timeout_fault_performs_the_side_effect_and_a_keyed_retry_gets_the_replay(
    start: StartSandbox,
) -> None:
    sandbox = start(hang_seconds=30)
    with httpx.Client(base_url=sandbox.url, headers=AUTH, timeout=10) as http:
        post(http, "register-account", account_body())
        add_fault(http, endpoint="register-restaurant", restaurant_id=RID, fault="timeout")
        with pytest.raises(httpx.ReadTimeout):
            post(http, "register-restaurant", restaurant_body(), key="reg", timeout=0.5)
        platform_ids = restaurant_state(http)["platform_restaurants"]
        assert len(platform_ids) == 1
        retry = post(http, "register-restaurant", restaurant_body(), key="reg")
        assert retry.status_code == 200
        assert retry.headers["Idempotent-Replayed"] == "true"
        assert retry.json()["restaurant"]["pumpd_restaurant_id"] == platform_ids[0]
        assert restaurant_state(http)["registrations"] == 1
        # The hung request ends once its client has gone, instead of holding a slot for 30 s.
        wait_until(lambda: calls(http, endpoint="register-restaurant")[0]["finished_at"] is not None)
        hung = calls(http, endpoint="register-restaurant")[0]
        assert (hung["fault"], hung["status_code"]) == ("timeout", 200)
        assert state(http)["in_flight"] == 0


def test_timeout_fault_without_a_key_duplicates_on_blind_retry(start: StartSandbox) -> None:
    sandbox = start(hang_seconds=30)
    with httpx.Client(base_url=sandbox.url, headers=AUTH, timeout=10) as http:
        register(http)
        add_fault(http, endpoint="configure-services", fault="timeout")
        with pytest.raises(httpx.ReadTimeout):
            post(http, "configure-services", {"restaurantId": RID}, timeout=0.5)
        assert post(http, "configure-services", {"restaurantId": RID}).status_code == 200
        restaurant = restaurant_state(http)
        assert restaurant["services_runs"] == 2
        assert restaurant["services_enabled"] is False  # toggled on, then back off
        assert {"restaurant_id": RID, "endpoint": "configure-services", "count": 2, "org_id": ORG} in state(
            http
        )["duplicates"]


def test_success_false_fault_answers_200_without_the_side_effect(client: httpx.Client) -> None:
    register(client)
    add_fault(client, endpoint="import-menu-direct", fault="success_false")
    add_fault(client, endpoint="configure-services", fault="success_false")
    imported = import_menu(client)
    assert imported.status_code == 200
    assert imported.json() == {"success": False, "message": "Import completed with warnings"}
    services = post(client, "configure-services", {"restaurantId": RID}, key="svc")
    assert services.json() == {"success": False, "message": "Configure services completed with warnings"}
    assert post(client, "configure-services", {"restaurantId": RID}, key="svc").headers["Idempotent-Replayed"]
    restaurant = restaurant_state(client)
    assert (restaurant["menu_imports"], restaurant["services_runs"]) == (0, 0)
    assert_error(post(client, "add-option-sets", {"restaurantId": RID, "menuId": "menu-1"}), 400, "No menu")


def test_garbage_fault_returns_html_and_is_not_stored(client: httpx.Client) -> None:
    add_fault(client, endpoint="register-account", fault="garbage")
    garbage = post(client, "register-account", account_body(), key="acc")
    assert garbage.status_code == 200
    assert garbage.headers["content-type"].startswith("text/html")
    assert garbage.text == "<html>Bad Gateway</html>"
    assert state(client)["accounts"] == []
    retried = post(client, "register-account", account_body(), key="acc")
    assert "Idempotent-Replayed" not in retried.headers
    assert retried.json()["success"] is True


def test_fault_plans_match_by_restaurant_and_are_consumed(client: httpx.Client) -> None:
    post(client, "register-account", account_body())
    add_fault(client, endpoint="register-restaurant", restaurant_id="job-a", fault="503", times=2)
    assert post(client, "register-restaurant", restaurant_body("job-b")).status_code == 200
    assert post(client, "register-restaurant", restaurant_body("job-a")).status_code == 503
    assert post(client, "register-restaurant", restaurant_body("job-a")).status_code == 503
    assert post(client, "register-restaurant", restaurant_body("job-a")).status_code == 200
    [plan] = client.get("/_sandbox/faults").json()
    assert (plan["endpoint"], plan["restaurant_id"], plan["fault"]) == ("register-restaurant", "job-a", "503")
    assert (plan["times"], plan["used"], plan["remaining"]) == (2, 2, 0)
    assert client.delete("/_sandbox/faults").json() == {"ok": True, "cleared": 1}
    assert client.get("/_sandbox/faults").json() == []


def test_upload_images_faults_use_the_path_suffix(client: httpx.Client) -> None:
    add_fault(client, endpoint="upload-images", fault="500")
    assert_error(post(client, "upload-images", {"restaurantId": RID, "images": IMAGES}), 500)
    assert post(client, "upload-images", {"restaurantId": RID, "images": IMAGES}).status_code == 200


@pytest.mark.parametrize(
    "plan",
    [
        {"endpoint": "register-restuarant", "fault": "500"},
        {"endpoint": "register-account", "fault": "418"},
        {"endpoint": "register-account", "fault": "500", "times": 0},
        {"endpoint": "register-account", "fault": "429", "retry_after": -1},
        {"fault": "500"},
    ],
)
def test_invalid_fault_plans_are_rejected(client: httpx.Client, plan: dict[str, Any]) -> None:
    assert_error(client.post("/_sandbox/faults", json=plan), 400, "Invalid fault plan")
    assert client.get("/_sandbox/faults").json() == []


# --- random faults ---------------------------------------------------------------------------------


def _random_run(sandbox: RunningSandbox, count: int = 40) -> tuple[list[int], list[str | None]]:
    with httpx.Client(base_url=sandbox.url, headers=AUTH) as http:
        statuses = [
            post(http, "register-account", account_body(f"job-{n}", f"owner{n}@example.com")).status_code
            for n in range(count)
        ]
        faults = [c["fault"] for c in calls(http)]
        accounts = len(state(http)["accounts"])
    # Only successful calls (including lost answers) created accounts; 503s and 429s did not.
    assert accounts == statuses.count(200)
    return statuses, faults


def test_random_faults_are_reproducible_from_the_seed(start: StartSandbox) -> None:
    rates = {"fault_rate_5xx": 0.25, "fault_rate_429": 0.2, "fault_rate_timeout": 0.2, "hang_seconds": 0}
    first = _random_run(start(seed=7, **rates))
    second = _random_run(start(seed=7, **rates))
    other = _random_run(start(seed=8, **rates))
    assert first == second
    assert first != other
    statuses, faults = first
    assert {200, 503, 429} <= set(statuses)
    assert "timeout" in faults
    assert [s for s, f in zip(statuses, faults, strict=True) if f == "timeout"] == [200] * faults.count(
        "timeout"
    )


def test_random_429_carries_the_default_retry_after(start: StartSandbox) -> None:
    sandbox = start(fault_rate_429=1.0, retry_after_seconds=0.2)
    with httpx.Client(base_url=sandbox.url, headers=AUTH) as http:
        limited = post(http, "register-account", account_body())
        assert_error(limited, 429)
        assert limited.headers["Retry-After"] == "1"
        # The control surface is never faulted.
        assert http.get("/_sandbox/health").status_code == 200
        assert http.get("/_sandbox/state").status_code == 200


def test_scripted_plans_take_precedence_over_random_faults(start: StartSandbox) -> None:
    sandbox = start(fault_rate_5xx=1.0)
    with httpx.Client(base_url=sandbox.url, headers=AUTH) as http:
        add_fault(http, endpoint="register-account", fault="400")
        assert post(http, "register-account", account_body()).status_code == 400
        assert post(http, "register-account", account_body()).status_code == 503


# --- async uploads ---------------------------------------------------------------------------------


def test_large_uploads_run_in_the_background_and_can_be_polled(start: StartSandbox) -> None:
    sandbox = start(time_scale=0.2, jitter=0, async_upload_threshold=3)  # 0.1 s per image
    images = [f"https://img.example/{n}.jpg" for n in range(5)]
    with httpx.Client(base_url=sandbox.url, headers=AUTH) as http:
        started = post(http, "upload-images", {"restaurantId": RID, "images": images}).json()
        assert started["success"] is True
        assert started["mode"] == "asynchronous"
        assert started["totalImages"] == 5
        assert started["progressUrl"] == f"/api/upload-batches/{started['batchId']}"

        first_poll = http.get(started["progressUrl"]).json()
        assert first_poll["batchId"] == started["batchId"]
        assert first_poll["status"] == "processing"
        assert first_poll["uploaded"] < 5 and first_poll["total"] == 5

        progress: list[int] = [first_poll["uploaded"]]

        def completed() -> bool:
            poll = http.get(started["progressUrl"]).json()
            progress.append(poll["uploaded"])
            return poll["status"] == "completed"

        wait_until(completed)
        assert progress == sorted(progress) and progress[-1] == 5
        done = http.get(started["progressUrl"]).json()
        assert [r["url"] for r in done["results"]] == images
        assert restaurant_state(http)["cdn_images"] == 5
        assert state(http)["side_effects"] == {"upload-images": 1}
        # Polls are logged but are not operations: no faults, no in-flight counting.
        assert {c["method"] for c in calls(http, endpoint="upload-batches")} == {"GET"}
        assert state(http)["max_in_flight_by_endpoint"] == {"upload-images": 1}


def test_upload_batches_are_private_to_their_organisation(start: StartSandbox) -> None:
    sandbox = start(async_upload_threshold=0)
    with httpx.Client(base_url=sandbox.url, headers=AUTH) as http:
        started = post(http, "upload-images", {"restaurantId": RID, "images": IMAGES}).json()
        assert started["mode"] == "asynchronous"
        assert http.get(started["progressUrl"]).status_code == 200
        assert_error(
            http.get(started["progressUrl"], headers={"X-Organisation-ID": "org-2"}), 404, "not found"
        )
        assert_error(http.get("/api/upload-batches/batch_unknown"), 404, "not found")


# --- observability ---------------------------------------------------------------------------------


def test_call_log_masks_passwords_and_filters(client: httpx.Client) -> None:
    register(client)
    post(
        client,
        "create-onboarding-user",
        {
            "restaurantId": "job-2",
            "userName": "U",
            "userEmail": "u@example.com",
            "userPassword": "TopSecret!",
        },
    )
    logged = calls(client)
    assert [c["seq"] for c in logged] == [1, 2, 3]
    assert PASSWORD not in str(logged) and "TopSecret!" not in str(logged)
    assert logged[0]["payload"]["password"] == "********"
    assert logged[2]["payload"]["userPassword"] == "********"
    entry = logged[1]
    assert set(entry) == {
        "seq",
        "method",
        "endpoint",
        "path",
        "org_id",
        "restaurant_id",
        "idempotency_key",
        "status_code",
        "replayed",
        "fault",
        "started_at",
        "finished_at",
        "payload",
    }
    assert (entry["method"], entry["endpoint"], entry["path"]) == (
        "POST",
        "register-restaurant",
        "/api/registration/register-restaurant",
    )
    assert (entry["org_id"], entry["restaurant_id"], entry["status_code"]) == (ORG, RID, 200)
    assert entry["finished_at"] >= entry["started_at"]
    assert [c["seq"] for c in calls(client, endpoint="register-restaurant")] == [2]
    assert [c["seq"] for c in calls(client, restaurant_id="job-2")] == [3]
    assert calls(client, endpoint="register-account", restaurant_id="job-2") == []


def test_duplicates_summary_lists_every_repeated_side_effect(client: httpx.Client) -> None:
    register(client)
    for _ in range(2):
        post(client, "configure-payment", {"restaurantId": RID})
        import_menu(client)
        post(client, "add-option-sets", {"restaurantId": RID, "menuId": "menu-1"})
        post(client, "add-item-tags", {"restaurantId": RID})
    world = state(client)
    restaurant = world["restaurants"][RID]
    assert restaurant["payment_methods"] == 2
    assert restaurant["menu_imports"] == 2
    assert restaurant["option_sets_created"] == 4
    assert restaurant["tags_created"] == 20
    counted = {(d["endpoint"], d["restaurant_id"], d["count"]) for d in world["duplicates"]}
    assert counted == {
        ("configure-payment", RID, 2),
        ("import-menu-direct", RID, 2),
        ("add-option-sets", RID, 2),
        ("add-item-tags", RID, 2),
    }


def test_concurrent_account_registrations_for_one_email_race_into_a_duplicate(start: StartSandbox) -> None:
    sandbox = start(time_scale=0.05, jitter=0)  # 0.3 s per account registration
    with httpx.Client(base_url=sandbox.url, headers=AUTH, timeout=10) as http:
        with ThreadPoolExecutor(2) as pool:
            responses = list(
                pool.map(lambda rid: post(http, "register-account", account_body(rid)), ["a", "b"])
            )
        assert [r.json()["success"] for r in responses] == [True, True]
        world = state(http)
        assert len(world["accounts"]) == 2
        [duplicate] = world["duplicates"]
        assert duplicate | {"restaurant_id": None} == {
            "restaurant_id": None,
            "endpoint": "register-account",
            "count": 2,
            "email": EMAIL,
            "org_id": ORG,
        }
        assert duplicate["restaurant_id"] in {"a", "b"}


async def test_many_concurrent_calls_are_served_concurrently(start: StartSandbox) -> None:
    sandbox = start(time_scale=0.1, jitter=0)  # 0.6 s per account registration
    async with httpx.AsyncClient(base_url=sandbox.url, headers=AUTH, timeout=10) as http:
        begun = time.monotonic()
        responses = await asyncio.gather(
            *(
                http.post(path_of("register-account"), json=account_body(f"job-{n}", f"o{n}@example.com"))
                for n in range(20)
            )
        )
        elapsed = time.monotonic() - begun
        world = (await http.get("/_sandbox/state")).json()
    assert all(r.status_code == 200 for r in responses)
    assert elapsed < 5  # 20 × 0.6 s = 12 s if they were served one by one
    assert world["max_in_flight"] == 20
    assert world["max_in_flight_by_endpoint"] == {"register-account": 20}
    assert world["in_flight"] == 0
    assert world["side_effects"] == {"register-account": 20}


def test_latency_follows_time_scale(start: StartSandbox) -> None:
    sandbox = start(time_scale=0.005, jitter=0)  # register-restaurant 99 s → ~0.5 s
    with httpx.Client(base_url=sandbox.url, headers=AUTH) as http:
        post(http, "register-account", account_body())
        begun = time.monotonic()
        post(http, "register-restaurant", restaurant_body())
        assert 0.45 < time.monotonic() - begun < 3


def test_reset_clears_state_calls_faults_and_keys(client: httpx.Client) -> None:
    register(client)
    post(client, "register-account", account_body("job-2", "x@example.com"), key="k")
    add_fault(client, endpoint="configure-services", fault="500")
    assert client.post("/_sandbox/reset").json() == {"ok": True}
    world = state(client)
    assert world["accounts"] == [] and world["restaurants"] == {} and world["onboarding_users"] == []
    assert world["side_effects"] == {} and world["duplicates"] == []
    assert world["max_in_flight"] == 0
    assert calls(client) == []
    assert client.get("/_sandbox/faults").json() == []
    again = post(client, "register-account", account_body("job-2", "x@example.com"), key="k")
    assert "Idempotent-Replayed" not in again.headers
    assert again.json()["success"] is True
