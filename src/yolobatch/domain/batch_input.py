"""The batch input file (JSON or CSV): restaurants with their registration config and menu.

Every row is validated before anything is created, and every problem is reported with its row, field and
reason, so one fix-and-retry is enough and a bad file never leaves a half-created batch behind.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field, HttpUrl, ValidationError, model_validator

from yolobatch.domain.config import RegistrationConfig
from yolobatch.domain.menu import Menu

MAX_RESTAURANTS = 10_000  # the scale benchmark runs a batch this size; its grid and API are paged
MAX_NAME = 200  # characters in a batch's name
# Far more than the known columns (name, menu, facts and every config field: under 60); a header beyond it
# is not a batch file, and refusing it early keeps every later check on the header cheap.
MAX_COLUMNS = 200
CSV_FACTS = ("storeUrl", "store_url", "address", "city", "phone", "email", "companyNumber")
CSV_SECTIONS = ("account", "restaurant", "menu", "website", "payment", "onboarding", "stepsEnabled")
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
    """Parse a CSV batch: one restaurant per row.

    Columns: `name`, config fields as `section.field` with the JSON spelling (`account.email`,
    `website.primaryColor`, `menu.uploadImages` ...), `website.cuisines` separated by `;`,
    `restaurant.openingHours` as `Monday 11:00-21:30; Tuesday 11:00-21:30`, and `menu`: a JSON menu file
    that `load_menu` reads (paths relative to the CSV).
    """
    # newline="": the csv module finds the line ends itself (\r\n, \n and old Macs' bare \r).
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""), skipinitialspace=True)
    try:
        columns = [c.strip() for c in reader.fieldnames or []]
    except csv.Error as exc:
        raise BatchInputError([f"row 1: {exc}"]) from None
    if len(columns) > MAX_COLUMNS:
        raise BatchInputError(
            [f"the header row has {len(columns)} columns; at most {MAX_COLUMNS} are allowed"]
        )
    if "name" not in columns:
        raise BatchInputError(["the header row must have a 'name' column"])
    repeated = sorted(c for c, n in Counter(columns).items() if n > 1)
    if repeated:  # a dict keeps the last of them: the first column's cells would vanish silently
        raise BatchInputError([f"column(s) {', '.join(repeated)} appear more than once in the header row"])
    plain = ("name", "menu", *CSV_FACTS)
    unknown = [c for c in columns if c not in plain and c.split(".")[0] not in CSV_SECTIONS]
    if unknown or any("." not in c for c in columns if c not in plain):
        bad = unknown or [c for c in columns if "." not in c and c not in plain]
        raise BatchInputError([f"unknown column(s) {', '.join(bad)}; use name, menu and section.field"])
    labelled: list[tuple[str, Any]] = []
    problems: list[str] = []
    try:
        for row in reader:
            line = f"row {reader.line_num}"
            if None in row:
                problems.append(f"{line}: more cells than header columns")
                continue
            try:
                labelled.append(
                    (line, _csv_row({k.strip(): (v or "").strip() for k, v in row.items()}, load_menu))
                )
            except ValueError as exc:
                problems.append(f"{line}: {exc}")
    except csv.Error as exc:
        # e.g. a cell over the csv module's 128 KiB limit: the rest of the file cannot be read reliably.
        reason = str(exc)
        if "field larger than field limit" in reason:
            reason = f"a cell is longer than {csv.field_size_limit()} characters"
        problems.append(f"row {reader.reader.line_num}: {reason}")  # the DictReader's count lags behind
    if not labelled and not problems:
        raise BatchInputError(["the CSV has no restaurant rows"])
    try:
        batch = _validate(name, labelled) if labelled else None
    except BatchInputError as exc:
        problems += exc.problems
    if problems or batch is None:
        raise BatchInputError(sorted(problems, key=_row_number))
    return batch


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


def parse_upload(raw: bytes, filename: str, title: str, sandbox_url: str | None = None) -> BatchInput:
    """An uploaded batch file (CSV or JSON, UTF-8). With a sandbox running, `{sandbox}` in the file
    stands for its address, so the bundled examples work from a browser too."""
    if len(raw) > MAX_UPLOAD_BYTES:
        raise BatchInputError([f"the file is larger than {MAX_UPLOAD_BYTES // 1_000_000} MB"])
    if not raw.strip():
        raise BatchInputError(["choose a CSV or JSON file with at least one restaurant"])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BatchInputError(
            [f"the file is not UTF-8 text (byte {exc.start + 1} cannot be decoded); save it as UTF-8"]
        ) from None
    if "\x00" in text:  # UTF-16 without a byte-order mark decodes "successfully", one NUL per letter
        raise BatchInputError(["the file is not UTF-8 text (it contains NUL bytes: UTF-16 or binary?)"])
    # A file name is only a default title: shorten it rather than refuse the file.
    title = title.strip()[:MAX_NAME] or "Untitled batch"
    if sandbox_url:
        text = text.replace("{sandbox}", sandbox_url)
    if filename.lower().endswith(".json") or text.lstrip().startswith(("{", "[")):
        return parse_batch(text, default_name=title)
    return parse_csv_batch(text, name=title)
