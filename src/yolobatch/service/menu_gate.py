"""The menu gate: a restaurant whose extraction found no menu waits for a person, who uploads a menu file,
asks for extraction again with the page rendered in a browser, or goes on without a menu. The one path
the API, the dashboard and the CLI take."""

from __future__ import annotations

import asyncio

from pydantic import ValidationError
from temporalio.client import Client

from yolobatch.domain.image_urls import UnsafeImageUrl, check_image_url
from yolobatch.domain.menu import Menu
from yolobatch.domain.steps import Step
from yolobatch.engine.contracts import MENU_ACTIONS, MenuAnswer
from yolobatch.engine.workflows.onboarding import RestaurantOnboarding
from yolobatch.service.control import DecisionRejected, _question_id, _update
from yolobatch.store.repository import NotFound, Store

MAX_MENU_BYTES = 5_000_000


def parse_menu(raw: bytes | str) -> Menu:
    """A menu file (the JSON menus `run` reads, see examples/menus/), or why it cannot be used."""
    if len(raw) > MAX_MENU_BYTES:
        raise DecisionRejected(f"the menu file is larger than {MAX_MENU_BYTES // 1_000_000} MB")
    try:
        menu = Menu.model_validate_json(raw)
    except ValidationError as exc:
        where = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'menu'}: {e['msg']}" for e in exc.errors()[:5]
        )
        raise DecisionRejected(f"the menu file is not a menu: {where}") from None
    if not menu.items():
        raise DecisionRejected("the menu file has no items")
    for url in menu.image_urls():
        try:
            check_image_url(url)  # said now, not when the image upload call refuses it later
        except UnsafeImageUrl as exc:
            raise DecisionRejected(f"the menu file has an image the platform may not fetch: {exc}") from None
    return menu


async def answer_menu(
    client: Client,
    store: Store,
    job_id: str,
    action: str,
    *,
    actor: str,
    reason: str = "",
    menu_file: bytes | str | None = None,
    org: str | None = None,
) -> str:
    """Answer a restaurant waiting for its menu. `uploaded` needs `menu_file`: staged first, it becomes the
    restaurant's menu only once the workflow accepts this answer (a refused answer, e.g. a second person's
    at the same moment, leaves the menus as they were)."""
    if action not in MENU_ACTIONS:
        raise DecisionRejected(f"action must be one of {', '.join(MENU_ACTIONS)}")
    job = await asyncio.to_thread(store.job, job_id, org)
    if action == "uploaded":
        if menu_file is None:
            raise DecisionRejected("upload the menu file with it")
        menu = parse_menu(menu_file)
        detail = await asyncio.to_thread(store.job_detail, job_id, job.org_id)
        extraction = detail.steps.get(str(Step.EXTRACTION))
        if extraction is None or extraction.status != "action_required":
            raise DecisionRejected("no menu decision is awaited for this restaurant")
        upload_id = await asyncio.to_thread(store.stage_menu, job_id, job.org_id, menu)
        answer = MenuAnswer(action=action, actor=actor, reason=reason, upload_id=upload_id)
        # The upload's own update id: two people's files are two answers, and the second is refused.
        update_id = await _question_id(store, job_id, f"menu/{action}/{upload_id}")
        try:
            return await _update(client, job_id, RestaurantOnboarding.answer_menu, answer, update_id)
        except (DecisionRejected, NotFound):
            # Refused for certain: the file is dropped. (After an unclear failure it stays staged, unused,
            # in case the workflow did accept it.)
            await asyncio.to_thread(store.discard_menu_upload, upload_id)
            raise
    answer = MenuAnswer(action=action, actor=actor, reason=reason)
    update_id = await _question_id(store, job_id, f"menu/{action}")
    return await _update(client, job_id, RestaurantOnboarding.answer_menu, answer, update_id)
