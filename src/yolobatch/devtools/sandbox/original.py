"""The sandbox speaking the ORIGINAL service's contract (docs/platform-contract.yaml lists the differences).

That service keys everything by its own restaurant id and reads names, colours and menus from its own
database: here those records are seeded through `/_sandbox/platform-restaurants`, and each call's body is
completed from them before the shared handlers run. Idempotency keys are ignored (pipeline.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from yolobatch.devtools.sandbox.protocol import Reply, fail

if TYPE_CHECKING:
    from yolobatch.devtools.sandbox.state import World

NOT_FOUND = "Restaurant not found"


class SeedRequest(BaseModel):
    """A restaurant as the original's database holds it, with the menus it has."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    org_id: str = Field(alias="orgId", min_length=1)
    restaurant_id: str = Field(alias="restaurantId", min_length=1)
    name: str = Field(min_length=1)
    primary_color: str | None = Field(default=None, alias="primaryColor")
    secondary_color: str | None = Field(default=None, alias="secondaryColor")
    theme: str = "dark"
    menus: dict[str, dict[str, Any]] = Field(default_factory=dict, description="platform menu id → menu")


@dataclass
class SeededRestaurant:
    name: str
    primary_color: str | None
    secondary_color: str | None
    theme: str
    menus: dict[str, dict[str, Any]] = field(default_factory=dict)


def seed(world: World, request: SeedRequest) -> SeededRestaurant:
    seeded = SeededRestaurant(
        request.name, request.primary_color, request.secondary_color, request.theme, dict(request.menus)
    )
    world.seeded[(request.org_id, request.restaurant_id)] = seeded
    return seeded


def _menu_images(menu: dict[str, Any]) -> list[str]:
    return [
        url
        for category in menu.get("categories", [])
        for item in category.get("items", [])
        if isinstance(item, dict) and isinstance(url := item.get("image_url") or item.get("imageUrl"), str)
    ]


def complete_body(
    world: World, endpoint: str, org_id: str, body: dict[str, Any], path_params: dict[str, str]
) -> dict[str, Any] | Reply:
    """The body as the shared handlers expect it, filled from the seeded record; or the original's 404."""
    restaurant_id = body.get("restaurantId")
    if endpoint == "upload-images":
        menu_id = path_params.get("menu_id", "")
        owner = next(
            ((rid, s) for (org, rid), s in world.seeded.items() if org == org_id and menu_id in s.menus), None
        )
        if owner is None:
            return fail(404, "Menu not found")
        rid, seeded = owner
        return {"restaurantId": rid, "images": _menu_images(seeded.menus[menu_id])}
    seeded = world.seeded.get((org_id, restaurant_id)) if isinstance(restaurant_id, str) else None
    if seeded is None:
        return fail(404, NOT_FOUND)
    # The database's values win: the original ignores these fields in payloads (§5.1, §5.3).
    filled = {
        **body,
        "primaryColor": seeded.primary_color,
        "secondaryColor": seeded.secondary_color,
        "theme": seeded.theme,
    }
    filled.setdefault("restaurantName", seeded.name)
    if endpoint == "import-menu-direct":
        menu = seeded.menus.get(str(body.get("menuId")))
        if menu is None:
            return fail(404, "Menu not found")
        filled["menu"] = menu
    return filled


def status_read(world: World, org_id: str, restaurant_id: str) -> Reply:
    """`GET /api/registration/status/:rid` → `{account, pumpdRestaurant, hasAccount, hasRestaurant}`."""
    if (org_id, restaurant_id) not in world.seeded:
        return fail(404, NOT_FOUND)
    account = next(
        (a for a in world.accounts if a.org_id == org_id and a.restaurant_id == restaurant_id), None
    )
    record = world.restaurant(org_id, restaurant_id)
    current = record.current if record is not None else None
    pumpd = (
        {"pumpd_restaurant_id": current.platform_id, "pumpd_subdomain": current.subdomain}
        if current is not None
        else None
    )
    return Reply(
        200,
        {
            "account": account.view() if account is not None else None,
            "pumpdRestaurant": pumpd,
            "hasAccount": account is not None,
            "hasRestaurant": current is not None,
        },
    )


def code_injection_read(world: World, org_id: str, restaurant_id: str) -> Reply:
    """`GET /api/registration/code-injection/:rid` → `{hasContent, codeInjectionId, generatedAt, config}`."""
    if (org_id, restaurant_id) not in world.seeded:
        return fail(404, NOT_FOUND)
    record = world.restaurant(org_id, restaurant_id)
    injection_id = record.code_injection_id if record is not None else None
    return Reply(
        200,
        {
            "hasContent": injection_id is not None,
            "codeInjectionId": injection_id,
            "generatedAt": None,
            "config": None,
        },
    )


def nest_upload_status(reply: Reply) -> Reply:
    """The original's upload-batch answer nests the batch's fields under `batch` (issue 15)."""
    if reply.status != 200 or reply.body is None:
        return reply
    return Reply(200, {"success": True, "batch": {k: v for k, v in reply.body.items() if k != "success"}})
