"""The sandbox's company register: companies behind the demo restaurants, shown as NZBN v5 and as
Companies House would show them.

Keyed to `yolobatch.devtools.demo.NAMES`: most restaurants have one clear company, registered at the demo
restaurant's own address; "Pizza Palace CBD" and "Taco Loco" have several look-alikes, so a person must
choose; "Golden Dragon Noodle House" has none. A few decoys make ranking matter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from yolobatch.devtools.demo import NAMES, demo_restaurant

# Query words that every registry search ignores.
STOP_WORDS = frozenset({"LIMITED", "LTD", "THE", "NZ", "AND", "&"})
CH_STATUS = {"Registered": "active", "Removed": "dissolved", "In Liquidation": "liquidation"}


@dataclass(frozen=True)
class SeedDirector:
    first: str
    last: str
    appointed: str
    resigned: str | None = None


@dataclass(frozen=True)
class SeedCompany:
    sequence: int  # source of the NZBN, the Companies Office number and the Companies House number
    name: str
    trading_names: tuple[str, ...]
    street: str
    suburb: str | None
    city: str
    postcode: str
    directors: tuple[SeedDirector, ...]
    incorporated: str
    status: str = "Registered"
    area_code: str = "09"
    secretary: str | None = None  # Companies House lists secretaries among officers; they are not directors

    @property
    def nzbn(self) -> str:
        return nzbn_with_check_digit(f"94290{4_100_000 + self.sequence:07d}")

    @property
    def company_number(self) -> str:
        return str(6_100_000 + self.sequence * 37)

    @property
    def ch_number(self) -> str:
        return f"{14_200_000 + self.sequence * 53:08d}"

    @property
    def gst_number(self) -> str:
        digits = f"{120_000_000 + self.sequence * 7_919:09d}"
        return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"

    @property
    def phone_number(self) -> str:
        return f"555{self.sequence:04d}"

    @property
    def email(self) -> str:
        domain = "".join(ch for ch in (self.trading_names or (self.name,))[0].lower() if ch.isalnum())
        return f"accounts@{domain}.co.nz"

    def address_words(self) -> set[str]:
        return set(words(" ".join(p for p in (self.street, self.suburb, self.city, self.postcode) if p)))

    def name_words(self, with_trading_names: bool = True) -> set[str]:
        return set(words(" ".join((self.name, *(self.trading_names if with_trading_names else ())))))


def nzbn_with_check_digit(twelve: str) -> str:
    """GS1 check digit, as real NZBNs (GLNs) carry."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(twelve))
    return twelve + str((10 - total % 10) % 10)


def words(text: str) -> list[str]:
    cleaned = "".join(ch if ch.isalnum() else " " for ch in text.upper().replace("&", " AND "))
    return cleaned.split()


def _demo_street(restaurant: str) -> str:
    """The street the demo batch gives `restaurant`, so that the by-address search finds its company."""
    index, (name, *rest) = next((i, n) for i, n in enumerate(NAMES) if n[0] == restaurant)
    return demo_restaurant(index, name, *rest)["config"]["restaurant"]["address"].split(",")[0].strip()


def _d(first: str, last: str, appointed: str, resigned: str | None = None) -> SeedDirector:
    return SeedDirector(first, last, appointed, resigned)


COMPANIES: tuple[SeedCompany, ...] = (
    SeedCompany(
        1,
        "JAX BURGER SHACK LIMITED",
        ("Jax Burger Shack",),
        _demo_street("Jax Burger Shack"),
        "Auckland Central",
        "Auckland",
        "1010",
        # A former director listed first: the contact person is the first *current* one.
        (
            _d("Peter", "WALSH", "2016-04-12", "2019-08-31"),
            _d("Jackson", "TE AWA", "2016-04-12"),
            _d("Mere", "TE AWA", "2019-09-01"),
        ),
        "2016-04-12",
        secretary="WALSH, Peter",
    ),
    SeedCompany(
        2,
        "BURGER SHACK LIMITED",
        (),
        "14 George Street",
        None,
        "Dunedin",
        "9016",
        (_d("Aroha", "NGATA", "2012-02-01"),),
        "2012-02-01",
        area_code="03",
    ),
    # Pizza Palace CBD: the operator trades under the restaurant's name but is registered at its
    # accountant's; an unrelated company carries the name itself. Both score alike: a person decides.
    SeedCompany(
        3,
        "PIZZA PALACE LIMITED",
        ("Pizza Palace", "Pizza Palace CBD"),
        "Level 2, 50 Customhouse Quay",
        "Wellington Central",
        "Wellington",
        "6011",
        (_d("Marco", "BIANCHI", "2014-06-30"), _d("Sofia", "BIANCHI", "2014-06-30", "2020-03-15")),
        "2014-06-30",
        area_code="04",
    ),
    SeedCompany(
        4,
        "PIZZA PALACE CBD LIMITED",
        (),
        "8 Queen Street",
        "Auckland Central",
        "Auckland",
        "1010",
        (_d("Daniel", "KIM", "2021-01-18"),),
        "2021-01-18",
    ),
    SeedCompany(
        5,
        "KIWI FISH AND CHIPS LIMITED",
        ("Kiwi Fish & Chips",),
        _demo_street("Kiwi Fish & Chips"),
        None,
        "Dunedin",
        "9016",
        (_d("Grace", "MCALLISTER", "2010-11-05"), _d("Tom", "O'BRIEN", "2010-11-05")),
        "2010-11-05",
        area_code="03",
    ),
    SeedCompany(
        6,
        "SPICE ROUTE CURRY LIMITED",
        ("Spice Route Curry",),
        _demo_street("Spice Route Curry"),
        None,
        "Hamilton",
        "3204",
        (_d("Priya", "SHARMA", "2018-03-22"), _d("Arjun", "SHARMA", "2018-03-22")),
        "2018-03-22",
        area_code="07",
    ),
    SeedCompany(
        7,
        "SPICE ROUTE TRADING LIMITED",
        (),
        "77 Dominion Road",
        "Mount Eden",
        "Auckland",
        "1024",
        (_d("Wei", "CHEN", "2009-07-14"),),
        "2009-07-14",
    ),
    # Taco Loco: three look-alikes in three cities.
    SeedCompany(
        8,
        "TACO LOCO LIMITED",
        (),
        "210 Karangahape Road",
        "Auckland Central",
        "Auckland",
        "1010",
        (_d("Luis", "HERNANDEZ", "2017-10-02"),),
        "2017-10-02",
    ),
    SeedCompany(
        9,
        "LOCO TACO LIMITED",
        ("Loco Taco",),
        "15 Devonport Road",
        None,
        "Tauranga",
        "3110",
        (_d("Hana", "WIREMU", "2019-05-20", "2022-01-31"), _d("Sam", "WIREMU", "2022-02-01")),
        "2019-05-20",
        area_code="07",
    ),
    SeedCompany(
        10,
        "TACO LOCO HOLDINGS LIMITED",
        (),
        "9 Victoria Street",
        None,
        "Hamilton",
        "3204",
        (_d("Carla", "MENDES", "2020-08-08"),),
        "2020-08-08",
        area_code="07",
    ),
    SeedCompany(
        11,
        "SAKURA SUSHI BAR LIMITED",
        ("Sakura Sushi Bar",),
        _demo_street("Sakura Sushi Bar"),
        None,
        "Napier",
        "4110",
        (_d("Yuki", "TANAKA", "2015-09-09"),),
        "2015-09-09",
        area_code="06",
    ),
    SeedCompany(
        12,
        "SAKURA SUSHI LIMITED",
        (),
        "3 Tennyson Street",
        None,
        "Napier",
        "4110",
        (_d("Kenji", "SATO", "2008-01-15", "2013-12-31"),),
        "2008-01-15",
        status="Removed",
        area_code="06",
    ),
    SeedCompany(
        13,
        "GREEN BOWL NZ LIMITED",
        ("The Green Bowl",),
        _demo_street("The Green Bowl"),
        None,
        "Nelson",
        "7010",
        (_d("Olivia", "HART", "2020-02-29"),),
        "2020-02-29",
        area_code="03",
    ),
    SeedCompany(
        14,
        "BANGKOK STREET KITCHEN LIMITED",
        ("Bangkok Street Kitchen",),
        _demo_street("Bangkok Street Kitchen"),
        None,
        "Palmerston North",
        "4410",
        (_d("Somchai", "PRASERT", "2016-12-01"), _d("Nicha", "PRASERT", "2016-12-01")),
        "2016-12-01",
        area_code="06",
    ),
    # Trades as the restaurant under an unrelated legal name: only the trading name can find it.
    SeedCompany(
        15,
        "ROSSI HOSPITALITY LIMITED",
        ("Mama Rosa Trattoria",),
        _demo_street("Mama Rosa Trattoria"),
        None,
        "Queenstown",
        "9300",
        (_d("Rosa", "ROSSI", "2011-04-01"), _d("Giovanni", "ROSSI", "2011-04-01", "2018-06-30")),
        "2011-04-01",
        area_code="03",
    ),
)


def search(term: str, limit: int, with_trading_names: bool = True) -> list[SeedCompany]:
    """Companies whose names share at least half of the query's words, best first, then companies at an
    address containing every word of the query (a street and city search)."""
    wanted = [w for w in dict.fromkeys(words(term)) if w not in STOP_WORDS]
    if not wanted:
        return []
    needed = math.ceil(len(wanted) / 2)
    hits = {c.sequence: len(c.name_words(with_trading_names) & set(wanted)) for c in COMPANIES}
    by_name = sorted(
        (c for c in COMPANIES if hits[c.sequence] >= needed), key=lambda c: (-hits[c.sequence], c.name)
    )
    by_address = [c for c in COMPANIES if set(wanted) <= c.address_words() and c not in by_name]
    return [*by_name, *by_address][:limit]


def by_nzbn(nzbn: str) -> SeedCompany | None:
    return next((c for c in COMPANIES if c.nzbn == nzbn), None)


def by_ch_number(number: str) -> SeedCompany | None:
    return next((c for c in COMPANIES if c.ch_number == number.upper()), None)


# --- NZBN API v5 -----------------------------------------------------------------------------------


def _nzbn_address(company: SeedCompany) -> dict[str, Any]:
    return {
        "uniqueIdentifier": f"ADDR-{company.sequence}",
        "addressType": "REGISTERED",
        "address1": company.street,
        "address2": company.suburb,
        "address3": company.city,
        "address4": None,
        "postCode": company.postcode,
        "countryCode": "NZ",
        "startDate": f"{company.incorporated}T00:00:00.000+12:00",
    }


def _nzbn_summary(company: SeedCompany) -> dict[str, Any]:
    return {
        "entityStatusCode": "50" if company.status == "Registered" else "62",
        "entityName": company.name,
        "nzbn": company.nzbn,
        "entityTypeCode": "LTD",
        "entityTypeDescription": "NZ Limited Company",
        "entityStatusDescription": company.status,
        "registrationDate": f"{company.incorporated}T00:00:00.000+12:00",
        "sourceRegister": "COMPANY",
        "sourceRegisterUniqueId": company.company_number,
        "tradingNames": [
            {
                "uniqueIdentifier": f"TN-{company.sequence}-{i}",
                "name": name,
                "startDate": company.incorporated,
            }
            for i, name in enumerate(company.trading_names)
        ],
        # Carried so that candidates can be compared by address; the adapter treats it as optional.
        "addresses": {"links": [], "addressList": [_nzbn_address(company)]},
    }


def nzbn_search_page(term: str, page_size: int) -> dict[str, Any]:
    found = search(term, page_size)
    return {
        "pageSize": page_size,
        "page": 0,
        "totalItems": len(found),
        "sortBy": "",
        "sortOrder": "",
        "items": [_nzbn_summary(c) for c in found],
    }


def nzbn_entity(company: SeedCompany) -> dict[str, Any]:
    summary = _nzbn_summary(company)
    del summary["sourceRegisterUniqueId"]
    return {
        **summary,
        "sourceRegisterUniqueIdentifier": company.company_number,
        "roles": [
            {
                "roleType": "Director",
                "roleStatus": "CEASED" if d.resigned else "ACTIVE",
                "startDate": f"{d.appointed}T00:00:00.000+12:00",
                "endDate": f"{d.resigned}T00:00:00.000+12:00" if d.resigned else None,
                "rolePerson": {"title": None, "firstName": d.first, "middleNames": None, "lastName": d.last},
                "roleEntity": None,
            }
            for d in company.directors
        ],
        "gstNumbers": [
            {
                "uniqueIdentifier": f"GST-{company.sequence}",
                "gstNumber": company.gst_number,
                "startDate": None,
            }
        ],
        "phoneNumbers": [
            {
                "uniqueIdentifier": f"PH-{company.sequence}",
                "phonePurpose": "Primary",
                "phoneCountryCode": "64",
                "phoneAreaCode": company.area_code,
                "phoneNumber": company.phone_number,
            }
        ],
        "emailAddresses": [
            {
                "uniqueIdentifier": f"EM-{company.sequence}",
                "emailAddress": company.email,
                "emailPurpose": "Primary",
            }
        ],
        "websites": [],
    }


# --- Companies House -------------------------------------------------------------------------------


def _ch_address(company: SeedCompany) -> dict[str, Any]:
    address = {
        "address_line_1": company.street,
        "address_line_2": company.suburb,
        "locality": company.city,
        "postal_code": company.postcode,
        "country": "New Zealand",
    }
    return {k: v for k, v in address.items() if v}


def _ch_snippet(company: SeedCompany) -> str:
    return ", ".join(p for p in (company.street, company.suburb, company.city, company.postcode) if p)


def ch_search_page(term: str, items_per_page: int) -> dict[str, Any]:
    found = search(term, items_per_page, with_trading_names=False)  # Companies House has none
    return {
        "kind": "search#companies",
        "items_per_page": items_per_page,
        "start_index": 0,
        "total_results": len(found),
        "items": [
            {
                "kind": "searchresults#company",
                "company_number": c.ch_number,
                "title": c.name,
                "company_status": CH_STATUS.get(c.status, c.status.lower()),
                "company_type": "ltd",
                "date_of_creation": c.incorporated,
                "address_snippet": _ch_snippet(c),
                "address": _ch_address(c),
                "links": {"self": f"/company/{c.ch_number}"},
            }
            for c in found
        ],
    }


def ch_profile(company: SeedCompany) -> dict[str, Any]:
    return {
        "company_name": company.name,
        "company_number": company.ch_number,
        "company_status": CH_STATUS.get(company.status, company.status.lower()),
        "type": "ltd",
        "date_of_creation": company.incorporated,
        "jurisdiction": "england-wales",
        "registered_office_address": _ch_address(company),
        "has_charges": False,
        "links": {
            "self": f"/company/{company.ch_number}",
            "officers": f"/company/{company.ch_number}/officers",
        },
    }


def ch_officers(company: SeedCompany) -> dict[str, Any]:
    items: list[dict[str, Any]] = []
    for d in company.directors:
        officer = {"name": f"{d.last}, {d.first}", "officer_role": "director", "appointed_on": d.appointed}
        if d.resigned:
            officer["resigned_on"] = d.resigned
        items.append(officer)
    if company.secretary:
        items.append(
            {"name": company.secretary, "officer_role": "secretary", "appointed_on": company.incorporated}
        )
    return {
        "kind": "officer-list",
        "items_per_page": 35,
        "start_index": 0,
        "total_results": len(items),
        "active_count": sum(1 for o in items if "resigned_on" not in o),
        "resigned_count": sum(1 for o in items if "resigned_on" in o),
        "items": items,
        "links": {"self": f"/company/{company.ch_number}/officers"},
    }
