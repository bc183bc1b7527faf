"""Batch input files: JSON and CSV, every bad row reported with its row, field and reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from yolobatch.devtools.demo import demo_batch
from yolobatch.domain.batch_input import BatchInputError, parse_batch, parse_csv_batch

EXAMPLES = Path(__file__).parent.parent / "examples"


def test_json_example_parses_and_defaults_the_menu_id():
    batch = parse_batch((EXAMPLES / "demo-batch.json").read_text())
    assert len(batch.restaurants) == 10
    data = demo_batch(1)
    del data["restaurants"][0]["config"]["menu"]["selectedMenuId"]
    restaurant = parse_batch(json.dumps(data)).restaurants[0]
    assert restaurant.config.menu.selected_menu_id == restaurant.menu.id


def test_json_problems_name_row_and_field_for_every_bad_row():
    data = demo_batch(3)
    data["restaurants"][0]["config"]["account"]["email"] = "not-an-email"
    data["restaurants"][2]["config"]["website"]["primaryColor"] = "red"
    with pytest.raises(BatchInputError) as caught:
        parse_batch(json.dumps(data))
    problems = caught.value.problems
    assert len(problems) == 2
    assert problems[0].startswith("restaurant 1 (Jax Burger Shack): config.account.email:")
    assert problems[1].startswith("restaurant 3 (Golden Dragon Noodle House): config.website.primaryColor:")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{", "not valid JSON"),
        ("[]", "non-empty list"),
        ('"x"', "expected a JSON object"),
        ('{"restaurants": [{"name": "A"}]}', "restaurant 1 (A): row: Value error, give either a storeUrl"),
    ],
)
def test_json_shape_errors(text, expected):
    with pytest.raises(BatchInputError) as caught:
        parse_batch(text)
    assert expected in str(caught.value)


def _menu_loader(path: str) -> str:
    return (EXAMPLES / path).read_text()


def test_csv_example_parses_with_menus_hours_and_lists():
    batch = parse_csv_batch((EXAMPLES / "restaurants.csv").read_text(), "csv", _menu_loader)
    first = batch.restaurants[0]
    assert first.config.restaurant.name == "Jax Burger Shack"
    assert first.config.restaurant.opening_hours[0].day == "Monday"
    assert first.config.website.cuisines == ["burgers"]
    assert first.config.payment.include_stripe_link is True
    assert first.menu is not None and first.config.menu.selected_menu_id == first.menu.id


def test_csv_problems_are_reported_per_row_and_nothing_is_half_parsed():
    lines = (EXAMPLES / "restaurants.csv").read_text().splitlines()
    header, good = lines[0], lines[1]
    bad_email = good.replace("owner@jax-burger-shack.co.nz,Jax", "nope,Jax", 1)
    bad_hours = good.replace("Monday 11:00-21:30", "Funday all day", 1)
    missing_menu = good.replace("menus/jax-burger-shack.json", "menus/missing.json")
    text = "\n".join([header, good, bad_email, bad_hours, missing_menu])
    with pytest.raises(BatchInputError) as caught:
        parse_csv_batch(text, "csv", _menu_loader)
    problems = caught.value.problems
    assert problems[0].startswith("row 3 (Jax Burger Shack): config.account.email:"), problems
    assert any(p.startswith("row 4: restaurant.openingHours:") for p in problems), problems
    assert any(p.startswith("row 5: menu: cannot read menus/missing.json") for p in problems), problems


def test_csv_header_errors():
    with pytest.raises(BatchInputError, match="'name' column"):
        parse_csv_batch("email\nx@y.z\n")
    with pytest.raises(BatchInputError, match="unknown column"):
        parse_csv_batch("name,acount.email\nA,x@y.z\n")
    with pytest.raises(BatchInputError, match="no restaurant rows"):
        parse_csv_batch("name,account.email\n")
    with pytest.raises(BatchInputError, match=r"row 2 \(A\): config.account.password: Field required"):
        parse_csv_batch("name,account.email\nA,a@b.co\n")


def test_a_batch_holds_at_most_ten_thousand_restaurants_and_says_so():
    rows = "name,storeUrl\n" + "".join(f"R{i},https://example.com/{i}\n" for i in range(10_001))
    with pytest.raises(BatchInputError) as refused:
        parse_csv_batch(rows, "big")
    assert refused.value.problems == ["at most 10000 restaurants per batch, got 10001"]
    assert len(parse_csv_batch(rows.rsplit("R10000,", 1)[0], "ok").restaurants) == 10_000
