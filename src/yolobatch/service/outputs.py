"""The operator's outputs as every shell gives them: the batch export (CSV or JSON) and the owner's
password, read only on purpose with a reason, audited with who and why (issue 15)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass
from typing import Any, Literal

from yolobatch.domain.outputs import OUTPUT_FIELDS
from yolobatch.store.outputs import ExportRow, OutputsNotFound, OwnerLogin
from yolobatch.store.repository import Store

ExportFormat = Literal["csv", "json"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("csv", "json")
CSV_COLUMNS = ("restaurant", "status", *OUTPUT_FIELDS, "errors", "warnings")
# A spreadsheet runs a cell that starts like a formula; these leads make it one (OWASP's list, with the
# tab and carriage return that some programs strip before looking).
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")
MAX_REASON = 500

__all__ = [
    "EXPORT_FORMATS",
    "Export",
    "ExportFormat",
    "OutputsNotFound",
    "ReasonRequired",
    "export_batch",
    "reveal_password",
]


class ReasonRequired(ValueError):
    def __init__(self) -> None:
        super().__init__("say why: a reason is required to reveal a password")


@dataclass(frozen=True, slots=True)
class Export:
    media_type: str
    filename: str
    text: str


def _reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise ReasonRequired()
    if len(text) > MAX_REASON:
        raise ValueError(f"the reason is too long (at most {MAX_REASON} characters)")
    return text


def reveal_password(store: Store, job_id: str, org_id: str, actor: str, reason: str | None) -> OwnerLogin:
    """The owner's generated platform password; audited before it is returned, so no read goes unrecorded.
    Raises OutputsNotFound (also for another organisation's job) or ReasonRequired."""
    why = _reason(reason)
    login = store.owner_login(job_id, org_id)
    store.audit_reveal(org_id, login.batch_id, job_id, actor, why, "Owner's password")
    return login


def neutralise(cell: str) -> str:
    """A cell a spreadsheet shows as text, never runs: a formula lead gets a quote before it."""
    return "'" + cell if cell.startswith(FORMULA_LEADS) else cell


def _record(row: ExportRow, password: str | None) -> dict[str, Any]:
    record: dict[str, Any] = {
        "job_id": row.job_id,
        "restaurant": row.restaurant_name,
        "status": row.status,
        **asdict(row.outputs),
        "errors": row.errors,
        "warnings": row.warnings,
    }
    if password is not None:
        record["owner_password"] = password
    return record


def _csv(records: list[dict[str, Any]], with_passwords: bool) -> str:
    columns = ["job_id", *CSV_COLUMNS, *(["owner_password"] if with_passwords else [])]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for record in records:
        cells = []
        for column in columns:
            value = record.get(column)
            text = "; ".join(value) if isinstance(value, list) else "" if value is None else str(value)
            cells.append(neutralise(text))
        writer.writerow(cells)
    return buffer.getvalue()


def export_batch(
    store: Store,
    batch_id: str,
    org_id: str,
    fmt: str = "csv",
    *,
    include_passwords: bool = False,
    actor: str = "system",
    reason: str | None = None,
) -> Export:
    """One row per restaurant: name, status, every output, errors and warnings. Passwords only when asked
    for, with a reason, and audited once for the batch. Raises OutputsNotFound, ReasonRequired, ValueError."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; expected one of {', '.join(EXPORT_FORMATS)}")
    why = _reason(reason) if include_passwords else None
    rows = store.export_rows(batch_id, org_id)
    passwords: dict[str, str | None] = {}
    if why is not None:
        store.audit_reveal(
            org_id, batch_id, None, actor, why, f"Owners' passwords of {len(rows)} restaurants (export)"
        )
        for row in rows:
            try:
                passwords[row.job_id] = store.owner_login(row.job_id, org_id).password
            except OutputsNotFound:
                passwords[row.job_id] = None  # no config yet: nothing to reveal
    records = [_record(row, passwords.get(row.job_id)) if why else _record(row, None) for row in rows]
    if why is not None:
        for record in records:
            record.setdefault("owner_password", None)
    name = f"batch-{batch_id}"
    if fmt == "json":
        text = json.dumps({"batch_id": batch_id, "restaurants": records}, indent=2, ensure_ascii=False)
        return Export("application/json", f"{name}.json", text + "\n")
    return Export("text/csv; charset=utf-8", f"{name}.csv", _csv(records, why is not None))
