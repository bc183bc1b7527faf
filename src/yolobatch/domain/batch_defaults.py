"""Batch defaults: settings given once per batch at upload for its plain rows (services, payment,
onboarding flags, theme overrides), applied over what step 5 derives for each restaurant.

Only settings that are the same for a whole batch can be defaults: a restaurant's own facts (its email,
name, address, password...) never are. Values come as JSON (`true`, `["burgers"]`) or as the text a CSV
cell, a CLI option or a form field holds (`true`, `burgers; pizza`).
"""

from __future__ import annotations

import copy
import json
from typing import Any

from yolobatch.domain.batch_input import BatchInputError
from yolobatch.domain.config import RegistrationConfig, config_fields
from yolobatch.domain.derive import validate_config

# Sections whose fields may be batch defaults; in `website`, the images stay each restaurant's own.
DEFAULT_SECTIONS = ("website", "payment", "onboarding", "menu", "stepsEnabled")
NOT_DEFAULTS = {
    "website": {"logoUrl", "faviconUrl", "headerImageUrl"},
    "onboarding": {"userName", "userEmail", "userPassword"},
    "menu": {"selectedMenuId"},
}
LIST_FIELDS = {"website.cuisines"}
# A valid config the defaults are tried on, so a wrong type is refused at upload, not at step 5.
_SAMPLE = {
    "account": {"email": "owner@example.com", "password": "Sample-password-1"},
    "restaurant": {"name": "Sample"},
    "onboarding": {"userName": "Owner", "userEmail": "owner@example.com"},
}


def allowed_fields() -> dict[str, frozenset[str]]:
    fields = config_fields()
    return {s: fields[s] - NOT_DEFAULTS.get(s, set()) for s in DEFAULT_SECTIONS}


def parse_defaults(given: dict[str, Any]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """`{"section.field": value}` as nested wire sections, and every problem (nothing is kept if any)."""
    allowed = allowed_fields()
    nested: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    for path, value in given.items():
        section, dot, field = str(path).strip().partition(".")
        if not dot or section not in allowed or field not in allowed[section]:
            problems.append(
                f"defaults: {path!r} cannot be a batch default (one of: website.theme, website.primaryColor, "
                "payment.includeStripeLink, onboarding.createOnboardingUser, menu.addItemTags, "
                "stepsEnabled.servicesConfig, ...; a restaurant's own email, name or images never are)"
            )
            continue
        nested.setdefault(section, {})[field] = _typed(f"{section}.{field}", value)
    if problems:
        return {}, problems
    _, errors = validate_config(apply_defaults(_SAMPLE, nested))
    if errors:
        return {}, [f"defaults: {error}" for error in errors]
    return nested, []


def apply_defaults(wire: dict[str, Any], defaults: dict[str, dict[str, Any]] | None) -> dict[str, Any]:
    """`wire` with the batch's defaults laid over its sections (a copy)."""
    result = copy.deepcopy(wire)
    for section, values in (defaults or {}).items():
        result.setdefault(section, {}).update(values)
    return result


def _typed(path: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    text = value.strip()
    if path in LIST_FIELDS:
        return [part.strip() for part in text.split(";") if part.strip()]
    if text.lower() in ("true", "yes", "1"):
        return True if _is_bool(path) else text
    if text.lower() in ("false", "no", "0"):
        return False if _is_bool(path) else text
    return text


def _is_bool(path: str) -> bool:
    section, _, field = path.partition(".")
    if section == "stepsEnabled":
        return True
    for name, info in RegistrationConfig.model_fields.items():
        model = info.annotation
        if name.replace("_", "").lower() == section.lower() and isinstance(model, type):
            for field_name, field_info in model.model_fields.items():  # type: ignore[attr-defined]
                if field_name.replace("_", "").lower() == field.lower():
                    return field_info.annotation is bool
    return False


def parse_assignments(lines: list[str]) -> tuple[dict[str, str], list[str]]:
    """`section.field=value` lines (CLI `--default`, the dashboard's text box) as a mapping."""
    found: dict[str, str] = {}
    problems: list[str] = []
    for line in lines:
        if not line.strip():
            continue
        path, eq, value = line.partition("=")
        if not eq:
            problems.append(f"defaults: {line.strip()!r} is not like section.field=value")
            continue
        found[path.strip()] = value.strip()
    return found, problems


def with_defaults(options: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """A batch's options with its parsed defaults; raises `BatchInputError` naming every problem."""
    if not given:
        return options
    parsed, problems = parse_defaults(given)
    if problems:
        raise BatchInputError(problems)
    return {**options, "defaults": parsed}


def defaults_json(text: str) -> dict[str, Any]:
    """The upload form's `defaults` field: a JSON object, or `BatchInputError`."""
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BatchInputError([f"defaults: not valid JSON ({exc.msg})"]) from None
    if not isinstance(value, dict):
        raise BatchInputError(['defaults: must be a JSON object like {"website.theme": "light"}'])
    return value
