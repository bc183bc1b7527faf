"""Workbooks as Excel saves them, built with openpyxl (which writes no cached formula values: Excel does,
so `with_cached_value` puts one in, as a file from Excel would have)."""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

from openpyxl import Workbook


def workbook(sheets: dict[str, list[list[Any]]]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def with_cached_value(xlsx: bytes, sheet_number: int, cell: str, value: str) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(xlsx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == f"xl/worksheets/sheet{sheet_number}.xml":
                data, found = re.subn(
                    rf'<c r="{cell}"[^>]*><f>(.*?)</f><v\s*/?>(?:</v>)?'.encode(),
                    rf'<c r="{cell}" t="str"><f>\1</f><v>{value}</v>'.encode(),
                    data,
                )
                assert found == 1, data[:2000]
            target.writestr(item, data)
    return out.getvalue()
