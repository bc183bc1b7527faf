"""The files staff have, read as a header and rows of text: CSV as Excel and others save it, and .xlsx.

Only reading lives here; what the columns mean and which rows are valid is `batch_input`'s job.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

from charset_normalizer import from_bytes

SEPARATORS = (",", ";", "\t")
BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32"),  # before UTF-16 LE: it starts with the same two bytes
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)
XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary .xls (and other Office 97 files)
# An .xlsx is a zip: its parts are trusted only up to these sizes, so a small upload cannot expand into
# gigabytes (a zip bomb). A 10 000-row sheet with 60 columns of text is well under 100 MB of XML.
MAX_XLSX_UNPACKED = 100_000_000
MAX_XLSX_PARTS = 1_000
MAX_XLSX_CELLS = 2_000_000
MAX_XLSX_BLANK_ROWS = 10_000  # blank rows tolerated between restaurants before the sheet counts as too long
RESTAURANT_SHEET = re.compile(r"restaurant|store|batch", re.IGNORECASE)


class FileReadError(ValueError):
    """The file cannot be read as a table at all; the message says why, for the person who uploaded it."""


@dataclass(frozen=True)
class Row:
    """One row as the person sees it in their program: `number` is its line (CSV) or Excel row."""

    number: int
    cells: list[str]


@dataclass(frozen=True)
class Table:
    header: list[str]
    header_row: int
    rows: Iterator[Row]  # may raise FileReadError part-way (a broken CSV record)


def decode(raw: bytes) -> str:
    """The text of an uploaded file: a byte-order mark wins, then UTF-8, then cp1252 (Excel's "CSV" on
    Windows) when charset-normalizer finds it plausible text rather than binary."""
    for bom, encoding in BOMS:
        if raw.startswith(bom):
            try:
                return raw.decode(encoding).lstrip("\ufeff")
            except UnicodeDecodeError as exc:
                raise FileReadError(
                    f"the file starts as {encoding.upper()} but byte {exc.start + 1} cannot be decoded"
                ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        utf8_error = exc
    else:
        if "\x00" in text:  # UTF-16 without a byte-order mark decodes "successfully", one NUL per letter
            raise FileReadError(
                "the file is not UTF-8 text (it contains NUL bytes: UTF-16 without a byte-order mark, or "
                "binary?); save it as CSV UTF-8"
            )
        return text
    if b"\x00" not in raw:
        # Isolated to cp1252: guessing among every legacy code page turns binary files into nonsense text.
        best = from_bytes(raw, cp_isolation=["cp1252"], threshold=0.2).best()
        if best is not None:
            return str(best)
    raise FileReadError(
        f"the file is not UTF-8 text (byte {utf8_error.start + 1} cannot be decoded) nor Windows "
        "(cp1252) or UTF-16 text; save it as CSV UTF-8"
    )


def sniff_separator(text: str) -> str:
    """`,` `;` or tab: the one that splits the header row into the most columns (quotes respected)."""
    best, most = ",", 0
    for separator in SEPARATORS:
        try:
            first = next(csv.reader(io.StringIO(text, newline=""), delimiter=separator), [])
        except csv.Error:
            continue
        if len(first) > most:
            best, most = separator, len(first)
    return best


def read_csv(text: str) -> Table:
    text = text.lstrip("\ufeff")
    # newline="": the csv module finds the line ends itself (\r\n, \n and old Macs' bare \r).
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_separator(text), skipinitialspace=True)

    def records() -> Iterator[Row]:
        try:
            for cells in reader:
                if cells:  # a blank line
                    yield Row(reader.line_num, cells)
        except csv.Error as exc:
            reason = str(exc)
            if "field larger than field limit" in reason:
                reason = f"a cell is longer than {csv.field_size_limit()} characters"
            raise FileReadError(f"row {reader.line_num}: {reason}") from None

    rows = records()
    first = next(rows, None)
    if first is None:
        return Table([], 1, iter(()))
    return Table(first.cells, first.number, rows)


def is_xlsx(raw: bytes, filename: str) -> bool:
    return raw.startswith(XLSX_MAGIC) or filename.lower().endswith((".xlsx", ".xlsm"))


def is_old_excel(raw: bytes, filename: str) -> bool:
    return raw.startswith(OLE_MAGIC) or filename.lower().endswith(".xls")


def read_xlsx(raw: bytes, max_rows: int, max_columns: int) -> Table:
    """The first sheet (or the one named like "Restaurants"), cells as the text Excel shows for them:
    formulas as their last calculated values, whole numbers without ".0", dates as ISO dates."""
    _check_zip(raw)
    from openpyxl import load_workbook  # imported here: only uploads of spreadsheets need it

    try:
        book = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises KeyError, ValueError, zipfile and XML errors alike
        raise FileReadError(f"the file is not a readable .xlsx workbook ({type(exc).__name__})") from None
    try:
        sheets = book.worksheets
        if not sheets:
            raise FileReadError("the workbook has no sheets")
        sheet = next((s for s in sheets if RESTAURANT_SHEET.search(s.title)), sheets[0])
        if (sheet.max_column or 0) > max_columns:  # the used range Excel records, A1:XY99
            raise FileReadError(f"the sheet {sheet.title!r} has more than {max_columns} columns")
        rows: list[Row] = []
        cells_seen = 0
        last_row = max_rows + MAX_XLSX_BLANK_ROWS
        # Bounded on both axes: a sheet may declare (or hold one cell at) XFD1048576, and read-only mode
        # fills every row and column up to that with empty cells.
        values_by_row = sheet.iter_rows(max_row=last_row + 1, max_col=max_columns + 1, values_only=True)
        # Enumerated, not the cells' own row numbers: read-only sheets fill skipped rows with empty cells.
        for number, values in enumerate(values_by_row, start=1):
            if number > last_row:  # filler or data past the bound: cells there would be dropped unseen
                raise FileReadError(f"the sheet {sheet.title!r} has cells past row {last_row}")
            if values.count(None) == len(values):
                continue
            cells = [_cell_text(v) for v in values]
            while cells and cells[-1] == "":
                cells.pop()
            if not cells:
                continue
            cells_seen += len(cells)
            if len(cells) > max_columns:
                raise FileReadError(
                    f"row {number} of sheet {sheet.title!r} has more than {max_columns} columns"
                )
            if len(rows) > max_rows or cells_seen > MAX_XLSX_CELLS:
                raise FileReadError(f"the sheet {sheet.title!r} has more than {max_rows} rows")
            rows.append(Row(number, cells))
    finally:
        book.close()
    if not rows:
        return Table([], 1, iter(()))
    return Table(rows[0].cells, rows[0].number, iter(rows[1:]))


def _check_zip(raw: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise FileReadError("the file is not a readable .xlsx workbook (not a zip archive)") from None
    if len(parts) > MAX_XLSX_PARTS:
        raise FileReadError(f"the workbook has {len(parts)} parts; at most {MAX_XLSX_PARTS} are allowed")
    # Declared sizes are binding: zipfile stops reading a part at its declared size and checks its CRC.
    unpacked = sum(part.file_size for part in parts)
    if unpacked > MAX_XLSX_UNPACKED:
        raise FileReadError(
            f"the workbook unpacks to {unpacked // 1_000_000} MB; at most "
            f"{MAX_XLSX_UNPACKED // 1_000_000} MB are allowed"
        )


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        # A phone or company number typed into a cell becomes a float: 64211234567.0 → "64211234567".
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.time):
        return value.strftime("%H:%M") if value.second == 0 else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.timedelta):  # a duration-formatted cell
        minutes = int(value.total_seconds() // 60)
        return f"{minutes // 60:02d}:{minutes % 60:02d}"
    return str(value).strip()
