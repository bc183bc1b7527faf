"""Names compared with accents and macrons folded; phone numbers stored as E.164, doubtful ones flagged."""

from __future__ import annotations

import pytest

from yolobatch.domain.company import CompanyCandidate, SearchTerms, fold, is_unambiguous
from yolobatch.domain.derive import derive_config, validate_config
from yolobatch.domain.phone import normalise_phone
from yolobatch.integrations.registry.ranking import address_similarity, rank


def candidate(number: str, name: str) -> CompanyCandidate:
    return CompanyCandidate(source="nzbn", number=number, name=name)


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Café Kāpiti", "Cafe Kapiti"),
        ("Ōtautahi Crème Brûlée", "Otautahi Creme Brulee"),
        ("Smørrebrød", "Smorrebrod"),
    ],
)
def test_accents_and_macrons_fold_to_their_letters_rather_than_vanish(text: str, folded: str) -> None:
    assert fold(text) == folded


@pytest.mark.parametrize(
    ("typed", "registered"),
    [
        ("Café Kāpiti", "CAFE KAPITI LIMITED"),
        ("Cafe Kapiti", "CAFÉ KĀPITI LIMITED"),
        ("CAFE KAPITI", "Café Kāpiti Ltd"),
    ],
)
def test_a_name_spelled_with_or_without_macrons_is_the_same_company_and_chosen_alone(
    typed: str, registered: str
) -> None:
    ranked = rank(
        [candidate("2", "KAPITI COAST CAFE HOLDINGS LIMITED"), candidate("1", registered)],
        SearchTerms(name=typed),
    )
    assert ranked[0].number == "1" and ranked[0].score == pytest.approx(100)
    assert "name" in ranked[0].matched_on
    assert is_unambiguous(ranked)  # was 85.7 with the accented letters deleted: a person had to choose


def test_addresses_fold_too() -> None:
    assert address_similarity("12 Rātā Street, Ōtaki", "12 RATA STREET OTAKI") == 100


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("09 892 1240", "+6498921240"),
        ("+64 9 892 1240", "+6498921240"),
        ("021 555 0199", "+64215550199"),
        ("(07) 839-4455", "+6478394455"),
        ("34771234", "+6434771234"),  # an .xlsx number cell: the leading 0 went with the number format
        ("+44 20 7946 0958", "+442079460958"),  # a number with its own country code keeps it
    ],
)
def test_valid_numbers_are_stored_as_e164(typed: str, e164: str) -> None:
    assert normalise_phone(typed, "NZ") == (e164, None)


def test_a_local_number_is_read_as_the_configured_country_s() -> None:
    assert normalise_phone("020 7946 0958", "GB") == ("+442079460958", None)


@pytest.mark.parametrize(
    ("typed", "reason"), [("12", "not a valid number for NZ"), ("call us", "not a phone number")]
)
def test_a_doubtful_number_is_kept_as_typed_and_flagged(typed: str, reason: str) -> None:
    kept, doubt = normalise_phone(typed, "NZ")
    assert kept == typed and doubt is not None and reason in doubt


def test_step_5_stores_e164_and_warns_about_a_doubtful_number_without_failing() -> None:
    facts = {"email": "owner@kapiti.example", "phone": "04 801 3214"}
    wire, warnings = derive_config("Café Kāpiti", facts, None, None, "menu-1", "S3cret-Password-99")
    assert wire["account"]["phone"] == wire["restaurant"]["phone"] == "+6448013214"
    assert not any("Phone" in w for w in warnings)

    wire, warnings = derive_config(
        "Café Kāpiti", {**facts, "phone": "12345"}, None, None, "menu-1", "S3cret-Password-99"
    )
    config, errors = validate_config(wire)
    assert errors == [] and config is not None and config.account.phone == "12345"
    assert "Phone '12345' is not a valid number for NZ: check it before approving" in warnings
