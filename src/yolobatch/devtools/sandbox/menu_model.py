"""The menu as `import-menu-direct` receives it, and the platform's preset item tags."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class _Lenient(BaseModel):
    # The original builds its CSV from whatever the menu holds; unknown fields are not an error.
    model_config = ConfigDict(extra="ignore")


class OptionItem(_Lenient):
    name: str = Field(min_length=1)
    price: Decimal = Decimal(0)


class OptionSet(_Lenient):
    name: str = Field(min_length=1)
    display_name: str | None = None
    is_required: bool = False
    multiple_selections_allowed: bool = False
    min_selections: int = Field(default=0, ge=0)
    max_selections: int = Field(default=1, ge=0)
    items: list[OptionItem] = Field(default_factory=list)


class MenuItem(_Lenient):
    name: str = Field(min_length=1)
    price: Decimal
    description: str | None = None
    image_url: str | None = None
    tags: list[str] = Field(default_factory=list)
    option_sets: list[str] = Field(default_factory=list)


class Category(_Lenient):
    name: str = Field(min_length=1)
    items: list[MenuItem] = Field(default_factory=list)


class ImportedMenu(_Lenient):
    id: str | None = None
    categories: list[Category] = Field(default_factory=list)
    option_sets: list[OptionSet] = Field(default_factory=list)

    def items(self) -> list[MenuItem]:
        return [item for category in self.categories for item in category.items]


def parse_menu(raw: Any) -> ImportedMenu | str:
    """The menu, or the message of a 400 explaining why it cannot be imported."""
    if not isinstance(raw, dict):
        return "menu is required"
    try:
        menu = ImportedMenu.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return f"Invalid menu: {where}: {first['msg']}"
    if not menu.items():
        return "Menu has no items"
    return menu


PRESET_TAGS: Final = (
    "Popular",
    "New",
    "Deal",
    "Vegan",
    "Vegetarian",
    "Gluten Free",
    "Dairy Free",
    "Nut Free",
    "Halal",
    "Spicy",
)
_TAG_ALIASES: Final = {tag.lower(): tag for tag in PRESET_TAGS} | {
    "most liked": "Popular",
    "favourite": "Popular",
    "favorites": "Popular",
    "hot": "Spicy",
    "gf": "Gluten Free",
}


def preset_for(tag: str) -> str | None:
    """The preset an extracted tag maps to (case- and spacing-insensitive), if any."""
    return _TAG_ALIASES.get(" ".join(tag.lower().split()))
