"""What step 1 (menu & branding extraction) produces from a restaurant's store page.

Pure data: the fetching and parsing live in `yolobatch.integrations.extraction`. Anything the extractor
could not find, or found but distrusts, is a warning rather than an error, so that a human (or the
registration config's defaults) can fill the gap instead of the whole restaurant failing.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from yolobatch.domain.config import HEX_COLOUR, OpeningHours
from yolobatch.domain.menu import Menu

# The registration config's own opening-hours entry: extraction output drops straight into it.
OpeningHoursEntry = OpeningHours

# "next_data" and "react_query" named the invented page-state shapes that came before the real
# platforms; no strategy produces them now, they stay readable in extraction results already stored.
MenuSource = Literal[
    "deliveroo",
    "talabat",
    "ubereats",
    "grab",
    "jsonld",
    "microdata",
    "rdfa",
    "squarespace",
    "wix",
    "dom",
    "next_data",
    "react_query",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExtractionWarning(_Model):
    """Something missing or doubtful in an otherwise usable extraction; `code` is stable for filtering."""

    code: str = Field(min_length=1)
    message: str


class LogoCandidate(_Model):
    url: str
    source: str = Field(description="where the candidate was found, e.g. 'jsonld_logo', 'og_image'")
    confidence: float = Field(ge=0, le=1)


class Branding(_Model):
    logo_url: str | None = None
    logo_confidence: float = Field(default=0.0, ge=0, le=1)
    logo_candidates: list[LogoCandidate] = Field(default_factory=list)
    primary_color: str | None = Field(default=None, pattern=HEX_COLOUR)
    secondary_color: str | None = Field(default=None, pattern=HEX_COLOUR)
    theme: Literal["dark", "light"] = "light"
    favicon_url: str | None = None
    cover_image_url: str | None = None


class ContactDetails(_Model):
    phone: str | None = None
    email: str | None = None
    address: str | None = None
    city: str | None = None


class ExtractionResult(_Model):
    url: str
    final_url: str | None = Field(default=None, description="the page's URL after redirects")
    # The strategy that produced `menu`; when no strategy found one, the last tried ("dom").
    source: MenuSource
    menu: Menu | None = None
    branding: Branding = Field(default_factory=Branding)
    opening_hours: list[OpeningHoursEntry] = Field(default_factory=list)
    contact: ContactDetails = Field(default_factory=ContactDetails)
    warnings: list[ExtractionWarning] = Field(default_factory=list)
    rendered: bool = Field(
        default=False, description="read from the DOM after the page's scripts ran in headless Chromium"
    )

    def warning_codes(self) -> list[str]:
        return [w.code for w in self.warnings]
