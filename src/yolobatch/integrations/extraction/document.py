"""A fetched page parsed once: the DOM (selectolax) and its schema.org nodes (JSON-LD + microdata)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import extruct
from selectolax.lexbor import LexborHTMLParser as HTMLParser

SCHEMA_PREFIXES = ("http://schema.org/", "https://schema.org/", "schema:")
XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")


@dataclass
class Document:
    url: str
    tree: HTMLParser
    structured: list[dict[str, Any]]
    # The JSON-LD part of `structured`: the menu strategies read microdata from the DOM, where its
    # nesting (sections around items) is still visible.
    jsonld: list[dict[str, Any]] = field(default_factory=list)
    # Parsed page state by name, so that the menu, branding and details read a multi-megabyte blob once.
    memo: dict[str, Any] = field(default_factory=dict)

    def remember(self, key: str, compute: Callable[[], Any]) -> Any:
        if key not in self.memo:
            self.memo[key] = compute()
        return self.memo[key]

    def absolute(self, href: object) -> str | None:
        """An absolute http(s) URL for a link or image reference; None for data:, javascript:, blanks."""
        if not isinstance(href, str) or not href.strip():
            return None
        url = urljoin(self.url, href.strip())
        return url if url.startswith(("http://", "https://")) else None

    def nodes(self, *types: str) -> Iterator[dict[str, Any]]:
        """Every schema.org node of one of `types`, however deeply nested (e.g. `@graph`, `hasMenu`)."""
        wanted = set(types)
        for node in walk(self.structured):
            if type_names(node) & wanted:
                yield node

    def jsonld_nodes(self, *types: str) -> Iterator[dict[str, Any]]:
        wanted = set(types)
        for node in walk(self.jsonld):
            if type_names(node) & wanted:
                yield node


def parse_document(url: str, html: str) -> Document:
    # lxml refuses text that still declares a byte encoding (legacy XHTML's `<?xml ... encoding=
    # "Shift_JIS"?>`), which hid every JSON-LD block of such pages; the text is decoded already.
    html = XML_DECLARATION.sub("", html, count=1)
    tree = HTMLParser(html)
    try:
        # errors="ignore": one malformed JSON-LD block must not hide the page's other data.
        data = extruct.extract(
            html, base_url=url, syntaxes=["json-ld", "microdata"], uniform=True, errors="ignore"
        )
    except Exception:  # noqa: BLE001 - extruct/lxml raise a zoo of types on hostile markup
        data = {}
    jsonld = list(data.get("json-ld", []))
    structured = jsonld + list(data.get("microdata", []))
    return Document(url=url, tree=tree, structured=structured, jsonld=jsonld)


def walk(value: object) -> Iterator[dict[str, Any]]:
    """Depth-first over every dict inside `value`, parents before children."""
    if isinstance(value, dict):
        yield value
        for child in value.values():
            yield from walk(child)
    elif isinstance(value, list):
        for child in value:
            yield from walk(child)


def type_names(node: dict[str, Any]) -> set[str]:
    raw = node.get("@type")
    names = raw if isinstance(raw, list) else [raw]
    return {_strip_schema(n) for n in names if isinstance(n, str)}


def _strip_schema(name: str) -> str:
    for prefix in SCHEMA_PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def as_list(value: object) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def first_text(value: object) -> str | None:
    """A schema.org property that may be a string, a list, or a node with a name/url."""
    for entry in as_list(value):
        if isinstance(entry, str | int | float) and str(entry).strip():
            return str(entry).strip()
        if isinstance(entry, dict):
            for key in ("url", "contentUrl", "@id", "name", "@value"):
                if isinstance(entry.get(key), str) and entry[key].strip():
                    return entry[key].strip()
    return None


def schema_enum(value: str) -> str:
    """'https://schema.org/VeganDiet' → 'VeganDiet'."""
    return _strip_schema(value.strip()).rsplit("/", 1)[-1]
