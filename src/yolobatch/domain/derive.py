"""Step 5: the registration config derived from what steps 1-4 found (the original system's defaults).

Pure: the caller passes a freshly generated password, so the same inputs always derive the same config.
Values staff typed win over extracted ones, which win over the registry's published ones.
"""

from __future__ import annotations

import secrets
import string
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from yolobatch.domain.config import RegistrationConfig
from yolobatch.domain.image_urls import is_safe_image_url
from yolobatch.domain.phone import normalise_phone

if TYPE_CHECKING:
    from yolobatch.domain.company import CompanyDetails
    from yolobatch.domain.extraction import Branding, ExtractionResult

DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def generate_password(length: int = 20) -> str:
    """A strong random password (the original derived it from the restaurant's name: guessable)."""
    alphabet = string.ascii_letters + string.digits
    while True:
        body = "".join(secrets.choice(alphabet) for _ in range(length - 2))
        if (
            any(c.isupper() for c in body)
            and any(c.islower() for c in body)
            and any(c.isdigit() for c in body)
        ):
            return body + secrets.choice("!#%+=") + secrets.choice(string.digits)


def _first(*values: Any) -> Any:
    return next((v for v in values if v not in (None, "", [])), None)


def derive_config(
    name: str,
    facts: dict[str, str],
    extraction: ExtractionResult | None,
    company: CompanyDetails | None,
    menu_id: str | None,
    password: str,
    country: str = "NZ",
) -> tuple[dict[str, Any], list[str]]:
    """The config as wire JSON (camelCase, secrets in clear) and the warnings a reviewer should see.
    `country` reads phone numbers written without a country code."""
    warnings: list[str] = []
    contact = extraction.contact if extraction else None
    branding = extraction.branding if extraction else None
    email = _first(facts.get("email"), contact and contact.email, company and company.email)
    phone = _first(facts.get("phone"), contact and contact.phone, company and company.phone)
    if phone:
        phone, doubt = normalise_phone(phone, country)
        if doubt:
            warnings.append(doubt)
    address = _first(
        facts.get("address"), contact and contact.address, company and company.registered_address
    )
    city = _first(facts.get("city"), contact and contact.city)
    contact_person = _first(company and company.contact_person, name)
    if not email:
        warnings.append("No email found: enter the owner's email before approving")
    primary = branding.primary_color if branding else None
    secondary = branding.secondary_color if branding else None
    if not (primary and secondary):
        warnings.append("Brand colours not found: defaulted to black and white")
    theme = (branding.theme if branding else None) or "dark"
    hours = [
        {"day": h.day, "open": h.open, "close": h.close}
        for h in (extraction.opening_hours if extraction else [])
        if h.day in DAYS
    ]
    if extraction is not None:
        warnings += [f"Extraction: {w.message}" for w in extraction.warnings]
    if menu_id is None:
        warnings.append("No menu: menu import, option sets and item tags will be skipped")
    config: dict[str, Any] = {
        "account": {"registerNewUser": True, "email": email, "password": password, "phone": phone},
        "restaurant": {
            "registrationMode": "existing_account_first_restaurant",
            "name": name,
            "phone": phone,
            "address": address,
            "city": city,
            "openingHours": hours,
        },
        "menu": {"selectedMenuId": menu_id, "uploadImages": True, "addOptionSets": True, "addItemTags": True},
        "website": {
            "theme": theme,
            "primaryColor": primary or "#000000",
            "secondaryColor": secondary or "#FFFFFF",
            "configureHeader": bool(branding and branding.cover_image_url),
            "navTextColor": "white"
            if ((branding.theme if branding else None) or "dark") == "dark"
            else "secondary",
            "cardTextColor": "white",
            "itemLayout": "card",
            **_image_urls(branding, warnings),
        },
        "payment": {"includeStripeLink": False},
        "company": _company_section(company),
        "onboarding": {
            "createOnboardingUser": bool(email),
            "syncOnboardingRecord": bool(email),
            "userName": contact_person,
            "userEmail": email,
            "userPassword": password,
        },
    }
    return config, warnings


def _image_urls(branding: Branding | None, warnings: list[str]) -> dict[str, str]:
    """Only URLs the platform may be sent; a local one (a test store page) is left out, warned."""
    if branding is None:
        return {}
    found = {
        "logoUrl": branding.logo_url,
        "faviconUrl": branding.favicon_url,
        "headerImageUrl": branding.cover_image_url,
    }
    kept = {}
    for key, url in found.items():
        if url and is_safe_image_url(url):
            kept[key] = url
        elif url:
            warnings.append(f"website.{key} {url!r} is not a public http(s) URL: not sent to the platform")
    return kept


def _company_section(company: CompanyDetails | None) -> dict[str, Any]:
    if company is None:
        return {}
    fields = {
        "legalName": company.legal_name,
        "companyNumber": company.company_number,
        "nzbn": company.nzbn,
        "gstNumber": company.gst_number,
        "directorName": company.contact_person,
        "contactPhone": company.phone,
    }
    return {key: value for key, value in fields.items() if value}


def validate_config(wire: dict[str, Any]) -> tuple[RegistrationConfig | None, list[str]]:
    """The config, or the reasons it cannot be approved (field path and message, secrets never echoed)."""
    try:
        return RegistrationConfig.model_validate(wire), []
    except ValidationError as exc:
        errors = [
            f"{'.'.join(str(p) for p in e['loc']) or 'config'}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)
        ]
        return None, errors


# Fields that describe one restaurant; "copy to all" keeps each target's own values for these.
PER_RESTAURANT = {
    "account": ("email", "password", "phone", "registerNewUser"),
    "restaurant": ("name", "phone", "address", "city", "subdomain", "openingHours"),
    "menu": ("selectedMenuId",),
    "onboarding": ("userName", "userEmail", "userPassword"),
}


def copy_config(source: dict[str, Any], target: dict[str, Any]) -> dict[str, Any]:
    """`source`'s settings applied to `target`, keeping the target's per-restaurant fields (as the
    original's step 5 "Copy to All" did, which regenerated them from each restaurant)."""
    result: dict[str, Any] = {}
    for section, values in source.items():
        if not isinstance(values, dict):
            result[section] = values
            continue
        own = PER_RESTAURANT.get(section, ())
        mine = target.get(section) or {}
        result[section] = {k: (mine.get(k) if k in own else v) for k, v in values.items()}
        for key in own:
            if key in mine:
                result[section][key] = mine[key]
    return result
