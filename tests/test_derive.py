"""Step 5: config derivation from what steps 1-4 found, validation errors, copy to all."""

from __future__ import annotations

from yolobatch.domain.company import CompanyDetails, Director
from yolobatch.domain.derive import copy_config, derive_config, generate_password, validate_config
from yolobatch.domain.extraction import Branding, ContactDetails, ExtractionResult, ExtractionWarning


def extraction(**contact) -> ExtractionResult:
    return ExtractionResult(
        url="https://example.com",
        source="jsonld",
        branding=Branding(primary_color="#D62828", secondary_color="#F7B801", theme="light"),
        contact=ContactDetails(**contact),
        warnings=[ExtractionWarning(code="missing_price", message="1 item(s) without a readable price")],
    )


COMPANY = CompanyDetails(
    source="nzbn",
    number="9429041000014",
    legal_name="JAX BURGER SHACK LIMITED",
    directors=[Director(name="Jackson Te Awa")],
    contact_person="Jackson Te Awa",
    email="accounts@jax.co.nz",
    phone="+6491234567",
    registered_address="1 Queen Street, Auckland",
)


def test_passwords_are_strong_and_unpredictable():
    passwords = {generate_password() for _ in range(50)}
    assert len(passwords) == 50
    for password in passwords:
        assert (
            len(password) == 20 and any(c.isupper() for c in password) and any(c.isdigit() for c in password)
        )


def test_staff_facts_win_over_the_page_which_wins_over_the_registry():
    wire, warnings = derive_config(
        "Jax Burger Shack",
        {"email": "owner@jax.co.nz", "city": "Auckland"},
        extraction(phone="+64 9 555 0101", address="12 Ponsonby Road, Auckland"),
        COMPANY,
        "menu-1",
        "S3cret-Password-99",
    )
    config, errors = validate_config(wire)
    assert errors == [] and config is not None
    assert config.account.email == "owner@jax.co.nz"  # staff
    assert config.account.phone == "+6495550101"  # page, stored as E.164
    assert config.restaurant.address == "12 Ponsonby Road, Auckland"
    assert config.website.primary_color == "#D62828" and config.website.theme == "light"
    assert config.website.nav_text_color == "secondary"  # light theme: the original's default
    assert config.onboarding.user_name == "Jackson Te Awa"  # the director from step 4
    assert config.menu.selected_menu_id == "menu-1"
    assert any("readable price" in w for w in warnings)


def test_missing_email_is_a_validation_error_and_a_warning():
    wire, warnings = derive_config("Nameless", {}, None, None, None, "S3cret-Password-99")
    config, errors = validate_config(wire)
    assert config is None
    assert any(e.startswith("account.email:") for e in errors)
    assert any("No email" in w for w in warnings) and any("No menu" in w for w in warnings)
    assert all("S3cret" not in e for e in errors)


def test_copy_to_all_keeps_each_restaurants_own_fields():
    source, _ = derive_config("A", {"email": "a@a.co"}, extraction(), COMPANY, "menu-a", "Password-A-123")
    target, _ = derive_config("B", {"email": "b@b.co"}, None, None, "menu-b", "Password-B-123")
    source["website"]["itemLayout"] = "list"
    source["payment"]["includeStripeLink"] = True
    copied = copy_config(source, target)
    assert copied["website"]["itemLayout"] == "list" and copied["payment"]["includeStripeLink"] is True
    assert copied["website"]["primaryColor"] == "#D62828"
    assert copied["account"]["email"] == "b@b.co" and copied["account"]["password"] == "Password-B-123"
    assert copied["restaurant"]["name"] == "B" and copied["menu"]["selectedMenuId"] == "menu-b"
