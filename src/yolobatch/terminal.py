"""Text from outside (restaurant names, registry data, upstream errors) made safe to print on a terminal.

Rich reads `[...]` as markup, and a terminal obeys control characters: an ESC sequence in a restaurant
name could recolour, hide or rewrite what the operator sees (even set the window title or a hyperlink),
a carriage return could overwrite a line, and bidi overrides reorder it. They are shown as visible escapes.
"""

from __future__ import annotations

import re

from rich.markup import escape

# C0 and C1 controls (tab kept), DEL, and the Unicode bidi embeddings, overrides and isolates.
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe(value: object) -> str:
    """`value` as literal text for Rich: control characters made visible, markup escaped."""
    return escape(_CONTROL.sub(_visible, str(value)))


def visible_lines(text: str) -> str:
    """Plain (not Rich) output for a terminal: line breaks kept, every other control character made
    visible. For data a user may also pipe to a file, where it is written untouched."""
    return "\n".join(_CONTROL.sub(_visible, line) for line in re.split(r"\r?\n", text))
