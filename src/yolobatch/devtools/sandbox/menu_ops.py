"""Menu operations: image upload to the CDN (sync or background), menu import, option sets, item tags."""

from __future__ import annotations

import asyncio
import uuid

from yolobatch.devtools.sandbox.catalog import (
    CDN_URL,
    IMAGE_UPLOAD_SECONDS,
    NOMINAL_SECONDS,
    OPTION_SET_SECONDS,
    TAGGED_ITEM_SECONDS,
)
from yolobatch.devtools.sandbox.menu_model import PRESET_TAGS, ImportedMenu, parse_menu, preset_for
from yolobatch.devtools.sandbox.protocol import NOT_REGISTERED, Call, Handler, Reply, fail, ok
from yolobatch.devtools.sandbox.state import RestaurantRecord, UploadBatch, World

NO_MENU = "No menu imported for this restaurant"


def _put_on_cdn(world: World, record: RestaurantRecord, url: str) -> dict[str, str]:
    cdn_url = f"{CDN_URL}/{uuid.UUID(hex=world.new_id('', 32))}/"
    record.cdn_images[url] = cdn_url
    return {"url": url, "cdnUrl": cdn_url}


async def _upload_in_background(world: World, record: RestaurantRecord, batch: UploadBatch) -> None:
    for url in batch.images:
        await asyncio.sleep(world.latency(IMAGE_UPLOAD_SECONDS))
        async with world.lock:
            batch.results.append(_put_on_cdn(world, record, url))
    batch.status = "completed"


async def upload_images(call: Call) -> Reply:
    images = call.body.get("images", [])
    if not isinstance(images, list) or not all(isinstance(url, str) and url.strip() for url in images):
        return fail(400, "images must be a list of image URLs")
    if not images:
        return ok(message="No images to upload", stats={"total": 0, "uploaded": 0})
    await call.work(NOMINAL_SECONDS[call.endpoint])
    world = call.world
    synchronous = len(images) <= world.settings.async_upload_threshold
    async with world.lock:
        record = world.ensure_restaurant(call.org_id, call.restaurant_id)
        batch = world.new_upload_batch(call.org_id, call.restaurant_id, call.path_params["menu_id"], images)
        call.effect()
        if synchronous:
            batch.results.extend(_put_on_cdn(world, record, url) for url in images)
            batch.status = "completed"
    if synchronous:
        return ok(
            mode="synchronous",
            batchId=batch.batch_id,
            stats={"total": len(images), "uploaded": len(batch.results)},
            results=list(batch.results),
        )
    world.spawn(_upload_in_background(world, record, batch))
    return ok(
        mode="asynchronous",
        batchId=batch.batch_id,
        totalImages=len(images),
        progressUrl=f"/api/upload-batches/{batch.batch_id}",
    )


def upload_batch_status(world: World, org_id: str, batch_id: str) -> Reply:
    batch = world.upload_batches.get(batch_id)
    # Another organisation's batch is reported as unknown, not as forbidden: its existence is private.
    if batch is None or batch.org_id != org_id:
        return fail(404, "Upload batch not found")
    return Reply(200, batch.view())


async def import_menu_direct(call: Call) -> Reply:
    record = call.registered_restaurant()
    if record is None:
        return fail(400, NOT_REGISTERED)
    menu = parse_menu(call.body.get("menu"))
    if isinstance(menu, str):
        return fail(400, menu)
    menu_id = call.text("menuId") or menu.id
    if not menu_id:
        return fail(400, "menuId is required")
    # The CSV is built before the slow import, from the images on the CDN at that moment: images whose
    # upload is still running are imported without an image (the original's async-upload hazard).
    with_url = [item for item in menu.items() if item.image_url]
    attached = sum(1 for item in with_url if item.image_url in record.cdn_images)
    await call.work(NOMINAL_SECONDS[call.endpoint])
    async with call.world.lock:
        # No replace on the platform: a second import adds every item again.
        record.menu_imports += 1
        record.items_without_image += len(with_url) - attached
        record.menus[menu_id] = menu
        record.last_menu_id = menu_id
        call.effect()
    return ok(
        message="CSV import completed successfully",
        itemsImported=len(menu.items()),
        imagesAttached=attached,
    )


def _imported(call: Call) -> tuple[RestaurantRecord, ImportedMenu] | None:
    record = call.world.restaurant(call.org_id, call.restaurant_id)
    menu = record.imported_menu(call.text("menuId")) if record is not None else None
    return (record, menu) if record is not None and menu is not None else None


async def add_option_sets(call: Call) -> Reply:
    imported = _imported(call)
    if imported is None:
        return fail(400, NO_MENU)
    record, menu = imported
    total = len(menu.option_sets)
    if total == 0:
        return ok(message="No option sets to create", summary={"total": 0, "created": 0, "failed": 0})
    await call.work(max(NOMINAL_SECONDS[call.endpoint], OPTION_SET_SECONDS * total))
    async with call.world.lock:
        # No existence check in the original: every run creates all option sets again.
        record.option_sets_created += total
        call.effect()
    return ok(
        message=f"Successfully created: {total}/{total}",
        summary={"total": total, "created": total, "failed": 0},
    )


async def add_item_tags(call: Call) -> Reply:
    imported = _imported(call)
    if imported is None:
        return fail(400, NO_MENU)
    record, menu = imported
    assignments = {
        (index, preset)
        for index, item in enumerate(menu.items())
        for tag in item.tags
        if (preset := preset_for(tag)) is not None
    }
    tagged_items = len({index for index, _ in assignments})
    await call.work(NOMINAL_SECONDS[call.endpoint] + TAGGED_ITEM_SECONDS * tagged_items)
    async with call.world.lock:
        record.tags_created += len(PRESET_TAGS)
        call.effect()
    return ok(
        message=f"Created {len(PRESET_TAGS)} item tags",
        summary={
            "total": len(PRESET_TAGS),
            "created": len(PRESET_TAGS),
            "failed": 0,
            "itemsAssigned": len(assignments),
        },
    )


HANDLERS: dict[str, Handler] = {
    "import-menu-direct": import_menu_direct,
    "add-option-sets": add_option_sets,
    "add-item-tags": add_item_tags,
}
