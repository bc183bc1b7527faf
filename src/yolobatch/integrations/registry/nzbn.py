"""The New Zealand Business Number register, API v5 (`GET /entities`, `GET /entities/{nzbn}`)."""

from __future__ import annotations

import re
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

from pydantic import AliasChoices, BaseModel, BeforeValidator, Field

from yolobatch.domain.company import CompanyCandidate, CompanyDetails, Director, contact_person, current_first
from yolobatch.integrations.registry.base import HttpRegistry, RegistryError

KEY_HEADER = "Ocp-Apim-Subscription-Key"
PAGE_SIZE = 20
NZBN_PATTERN = re.compile(r"^\d{13}$")

Item = TypeVar("Item")
# The register sends `null` for empty collections as often as `[]`.
Many = Annotated[list[Item], BeforeValidator(lambda value: value or [])]


class _TradingName(BaseModel):
    name: str


class _Address(BaseModel):
    addressType: str | None = None
    address1: str | None = None
    address2: str | None = None
    address3: str | None = None
    address4: str | None = None
    postCode: str | None = None

    def text(self) -> str:
        parts = [self.address1, self.address2, self.address3, self.address4, self.postCode]
        return ", ".join(p.strip() for p in parts if p and p.strip())


class _Addresses(BaseModel):
    addressList: Many[_Address] = Field(default_factory=list)

    def registered(self) -> str | None:
        chosen = next((a for a in self.addressList if (a.addressType or "").upper() == "REGISTERED"), None)
        chosen = chosen or next(iter(self.addressList), None)
        return (chosen.text() or None) if chosen else None


class _SearchItem(BaseModel):
    nzbn: str
    entityName: str
    entityStatusDescription: str | None = None
    tradingNames: Many[_TradingName] = Field(default_factory=list)
    addresses: _Addresses | None = None


class _SearchResults(BaseModel):
    items: Many[_SearchItem]


class _Person(BaseModel):
    firstName: str | None = None
    middleNames: str | None = None
    lastName: str | None = None


class _RoleEntity(BaseModel):
    entityName: str | None = None


class _Role(BaseModel):
    roleType: str
    roleStatus: str | None = None
    startDate: str | None = None
    endDate: str | None = None
    rolePerson: _Person | None = None
    roleEntity: _RoleEntity | None = None

    def director(self) -> Director | None:
        if self.roleType.strip().lower() != "director":
            return None
        person = self.rolePerson
        if person is not None:
            name = " ".join(p.strip() for p in (person.firstName, person.middleNames, person.lastName) if p)
        else:
            name = (self.roleEntity.entityName if self.roleEntity else None) or ""
        if not name:
            return None
        return Director(
            name=name, role="Director", appointed=_date(self.startDate), resigned=_date(self.endDate)
        )


class _Gst(BaseModel):
    gstNumber: str


class _Phone(BaseModel):
    phoneCountryCode: str | None = None
    phoneAreaCode: str | None = None
    phoneNumber: str

    def text(self) -> str:
        country = f"+{self.phoneCountryCode.lstrip('+')}" if self.phoneCountryCode else None
        area = (self.phoneAreaCode or "").lstrip("0") if country else self.phoneAreaCode
        return " ".join(p for p in (country, area, self.phoneNumber) if p)


class _Email(BaseModel):
    emailAddress: str


class _Entity(BaseModel):
    nzbn: str
    entityName: str
    entityStatusDescription: str | None = None
    # The Companies Office number; search results and entities spell the field differently.
    company_number: str | None = Field(
        default=None,
        validation_alias=AliasChoices("sourceRegisterUniqueIdentifier", "sourceRegisterUniqueId"),
    )
    tradingNames: Many[_TradingName] = Field(default_factory=list)
    addresses: _Addresses | None = None
    roles: Many[_Role] = Field(default_factory=list)
    gstNumbers: Many[_Gst] = Field(default_factory=list)
    phoneNumbers: Many[_Phone] = Field(default_factory=list)
    emailAddresses: Many[_Email] = Field(default_factory=list)


class NzbnRegistry(HttpRegistry):
    source = "nzbn"
    service = "NZBN"

    def _auth(self) -> dict[str, Any]:
        return {"headers": {KEY_HEADER: self._api_key}}

    async def _search_term(self, term: str) -> list[CompanyCandidate]:
        results = await self._get("/entities", _SearchResults, {"search-term": term, "page-size": PAGE_SIZE})
        return [
            CompanyCandidate(
                source="nzbn",
                number=item.nzbn,
                name=item.entityName,
                trading_names=[t.name for t in item.tradingNames],
                status=item.entityStatusDescription,
                address=item.addresses.registered() if item.addresses else None,
            )
            for item in results.items
        ]

    async def details(self, number: str) -> CompanyDetails:
        nzbn = number.strip()
        if not NZBN_PATTERN.match(nzbn):
            raise RegistryError(f"{nzbn!r} is not an NZBN (13 digits)", retryable=False)
        entity = await self._get(f"/entities/{quote(nzbn, safe='')}", _Entity)
        directors = current_first([d for role in entity.roles if (d := role.director()) is not None])
        return CompanyDetails(
            source="nzbn",
            number=entity.nzbn,
            company_number=entity.company_number,
            nzbn=entity.nzbn,
            legal_name=entity.entityName,
            trading_names=[t.name for t in entity.tradingNames],
            status=entity.entityStatusDescription,
            gst_number=next((g.gstNumber for g in entity.gstNumbers), None),
            directors=directors,
            contact_person=contact_person(directors),
            registered_address=entity.addresses.registered() if entity.addresses else None,
            phone=next((p.text() for p in entity.phoneNumbers), None),
            email=next((e.emailAddress for e in entity.emailAddresses), None),
        )


def _date(value: str | None) -> str | None:
    """The date part: "2015-03-01T00:00:00Z" → "2015-03-01"."""
    return value[:10] if value else None
