"""What the operator needs from step 6, read out of the sub-steps' answers (reference §4.4).

Both contracts answer these operations with the same fields (docs/platform-contract.yaml follows the
original service's shapes), so one reader serves both. Pure: the body in, the outputs it names out; a
field the answer does not carry is simply absent, never invented.
"""

from __future__ import annotations

from typing import Any

from yolobatch.domain.outputs import Outputs
from yolobatch.domain.plan import SubStep

S = SubStep


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _https_url(value: Any) -> str | None:
    # Links are shown as links and exported: only web addresses, never javascript: or data: ones.
    text = _text(value)
    return text if text is not None and text.lower().startswith(("https://", "http://")) else None


def outputs_from_response(key: SubStep, body: dict[str, Any] | None) -> Outputs:
    """The outputs a successful answer of `key` carries."""
    if not isinstance(body, dict):
        return Outputs()
    if key == S.CLOUDWAITRESS_ACCOUNT:
        # "Account already registered" answers with the existing account nested (counted as success).
        account = _object(body.get("account")) or body
        return Outputs(
            account_email=_text(account.get("email")) or _text(body.get("email")),
            account_id=_text(account.get("account_id")) or _text(body.get("account_id")),
        )
    if key == S.RESTAURANT_REGISTRATION:
        restaurant = body.get("restaurant")
        if not isinstance(restaurant, dict):
            return Outputs()
        subdomain = _text(restaurant.get("pumpd_subdomain"))
        return Outputs(
            platform_restaurant_id=_text(restaurant.get("pumpd_restaurant_id")),
            subdomain=subdomain,
            # The original stores the full URL when it has one; the demo store answers there.
            demo_store_url=_https_url(restaurant.get("pumpd_full_url")),
            dashboard_url=_https_url(restaurant.get("dashboard_url")),
        )
    if key == S.WEBSITE_CONFIG:
        return Outputs(
            demo_store_url=_https_url(body.get("demoStoreUrl")),
            logo_url=_https_url(body.get("uploadedLogoUrl")),
        )
    if key == S.PAYMENT_CONFIG:
        return Outputs(stripe_connect_url=_https_url(body.get("stripeConnectUrl")))
    if key == S.CREATE_ONBOARDING_USER:
        return Outputs(onboarding_user_email=_text(body.get("userEmail")))
    if key == S.SYNC_ONBOARDING_USER:
        return Outputs(onboarding_user_id=_text(body.get("onboardingId")))
    return Outputs()


def outputs_from_status_read(body: dict[str, Any] | None) -> Outputs:
    """The outputs the original's `GET /api/registration/status/:rid` answer carries (reference §6.3):
    after an ambiguous call verified as done there is no answer of the call itself to read them from."""
    if not isinstance(body, dict):
        return Outputs()
    account = _object(body.get("account"))
    restaurant = _object(body.get("pumpdRestaurant"))
    return Outputs(
        account_email=_text(account.get("email")),
        account_id=_text(account.get("account_id")) or _text(account.get("pumpd_user_id")),
        platform_restaurant_id=_text(restaurant.get("pumpd_restaurant_id")),
        subdomain=_text(restaurant.get("pumpd_subdomain")),
        demo_store_url=_https_url(restaurant.get("pumpd_full_url")),
        dashboard_url=_https_url(restaurant.get("dashboard_url")),
    )
