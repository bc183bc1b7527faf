"""The menu's currency when its prices show none ("$12", "17.5"): the restaurant's country decides.

A bare "$" is NZD, AUD, USD or CAD; the address the page publishes for its restaurant says which.
"""

from __future__ import annotations

from yolobatch.integrations.extraction.details import business_node
from yolobatch.integrations.extraction.document import Document, first_text
from yolobatch.integrations.extraction.platforms.common import COUNTRY_CURRENCY

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
        if code in COUNTRY_CURRENCY:
            return COUNTRY_CURRENCY[code]
    return None
