"""What counts as a section heading on a restaurant's own page, shared by the DOM and microdata readers.

Real menus title their sections with h2, h3 or h4 (whichever the theme's design wanted) or with a
`div` whose class says so: "menu-section-title", "menu-category__title", "MenuSectionName"... Class
names are compared case-insensitively and without their separators.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborNode as Node

from yolobatch.integrations.extraction.cleaning import clean_name

HEADING_TAGS = frozenset({"h2", "h3", "h4"})
_HEADING_CLASS_WORDS = (
    "sectiontitle",
    "sectionname",
    "sectionheading",
    "categorytitle",
    "categoryname",
    "categoryheading",
    "grouptitle",
    "groupname",
    "menutitle",
    "menuheading",
    # The same in the languages of the directories we read: Czech "nadpis", German "Kategorie"...
    # A wrapper named so (a whole category) has too long a text to be taken for its title.
    "nadpis",
    "kategorie",
    "categorie",
    "categoria",
    "rubrik",
)
_SEPARATORS = re.compile(r"[-_\s]+")
_MAX_HEADING = 80


def class_words(node: Node) -> str:
    """The class attribute lower-cased without separators: "Menu-Section__Title" → "menusectiontitle"."""
    return _SEPARATORS.sub("", (node.attributes.get("class") or "").lower())


def is_heading(node: Node) -> bool:
    return node.tag in HEADING_TAGS or is_section_class(node)


def is_section_class(node: Node) -> bool:
    """A class that names a section title ("menu-section-title"), whatever the element."""
    words = class_words(node)
    return bool(words) and any(word in words for word in _HEADING_CLASS_WORDS)


def heading_text(node: Node) -> str | None:
    """The heading's name, or None when it is empty, a sentence rather than a title, or has no letters."""
    text = clean_name(node.text(deep=True, separator=" "))
    if not text or len(text) > _MAX_HEADING or not any(c.isalpha() for c in text):
        return None
    return text
