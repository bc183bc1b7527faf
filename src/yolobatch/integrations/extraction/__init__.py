"""Step 1, menu & branding extraction: fetch a restaurant's store page safely and read what it offers.

`extract_store(url, http=..., guard=...)` is the entry point; `UrlGuard` keeps server-side fetching out
of private networks; `ExtractionError.code` says why a page could not be fetched.
"""

from yolobatch.domain.extraction import (
    Branding,
    ContactDetails,
    ExtractionResult,
    ExtractionWarning,
    LogoCandidate,
    OpeningHoursEntry,
)
from yolobatch.integrations.extraction.cleaning import clean_name, clean_text, parse_price
from yolobatch.integrations.extraction.errors import ErrorCode, ExtractionError
from yolobatch.integrations.extraction.fetch import Fetched, Page, fetch_image, fetch_page
from yolobatch.integrations.extraction.guard import UrlGuard, is_public_address
from yolobatch.integrations.extraction.page import extract_from_html, extract_store
from yolobatch.integrations.extraction.palette import Palette, palette_from_image

__all__ = [
    "Branding",
    "ContactDetails",
    "ErrorCode",
    "ExtractionError",
    "ExtractionResult",
    "ExtractionWarning",
    "Fetched",
    "LogoCandidate",
    "OpeningHoursEntry",
    "Page",
    "Palette",
    "UrlGuard",
    "clean_name",
    "clean_text",
    "extract_from_html",
    "extract_store",
    "fetch_image",
    "fetch_page",
    "is_public_address",
    "palette_from_image",
    "parse_price",
]
