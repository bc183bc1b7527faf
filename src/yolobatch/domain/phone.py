"""Phone numbers as staff, store pages and registers write them, stored as E.164 ("+6498921240")."""

from __future__ import annotations

import phonenumbers


def normalise_phone(text: str, country: str) -> tuple[str, str | None]:
    """`text` as E.164 when it is a valid number (local numbers read as `country`'s), else `text` unchanged
    with the reason a reviewer should check it: a doubtful number is flagged, never a reason to stop."""
    try:
        number = phonenumbers.parse(text, country.upper())
    except phonenumbers.NumberParseException:
        return text, f"Phone {text!r} is not a phone number: check it before approving"
    if not phonenumbers.is_valid_number(number):
        return text, f"Phone {text!r} is not a valid number for {country.upper()}: check it before approving"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None
