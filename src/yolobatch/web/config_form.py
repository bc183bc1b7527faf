"""The config review form, generated from `RegistrationConfig` so a new field appears without template work.

Each field is named `section.camelField` (the store's `edit_config` pointer). Secrets are never sent to the
browser: their inputs start empty and an empty submission keeps the stored value. Colours are colour
pickers and opening hours a week grid (issue 17: no hex text, no raw JSON); both round-trip to the same
config data, so an untouched form changes nothing.
"""

from __future__ import annotations

import json
import types
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, SecretStr
from pydantic.alias_generators import to_camel

from yolobatch.domain.config import RegistrationConfig

SECTIONS = ("account", "restaurant", "menu", "website", "payment", "onboarding")
Kind = Literal["checkbox", "select", "password", "list", "json", "email", "text", "colour", "hours"]
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
NO_COLOUR = ":none"  # suffix of the checkbox that leaves a colour unset (a colour input always has one)


@dataclass(frozen=True)
class Field:
    section: str
    key: str  # camelCase, as stored
    label: str
    kind: Kind
    optional: bool
    choices: tuple[str, ...] = ()
    default: Any = None  # what a config without this field means (derived configs leave defaults out)

    @property
    def name(self) -> str:
        return f"{self.section}.{self.key}"


@dataclass(frozen=True)
class FormField:
    """A field with the value to show."""

    field: Field
    value: Any

    @property
    def week(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """Opening hours as the week grid shows them: each day's intervals, then one empty to add."""
        intervals: dict[str, list[tuple[str, str]]] = {day: [] for day in DAYS}
        for entry in _sorted_hours(self.value or []):
            intervals[entry["day"]].append((entry["open"], entry["close"]))
        return [(day, [*intervals[day], ("", "")]) for day in DAYS]

    @property
    def text(self) -> str:
        """The value as an input shows it."""
        value = self.value
        if self.field.kind == "list":
            return ", ".join(str(v) for v in value or [])
        if self.field.kind == "json":
            return json.dumps(value or [], indent=1)
        return "" if value is None or self.field.kind == "password" else str(value)


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """(the type without `None`, whether None is allowed)."""
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        return (args[0] if len(args) == 1 else annotation), len(args) < len(get_args(annotation))
    return annotation, False


def _kind(annotation: Any) -> tuple[Kind, tuple[str, ...]]:
    if annotation is bool:
        return "checkbox", ()
    if get_origin(annotation) is Literal:
        return "select", tuple(str(a) for a in get_args(annotation))
    if annotation is SecretStr:
        return "password", ()
    if get_origin(annotation) is list:
        (item,) = get_args(annotation)
        return ("json" if isinstance(item, type) and issubclass(item, BaseModel) else "list"), ()
    if getattr(annotation, "__name__", "") == "EmailStr" or "email" in str(annotation).lower():
        return "email", ()
    return "text", ()


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize()


def fields_of(section: str) -> list[Field]:
    model = RegistrationConfig.model_fields[section].annotation
    assert isinstance(model, type) and issubclass(model, BaseModel)
    found = []
    for name, info in model.model_fields.items():
        annotation, optional = _unwrap(info.annotation)
        kind, choices = _kind(annotation)
        key = to_camel(name)
        if kind == "text" and key.endswith("Color"):
            kind = "colour"
        elif kind == "json" and key == "openingHours":
            kind = "hours"
        default = None if info.is_required() else info.get_default(call_default_factory=True)
        found.append(Field(section, key, _label(name), kind, optional, choices, default))
    return found


FIELDS: dict[str, list[Field]] = {section: fields_of(section) for section in SECTIONS}


def form_sections(public: dict[str, Any]) -> list[tuple[str, list[FormField]]]:
    """Every section's fields with the stored (masked) values."""
    return [
        (section, [FormField(f, (public.get(section) or {}).get(f.key, f.default)) for f in FIELDS[section]])
        for section in SECTIONS
    ]


def _parse(field: Field, raw: list[str]) -> Any:
    """The submitted value in the config's JSON shape; raises ValueError with a readable message."""
    if field.kind == "checkbox":
        return bool(raw) and raw[-1] == "true"  # a hidden "false" precedes the checkbox
    value = raw[-1].strip() if raw else ""
    if field.kind == "list":
        return [part.strip() for part in value.split(",") if part.strip()]
    if field.kind == "json":
        try:
            return json.loads(value or "[]")
        except json.JSONDecodeError as exc:
            raise ValueError(f"{field.name}: not valid JSON ({exc.msg})") from None
    if not value and field.optional:
        return None
    return value


def _sorted_hours(hours: list[dict[str, str]]) -> list[dict[str, str]]:
    """Opening hours in week order, each day's intervals by opening time: the grid's order."""
    known = [h for h in hours if h.get("day") in DAYS]
    return sorted(known, key=lambda h: (DAYS.index(h["day"]), h.get("open", "")))


def _hours_from_grid(name: str, form: dict[str, list[str]]) -> list[dict[str, str]]:
    """The week grid's inputs (`<name>.<Day>.<n>.open` / `.close`) as the config's list of intervals."""
    hours = []
    for day in DAYS:
        slot = 0
        while f"{name}.{day}.{slot}.open" in form:
            opens = (form[f"{name}.{day}.{slot}.open"] or [""])[-1].strip()
            closes = (form.get(f"{name}.{day}.{slot}.close") or [""])[-1].strip()
            if bool(opens) != bool(closes):
                raise ValueError(f"{day}: give both the opening and the closing time, or neither")
            if opens:
                hours.append({"day": day, "open": opens, "close": closes})
            slot += 1
    return hours


def changes_from_form(form: dict[str, list[str]], public: dict[str, Any]) -> dict[str, Any]:
    """Only what the reviewer changed, so an untouched masked secret is never written back as stars."""
    changes: dict[str, Any] = {}
    for section in SECTIONS:
        for field in FIELDS[section]:
            if field.name not in form:
                continue
            values = public.get(section) or {}
            stored = values.get(field.key, field.default)
            if field.kind == "hours":
                value = _hours_from_grid(field.name, form)
                if value != _sorted_hours(stored or []):
                    changes[field.name] = value
                continue
            if field.kind == "colour" and f"{field.name}{NO_COLOUR}" in form:
                if stored is not None:
                    changes[field.name] = None
                continue
            value = _parse(field, form[field.name])
            if field.kind == "password" and not value:
                continue
            # A colour input answers in lower case: "#1A2B3C" shown and sent back is no change.
            if field.kind == "colour" and str(value).lower() == str(stored).lower():
                continue
            if value != stored:
                changes[field.name] = value
    return changes
