"""Each sub-step's request to the ORIGINAL registration service, exactly as the original sent it.

That service loads the restaurant (colours, logo, header, cuisine, menu, company data) from its own
database by its own ids, so the body carries only what §4.4 names, and `restaurantId` / the menu id are
the platform's ids from the config. An id the config lacks is never made up: the call is refused.
"""

from __future__ import annotations

from typing import Any, assert_never

from yolobatch.domain.config import RegistrationConfig
from yolobatch.domain.plan import SubStep
from yolobatch.integrations.registration.payloads import (
    ENDPOINTS,
    Request,
    account_fields,
    onboarding_user_fields,
    registration_fields,
    website_display_fields,
)

S = SubStep

# The calls that name a menu of the platform's (§4.4 (4), (9), (11), (12)).
NEEDS_MENU_ID = frozenset({S.UPLOAD_IMAGES, S.MENU_IMPORT, S.OPTION_SETS, S.ITEM_TAGS})


class MissingPlatformId(ValueError):
    """The config lacks an id the original service needs; retrying cannot help, a person must add it."""


def platform_ids(key: SubStep, config: RegistrationConfig) -> tuple[str, str | None]:
    restaurant_id = config.platform_restaurant_id
    if not restaurant_id:
        raise MissingPlatformId(
            f"{key}: the original platform needs its own restaurant id; set platformRestaurantId in the "
            "restaurant's config (yolobatch never invents one)"
        )
    menu_id = config.platform_menu_id
    if key in NEEDS_MENU_ID and not menu_id:
        raise MissingPlatformId(
            f"{key}: the original platform needs its own menu id; set platformMenuId in the config"
        )
    return restaurant_id, menu_id


def _tint(value: str) -> str | None:
    return None if value == "none" else value


def build_original_request(key: SubStep, config: RegistrationConfig, context: dict[str, Any]) -> Request:
    """The request for `key`; `context` holds non-secret results of the sub-step's dependencies."""
    restaurant_id, menu_id = platform_ids(key, config)
    website, onboarding = config.website, config.onboarding
    body: dict[str, Any] = {"restaurantId": restaurant_id}
    match key:
        case S.CLOUDWAITRESS_ACCOUNT:
            body |= account_fields(config)
        case S.CODE_GENERATION:
            body["noGradient"] = website.disable_gradients
        case S.CREATE_ONBOARDING_USER:
            body |= onboarding_user_fields(config)
        case S.UPLOAD_IMAGES:
            # §4.4 (4): body `{}`; the menu is named in the path.
            body = {}
        case S.RESTAURANT_REGISTRATION:
            body |= registration_fields(config)
        case S.WEBSITE_CONFIG:
            body |= {
                "codeInjectionId": context.get("codeInjectionId"),
                "filePaths": context.get("filePaths"),
                **website_display_fields(website, tint=_tint),
            }
        case S.SERVICES_CONFIG:
            pass
        case S.PAYMENT_CONFIG:
            body["includeConnectLink"] = config.payment.include_stripe_link
        case S.MENU_IMPORT | S.OPTION_SETS | S.ITEM_TAGS:
            body["menuId"] = menu_id
        case S.SYNC_ONBOARDING_USER:
            body |= {"userEmail": onboarding.user_email, "contactPerson": onboarding.user_name}
            # §4.4 (10): an optional `updates.stripeConnectUrl` is accepted (the batch never sent it).
            if context.get("stripeConnectUrl"):
                body["updates"] = {"stripeConnectUrl": context["stripeConnectUrl"]}
        case _:
            # A call added to the plan without its request here: mypy names it, and it never goes out
            # with an empty body.
            assert_never(key)
    return Request("POST", ENDPOINTS[key].format(menu_id=menu_id), body)
