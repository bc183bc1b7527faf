"""The menu's currency when its prices show none ("$12", "17.5"): the restaurant's country decides.

A bare "$" is NZD, AUD, USD or CAD; the address the page publishes for its restaurant says which.
"""

from __future__ import annotations

from yolobatch.integrations.extraction.details import business_node
from yolobatch.integrations.extraction.document import Document, first_text

COUNTRY_CURRENCIES = {
    "NZ": "NZD", "AU": "AUD", "US": "USD", "CA": "CAD", "GB": "GBP", "UK": "GBP", "IE": "EUR", "DE": "EUR",
    "FR": "EUR", "ES": "EUR", "IT": "EUR", "NL": "EUR", "BE": "EUR", "AT": "EUR", "PT": "EUR", "FI": "EUR",
    "GR": "EUR", "LU": "EUR", "CH": "CHF", "SG": "SGD", "HK": "HKD", "AE": "AED", "SA": "SAR", "KW": "KWD",
    "QA": "QAR", "BH": "BHD", "OM": "OMR", "JO": "JOD", "EG": "EGP", "IN": "INR", "MY": "MYR", "ZA": "ZAR",
    "MX": "MXN", "BR": "BRL", "JP": "JPY", "SE": "SEK", "NO": "NOK", "DK": "DKK", "PL": "PLN", "TR": "TRY",
}  # fmt: skip
_COUNTRY_NAMES = {
    "NEW ZEALAND": "NZ", "AUSTRALIA": "AU", "UNITED STATES": "US", "USA": "US", "CANADA": "CA",
    "UNITED KINGDOM": "GB", "IRELAND": "IE", "GERMANY": "DE", "DEUTSCHLAND": "DE", "FRANCE": "FR",
}  # fmt: skip


def page_currency(doc: Document) -> str | None:
    node = business_node(doc)
    if node is None:
        return None
    for address in node.get("address") if isinstance(node.get("address"), list) else [node.get("address")]:
        if not isinstance(address, dict):
            continue
        country = (first_text(address.get("addressCountry")) or "").strip().upper()
        code = _COUNTRY_NAMES.get(country, country)
        if code in COUNTRY_CURRENCIES:
            return COUNTRY_CURRENCIES[code]
    return None
