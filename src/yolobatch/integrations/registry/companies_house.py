"""UK Companies House public data API (`/search/companies`, `/company/{n}`, `/company/{n}/officers`).

It publishes no trading names, GST/VAT numbers, phones or emails, so those stay empty in the details.
"""

from __future__ import annotations

import base64
import re
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, BeforeValidator, Field

from yolobatch.domain.company import CompanyCandidate, CompanyDetails, Director, contact_person, current_first
from yolobatch.integrations.registry.base import HttpRegistry, RegistryError

PAGE_SIZE = 20
OFFICERS_PAGE_SIZE = 100
COMPANY_NUMBER = re.compile(r"^[A-Z0-9]{8}$")

Item = TypeVar("Item")
Many = Annotated[list[Item], BeforeValidator(lambda value: value or [])]


class _SearchItem(BaseModel):
    company_number: str
    title: str
    company_status: str | None = None
    address_snippet: str | None = None


class _SearchResults(BaseModel):
    items: Many[_SearchItem]


class _Address(BaseModel):
    premises: str | None = None
    address_line_1: str | None = None
    address_line_2: str | None = None
    locality: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None

    def text(self) -> str | None:
        lines = [self.address_line_1, self.address_line_2, self.locality, self.region, self.postal_code]
        first = " ".join(p for p in (self.premises, lines[0]) if p)
        parts = [first, *lines[1:], self.country]
        return ", ".join(p.strip() for p in parts if p and p.strip()) or None


class _Profile(BaseModel):
    company_number: str
    company_name: str
    company_status: str | None = None
    registered_office_address: _Address | None = None


class _Officer(BaseModel):
    name: str
    officer_role: str
    appointed_on: str | None = None
    resigned_on: str | None = None

    def director(self) -> Director | None:
        if "director" not in self.officer_role.lower():
            return None  # secretaries, members of an LLP, ...
        return Director(
            name=_natural_name(self.name),
            role=self.officer_role.replace("-", " ").capitalize(),
            appointed=self.appointed_on,
            resigned=self.resigned_on,
        )


class _Officers(BaseModel):
    items: Many[_Officer] = Field(default_factory=list)


class CompaniesHouseRegistry(HttpRegistry):
    source = "companies_house"
    service = "Companies House"

    def _auth(self) -> dict[str, Any]:
        # The API key is the basic-auth user name, with an empty password.
        return {"auth": httpx.BasicAuth(self._api_key, "")}

    def _secret_forms(self, api_key: str) -> list[str]:
        return [base64.b64encode(f"{api_key}:".encode()).decode()]

    async def _search_term(self, term: str) -> list[CompanyCandidate]:
        results = await self._get(
            "/search/companies", _SearchResults, {"q": term, "items_per_page": PAGE_SIZE}
        )
        return [
            CompanyCandidate(
                source="companies_house",
                number=item.company_number,
                name=item.title,
                status=item.company_status,
                address=item.address_snippet,
            )
            for item in results.items
        ]

    async def details(self, number: str) -> CompanyDetails:
        company_number = number.strip().upper()
        if not COMPANY_NUMBER.match(company_number):
            raise RegistryError(f"{number!r} is not a Companies House number (8 characters)", retryable=False)
        path = f"/company/{quote(company_number, safe='')}"
        profile = await self._get(path, _Profile)
        try:
            officers = await self._get(f"{path}/officers", _Officers, {"items_per_page": OFFICERS_PAGE_SIZE})
        except RegistryError as exc:
            # Some company types have no officer list at all; the profile above proves the company exists.
            if exc.status_code != 404:
                raise
            officers = _Officers()
        directors = current_first([d for officer in officers.items if (d := officer.director()) is not None])
        address = profile.registered_office_address
        return CompanyDetails(
            source="companies_house",
            number=profile.company_number,
            company_number=profile.company_number,
            legal_name=profile.company_name,
            status=profile.company_status,
            directors=directors,
            contact_person=contact_person(directors),
            registered_address=address.text() if address else None,
        )


def _natural_name(name: str) -> str:
    """Natural order: "SMITH, John David" → "John David SMITH"; names without a comma are kept."""
    surname, _, rest = name.partition(",")
    given = rest.split(",")[0].strip()  # anything after a second comma is an honour ("..., Dr")
    return f"{given} {surname.strip()}" if given else surname.strip()
