"""Reading a platform's embedded page state once per page: Next.js `__NEXT_DATA__` and React Query's
`__REACT_QUERY_STATE__` (Uber Eats escapes the whole JSON as a string body: `{\\u0022queries\\u0022:...`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from yolobatch.domain.extraction import ExtractionWarning
from yolobatch.integrations.extraction.document import Document


@dataclass(frozen=True)
class State:
    value: Any
    warning: ExtractionWarning | None = None


def next_data(doc: Document) -> State:
    return doc.remember("__NEXT_DATA__", lambda: _read(doc, "script#__NEXT_DATA__", "__NEXT_DATA__"))


def react_query_state(doc: Document) -> State:
    return doc.remember(
        "__REACT_QUERY_STATE__",
        lambda: _read(doc, "script#__REACT_QUERY_STATE__", "__REACT_QUERY_STATE__", escaped=True),
    )


def _read(doc: Document, selector: str, name: str, *, escaped: bool = False) -> State:
    script = doc.tree.css_first(selector)
    if script is None:
        return State(None)
    text = script.text(deep=True).strip()
    try:
        if escaped and "\\u0022" in text[:200]:
            # The JSON is written as the body of a JS string literal; undo that first.
            text = json.JSONDecoder(strict=False).decode(f'"{text}"')
        if escaped and "%" in text:
            # Uber Eats' own readers undo a percent-encoding on top (`decodeURIComponent`); a page
            # without one parses as it is.
            try:
                return State(json.loads(unquote(text)))
            except ValueError:
                pass
        return State(json.loads(text))
    except ValueError as exc:
        message = f"{name} is not JSON: {exc}"
        return State(None, ExtractionWarning(code="invalid_page_state", message=message))
