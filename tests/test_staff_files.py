"""The files staff actually have: Excel's CSV exports (semicolons, cp1252, UTF-16), loose headers, .xlsx."""

from __future__ import annotations

import datetime as dt
import io
import json
import time
import zipfile
from pathlib import Path

import pytest

from tests.test_cli import EXAMPLES, yolobatch
from tests.xlsx_files import with_cached_value, workbook
from yolobatch.domain.batch_input import BatchInputError, canonical_column, parse_upload
from yolobatch.domain.tabular import MAX_XLSX_UNPACKED, decode, sniff_separator

SANDBOX = "http://127.0.0.1:9"


def names_and_facts(raw: bytes, filename: str) -> list[tuple[str, dict[str, str]]]:
    batch = parse_upload(raw, filename, "t", SANDBOX)
    return [(r.name, r.facts()) for r in batch.restaurants]


@pytest.mark.parametrize(
    ("header", "column"),
    [
        ("Store URL", "storeUrl"),
        ("store_url", "storeUrl"),
        ("Restaurant Name", "name"),
        ("RESTAURANT-NAME", "name"),
        ("Company Number", "companyNumber"),
        ("NZBN", "companyNumber"),
        ("E-mail", "email"),
        ("Phone Number", "phone"),
        ("Account.E-mail", "account.email"),
        ("website.primary_color", "website.primaryColor"),
        ("Website Primary Color", None),  # a section needs its dot: "website primary" is no column
    ],
)
def test_headers_match_whatever_case_spaces_underscores_or_hyphens(header: str, column: str | None) -> None:
    assert canonical_column(header) == column


def test_an_unknown_header_is_refused_with_what_it_probably_meant() -> None:
    with pytest.raises(BatchInputError) as refused:
        parse_upload(b"Restaurant Name,Store URL,Emial,acount.email\nA,https://a.example,x,y\n", "a.csv", "t")
    [problem] = refused.value.problems
    assert (
        "unknown column(s) Emial (did you mean email?), acount.email (did you mean account.email?)" in problem
    )


def test_the_excel_csv_example_reads_its_semicolons_quotes_and_windows_characters() -> None:
    raw = (EXAMPLES / "excel-export.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # really what Excel on Windows saves, not UTF-8
    rows = names_and_facts(raw, "excel-export.csv")
    assert [name for name, _ in rows] == [
        "Jax Burger Shack",
        "Pizza Palace CBD (Café, lunch €12)",
        "Taco Loco",
    ]
    assert rows[1][1] == {
        "store_url": f"{SANDBOX}/stores/pizza-palace-cbd",
        "city": "Wellington",
        "email": "owner@pizza-palace-cbd.co.nz",
        "company_number": "9429041000038",
        "phone": "04 801 3214",
    }


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-8-sig", "utf-8", "cp1252"])
@pytest.mark.parametrize("separator", [",", ";", "\t"])
def test_every_encoding_and_separator_excel_saves_reads_the_same(encoding: str, separator: str) -> None:
    text = separator.join(["Restaurant Name", "Store URL", "City"]) + "\r\n"
    text += separator.join(['"Café; Crème, €"', "https://cafe.example", "Auckland"]) + "\r\n"
    raw = text.encode(encoding)
    if encoding in ("utf-16-le", "utf-16-be"):
        raw = "\ufeff".encode(encoding) + raw  # Excel's "Unicode Text" always starts with a byte-order mark
    assert names_and_facts(raw, "x.csv") == [
        ("Café; Crème, €", {"store_url": "https://cafe.example/", "city": "Auckland"})
    ]


def test_the_separator_is_the_header_s_not_one_inside_a_quoted_cell() -> None:
    assert sniff_separator('"a;b;c;d",name\r\n') == ","
    assert sniff_separator('"a,b,c,d";name\r\n') == ";"


def test_binary_is_never_mistaken_for_windows_text() -> None:
    with pytest.raises(ValueError, match="not UTF-8 text"):
        decode(bytes(range(0x80, 0x100)) * 3)


def test_the_xlsx_example_reads_the_restaurants_sheet_formulas_numbers_and_excel_row_numbers() -> None:
    rows = names_and_facts((EXAMPLES / "restaurants.xlsx").read_bytes(), "restaurants.xlsx")
    assert rows == [
        (
            "Kiwi Fish & Chips (Ōtepoti)",
            {
                "store_url": f"{SANDBOX}/stores/kiwi-fish-chips",
                "city": "Dunedin",
                "email": "owner@kiwi-fish-chips.co.nz",  # a formula: its value as Excel last calculated it
                "phone": "34771234",  # a number cell, without ".0"
            },
        ),
        (
            "Spice Route Curry (Kirikiriroa, Café €)",
            {
                "store_url": f"{SANDBOX}/stores/spice-route-curry",
                "city": "Hamilton",
                "email": "owner@spice-route-curry.co.nz",
                "phone": "07 839 4455",
            },
        ),
    ]


def test_xlsx_problems_name_the_row_excel_shows_and_dates_read_as_dates() -> None:
    raw = workbook(
        {
            "Sheet1": [
                ["Name", "Store URL", "Email", "City"],
                ["A", "https://a.example", "a@b.example", dt.date(2026, 11, 30)],
                [],
                [],
                ["B", "https://b.example", "not an email", 12.5],
            ]
        }
    )
    with pytest.raises(BatchInputError) as refused:
        parse_upload(raw, "book.xlsx", "t")
    assert [p.split(":")[0] for p in refused.value.problems] == ["row 5 (B)"]
    fixed = workbook(
        {"Sheet1": [["Name", "Store URL", "City"], ["A", "https://a.example", dt.date(2026, 11, 30)]]}
    )
    assert parse_upload(fixed, "book.xlsx", "t").restaurants[0].city == "2026-11-30"


def test_a_formula_without_a_cached_value_reads_as_empty_not_as_its_text() -> None:
    raw = workbook({"Sheet1": [["Name", "Store URL", "City"], ["A", "https://a.example", '="Auck"&"land"']]})
    assert parse_upload(raw, "book.xlsx", "t").restaurants[0].city is None
    cached = with_cached_value(raw, 1, "C2", "Auckland")
    assert parse_upload(cached, "book.xlsx", "t").restaurants[0].city == "Auckland"


def test_an_xlsx_that_unpacks_to_more_than_the_cap_is_refused_before_it_is_read() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bomb:
        bomb.writestr("[Content_Types].xml", b"<Types/>")
        with bomb.open("xl/worksheets/sheet1.xml", "w") as part:
            chunk = b"\0" * 1_000_000
            for _ in range(MAX_XLSX_UNPACKED // len(chunk) + 1):
                part.write(chunk)
    raw = buffer.getvalue()
    assert len(raw) < 200_000  # small to upload, over 100 MB unpacked
    with pytest.raises(BatchInputError, match="unpacks to 101 MB; at most 100 MB"):
        parse_upload(raw, "bomb.xlsx", "t")


def test_an_xlsx_wider_than_the_column_cap_is_refused() -> None:
    raw = workbook({"Sheet1": [["Name", *(f"c{i}" for i in range(300))]]})
    with pytest.raises(BatchInputError, match="more than 200 columns"):
        parse_upload(raw, "wide.xlsx", "t")


@pytest.mark.parametrize("example", ["excel-export.csv", "restaurants.xlsx"])
def test_yolobatch_run_takes_the_files_staff_have(tmp_path: Path, example: str) -> None:
    result = yolobatch(
        "run",
        str(EXAMPLES / example),
        "--sandbox",
        "--yolo",
        "--json",
        "--time-scale",
        "0.01",
        data_dir=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout)
    expected = {
        "excel-export.csv": ["Jax Burger Shack", "Pizza Palace CBD (Café, lunch €12)", "Taco Loco"],
        "restaurants.xlsx": ["Kiwi Fish & Chips (Ōtepoti)", "Spice Route Curry (Kirikiriroa, Café €)"],
    }[example]
    assert summary["status"] == "completed"
    assert [r["name"] for r in summary["restaurants"]] == expected
    assert summary["sandbox"]["duplicates"] == []


def far_cell(cell: str) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["Name", "Store URL"])
    sheet.append(["A", "https://a.example"])
    sheet[cell] = "x"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ("XFD1048576", "more than 200 columns"),
        ("A1048576", "cells past row 20001"),
        ("XFD2", "more than 200 columns"),
        ("A30000", "past row 20001"),
    ],
)
def test_a_cell_far_beyond_the_caps_is_refused_quickly_not_dropped_or_walked_to(
    cell: str, reason: str
) -> None:
    started = time.perf_counter()
    with pytest.raises(BatchInputError, match=reason):
        parse_upload(far_cell(cell), "far.xlsx", "t")
    assert time.perf_counter() - started < 5  # read-only mode would fill a million rows of 16 384 cells
