"""Helpers the platform parsers share: minor-unit prices, selection limits, paths into nested JSON."""

from __future__ import annotations

import html
from decimal import Decimal
from typing import Any

from yolobatch.integrations.extraction.cleaning import quantize

# ISO 4217 minor-unit digits where they are not 2; platforms store prices as integers of these units.
MINOR_DIGITS = {"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3, "JPY": 0, "KRW": 0}
# The currency of a store's country, for pages whose prices show only "$12.99" (platforms' state, sites).
COUNTRY_CURRENCY = {
    "AE": "AED", "AT": "EUR", "AU": "AUD", "BE": "EUR", "BH": "BHD", "BR": "BRL", "CA": "CAD", "CH": "CHF",
    "DE": "EUR", "DK": "DKK", "EG": "EGP", "ES": "EUR", "FI": "EUR", "FR": "EUR", "GB": "GBP", "GR": "EUR",
    "HK": "HKD", "IE": "EUR", "IN": "INR", "IT": "EUR", "JO": "JOD", "JP": "JPY", "KW": "KWD", "LU": "EUR",
    "MX": "MXN", "MY": "MYR", "NL": "EUR", "NO": "NOK", "NZ": "NZD", "OM": "OMR", "PL": "PLN", "PT": "EUR",
    "QA": "QAR", "SA": "SAR", "SE": "SEK", "SG": "SGD", "TR": "TRY", "UK": "GBP", "US": "USD", "ZA": "ZAR",
}  # fmt: skip
# Regions some platforms put in a location where an address line is expected.
PLATFORM_REGIONS = frozenset({"EMEA", "NAMER", "LATAM", "APAC", "APACX", "ANZ", "EU", "NA"})


def path(value: Any, *keys: str | int) -> Any:
    for key in keys:
        if isinstance(key, int):
            value = value[key] if isinstance(value, list) and -len(value) <= key < len(value) else None
        elif isinstance(value, dict):
            value = value.get(key)
        else:
            return None
    return value


def minor_units(amount: object, currency: str | None) -> Decimal | None:
    """An integer of the currency's minor units (Deliveroo `fractional`, Uber Eats `price`) as money."""
    if isinstance(amount, bool) or not isinstance(amount, int | float) or amount < 0:
        return None
    digits = MINOR_DIGITS.get((currency or "").upper(), 2)
    return quantize(Decimal(str(amount)).scaleb(-digits))


def major_units(amount: object) -> Decimal | None:
    """A number already in major units (Talabat `price: 35` is AED 35)."""
    if isinstance(amount, bool) or not isinstance(amount, int | float) or amount < 0:
        return None
    return quantize(Decimal(str(amount)))


def selection_limit(maximum: object, option_count: int) -> int | None:
    """A group's maximum; platforms write "no limit" as 0 (or leave it out), which allows every option."""
    if isinstance(maximum, int) and not isinstance(maximum, bool) and maximum > 0:
        return maximum
    return max(option_count, 1)


def as_dict(value: object) -> dict[str, Any]:
    """`value` if the page gave an object there, else an empty one (pages omit and reshape fields)."""
    return value if isinstance(value, dict) else {}


def as_int(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def unescape(value: object) -> str | None:
    """Text with HTML entities decoded: platforms escape some strings inside their JSON (`&amp;`)."""
    if not isinstance(value, str):
        return None
    return html.unescape(value)


def image_url(value: object) -> str | None:
    """An absolute image URL; Deliveroo's carry `{w}`/`{h}` size placeholders a browser fills in."""
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        return None
    url = html.unescape(value)
    return url.replace("{w}", "800").replace("{h}", "600")


def address(*parts: object) -> str | None:
    """Address parts joined, without blanks, repeats or platform region codes ("EMEA", "NAMER")."""
    seen: list[str] = []
    for part in parts:
        text = " ".join(str(part).split()) if isinstance(part, str | int) else ""
        if not text or text.upper() in PLATFORM_REGIONS or text.casefold() in (s.casefold() for s in seen):
            continue
        seen.append(text)
    return ", ".join(seen) or None
