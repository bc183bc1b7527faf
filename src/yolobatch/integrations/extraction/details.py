"""Opening hours and contact details: a delivery platform's own state first where the page carries one,
then schema.org, then the page's tel:/mailto: links and <address>."""

from __future__ import annotations

import re
from typing import Any

from yolobatch.domain.config import WEEKDAYS, Weekday
from yolobatch.domain.extraction import ContactDetails, OpeningHoursEntry
from yolobatch.integrations.extraction.cleaning import squash
from yolobatch.integrations.extraction.document import Document, as_list, first_text, schema_enum
from yolobatch.integrations.extraction.platforms.common import address as join_address
from yolobatch.integrations.extraction.platforms.facts import platform_facts

BUSINESS_TYPES = (
    "Restaurant",
    "FoodEstablishment",
    "CafeOrCoffeeShop",
    "FastFoodRestaurant",
    "Bakery",
    "BarOrPub",
    "LocalBusiness",
    "Organization",
)
DAYS = WEEKDAYS
DAY_NAMES: dict[str, Weekday] = {day: day for day in DAYS}
DAY_ABBREVIATIONS: dict[str, Weekday] = {day[:2]: day for day in DAYS}
# "11:00", "11:00:00", and Uber Eats' unpadded "10:0" (ten o'clock).
TIME = re.compile(r"^(\d{1,2}):(\d{1,2})(?!\d)")
# "Mo-Fr 11:00-21:30", "Sa,Su 10:00-22:00", "Mo 11:00-14:00"
OPENING_HOURS_TEXT = re.compile(
    r"^\s*(?P<days>[A-Za-z]{2}(?:\s*[-,]\s*[A-Za-z]{2})*)\s+(?P<open>\d{1,2}:\d{2})\s*-\s*(?P<close>\d{1,2}:\d{2})\s*$"
)


def business_node(doc: Document) -> dict[str, Any] | None:
    """The page's restaurant (most specific type first), if it describes one."""
    for kind in BUSINESS_TYPES:
        node = next(doc.nodes(kind), None)
        if node is not None:
            return node
    return None


def extract_opening_hours(doc: Document) -> list[OpeningHoursEntry]:
    facts = platform_facts(doc)
    node = business_node(doc) or (facts.business if facts is not None else None)
    if not node:
        return []
    entries: list[OpeningHoursEntry] = []
    for spec in as_list(node.get("openingHoursSpecification")):
        if not isinstance(spec, dict):
            continue
        opens, closes = _time(spec.get("opens")), _time(spec.get("closes"))
        if opens is None or closes is None:
            continue
        for day in as_list(spec.get("dayOfWeek")):
            name = DAY_NAMES.get(schema_enum(first_text(day) or ""))
            if name is not None:
                entries.append(OpeningHoursEntry(day=name, open=opens, close=closes))
    for text in as_list(node.get("openingHours")):
        for part in str(text).split(";") if isinstance(text, str) else []:
            entries += _from_text(part)
    # The same day may be listed by both properties; the first statement wins.
    unique = {(e.day, e.open, e.close): e for e in reversed(entries)}
    return sorted(unique.values(), key=lambda e: (DAYS.index(e.day), e.open))


def _from_text(text: str) -> list[OpeningHoursEntry]:
    match = OPENING_HOURS_TEXT.match(text)
    if match is None:
        return []
    opens, closes = _time(match["open"]), _time(match["close"])
    if opens is None or closes is None:
        return []
    days: list[Weekday] = []
    for group in re.split(r"\s*,\s*", match["days"]):
        ends = [DAY_ABBREVIATIONS.get(d.strip().capitalize()) for d in group.split("-")]
        known = [end for end in ends if end is not None]
        if len(known) != len(ends):
            return []
        first, last = DAYS.index(known[0]), DAYS.index(known[-1])
        span = range(first, last + 1) if first <= last else [*range(first, 7), *range(0, last + 1)]
        days += [DAYS[i] for i in span]
    return [OpeningHoursEntry(day=day, open=opens, close=closes) for day in days]


def _time(value: object) -> str | None:
    match = TIME.match(str(value or "").strip())
    if match is None:
        return None
    hours, minutes = int(match[1]), int(match[2])
    if hours == 24 and minutes == 0:
        return "23:59"  # "open until midnight"; the platform's format stops at 23:59
    if hours > 23 or minutes > 59:
        return None
    return f"{hours:02d}:{minutes:02d}"


def extract_contact(doc: Document) -> ContactDetails:
    facts = platform_facts(doc)
    node = business_node(doc) or (facts.business if facts is not None else None) or {}
    address, city = _address(node.get("address"))
    if facts is not None and facts.address:
        # The platform's own record of the store beats its SEO summary ("postalCode": "00000").
        address, city = facts.address, facts.city or city
    phone = (facts.phone if facts else None) or first_text(node.get("telephone")) or _link(doc, "tel:")
    email = first_text(node.get("email")) or _link(doc, "mailto:")
    if address is None:
        element = doc.tree.css_first("address")
        address = squash(element.text(deep=True, separator=" ")) if element is not None else None
    return ContactDetails(
        phone=squash(phone),
        email=squash(email.removeprefix("mailto:")) if email else None,
        address=address,
        city=city,
    )


def _address(value: object) -> tuple[str | None, str | None]:
    for entry in as_list(value):
        if isinstance(entry, str):
            return squash(entry), None
        if isinstance(entry, dict):
            parts = [
                entry.get(key)
                for key in (
                    "streetAddress",
                    "addressLocality",
                    "addressRegion",
                    "postalCode",
                    "addressCountry",
                )
            ]
            # Without repeats ("The Palm Jumeirah, The Palm Jumeirah") or platform regions ("EMEA").
            text = join_address(*(first_text(p) for p in parts))
            return text, squash(first_text(entry.get("addressLocality")))
    return None, None


def _link(doc: Document, scheme: str) -> str | None:
    anchor = doc.tree.css_first(f'a[href^="{scheme}"]')
    if anchor is None:
        return None
    return (anchor.attributes.get("href") or "").removeprefix(scheme).strip() or None
