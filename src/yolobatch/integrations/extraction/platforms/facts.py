"""The store facts of whichever platform's state the page carries (read once per page)."""

from __future__ import annotations

from yolobatch.integrations.extraction.document import Document
from yolobatch.integrations.extraction.platforms.deliveroo import deliveroo_facts, deliveroo_menu_state
from yolobatch.integrations.extraction.platforms.grab import grab_facts, grab_merchant_state
from yolobatch.integrations.extraction.platforms.store import StoreFacts
from yolobatch.integrations.extraction.platforms.talabat import talabat_facts, talabat_menu_state
from yolobatch.integrations.extraction.platforms.ubereats import ubereats_facts, ubereats_store_state


def platform_facts(doc: Document) -> StoreFacts | None:
    return doc.remember("platform_facts", lambda: _facts(doc))


def _facts(doc: Document) -> StoreFacts | None:
    if (menu := deliveroo_menu_state(doc)[0]) is not None:
        return deliveroo_facts(menu)
    if (menu := talabat_menu_state(doc)[0]) is not None:
        return talabat_facts(menu)
    if (store := ubereats_store_state(doc)[0]) is not None:
        return ubereats_facts(store)
    if (merchant := grab_merchant_state(doc)[0]) is not None:
        return grab_facts(merchant)
    return None
