"""Companies behind restaurants (steps 2–4): search terms, candidates, details, and the rules around them.

Pure data and functions; the registry adapters in `yolobatch.integrations.registry` fill these models.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

# The one list of company registries: settings, the API's schema, the CLI and the adapters
# (`integrations/registry`) derive theirs from it. Each has settings `<name>_api_url`, `<name>_api_key`.
RegistrySource = Literal["nzbn", "companies_house"]
REGISTRIES: tuple[str, ...] = get_args(RegistrySource)
MatchedOn = Literal["name", "trading_name", "address"]

# As the original's step 2 did: the street is cut after the earliest of these words.
STREET_TYPES = frozenset(
    {
        "street",
        "road",
        "avenue",
        "lane",
        "place",
        "way",
        "crescent",
        "drive",
        "terrace",
        "boulevard",
        "court",
        "close",
        "parade",
        "highway",
        "grove",
        "rise",
        "mews",
        "quay",
        "esplanade",
        "square",
        "walk",
        "path",
        "row",
    }
)
FALLBACK_STREET_WORDS = 3
# Letters that carry no combining mark to strip but are still read as their plain Latin neighbours.
UNFOLDED_LETTERS = str.maketrans(
    {"ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ß": "ss", "đ": "d", "Đ": "D", "ł": "l"}
    | {"Ł": "L", "ı": "i"}
)
PARENTHESISED = re.compile(r"\([^()]*\)")
WORD_EDGE_PUNCTUATION = ".,;:"


class SearchTerms(BaseModel):
    """What staff know about a restaurant, as typed; the registries clean it before searching."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1, max_length=200)
    address: str | None = Field(default=None, max_length=300)
    city: str | None = Field(default=None, max_length=100)

    @field_validator("name")
    @classmethod
    def _name_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("name must not be blank")
        return value.strip()


class CompanyCandidate(BaseModel):
    """One registry company that may be the restaurant's operator. `number` is what `details()` takes."""

    source: RegistrySource
    number: str = Field(min_length=1)
    name: str
    trading_names: list[str] = Field(default_factory=list)
    status: str | None = None
    address: str | None = None
    score: float = Field(default=0.0, ge=0, le=100)
    matched_on: list[MatchedOn] = Field(default_factory=list)


class Director(BaseModel):
    name: str
    role: str = "Director"
    appointed: str | None = None  # ISO date as the registry gives it
    resigned: str | None = None

    @property
    def is_current(self) -> bool:
        return not self.resigned


class CompanyDetails(BaseModel):
    """What step 4 learns about the chosen company.

    `number` round-trips with `CompanyCandidate.number` (the registry's lookup key: the NZBN for the NZBN
    register, the company number for Companies House); `company_number` is the registration number shown
    on the register (the Companies Office number in New Zealand).
    """

    source: RegistrySource
    number: str
    company_number: str | None = None
    nzbn: str | None = None
    legal_name: str
    trading_names: list[str] = Field(default_factory=list)
    status: str | None = None
    gst_number: str | None = None
    directors: list[Director] = Field(default_factory=list)
    contact_person: str | None = None
    registered_address: str | None = None
    phone: str | None = None
    email: str | None = None


def fold(text: str) -> str:
    """Accents and macrons folded to their letters: "Café Kāpiti" → "Cafe Kapiti". Registers and staff
    spell the same name both ways, and a deleted letter ("CAF KPITI") would cost the match."""
    decomposed = unicodedata.normalize("NFKD", text.translate(UNFOLDED_LETTERS))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def clean_search_name(name: str) -> str:
    """The trading name without parenthesised parts: "Texas Chicken (Henderson)" → "Texas Chicken"."""
    cleaned = name
    # Repeated so that nested brackets such as "A (b (c))" are removed from the inside out.
    while (stripped := PARENTHESISED.sub(" ", cleaned)) != cleaned:
        cleaned = stripped
    cleaned = " ".join(cleaned.split())
    if cleaned:
        return cleaned
    # A name that is nothing but brackets, "(Closed)", is still better searched than dropped.
    return " ".join(name.replace("(", " ").replace(")", " ").split())


def street_search_terms(address: str | None, city: str | None) -> str | None:
    """The street part of `address` plus the city, for the by-address search; None when there is no address.

    The street ends at its earliest street-type word ("12 Queen Street, Auckland CBD" → "12 Queen Street");
    without one, the first three words stand in for it (as the original's step 2 did).
    """
    words = [w.strip(WORD_EDGE_PUNCTUATION) for w in (address or "").split()]
    words = [w for w in words if w]
    if not words:
        return None
    end = next((i + 1 for i, w in enumerate(words) if w.lower() in STREET_TYPES), FALLBACK_STREET_WORDS)
    street = words[:end]
    city_words = (city or "").split()
    # The address often already ends with the city ("1 Main Street, Auckland" with city "Auckland").
    if city_words and [w.lower() for w in street[-len(city_words) :]] != [w.lower() for w in city_words]:
        street += city_words
    return " ".join(street)


def is_unambiguous(ranked: list[CompanyCandidate], threshold: float = 90, margin: float = 10) -> bool:
    """Whether the best candidate may be chosen without a person: strong, and clearly ahead of the rest."""
    if not ranked:
        return False
    top = ranked[0].score
    if top < threshold:
        return False
    return len(ranked) == 1 or top - ranked[1].score >= margin


def current_first(directors: list[Director]) -> list[Director]:
    """Current directors before former ones, each group in the registry's order."""
    return sorted(directors, key=lambda d: not d.is_current)


def contact_person(directors: list[Director]) -> str | None:
    """As the original's step 4: the title-cased name of the first director without a cessation date."""
    current = next((d for d in directors if d.is_current and d.name.strip()), None)
    return title_case_name(current.name) if current else None


def title_case_name(name: str) -> str:
    """Registers shout surnames ("SMITH"); mixed-case words ("McDonald") are kept as they are."""
    return " ".join(_title_word(word) for word in name.split())


def _title_word(word: str) -> str:
    if word.isupper() or word.islower():
        # "O'BRIEN" → "O'Brien", "SMITH-JONES" → "Smith-Jones"
        return re.sub(r"[A-Za-z]+", lambda m: m.group(0).capitalize(), word)
    return word
