"""Company registries (steps 2–4): cleaning and ranking rules, and both adapters against the sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from yolobatch.devtools.demo import NAMES, demo_restaurant
from yolobatch.devtools.sandbox import RunningSandbox, SandboxSettings, start_in_thread
from yolobatch.domain.company import (
    CompanyCandidate,
    Director,
    SearchTerms,
    clean_search_name,
    contact_person,
    current_first,
    is_unambiguous,
    street_search_terms,
)
from yolobatch.integrations.registry import (
    REGISTRIES,
    CompaniesHouseRegistry,
    NzbnRegistry,
    Registry,
    RegistryError,
    make_registry,
    merge,
    rank,
)

KEY = "sandbox-registry-key"
SECRET = "s3cr3t-registry-key-123"
BASES = {"nzbn": "/nzbn/v5", "companies_house": "/companies-house"}
ONE_MATCH = [
    n[0] for n in NAMES if n[0] not in {"Pizza Palace CBD", "Taco Loco", "Golden Dragon Noodle House"}
]


def terms_for(restaurant: str) -> SearchTerms:
    index, (name, city, *rest) = next((i, n) for i, n in enumerate(NAMES) if n[0] == restaurant)
    address = demo_restaurant(index, name, city, *rest)["config"]["restaurant"]["address"]
    return SearchTerms(name=name, address=address, city=city)


def candidate(name: str, number: str = "1", **fields: Any) -> CompanyCandidate:
    return CompanyCandidate(source="nzbn", number=number, name=name, **fields)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    running = start_in_thread(SandboxSettings(time_scale=0.001, hang_seconds=5))
    yield running
    running.stop()


@pytest.fixture
def world(sandbox: RunningSandbox) -> RunningSandbox:
    """The sandbox with no fault plans and an empty call log."""
    httpx.post(f"{sandbox.url}/_sandbox/reset").raise_for_status()
    return sandbox


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def registry(kind: str, http: httpx.AsyncClient, world: RunningSandbox, key: str = KEY) -> Registry:
    return make_registry(kind, http, world.url + BASES[kind], key)  # type: ignore[arg-type]


def add_fault(world: RunningSandbox, endpoint: str, fault: str, **extra: Any) -> None:
    response = httpx.post(
        f"{world.url}/_sandbox/faults", json={"endpoint": endpoint, "fault": fault, **extra}
    )
    response.raise_for_status()


# --- pure rules ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "cleaned"),
    [
        ("Texas Chicken (Henderson)", "Texas Chicken"),
        ("Jax Burger Shack", "Jax Burger Shack"),
        ("Sushi (Ponsonby) Bar (New)", "Sushi Bar"),
        ("Noodles (Mt (Eden))", "Noodles"),
        ("  Taco   Loco  ", "Taco Loco"),
        ("(Closed)", "Closed"),
    ],
)
def test_clean_search_name(name: str, cleaned: str) -> None:
    assert clean_search_name(name) == cleaned


@pytest.mark.parametrize(
    ("address", "city", "expected"),
    [
        ("170 Main Street, Auckland, New Zealand", "Auckland", "170 Main Street Auckland"),
        ("12 Queen Street, Auckland CBD", "Auckland", "12 Queen Street Auckland"),
        ("5 Marine Parade, Napier", "Napier", "5 Marine Parade Napier"),
        # the earliest street-type word wins
        ("Unit 3, 4 Rose Lane, Off Ponsonby Road", "Auckland", "Unit 3 4 Rose Lane Auckland"),
        ("1 ESPLANADE, Mt Maunganui", None, "1 ESPLANADE"),
        # no street-type word: the first three words
        ("88 Cuba St, Te Aro, Wellington", "Wellington", "88 Cuba St Wellington"),
        ("Shop 5 Westfield Mall Riccarton", "Christchurch", "Shop 5 Westfield Christchurch"),
        # the city is not repeated when the street part already ends with it
        ("Queenstown", "Queenstown", "Queenstown"),
        (None, "Auckland", None),
        ("   ", "Auckland", None),
    ],
)
def test_street_search_terms(address: str | None, city: str | None, expected: str | None) -> None:
    assert street_search_terms(address, city) == expected


@pytest.mark.parametrize(
    ("scores", "unambiguous"),
    [
        ([], False),
        ([95], True),
        ([89.9], False),
        ([100, 90], True),
        ([100, 90.1], False),
        ([92, 40, 30], True),
        ([100, 100], False),
    ],
)
def test_is_unambiguous(scores: list[float], unambiguous: bool) -> None:
    ranked = [candidate(f"C{i}", str(i), score=s) for i, s in enumerate(scores)]
    assert is_unambiguous(ranked) is unambiguous


def test_is_unambiguous_thresholds_are_parameters() -> None:
    ranked = [candidate("A", "1", score=80), candidate("B", "2", score=75)]
    assert not is_unambiguous(ranked)
    assert is_unambiguous(ranked, threshold=80, margin=5)


def test_current_directors_first_and_the_contact_person() -> None:
    directors = [
        Director(name="Peter WALSH", resigned="2019-08-31"),
        Director(name="Jackson TE AWA"),
        Director(name="grace o'brien-smith"),
    ]
    ordered = current_first(directors)
    assert [d.name for d in ordered] == ["Jackson TE AWA", "grace o'brien-smith", "Peter WALSH"]
    assert contact_person(ordered) == "Jackson Te Awa"
    assert contact_person([Director(name="SEAN O'BRIEN"), Director(name="X")]) == "Sean O'Brien"
    assert contact_person([Director(name="Kate McDONALD")]) == "Kate McDONALD"  # mixed case is kept
    assert contact_person([Director(name="A B", resigned="2020-01-01")]) is None
    assert contact_person([]) is None


def test_ranking_prefers_exact_names_then_subsets_and_penalises_inactive_companies() -> None:
    terms = SearchTerms(
        name="Jax Burger Shack (Ponsonby)", address="170 Main Street, Auckland", city="Auckland"
    )
    ranked = rank(
        [
            candidate("JAX LIMITED", "1"),
            candidate("BURGER SHACK LIMITED", "2", address="14 George Street, Dunedin 9016"),
            candidate("JAX BURGER SHACK LTD", "3", status="Removed"),
            candidate("THE JAX BURGER SHACK NZ LIMITED", "4", address="170 Main Street, Auckland 1010"),
        ],
        terms,
    )
    assert [c.number for c in ranked] == ["4", "2", "3", "1"]
    assert ranked[0].score == 100  # LIMITED, NZ, THE and the "(Ponsonby)" suffix do not count
    assert ranked[0].matched_on == ["name", "address"]
    assert 85 < ranked[1].score < 90  # a subset of the words is close, never equal
    assert ranked[2].score == 85  # an exact name, but removed from the register
    assert ranked[3].score < 60
    assert is_unambiguous(ranked)
    assert all(0 <= c.score <= 100 for c in ranked)


def test_ranking_uses_trading_names_and_the_address_to_break_ties() -> None:
    terms = SearchTerms(name="Mama Rosa Trattoria", address="27 Main Street, Queenstown", city="Queenstown")
    ranked = rank(
        [
            candidate("MAMA ROSA LIMITED", "1", address="1 Beach Road, Auckland"),
            candidate("ROSSI HOSPITALITY LIMITED", "2", trading_names=["Mama Rosa Trattoria"]),
            candidate("MAMA ROSA TRATTORIA LIMITED", "3", address="9 Shotover Street, Queenstown 9300"),
            candidate("MAMA ROSA TRATTORIA LIMITED", "4", address="27 Main Street, Queenstown 9300"),
        ],
        terms,
    )
    # Equal names: the one at the restaurant's own address first, then the same city, then no address.
    assert [c.number for c in ranked] == ["4", "3", "2", "1"]
    assert ranked[0].score == ranked[1].score == ranked[2].score == 100
    assert ranked[2].matched_on == ["trading_name"]
    assert ranked[3].score < 90


def test_ranking_keeps_found_by_address_and_stable_order_for_ties() -> None:
    terms = SearchTerms(name="Taco Loco")
    ranked = rank(
        [candidate("TACO LOCO LIMITED", "1"), candidate("LOCO TACO LIMITED", "2", matched_on=["address"])],
        terms,
    )
    assert [c.number for c in ranked] == ["1", "2"]
    assert ranked[1].matched_on == ["name", "address"]


def test_merge_keeps_name_results_first_and_one_entry_per_number() -> None:
    by_name = [candidate("A", "1", matched_on=["name"]), candidate("B", "2", matched_on=["name"])]
    by_address = [
        candidate("B", "2", address="1 Main Street", matched_on=["address"]),
        candidate("C", "3", matched_on=["address"]),
    ]
    merged = merge(by_name, by_address)
    assert [c.number for c in merged] == ["1", "2", "3"]
    assert merged[1].matched_on == ["name", "address"] and merged[1].address == "1 Main Street"


def test_search_terms_reject_a_blank_name() -> None:
    with pytest.raises(ValueError):
        SearchTerms(name="   ")


# --- adapters against the sandbox ------------------------------------------------------------------


# Mama Rosa Trattoria's legal name differs from its trading name, and Companies House publishes no trading
# names: there it is not a clear match, so that one pair is not part of this table.
CLEAR_MATCHES = [
    (kind, restaurant)
    for kind in ("nzbn", "companies_house")
    for restaurant in ONE_MATCH
    if not (kind == "companies_house" and restaurant == "Mama Rosa Trattoria")
]


@pytest.mark.parametrize(("kind", "restaurant"), CLEAR_MATCHES)
async def test_one_clear_company_is_ranked_first_and_unambiguous(
    kind: str, restaurant: str, world: RunningSandbox, http: httpx.AsyncClient
) -> None:
    ranked = await registry(kind, http, world).search(terms_for(restaurant))
    assert ranked, restaurant
    assert ranked[0].source == kind
    assert ranked[0].score == 100
    assert "address" in ranked[0].matched_on  # found by the street + city search as well
    assert is_unambiguous(ranked), [(c.name, c.score) for c in ranked]
    assert ranked == sorted(ranked, key=lambda c: -c.score)


async def test_a_trading_name_finds_a_differently_named_company(
    world: RunningSandbox, http: httpx.AsyncClient
) -> None:
    ranked = await registry("nzbn", http, world).search(terms_for("Mama Rosa Trattoria"))
    assert ranked[0].name == "ROSSI HOSPITALITY LIMITED"
    assert ranked[0].trading_names == ["Mama Rosa Trattoria"]
    assert ranked[0].matched_on == ["trading_name", "address"]


@pytest.mark.parametrize("kind", ["nzbn", "companies_house"])
async def test_look_alike_companies_are_ambiguous(
    kind: str, world: RunningSandbox, http: httpx.AsyncClient
) -> None:
    ranked = await registry(kind, http, world).search(terms_for("Taco Loco"))
    assert {c.name for c in ranked} >= {
        "TACO LOCO LIMITED",
        "LOCO TACO LIMITED",
        "TACO LOCO HOLDINGS LIMITED",
    }
    assert not is_unambiguous(ranked)
    assert ranked[0].score - ranked[1].score < 10


async def test_a_trading_name_and_a_legal_name_tie_for_pizza_palace(
    world: RunningSandbox, http: httpx.AsyncClient
) -> None:
    ranked = await registry("nzbn", http, world).search(terms_for("Pizza Palace CBD"))
    assert {c.name for c in ranked[:2]} == {"PIZZA PALACE LIMITED", "PIZZA PALACE CBD LIMITED"}
    assert not is_unambiguous(ranked)


@pytest.mark.parametrize("kind", ["nzbn", "companies_house"])
async def test_no_company_is_an_empty_list(kind: str, world: RunningSandbox, http: httpx.AsyncClient) -> None:
    assert await registry(kind, http, world).search(terms_for("Golden Dragon Noodle House")) == []
    calls = httpx.get(f"{world.url}/_sandbox/calls").json()
    # Both searches ran: by the cleaned name and by street + city.
    queries = sorted(next(iter(c["payload"].values())) for c in calls)
    assert queries == ["138 Main Street Christchurch", "Golden Dragon Noodle House"]


async def test_search_without_an_address_searches_by_name_only(
    world: RunningSandbox, http: httpx.AsyncClient
) -> None:
    ranked = await registry("nzbn", http, world).search(SearchTerms(name="The Green Bowl (Nelson)"))
    assert [c.name for c in ranked] == ["GREEN BOWL NZ LIMITED"]
    calls = httpx.get(f"{world.url}/_sandbox/calls", params={"endpoint": "nzbn-search"}).json()
    assert [c["payload"]["search-term"] for c in calls] == ["The Green Bowl"]


async def test_nzbn_details(world: RunningSandbox, http: httpx.AsyncClient) -> None:
    nzbn = registry("nzbn", http, world)
    ranked = await nzbn.search(terms_for("Jax Burger Shack"))
    details = await nzbn.details(ranked[0].number)
    assert details.source == "nzbn"
    assert details.number == details.nzbn == ranked[0].number and len(details.nzbn) == 13
    assert details.company_number and details.company_number.isdigit()
    assert details.legal_name == "JAX BURGER SHACK LIMITED"
    assert details.trading_names == ["Jax Burger Shack"]
    assert details.status == "Registered"
    # The register lists a former director first; current ones come first here and give the contact.
    assert [(d.name, d.resigned) for d in details.directors] == [
        ("Jackson TE AWA", None),
        ("Mere TE AWA", None),
        ("Peter WALSH", "2019-08-31"),
    ]
    assert details.directors[0].appointed == "2016-04-12"
    assert details.contact_person == "Jackson Te Awa"
    assert details.gst_number and len(details.gst_number.replace("-", "")) == 9
    assert details.phone and details.phone.startswith("+64 9 ")
    assert details.email == "accounts@jaxburgershack.co.nz"
    assert details.registered_address == "170 Main Street, Auckland Central, Auckland, 1010"


async def test_companies_house_details(world: RunningSandbox, http: httpx.AsyncClient) -> None:
    house = registry("companies_house", http, world)
    ranked = await house.search(terms_for("Jax Burger Shack"))
    details = await house.details(ranked[0].number)
    assert details.source == "companies_house"
    assert details.number == details.company_number == ranked[0].number and details.nzbn is None
    assert details.legal_name == "JAX BURGER SHACK LIMITED" and details.status == "active"
    # "SURNAME, First" becomes natural order; the secretary is not a director.
    assert [(d.name, d.role, d.resigned) for d in details.directors] == [
        ("Jackson TE AWA", "Director", None),
        ("Mere TE AWA", "Director", None),
        ("Peter WALSH", "Director", "2019-08-31"),
    ]
    assert details.contact_person == "Jackson Te Awa"
    assert (details.gst_number, details.phone, details.email, details.trading_names) == (None, None, None, [])
    assert details.registered_address == "170 Main Street, Auckland Central, Auckland, 1010, New Zealand"


@pytest.mark.parametrize(("kind", "number"), [("nzbn", "9429000000000"), ("companies_house", "00000000")])
async def test_unknown_company_is_a_non_retryable_404(
    kind: str, number: str, world: RunningSandbox, http: httpx.AsyncClient
) -> None:
    with pytest.raises(RegistryError) as caught:
        await registry(kind, http, world).details(number)
    assert (caught.value.status_code, caught.value.retryable) == (404, False)
    assert "not found" in caught.value.message


@pytest.mark.parametrize(("kind", "number"), [("nzbn", "12/../34"), ("companies_house", "../../x")])
async def test_malformed_numbers_are_rejected_before_any_call(
    kind: str, number: str, world: RunningSandbox, http: httpx.AsyncClient
) -> None:
    with pytest.raises(RegistryError) as caught:
        await registry(kind, http, world).details(number)
    assert not caught.value.retryable and caught.value.status_code is None
    assert httpx.get(f"{world.url}/_sandbox/calls").json() == []


# --- authentication --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["nzbn", "companies_house"])
async def test_a_wrong_api_key_is_a_clear_non_retryable_error_without_the_key(
    kind: str, world: RunningSandbox, http: httpx.AsyncClient
) -> None:
    with pytest.raises(RegistryError) as caught:
        await registry(kind, http, world, key=SECRET).search(SearchTerms(name="Taco Loco"))
    error = caught.value
    assert (error.status_code, error.retryable) == (401, False)
    assert "refused the API key" in error.message
    assert SECRET not in str(error) and SECRET not in repr(error.args)


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        ("/nzbn/v5/entities?search-term=taco", "missing subscription key"),
        ("/companies-house/search/companies?q=taco", "Invalid Authorization"),
    ],
)
def test_sandbox_requires_registry_auth(world: RunningSandbox, path: str, fragment: str) -> None:
    response = httpx.get(world.url + path)
    assert response.status_code == 401
    assert fragment in response.text


def test_sandbox_accepts_each_registrys_own_auth(world: RunningSandbox) -> None:
    nzbn = httpx.get(
        f"{world.url}/nzbn/v5/entities",
        params={"search-term": "taco"},
        headers={"Ocp-Apim-Subscription-Key": KEY},
    )
    house = httpx.get(f"{world.url}/companies-house/search/companies", params={"q": "taco"}, auth=(KEY, ""))
    assert nzbn.status_code == house.status_code == 200
    assert {"pageSize", "totalItems", "items"} <= nzbn.json().keys()
    assert {"company_number", "title", "company_status", "address_snippet"} <= house.json()["items"][0].keys()
    assert (
        httpx.get(f"{world.url}/nzbn/v5/entities", headers={"Ocp-Apim-Subscription-Key": KEY}).status_code
        == 400
    )


# --- faults ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["nzbn", "companies_house"])
async def test_a_500_is_retryable(kind: str, world: RunningSandbox, http: httpx.AsyncClient) -> None:
    add_fault(world, "nzbn-search" if kind == "nzbn" else "ch-search", "500")
    with pytest.raises(RegistryError) as caught:
        await registry(kind, http, world).search(SearchTerms(name="Taco Loco"))
    assert (caught.value.status_code, caught.value.retryable) == (500, True)
    # The plan is used up: the retry succeeds.
    assert await registry(kind, http, world).search(SearchTerms(name="Taco Loco"))


async def test_a_429_carries_retry_after(world: RunningSandbox, http: httpx.AsyncClient) -> None:
    add_fault(world, "nzbn-entity", "429", retry_after=7)
    with pytest.raises(RegistryError) as caught:
        await registry("nzbn", http, world).details("9429041000016")
    assert (caught.value.status_code, caught.value.retryable, caught.value.retry_after) == (429, True, 7)


@pytest.mark.parametrize(("endpoint", "fault"), [("ch-search", "garbage"), ("ch-search", "success_false")])
async def test_an_unusable_2xx_is_a_retryable_error_not_zero_results(
    endpoint: str, fault: str, world: RunningSandbox, http: httpx.AsyncClient
) -> None:
    add_fault(world, endpoint, fault)
    with pytest.raises(RegistryError) as caught:
        await registry("companies_house", http, world).search(SearchTerms(name="Taco Loco"))
    assert (caught.value.status_code, caught.value.retryable) == (200, True)
    assert "not JSON" in caught.value.message or "unexpected body" in caught.value.message


async def test_a_failed_address_search_fails_the_whole_search(
    world: RunningSandbox, http: httpx.AsyncClient
) -> None:
    terms = terms_for("Jax Burger Shack")
    add_fault(world, "nzbn-search", "503", restaurant_id=street_search_terms(terms.address, terms.city))
    with pytest.raises(RegistryError) as caught:
        await registry("nzbn", http, world).search(terms)
    assert (caught.value.status_code, caught.value.retryable) == (503, True)


async def test_a_400_is_not_retryable(world: RunningSandbox, http: httpx.AsyncClient) -> None:
    add_fault(world, "ch-officers", "400")
    house = registry("companies_house", http, world)
    number = (await house.search(SearchTerms(name="Sakura Sushi Bar")))[0].number
    with pytest.raises(RegistryError) as caught:
        await house.details(number)
    assert (caught.value.status_code, caught.value.retryable) == (400, False)


async def test_a_lost_answer_times_out_as_retryable(world: RunningSandbox, http: httpx.AsyncClient) -> None:
    add_fault(world, "nzbn-search", "timeout")
    nzbn = NzbnRegistry(http, world.url + BASES["nzbn"], KEY, timeout=0.3)
    with pytest.raises(RegistryError) as caught:
        await nzbn.search(SearchTerms(name="Taco Loco"))
    assert caught.value.retryable and "timed out" in caught.value.message


async def test_a_refused_connection_is_retryable(http: httpx.AsyncClient) -> None:
    nzbn = NzbnRegistry(http, "http://127.0.0.1:9/nzbn/v5", SECRET, timeout=2)
    with pytest.raises(RegistryError) as caught:
        await nzbn.search(SearchTerms(name="Taco Loco"))
    assert caught.value.retryable and SECRET not in caught.value.message


def test_registry_calls_are_logged_with_their_faults(world: RunningSandbox) -> None:
    add_fault(world, "nzbn-search", "500")
    for _ in range(2):
        httpx.get(
            f"{world.url}/nzbn/v5/entities",
            params={"search-term": "taco"},
            headers={"Ocp-Apim-Subscription-Key": KEY},
        )
    calls = httpx.get(f"{world.url}/_sandbox/calls", params={"endpoint": "nzbn-search"}).json()
    assert [(c["status_code"], c["fault"]) for c in calls] == [(500, "500"), (200, None)]
    # Registry lookups do not count towards the platform's concurrency gauges.
    assert httpx.get(f"{world.url}/_sandbox/state").json()["max_in_flight"] == 0


def test_fault_plans_accept_registry_endpoints_only_when_known(world: RunningSandbox) -> None:
    ok = httpx.post(f"{world.url}/_sandbox/faults", json={"endpoint": "ch-company", "fault": "503"})
    bad = httpx.post(f"{world.url}/_sandbox/faults", json={"endpoint": "ch-companies", "fault": "503"})
    assert (ok.status_code, bad.status_code) == (200, 400)


# --- redaction -------------------------------------------------------------------------------------


def echoing_transport(status: int, content_type: str = "application/json") -> httpx.MockTransport:
    """An upstream that repeats the credentials it was sent, as some misconfigured gateways do."""

    def handler(request: httpx.Request) -> httpx.Response:
        echoed = f"{request.headers.get('Ocp-Apim-Subscription-Key')} {request.headers.get('Authorization')}"
        if content_type == "application/json":
            return httpx.Response(status, json={"message": f"rejected credentials {echoed}"})
        return httpx.Response(status, text=f"<html>{echoed}</html>", headers={"Content-Type": content_type})

    return httpx.MockTransport(handler)


@pytest.mark.parametrize("kind", ["nzbn", "companies_house"])
@pytest.mark.parametrize(
    ("status", "content_type"), [(500, "application/json"), (200, "text/html"), (403, "text/plain")]
)
async def test_the_api_key_never_appears_in_errors(kind: str, status: int, content_type: str) -> None:
    async with httpx.AsyncClient(transport=echoing_transport(status, content_type)) as http:
        adapter = make_registry(kind, http, "https://registry.example", SECRET)  # type: ignore[arg-type]
        with pytest.raises(RegistryError) as caught:
            await adapter.search(SearchTerms(name="Taco Loco"))
    text = f"{caught.value} {caught.value.message} {caught.value.args}"
    assert "********" in text  # the echo was there, and masked
    assert SECRET not in text
    assert "czNjcjN0" not in text  # nor its basic-auth (base64) form


def test_make_registry_picks_the_adapter() -> None:
    http = httpx.AsyncClient()
    assert isinstance(make_registry("nzbn", http, "https://x", KEY), NzbnRegistry)
    assert isinstance(make_registry("companies_house", http, "https://x", KEY), CompaniesHouseRegistry)
    assert isinstance(make_registry("nzbn", http, "https://x", KEY), Registry)
    with pytest.raises(ValueError, match="unknown registry"):
        make_registry("opencorporates", http, "https://x", KEY)  # type: ignore[arg-type]


def test_an_unknown_registry_is_refused_by_settings_not_replaced_by_nzbn() -> None:
    from pydantic import ValidationError

    from yolobatch.settings import Settings

    for kind in REGISTRIES:  # each registry of the one list has its endpoint settings
        assert Settings(registry=kind).registry == kind
        assert getattr(Settings(), f"{kind}_api_url")
    with pytest.raises(ValidationError, match="registry"):
        Settings(registry="opencorporates")


@pytest.mark.parametrize("restaurant", ONE_MATCH)
async def test_name_and_city_alone_still_pick_the_one_clear_company(
    restaurant: str, world: RunningSandbox, http: httpx.AsyncClient
) -> None:
    city = next(n[1] for n in NAMES if n[0] == restaurant)
    ranked = await registry("nzbn", http, world).search(SearchTerms(name=restaurant, city=city))
    assert is_unambiguous(ranked) and ranked[0].score == 100
