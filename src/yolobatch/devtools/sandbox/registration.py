"""Registration operations: platform account and restaurant, code injection, settings, onboarding."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from yolobatch.devtools.sandbox.catalog import ADMIN_URL, CDN_URL, NOMINAL_SECONDS
from yolobatch.devtools.sandbox.protocol import NOT_REGISTERED, Call, Handler, Reply, fail, ok
from yolobatch.devtools.sandbox.state import ACCOUNT_ENDPOINT, PlatformRestaurant, RestaurantRecord

WEBSITE_CONFIG_KEYS = (
    "headerConfig",
    "itemsConfig",
    "textColorConfig",
    "navLogoTintConfig",
    "headerLogoTintConfig",
)


def subdomain_for(name: str) -> str:
    """The original script's rule: lowercase alphanumerics of the name, `order-` prefixed when short."""
    core = re.sub(r"[^a-z0-9]", "", name.lower())
    return core if len(core) >= 4 else f"order-{core}"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "restaurant"


def _is_hex_colour(value: Any) -> bool:
    return isinstance(value, str) and re.fullmatch(r"#[0-9A-Fa-f]{6}", value) is not None


async def register_account(call: Call) -> Reply:
    email, password = call.text("email"), call.text("password")
    if email is None or password is None:
        return fail(400, "email and password are required")
    existing = call.world.find_account(call.org_id, email)
    if existing is not None:
        return Reply(
            200,
            {
                "success": False,
                "error": "Account already registered",
                "account": {"email": existing.email, "account_id": existing.account_id},
            },
        )
    # Checked before the slow upstream call and not again after it, as in the original: two
    # concurrent registrations of one email both create an account (the duplicates report shows it).
    await call.work(NOMINAL_SECONDS[call.endpoint])
    async with call.world.lock:
        account = call.world.add_account(call.org_id, email, call.restaurant_id, call.text("phone"))
        call.effect(subject=email.lower())
    return ok(message="Account registered", account_id=account.account_id, email=account.email)


async def generate_code_injections(call: Call) -> Reply:
    if not (
        _is_hex_colour(call.body.get("primaryColor")) and _is_hex_colour(call.body.get("secondaryColor"))
    ):
        return fail(400, "Restaurant colors not configured")
    await call.work(NOMINAL_SECONDS[call.endpoint])
    async with call.world.lock:
        record = call.world.ensure_restaurant(call.org_id, call.restaurant_id)
        # An upsert: the id is that of the restaurant's row, stable across regenerations.
        record.code_injection_id = record.code_injection_id or call.world.new_id("CI")
        record.code_injections += 1
        call.effect()
    folder = f"generated-code/{_slug(call.text('restaurantName') or call.restaurant_id)}"
    return ok(
        message="Code injections generated",
        codeInjectionId=record.code_injection_id,
        generatedAt=datetime.now(UTC).isoformat(),
        filePaths={
            "headInjection": f"{folder}/head-injection.html",
            "bodyInjection": f"{folder}/body-injection.html",
            "configuration": f"{folder}/configuration.json",
        },
    )


async def create_onboarding_user(call: Call) -> Reply:
    name, email = call.text("userName"), call.text("userEmail")
    if name is None or email is None:
        return fail(400, "userName and userEmail are required")
    if call.world.onboarding_user(call.org_id, email) is not None:
        return fail(400, "User already exists in onboarding system")
    await call.work(NOMINAL_SECONDS[call.endpoint])
    async with call.world.lock:
        call.world.add_onboarding_user(call.org_id, email, name, call.restaurant_id)
        call.effect()
    return ok(
        userName=name,
        userEmail=email,
        passwordGenerated=call.text("userPassword") is None,
        message="Onboarding user created",
    )


async def register_restaurant(call: Call) -> Reply:
    name, email, password = call.text("restaurantName"), call.text("email"), call.text("password")
    if name is None or email is None or password is None:
        return fail(400, "restaurantName, email and password are required")
    if call.world.find_account(call.org_id, email) is None:
        return fail(400, f"No platform account for {email}")
    await call.work(NOMINAL_SECONDS[call.endpoint])
    async with call.world.lock:
        record = call.world.ensure_restaurant(call.org_id, call.restaurant_id)
        # Deliberately a new platform restaurant on every execution: the original's worst hazard.
        platform = PlatformRestaurant(call.world.new_id("RES"), subdomain_for(name), name)
        record.platform_restaurants.append(platform)
        call.effect()
    return ok(
        message="Restaurant registered",
        restaurant={
            "pumpd_restaurant_id": platform.platform_id,
            "pumpd_subdomain": platform.subdomain,
            "dashboard_url": f"{ADMIN_URL}/restaurants/{platform.platform_id}",
            "registration_status": "completed",
        },
    )


async def configure_website(call: Call) -> Reply:
    record = call.registered_restaurant()
    if record is None:
        return fail(400, NOT_REGISTERED)
    for key in WEBSITE_CONFIG_KEYS:
        if call.body.get(key) is not None and not isinstance(call.body[key], dict):
            return fail(400, f"{key} must be an object")
    code_injection_id = call.text("codeInjectionId")
    if code_injection_id is None or code_injection_id != record.code_injection_id:
        return fail(400, "Code injection not generated for this restaurant")
    await call.work(NOMINAL_SECONDS[call.endpoint])
    async with call.world.lock:
        record.website_runs += 1
        logo_id = call.world.new_id("", 32)
        call.effect()
    subdomain = record.current.subdomain if record.current else subdomain_for(call.restaurant_id)
    return ok(
        message="Website settings configured",
        uploadedLogoUrl=f"{CDN_URL}/{logo_id}/logo.png",
        demoStoreUrl=f"https://{subdomain}.pumpd.co.nz",
    )


async def configure_services(call: Call) -> Reply:
    record = call.registered_restaurant()
    if record is None:
        return fail(400, NOT_REGISTERED)
    await call.work(NOMINAL_SECONDS[call.endpoint])
    async with call.world.lock:
        # The original clicks toggles instead of setting them: running it twice switches them back off.
        record.services_enabled = not record.services_enabled
        record.services_runs += 1
        call.effect()
    return ok(message="Services configured")


async def configure_payment(call: Call) -> Reply:
    record = call.registered_restaurant()
    if record is None:
        return fail(400, NOT_REGISTERED)
    include_link = call.body.get("includeConnectLink")
    if include_link is not None and not isinstance(include_link, bool):
        return fail(400, "includeConnectLink must be a boolean")
    await call.work(NOMINAL_SECONDS[call.endpoint])
    async with call.world.lock:
        # No existence check in the original: every run adds another Stripe payment method.
        record.payment_methods += 1
        link_id = call.world.new_id("", 16)
        call.effect()
    return ok(
        message="Stripe payments configured",
        includeConnectLink=bool(include_link),
        stripeConnectUrl=f"https://connect.stripe.com/setup/s/{link_id}" if include_link else None,
    )


def _onboarding_fields(call: Call, record: RestaurantRecord, updates: dict[str, Any]) -> dict[str, Any]:
    """Only non-empty values are written, like the original's update builder."""
    fields: dict[str, Any] = {key: value for key, value in updates.items() if value not in (None, "", [], {})}
    contact_person = call.text("contactPerson")
    if contact_person is not None:
        fields["contact_person"] = contact_person
    if record.current is not None:
        fields["restaurant_id"] = record.current.platform_id
    return fields


async def update_onboarding_record(call: Call) -> Reply:
    email = call.text("userEmail")
    if email is None:
        return fail(400, "userEmail is required")
    updates = call.body.get("updates") or {}
    if not isinstance(updates, dict):
        return fail(400, "updates must be an object")
    user = call.world.onboarding_user(call.org_id, email)
    if user is None:
        return fail(404, "Onboarding user not found")
    await call.work(NOMINAL_SECONDS[call.endpoint])
    async with call.world.lock:
        record = call.world.ensure_restaurant(call.org_id, call.restaurant_id)
        fields = _onboarding_fields(call, record, updates)
        record.onboarding_record = {"onboarding_id": user.onboarding_id, **fields}
        record.onboarding_updates += 1
        call.effect()
    return ok(
        onboardingId=user.onboarding_id, message="Onboarding record updated", updatedFields=sorted(fields)
    )


HANDLERS: dict[str, Handler] = {
    ACCOUNT_ENDPOINT: register_account,
    "generate-code-injections": generate_code_injections,
    "create-onboarding-user": create_onboarding_user,
    "register-restaurant": register_restaurant,
    "configure-website": configure_website,
    "configure-services": configure_services,
    "configure-payment": configure_payment,
    "update-onboarding-record": update_onboarding_record,
}
