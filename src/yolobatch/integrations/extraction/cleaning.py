"""Cleaning scraped text and prices: delivery-platform UI noise out, prices to 2-decimal `Decimal`s.

The noise patterns are the ones the original's menu import stripped: UberEats
renders its buttons and badges as text ("Plus small", "Thumb up outline", "No. 2 most liked"), rating
percentages with vote counts ("94% (120)") and hard line breaks into whatever a scraper reads.
"""

from __future__ import annotations

import html
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")

_NOISE = [
    re.compile(r"\bplus\s+small\b", re.IGNORECASE),
    re.compile(r"\bthumb\s+up\s+outline\b", re.IGNORECASE),
    re.compile(r"(?:\bno\.|#)\s*\d+\s+most\s+liked\b", re.IGNORECASE),
    # A rating: "94%" optionally followed by its vote count "(120)".
    re.compile(r"\b\d{1,3}\s*%\s*\(\s*\d[\d,]*\s*\)"),
    # A bare vote/item count in parentheses, e.g. "Mains (12)".
    re.compile(r"\(\s*\d[\d,]*\s*\)"),
]
# A bare percentage is noise in a name ("Classic Burger 94%") but may be content in a description
# ("100% beef patty"), so it is only removed from names.
_BARE_PERCENT = re.compile(r"\b\d{1,3}\s*%")
_SPACES = re.compile(r"\s+")
# A lone UTF-16 surrogate ("\ud800" in a page's JSON) is no text: no database stores it and no page can be
# encoded with it, so it becomes the replacement character here, where scraped text enters.
_SURROGATE = re.compile("[\ud800-\udfff]")
# Markup inside a JSON string ("<strong>Soup</strong>", or escaped "&lt;br&gt;"), as page builders write it.
_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(?:\s[^<>]*)?/?>")
_EDGE_PUNCTUATION = " \t-–—·•|,;:"
# A menu number before a dish ("62. Butter Chicken", "12) Pad Thai", "#4 - Falafel"): the restaurant's
# ordering aid, not part of the name. Only a number set apart by ". ", ") " or " - " counts, which keeps
# "7 Up", "3-Cheese Pizza" and "12.5 oz Steak".
_ITEM_NUMBER = re.compile(r"^\s*#?\d{1,3}[a-zA-Z]?(?:[.)]\s+|\s+[-–—:]\s+)(?=\S)")


def clean_text(value: object, *, is_name: bool = False) -> str | None:
    """UI noise, line breaks and runs of spaces out; None when nothing meaningful is left."""
    if value is None:
        return None
    # Entities are decoded wherever they come from: JSON-LD and page state carry `&amp;` inside JSON,
    # and some sites escape twice (`&amp;amp;`), which the HTML parser leaves half-decoded.
    text = _TAG.sub(" ", _unescape(_SURROGATE.sub("\ufffd", str(value))))
    for pattern in _NOISE:
        text = pattern.sub(" ", text)
    if is_name:
        text = _BARE_PERCENT.sub(" ", text)
        text = _ITEM_NUMBER.sub("", text, count=1)
    text = _SPACES.sub(" ", text).strip(_EDGE_PUNCTUATION)
    return text or None


def _unescape(text: str) -> str:
    for _ in range(2):
        if "&" not in text:
            break
        text = html.unescape(text)
    return text


def squash(value: object) -> str | None:
    """Whitespace normalised only: phones ("(09) 555 1234"), emails and addresses carry no UI noise."""
    if value is None:
        return None
    return _SPACES.sub(" ", _SURROGATE.sub("\ufffd", str(value))).strip() or None


def clean_name(value: object) -> str | None:
    return clean_text(value, is_name=True)


def clean_tag(value: object) -> str | None:
    """Tags compare case-insensitively on the platform; lower-case them once here."""
    text = clean_text(value, is_name=True)
    return text.lower() if text else None


_CURRENCY_SYMBOLS = {
    "€": "EUR",
    "£": "GBP",
    "¥": "JPY",
    "₹": "INR",
    "₪": "ILS",
    "₺": "TRY",
    "zł": "PLN",
    "Kč": "CZK",
    "R$": "BRL",
    "د.إ": "AED",
    "ر.س": "SAR",
    "د.ك": "KWD",
    "د.ب": "BHD",
    "ر.ع": "OMR",
    "ر.ق": "QAR",
}
# Arabic-Indic and Persian digits, the Arabic decimal and thousands marks: read as the browser shows them.
LOCAL_DIGITS = str.maketrans(
    {**{chr(0x0660 + i): str(i) for i in range(10)}, **{chr(0x06F0 + i): str(i) for i in range(10)}}
    | {"\u066b": ".", "\u066c": ","}
)
_CODE = re.compile(r"\b([A-Z]{3})\b")
_ISO_CODES = (
    "AED AUD BDT BGN BHD BRL CAD CHF CLP CNY COP CZK DKK EGP EUR GBP HKD HUF IDR ILS INR JOD JPY KES KRW "
    "KWD LBP LKR MAD MXN MYR NGN NOK NZD OMR PEN PHP PKR PLN QAR RON RSD RUB SAR SEK SGD THB TND TRY TWD "
    "UAH USD VND ZAR"
)
ISO_CURRENCIES = frozenset(_ISO_CODES.split())
_NUMBER = re.compile(r"\d[\d.,\s]*")
# Currencies whose minor unit is a thousandth: a single mark before three digits is their decimal mark.
THREE_DECIMAL_CURRENCIES = frozenset({"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"})
_THOUSANDTHS = re.compile(r"^\d{1,3}[.,]\d{3}$")
_FREE = re.compile(r"^\s*(free|included)\s*$", re.IGNORECASE)


def quantize(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def parse_price(value: object) -> Decimal | None:
    """A price from a number or a display string ("$12.50", "NZ$ 1,234.50", "12,50 €", "+$3"), else None."""
    if value is None or isinstance(value, bool):
        return None
    amount: Decimal | None
    if isinstance(value, int | float | Decimal):
        amount = Decimal(str(value))
    else:
        text = str(value).translate(LOCAL_DIGITS)
        if _FREE.match(text):
            return Decimal("0.00")
        match = _NUMBER.search(text)
        if match is None:
            return None
        amount = _decimal_from_digits(match.group(0))
        if amount is None:
            return None
        if _THOUSANDTHS.match(match.group(0).strip()) and currency_of(text) in THREE_DECIMAL_CURRENCIES:
            # "1.250 KWD", "2,500 د.ك": Gulf dinars are written to the fils (1/1000), not in thousands.
            amount = Decimal(match.group(0).strip().replace(",", "."))
    if not amount.is_finite() or amount < 0:
        return None
    return quantize(amount)


def _decimal_from_digits(digits: str) -> Decimal | None:
    digits = re.sub(r"\s", "", digits).rstrip(".,")
    last_dot, last_comma = digits.rfind("."), digits.rfind(",")
    decimal_mark = max(last_dot, last_comma)
    # A mark followed by exactly 1-2 digits is the decimal mark ("12,50", "1.234,5"); otherwise it groups.
    if decimal_mark >= 0 and 1 <= len(digits) - decimal_mark - 1 <= 2:
        whole, fraction = digits[:decimal_mark], digits[decimal_mark + 1 :]
        digits = re.sub(r"[.,]", "", whole) + "." + fraction
    else:
        digits = re.sub(r"[.,]", "", digits)
    try:
        return Decimal(digits)
    except InvalidOperation:
        return None


def currency_of(text: object) -> str | None:
    """An explicit currency in a display price: an ISO code ("NZD 12", "NZ$" → NZD) or an unambiguous sign.

    A bare "$" says nothing (NZD, AUD, USD...), so it yields None and the page's currency applies.
    """
    if not isinstance(text, str):
        return None
    if "NZ$" in text:
        return "NZD"
    if "A$" in text or "AU$" in text:
        return "AUD"
    if "US$" in text:
        return "USD"
    for match in _CODE.finditer(text):
        # Only a real currency code: "MKT Price", "BBQ" and "AED" all look alike to a regex.
        if match.group(1) in ISO_CURRENCIES:
            return match.group(1)
    for symbol, code in _CURRENCY_SYMBOLS.items():
        if symbol in text:
            return code
    return None
