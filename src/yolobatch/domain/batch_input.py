"""The batch input file: restaurants with their registration config (and menu), validated row by row."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from yolobatch.domain.config import RegistrationConfig
from yolobatch.domain.menu import Menu

MAX_RESTAURANTS = 5000


class RestaurantInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    config: RegistrationConfig
    menu: Menu | None = None


class BatchInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="Untitled batch", min_length=1, max_length=200)
    restaurants: list[RestaurantInput] = Field(min_length=1, max_length=MAX_RESTAURANTS)


class BatchInputError(ValueError):
    """The input cannot be used. `problems` lists every bad row, so one fix-and-retry is enough."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def parse_batch(text: str, default_name: str = "Untitled batch") -> BatchInput:
    """Parse a JSON batch: `{"name": ..., "restaurants": [...]}` or a bare list of restaurants."""
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BatchInputError(
            [f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"]
        ) from None
    if isinstance(data, list):
        data = {"name": default_name, "restaurants": data}
    if not isinstance(data, dict):
        raise BatchInputError(["expected a JSON object with a 'restaurants' list, or a list of restaurants"])
    rows = data.get("restaurants")
    if not isinstance(rows, list) or not rows:
        raise BatchInputError(["'restaurants' must be a non-empty list"])
    if len(rows) > MAX_RESTAURANTS:
        raise BatchInputError([f"at most {MAX_RESTAURANTS} restaurants per batch, got {len(rows)}"])
    problems: list[str] = []
    restaurants: list[RestaurantInput] = []
    for index, row in enumerate(rows, start=1):
        try:
            restaurants.append(RestaurantInput.model_validate(row))
        except ValidationError as exc:
            label = row.get("name") if isinstance(row, dict) else None
            for error in exc.errors(include_url=False, include_input=False):
                where = ".".join(str(part) for part in error["loc"])
                problems.append(
                    f"restaurant {index}{f' ({label})' if label else ''}: {where}: {error['msg']}"
                )
    if problems:
        raise BatchInputError(problems)
    for restaurant in restaurants:
        menu_id = restaurant.config.menu.selected_menu_id
        if menu_id and (restaurant.menu is None or restaurant.menu.id != menu_id):
            problems.append(
                f"restaurant {restaurant.name}: menu.selectedMenuId {menu_id} is not its menu's id"
            )
    if problems:
        raise BatchInputError(problems)
    return BatchInput(name=data.get("name") or default_name, restaurants=restaurants)
