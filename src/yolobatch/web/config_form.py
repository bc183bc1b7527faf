"""The config review form, generated from `RegistrationConfig` so a new field appears without template work.

Each field is named `section.camelField` (the store's `edit_config` pointer). Secrets are never sent to the
browser: their inputs start empty and an empty submission keeps the stored value.
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
Kind = Literal["checkbox", "select", "password", "list", "json", "email", "text"]


@dataclass(frozen=True)
class Field:
    section: str
    key: str  # camelCase, as stored
    label: str
    kind: Kind
    optional: bool
    choices: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.section}.{self.key}"


@dataclass(frozen=True)
class FormField:
    """A field with the value to show."""

    field: Field
    value: Any

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
        found.append(Field(section, to_camel(name), _label(name), kind, optional, choices))
    return found


FIELDS: dict[str, list[Field]] = {section: fields_of(section) for section in SECTIONS}


def form_sections(public: dict[str, Any]) -> list[tuple[str, list[FormField]]]:
    """Every section's fields with the stored (masked) values."""
    return [
        (section, [FormField(f, (public.get(section) or {}).get(f.key)) for f in FIELDS[section]])
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


def changes_from_form(form: dict[str, list[str]], public: dict[str, Any]) -> dict[str, Any]:
    """Only what the reviewer changed, so an untouched masked secret is never written back as stars."""
    changes: dict[str, Any] = {}
    for section in SECTIONS:
        for field in FIELDS[section]:
            if field.name not in form:
                continue
            value = _parse(field, form[field.name])
            if field.kind == "password" and not value:
                continue
            if value != (public.get(section) or {}).get(field.key):
                changes[field.name] = value
    return changes
