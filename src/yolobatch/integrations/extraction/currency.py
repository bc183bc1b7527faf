"""The menu's currency when its prices show none ("$12", "17.5"): the restaurant's country decides.

A bare "$" is NZD, AUD, USD or CAD; the address the page publishes for its restaurant says which, else
the page's address on the web: a country domain (deliveroo.be, .com.au) or, on a delivery platform's
one global domain, the market in its path (ubereats.com/fr/…, talabat.com/kuwait/…).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from yolobatch.integrations.extraction.details import business_node
from yolobatch.integrations.extraction.document import Document, as_list, first_text
from yolobatch.integrations.extraction.platforms.common import COUNTRY_CURRENCY

_COUNTRY_NAMES = {
    "NEW ZEALAND": "NZ", "AUSTRALIA": "AU", "UNITED STATES": "US", "USA": "US", "CANADA": "CA",
    "UNITED KINGDOM": "GB", "IRELAND": "IE", "GERMANY": "DE", "DEUTSCHLAND": "DE", "FRANCE": "FR",
}  # fmt: skip


def page_currency(doc: Document) -> str | None:
    node = business_node(doc)
    if node is None:
        return None
    for address in as_list(node.get("address")):
        if not isinstance(address, dict):
            continue
        country = (first_text(address.get("addressCountry")) or "").strip().upper()
        code = _COUNTRY_NAMES.get(country, country)
        if code in COUNTRY_CURRENCY:
            return COUNTRY_CURRENCY[code]
    return None


# Delivery platforms serving every market from one domain put the market first in the path.
_MARKET_IN_PATH = ("ubereats.com", "talabat.com", "doordash.com", "wolt.com", "glovoapp.com", "foodpanda.com")
_MARKET_NAMES = {
    "uae": "AE", "kuwait": "KW", "qatar": "QA", "bahrain": "BH", "oman": "OM", "jordan": "JO", "egypt": "EG",
    "ksa": "SA", "saudi": "SA",
}  # fmt: skip


def url_currency(url: str) -> str | None:
    parts = urlsplit(url)
    labels = (parts.hostname or "").lower().split(".")
    country = labels[-1].upper() if len(labels) >= 2 and len(labels[-1]) == 2 else ""
    if country in COUNTRY_CURRENCY:
        return COUNTRY_CURRENCY[country]
    if ".".join(labels[-2:]) not in _MARKET_IN_PATH:
        return None
    # The market may follow a language ("talabat.com/ar/kuwait/…"): the first of two segments that names one.
    for market in [segment for segment in parts.path.lower().split("/") if segment][:2]:
        code = _MARKET_NAMES.get(market) or market.split("-")[0].upper()  # "fr", "ca-fr" → FR, CA
        if market.startswith("en-") and len(market) == 5:
            code = market[3:].upper()  # "en-ae": English in the Emirates
        if code in COUNTRY_CURRENCY:
            return COUNTRY_CURRENCY[code]
    return None
