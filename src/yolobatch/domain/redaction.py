"""Redaction: secrets never leave the process in clear (logs, errors, API responses, stored requests)."""

from __future__ import annotations

import re
from typing import Any

MASK = "********"
SECRET_KEY_NAMES = re.compile(r"pass(word)?|secret|token|api[-_]?key|service[-_]?key|authorization", re.I)


def redact(value: Any, secrets: list[str] | tuple[str, ...] = ()) -> Any:
    """A copy of `value` with secret-named fields masked and every known secret string replaced."""
    if isinstance(value, dict):
        return {
            k: MASK if isinstance(k, str) and SECRET_KEY_NAMES.search(k) and v else redact(v, secrets)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v, secrets) for v in value]
    if isinstance(value, str):
        for secret in secrets:
            if secret:
                value = value.replace(secret, MASK)
        return value
    return value


def redacted_excerpt(text: str, secrets: list[str] | tuple[str, ...], limit: int) -> str:
    """The first `limit` characters of `text` with its secrets masked. Masked first, then cut: cut first,
    a secret straddling the cut would no longer match and its first characters would show."""
    return redact(text, secrets)[:limit]
