"""Each sub-step's HTTP request, built from the registration config as the original system sent it.

Besides the original's fields, requests carry what the platform's own database would have held (colours,
name, the menu itself), because yolobatch does not share that database with the platform.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, assert_never

from yolobatch.domain.config import RegistrationConfig, WebsiteSection
from yolobatch.domain.image_urls import check_image_url
from yolobatch.domain.menu import Menu
from yolobatch.domain.plan import PLAN, SubStep

S = SubStep


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    json: dict[str, Any]


# The only calls whose body carries the menu (its images, or the menu itself).
SENDS_MENU = frozenset({S.UPLOAD_IMAGES, S.MENU_IMPORT})

ENDPOINTS: dict[SubStep, str] = {spec.key: spec.endpoint for spec in PLAN}


def _tint(value: str) -> str | None:
    return None if value in ("none", "custom") else value


def _guarded(urls: list[str]) -> list[str]:
    """Every image URL the platform will fetch passes the SSRF rule; one bad URL refuses the call."""
    return [check_image_url(url) for url in urls]


def _optional_url(url: str | None) -> str | None:
    return check_image_url(url) if url else None


def _company(config: RegistrationConfig) -> dict[str, Any]:
    return config.company.model_dump(mode="json", by_alias=True, exclude_none=True)


# The fields below are sent alike to the sandbox contract and to the original service (§4.4).


def account_fields(config: RegistrationConfig) -> dict[str, Any]:
    account = config.account
    fields = {"email": account.email, "password": account.password.get_secret_value()}
    if account.phone:
        fields["phone"] = account.phone
    return fields


def onboarding_user_fields(config: RegistrationConfig) -> dict[str, Any]:
    onboarding = config.onboarding
    fields: dict[str, Any] = {"userName": onboarding.user_name, "userEmail": onboarding.user_email}
    if onboarding.user_password is not None and onboarding.user_password.get_secret_value():
        fields["userPassword"] = onboarding.user_password.get_secret_value()
    return fields


def registration_fields(config: RegistrationConfig) -> dict[str, Any]:
    account, restaurant = config.account, config.restaurant
    return {
        "registrationType": restaurant.registration_mode,
        "email": account.email,
        "password": account.password.get_secret_value(),
        "restaurantName": restaurant.name,
        "address": restaurant.address,
        "phone": restaurant.phone,
        "hours": [h.model_dump(by_alias=True) for h in restaurant.opening_hours],
        "city": restaurant.city,
    }


def website_display_fields(website: WebsiteSection, *, tint: Callable[[str], str | None]) -> dict[str, Any]:
    """Header, item layout, text colours and logo tints; `tint` maps a tint keyword to what is sent."""
    return {
        "headerConfig": {
            "enabled": website.configure_header,
            "backgroundSource": website.header_image_source,
        },
        "itemsConfig": {"layout": website.item_layout or "list"},
        "textColorConfig": {
            "navText": website.nav_text_color or "auto",
            "boxText": website.card_text_color or "auto",
        },
        "navLogoTintConfig": {
            "darkColor": tint(website.nav_logo_dark_tint),
            "lightColor": tint(website.nav_logo_light_tint),
        },
        "headerLogoTintConfig": {
            "darkColor": tint(website.header_logo_dark_tint),
            "lightColor": tint(website.header_logo_light_tint),
        },
    }


def build_request(
    key: SubStep, restaurant_id: str, config: RegistrationConfig, menu: Menu | None, context: dict[str, Any]
) -> Request:
    """The request for `key`. `context` holds non-secret results of the sub-step's dependencies."""
    restaurant, website = config.restaurant, config.website
    onboarding = config.onboarding
    menu_id = config.menu.selected_menu_id
    body: dict[str, Any] = {"restaurantId": restaurant_id}
    match key:
        case S.CLOUDWAITRESS_ACCOUNT:
            body |= account_fields(config)
        case S.CODE_GENERATION:
            body |= {
                "noGradient": website.disable_gradients,
                "restaurantName": restaurant.name,
                "primaryColor": website.primary_color,
                "secondaryColor": website.secondary_color,
                "theme": website.theme,
                "cuisines": list(website.cuisines),
            }
        case S.CREATE_ONBOARDING_USER:
            body |= onboarding_user_fields(config)
        case S.UPLOAD_IMAGES:
            body["images"] = _guarded(menu.image_urls() if menu else [])
        case S.RESTAURANT_REGISTRATION:
            body |= registration_fields(config)
        case S.WEBSITE_CONFIG:
            body |= {
                "codeInjectionId": context.get("codeInjectionId"),
                "filePaths": context.get("filePaths"),
                "restaurantName": restaurant.name,
                "address": restaurant.address,
                "phone": restaurant.phone,
                "theme": website.theme,
                "primaryColor": website.primary_color,
                "secondaryColor": website.secondary_color,
                "cuisines": list(website.cuisines),
                "logoUrl": _optional_url(website.logo_url),
                "faviconUrl": _optional_url(website.favicon_url),
                **website_display_fields(website, tint=_tint),
            }
            body["headerConfig"]["imageUrl"] = _optional_url(website.header_image_url)
        case S.SERVICES_CONFIG:
            pass
        case S.PAYMENT_CONFIG:
            body["includeConnectLink"] = config.payment.include_stripe_link
        case S.MENU_IMPORT:
            if menu:
                _guarded(menu.image_urls())
            body |= {"menuId": menu_id, "menu": menu.model_dump(mode="json") if menu else None}
        case S.SYNC_ONBOARDING_USER:
            # The original raced payment and website for these two values; here they are dependencies.
            updates = {
                "stripeConnectUrl": context.get("stripeConnectUrl"),
                "hostedLogoUrl": context.get("uploadedLogoUrl"),
            }
            body |= {
                "userEmail": onboarding.user_email,
                "contactPerson": onboarding.user_name,
                "updates": {k: v for k, v in updates.items() if v},
                "company": _company(config),
            }
        case S.OPTION_SETS | S.ITEM_TAGS:
            body["menuId"] = menu_id
        case _:
            # A call added to the plan without its request here: mypy names it, and it never goes out
            # with an empty body.
            assert_never(key)
    return Request("POST", ENDPOINTS[key].format(menu_id=menu_id), body)


# Fields of a response that dependents need; everything else stays in the activity.
CONTEXT_FIELDS: dict[SubStep, tuple[str, ...]] = {
    S.CODE_GENERATION: ("codeInjectionId", "filePaths"),
    S.WEBSITE_CONFIG: ("uploadedLogoUrl", "demoStoreUrl"),
    S.PAYMENT_CONFIG: ("stripeConnectUrl",),
}


def context_from_response(key: SubStep, body: dict[str, Any]) -> dict[str, Any]:
    result = {name: body[name] for name in CONTEXT_FIELDS.get(key, ()) if body.get(name) is not None}
    if key == S.RESTAURANT_REGISTRATION and isinstance(body.get("restaurant"), dict):
        result["platformRestaurantId"] = body["restaurant"].get("pumpd_restaurant_id")
    return result
