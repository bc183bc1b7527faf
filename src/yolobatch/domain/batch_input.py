"""The batch input file (JSON or CSV): restaurants with their registration config and menu.

Every row is validated before anything is created, and every problem is reported with its row, field and
reason, so one fix-and-retry is enough and a bad file never leaves a half-created batch behind.
"""

from __future__ import annotations

import difflib
import json
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field, HttpUrl, ValidationError, model_validator
from pydantic.alias_generators import to_camel

from yolobatch.domain.config import RegistrationConfig
from yolobatch.domain.identities import store_url_key
from yolobatch.domain.menu import Menu
from yolobatch.domain.tabular import (
    FileReadError,
    Row,
    Table,
    decode,
    is_old_excel,
    is_xlsx,
    read_csv,
    read_xlsx,
)

MAX_RESTAURANTS = 10_000  # the scale benchmark runs a batch this size; its grid and API are paged
MAX_NAME = 200  # characters in a batch's name
# Far more than the known columns (name, menu, facts and every config field: under 60); a header beyond it
# is not a batch file, and refusing it early keeps every later check on the header cheap.
MAX_COLUMNS = 200
CSV_FACTS = ("storeUrl", "address", "city", "phone", "email", "companyNumber")
CSV_LIST_FIELDS = {"website.cuisines"}
HOURS = re.compile(r"^\s*(\w+)\s+(\d{2}:\d{2})\s*-\s*(\d{2}:\d{2})\s*$")


class RestaurantInput(BaseModel):
    """One restaurant: either what staff have (name, store URL, ...) for the full pipeline, or a ready
    registration config (and menu) for step 6 alone, as the platform's single-restaurant mode does."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1, max_length=200)
    store_url: HttpUrl | None = Field(default=None, alias="storeUrl")
    address: str | None = Field(default=None, max_length=300)
    city: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=40)
    email: EmailStr | None = None
    company_number: str | None = Field(
        default=None, alias="companyNumber", max_length=40, description="the company, when staff know it"
    )
    config: RegistrationConfig | None = None
    menu: Menu | None = None

    @model_validator(mode="after")
    def _config_or_store_url(self) -> RestaurantInput:
        if self.config is None and self.store_url is None:
            raise ValueError("give either a storeUrl (full pipeline) or a config (registration only)")
        if self.config is None and self.menu is not None:
            raise ValueError("a menu comes with a config; without one, step 1 extracts it from the store")
        return self

    def facts(self) -> dict[str, str]:
        """What staff gave us, as stored with the job."""
        data = self.model_dump(
            mode="json", include={"store_url", "address", "city", "phone", "email", "company_number"}
        )
        return {k: v for k, v in data.items() if v is not None}

    @model_validator(mode="before")
    @classmethod
    def _restaurant_name_defaults_to_name(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("config"), dict):
            restaurant = data["config"].setdefault("restaurant", {})
            if isinstance(restaurant, dict) and not restaurant.get("name") and data.get("name"):
                restaurant["name"] = data["name"]
        return data


class BatchInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="Untitled batch", min_length=1, max_length=MAX_NAME)
    restaurants: list[RestaurantInput] = Field(min_length=1, max_length=MAX_RESTAURANTS)


class BatchInputError(ValueError):
    """The input cannot be used. `problems` lists every bad row, so one fix-and-retry is enough."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def parse_batch(text: str, default_name: str = "Untitled batch") -> BatchInput:
    """Parse a JSON batch: `{"name": ..., "restaurants": [...]}` or a bare list of restaurants."""
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BatchInputError(
            [f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"]
        ) from None
    except RecursionError:  # `[[[[...` thousands deep: the decoder gives up before it finds an error
        raise BatchInputError(["not valid JSON: nested too deeply"]) from None
    if isinstance(data, list):
        data = {"name": default_name, "restaurants": data}
    if not isinstance(data, dict):
        raise BatchInputError(["expected a JSON object with a 'restaurants' list, or a list of restaurants"])
    rows = data.get("restaurants")
    if not isinstance(rows, list) or not rows:
        raise BatchInputError(["'restaurants' must be a non-empty list"])
    name = data.get("name") or default_name
    if not isinstance(name, str):
        raise BatchInputError(["name: the batch name must be a string"])
    labelled = [(f"restaurant {index}", row) for index, row in enumerate(rows, start=1)]
    return _validate(name, labelled)


def parse_csv_batch(
    text: str, name: str = "Untitled batch", load_menu: Callable[[str], str] | None = None
) -> BatchInput:
    """Parse a CSV batch: one restaurant per row, separated by `,` `;` or tabs (whichever the header uses).

    Columns: `name`, config fields as `section.field` with the JSON spelling (`account.email`,
    `website.primaryColor`, `menu.uploadImages` ...), `website.cuisines` separated by `;`,
    `restaurant.openingHours` as `Monday 11:00-21:30; Tuesday 11:00-21:30`, and `menu`: a JSON menu file
    that `load_menu` reads (paths relative to the CSV). Headers match loosely: "Store URL" is `storeUrl`.
    """
    try:
        table = read_csv(text)
    except FileReadError as exc:
        raise BatchInputError([str(exc)]) from None
    return parse_table(table, name, load_menu)


def parse_table(table: Table, name: str, load_menu: Callable[[str], str] | None = None) -> BatchInput:
    """A batch from a read table (CSV or spreadsheet): the header names the columns, one restaurant a row."""
    raw_columns = [c.strip() for c in table.header]
    while raw_columns and raw_columns[-1] == "":  # Excel exports trailing separators of unused columns
        raw_columns.pop()
    if len(raw_columns) > MAX_COLUMNS:
        raise BatchInputError(
            [f"the header row has {len(raw_columns)} columns; at most {MAX_COLUMNS} are allowed"]
        )
    columns = [canonical_column(c) or c for c in raw_columns]
    if "name" not in columns:
        raise BatchInputError(["the header row must have a 'name' column (or 'Restaurant Name')"])
    repeated = sorted(c for c, n in Counter(columns).items() if n > 1)
    if repeated:  # a dict keeps the last of them: the first column's cells would vanish silently
        raise BatchInputError([f"column(s) {', '.join(repeated)} appear more than once in the header row"])
    unknown = [raw for raw, column in zip(raw_columns, columns, strict=True) if canonical_column(raw) is None]
    if unknown:
        described = ", ".join(f"{c} (did you mean {s}?)" if (s := suggest_column(c)) else c for c in unknown)
        raise BatchInputError(
            [
                f"unknown column(s) {described}; use name, storeUrl, {', '.join(CSV_FACTS[1:])}, menu "
                "and section.field"
            ]
        )
    width = len(columns)
    labelled: list[tuple[str, Any]] = []
    problems: list[str] = []
    try:
        for row in table.rows:
            line = f"row {row.number}"
            if any(cell.strip() for cell in row.cells[width:]):
                problems.append(f"{line}: more cells than header columns")
                continue
            cells = [cell.strip() for cell in row.cells[:width]]
            cells += [""] * (width - len(cells))
            try:
                labelled.append((line, _csv_row(dict(zip(columns, cells, strict=True)), load_menu)))
            except ValueError as exc:
                problems.append(f"{line}: {exc}")
    except FileReadError as exc:
        # e.g. a cell over the csv module's 128 KiB limit: the rest of the file cannot be read reliably.
        problems.append(str(exc))
    if not labelled and not problems:
        raise BatchInputError(["the file has no restaurant rows"])
    try:
        batch = _validate(name, labelled) if labelled else None
    except BatchInputError as exc:
        problems += exc.problems
    if problems or batch is None:
        raise BatchInputError(sorted(problems, key=_row_number))
    return batch


def _key(text: str) -> str:
    """What is left of a header once case, spaces, underscores and hyphens no longer count."""
    return re.sub(r"[\s_\-]+", "", text).casefold()


# Plain columns by their loose key; the right-hand spellings are what the parser and the models use.
PLAIN_COLUMNS: dict[str, str] = {
    **{k: "name" for k in ("name", "restaurantname", "restaurant", "storename", "tradingname")},
    **{k: "storeUrl" for k in ("storeurl", "storelink", "storepage", "url")},
    **{k: "companyNumber" for k in ("companynumber", "companyno", "nzbn", "companiesofficenumber")},
    **{k: "email" for k in ("email", "emailaddress")},
    **{k: "phone" for k in ("phone", "phonenumber", "telephone", "tel", "mobile")},
    **{k: "address" for k in ("address", "streetaddress")},
    **{k: "city" for k in ("city", "town")},
    **{k: "menu" for k in ("menu", "menufile")},
}


def _config_columns() -> dict[str, str]:
    """`section.field` for every config field, by loose key (the wire's camelCase spelling as the value)."""
    found: dict[str, str] = {}
    for section, info in RegistrationConfig.model_fields.items():
        model = info.annotation
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            continue
        wire_section = to_camel(section)
        for field in model.model_fields:
            column = f"{wire_section}.{to_camel(field)}"
            found[_key(column)] = column
    return found


CONFIG_COLUMNS = _config_columns()


def canonical_column(header: str) -> str | None:
    """The column a header names ("Store URL" → `storeUrl`, "Account.E-mail" → `account.email`), or None."""
    key = _key(header)
    if key in PLAIN_COLUMNS:
        return PLAIN_COLUMNS[key]
    if key in CONFIG_COLUMNS:
        return CONFIG_COLUMNS[key]
    section, dot, field = header.strip().partition(".")
    if dot and _key(section) == _key("stepsEnabled") and field.strip():
        return f"stepsEnabled.{field.strip()}"  # sub-step keys: the config model checks them per row
    return None


def suggest_column(header: str) -> str | None:
    """The known column a mistyped header most likely meant, for "did you mean"."""
    known = {**PLAIN_COLUMNS, **CONFIG_COLUMNS}
    close = difflib.get_close_matches(_key(header), list(known), n=1, cutoff=0.75)
    return known[close[0]] if close else None


def _row_number(problem: str) -> int:
    """Problems sort by row; those about the whole file (no row) come first."""
    found = re.match(r"row (\d+)", problem)
    return int(found.group(1)) if found else 0


def _csv_row(row: dict[str, str], load_menu: Callable[[str], str] | None) -> dict[str, Any]:
    config: dict[str, Any] = {}
    facts = {column: value for column, value in row.items() if column in CSV_FACTS and value}
    for column, value in row.items():
        if column in ("name", "menu", *CSV_FACTS) or value == "":
            continue
        section, field = column.split(".", 1)
        if column in CSV_LIST_FIELDS:
            parsed: Any = [part.strip() for part in value.split(";") if part.strip()]
        elif column == "restaurant.openingHours":
            parsed = [_hours(part) for part in value.split(";") if part.strip()]
        else:
            parsed = value
        config.setdefault(section, {})[field] = parsed
    result: dict[str, Any] = {"name": row.get("name", ""), **facts}
    if config:
        result["config"] = config
    if row.get("menu"):
        if load_menu is None:
            raise ValueError("menu: menu files cannot be read here")
        try:
            result["menu"] = json.loads(load_menu(row["menu"]))
        except OSError as exc:
            raise ValueError(f"menu: cannot read {row['menu']}: {exc.strerror}") from None
        except json.JSONDecodeError as exc:
            raise ValueError(f"menu: {row['menu']} is not valid JSON ({exc.msg})") from None
    return result


def _hours(text: str) -> dict[str, str]:
    match = HOURS.match(text)
    if not match:
        raise ValueError(f"restaurant.openingHours: {text.strip()!r} is not like 'Monday 11:00-21:30'")
    day, open_, close = match.groups()
    return {"day": day.capitalize(), "open": open_, "close": close}


def _validate(name: str, labelled: list[tuple[str, Any]]) -> BatchInput:
    if len(labelled) > MAX_RESTAURANTS:
        raise BatchInputError([f"at most {MAX_RESTAURANTS} restaurants per batch, got {len(labelled)}"])
    problems: list[str] = []
    if len(name) > MAX_NAME:
        problems.append(f"name: the batch name has more than {MAX_NAME} characters")
    bad_name = unstorable(name)
    if bad_name:
        problems.append(f"name: the batch name {bad_name}")
    restaurants: list[RestaurantInput] = []
    seen: dict[str, str] = {}
    stores: dict[str, str] = {}  # a store page's key -> the first row that names it
    for label, row in labelled:
        title = f"{label} ({row['name']})" if isinstance(row, dict) and row.get("name") else label
        bad = unstorable_path(row)
        if bad is not None:
            # PostgreSQL cannot store NUL in text, nor any database a lone surrogate; no restaurant has one.
            problems.append(f"{label}: {bad[0] or 'row'}: {bad[1]}")
            continue
        try:
            fingerprint = json.dumps(row, sort_keys=True, default=str)
        except RecursionError:
            problems.append(f"{title}: row: nested too deeply")
            continue
        if fingerprint in seen:
            # The same restaurant twice would be registered twice on the platform.
            problems.append(f"{title}: a duplicate of {seen[fingerprint]} (every cell the same)")
            continue
        seen[fingerprint] = label
        try:
            restaurant = RestaurantInput.model_validate(row)
        except ValidationError as exc:
            for error in exc.errors(include_url=False, include_input=False):
                where = ".".join(str(part) for part in error["loc"]) or "row"
                problems.append(f"{title}: {where}: {error['msg']}")
            continue
        store = store_url_key(str(restaurant.store_url)) if restaurant.store_url else None
        if store and store in stores:
            # Spelled differently ("www.", a trailing slash, upper case), still one store: registered twice.
            problems.append(f"{title}: storeUrl: the same store page as {stores[store]}")
            continue
        if store:
            stores[store] = title
        if restaurant.config is None:
            restaurants.append(restaurant)
            continue
        menu_id = restaurant.config.menu.selected_menu_id
        if restaurant.menu is not None and menu_id is None:
            restaurant.config.menu.selected_menu_id = restaurant.menu.id  # the original's default
        elif menu_id and (restaurant.menu is None or restaurant.menu.id != menu_id):
            problems.append(f"{title}: config.menu.selectedMenuId: {menu_id} is not the id of its menu")
        restaurants.append(restaurant)
    if problems:
        raise BatchInputError(problems)
    return BatchInput(name=name, restaurants=restaurants)


# A lone UTF-16 surrogate (JSON's "\ud800") is a str in Python but no text any database or page can hold.
SURROGATE = re.compile("[\ud800-\udfff]")


def unstorable(text: str) -> str | None:
    """Why `text` cannot be stored or shown (a NUL, a lone surrogate), or None."""
    if "\x00" in text:
        return "contains a NUL character"
    if SURROGATE.search(text):
        return "contains a lone surrogate (invalid Unicode)"
    return None


def unstorable_path(value: Any) -> tuple[str, str] | None:
    """(dotted path, reason) of the first string in `value` that cannot be stored ("" for `value` itself),
    or None. Iterative: a JSON file may nest as deep as the decoder allows."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            reason = unstorable(item)
            if reason:
                return path, reason
            continue
        if isinstance(item, dict):
            children: list[tuple[Any, Any]] = list(item.items())
        elif isinstance(item, list):
            children = list(enumerate(item))
        else:
            continue
        for key, child in reversed(children):
            where = f"{path}.{key}".lstrip(".")
            reason = unstorable(key) if isinstance(key, str) else None
            if reason:
                return where, reason
            stack.append((where, child))
    return None


MAX_UPLOAD_BYTES = 10_000_000


def parse_upload(
    raw: bytes,
    filename: str,
    title: str,
    sandbox_url: str | None = None,
    load_menu: Callable[[str], str] | None = None,
    max_bytes: int | None = MAX_UPLOAD_BYTES,
) -> BatchInput:
    """A batch file as staff have it, for the CLI, the API and the dashboard alike: JSON, CSV (`,` `;` or
    tab; UTF-8, cp1252 or UTF-16) or .xlsx. With a sandbox running, `{sandbox}` in the file stands for its
    address, so the bundled examples work from a browser too."""
    if max_bytes is not None and len(raw) > max_bytes:
        raise BatchInputError([f"the file is larger than {max_bytes // 1_000_000} MB"])
    if not raw.strip():
        raise BatchInputError(["choose a CSV or JSON file (or an Excel .xlsx) with at least one restaurant"])
    # A file name is only a default title: shorten it rather than refuse the file.
    title = title.strip()[:MAX_NAME] or "Untitled batch"
    try:
        if is_xlsx(raw, filename):
            table = read_xlsx(raw, max_rows=MAX_RESTAURANTS + 1, max_columns=MAX_COLUMNS)
            if sandbox_url:
                table = _with_sandbox(table, sandbox_url)
            return parse_table(table, title, load_menu)
        if is_old_excel(raw, filename):
            raise FileReadError("old Excel files (.xls) cannot be read; save it as .xlsx or CSV UTF-8")
        text = decode(raw)
    except FileReadError as exc:
        raise BatchInputError([str(exc)]) from None
    if sandbox_url:
        text = text.replace("{sandbox}", sandbox_url)
    if filename.lower().endswith(".json") or text.lstrip().startswith(("{", "[")):
        return parse_batch(text, default_name=title)
    return parse_csv_batch(text, name=title, load_menu=load_menu)


def _with_sandbox(table: Table, sandbox_url: str) -> Table:
    rows = (Row(row.number, [c.replace("{sandbox}", sandbox_url) for c in row.cells]) for row in table.rows)
    return Table(table.header, table.header_row, rows)
