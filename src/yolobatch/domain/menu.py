"""The menu model: what extraction produces and what the platform's menu import consumes."""

from __future__ import annotations

import uuid
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class OptionItem(_Model):
    name: str = Field(min_length=1, max_length=200)
    price: Decimal = Field(default=Decimal("0"), ge=0, max_digits=10, decimal_places=2)


class OptionSet(_Model):
    name: str = Field(min_length=1, max_length=200)
    display_name: str | None = None
    description: str | None = None
    is_required: bool = False
    multiple_selections_allowed: bool = False
    min_selections: int = Field(default=0, ge=0)
    max_selections: int = Field(default=1, ge=1)
    items: list[OptionItem] = Field(default_factory=list)

    @field_validator("max_selections")
    @classmethod
    def _max_not_below_min(cls, value: int, info) -> int:
        if value < info.data.get("min_selections", 0):
            raise ValueError("max_selections must be >= min_selections")
        return value


class MenuItem(_Model):
    name: str = Field(min_length=1, max_length=300)
    price: Decimal = Field(ge=0, max_digits=10, decimal_places=2)
    description: str | None = None
    image_url: str | None = None
    tags: list[str] = Field(default_factory=list)
    option_sets: list[str] = Field(default_factory=list, description="Names of option sets of this menu")


class MenuCategory(_Model):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = None
    items: list[MenuItem] = Field(default_factory=list)


class Menu(_Model):
    # Stored as a 64-character key (store/tables.py MenuRow): a longer id is refused here, by name.
    id: str = Field(default_factory=lambda: str(uuid.uuid4()), min_length=1, max_length=64)
    currency: str = Field(default="NZD", pattern=r"^[A-Z]{3}$")
    categories: list[MenuCategory] = Field(default_factory=list)
    option_sets: list[OptionSet] = Field(default_factory=list)

    @field_validator("option_sets")
    @classmethod
    def _unique_option_set_names(cls, value: list[OptionSet]) -> list[OptionSet]:
        names = [o.name for o in value]
        if len(names) != len(set(names)):
            raise ValueError("option set names must be unique within a menu")
        return value

    def items(self) -> list[MenuItem]:
        return [item for category in self.categories for item in category.items]

    def image_urls(self) -> list[str]:
        return [item.image_url for item in self.items() if item.image_url]
