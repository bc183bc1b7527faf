"""The menu gate over HTTP: answer a restaurant whose extraction found no menu."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, UploadFile

from yolobatch.api.routes import Actor, Ctx, Org
from yolobatch.api.schemas import ActionResult
from yolobatch.service.menu_gate import MAX_MENU_BYTES, answer_menu

router = APIRouter(prefix="/api/jobs", tags=["restaurants"])
RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such restaurant in the caller's organisation"},
    409: {"description": "no menu decision is awaited, or the menu file is not a menu"},
}


@router.post("/{job_id}/menu", response_model=ActionResult, responses=RESPONSES)
async def menu_decision(
    job_id: str,
    org: Org,
    actor: Actor,
    ctx: Ctx,
    action: Annotated[
        Literal["uploaded", "retry_render", "continue"],
        Form(description="uploaded (send `file`), retry_render, or continue without a menu"),
    ],
    file: Annotated[UploadFile | None, File(description="the menu (JSON, as examples/menus/)")] = None,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Any:
    """Step 1 found no menu and the restaurant waits (batch `menu_policy: wait`, the default): upload a
    menu file, retry extraction with the page rendered in a browser, or continue without a menu."""
    raw = await file.read(MAX_MENU_BYTES + 1) if file is not None else None
    outcome = await answer_menu(
        ctx.client, ctx.store, job_id, action, actor=actor, reason=reason, menu_file=raw, org=org
    )
    return ActionResult(result=outcome)
