"""The dashboard's answers that issue 17 added: run a finished restaurant's call again (the drawer) and
the menu gate (the inbox). Beside routes.py, which holds the pages and the older answers."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from yolobatch.service.control import DecisionRejected
from yolobatch.service.menu_gate import MAX_MENU_BYTES, answer_menu
from yolobatch.service.rerun import rerun
from yolobatch.store.repository import NotFound
from yolobatch.web.routes import Actor, Ctx, Org, _back, _drawer

router = APIRouter(include_in_schema=False)
MENU_DONE = {
    "uploaded": "Menu uploaded",
    "retry_render": "Extraction runs again, rendered",
    "continue": "Continues without a menu",
}


@router.post("/jobs/{job_id}/rerun", response_class=HTMLResponse)
async def job_rerun(
    request: Request,
    job_id: str,
    org: Org,
    actor: Actor,
    ctx: Ctx,
    step: Annotated[str, Form(max_length=60)],
    reason: Annotated[str, Form(max_length=500)] = "",
    with_dependents: Annotated[bool, Form()] = False,
) -> Response:
    """Run a finished restaurant's call again (the drawer's "Run again", with a reason)."""
    await asyncio.to_thread(ctx.store.job, job_id, org)
    notice = problem = ""
    try:
        started = await rerun(
            ctx.client,
            ctx.store,
            ctx.settings,
            job_id,
            step,
            with_dependents=with_dependents,
            reason=reason,
            actor=actor,
            org=org,
        )
        notice = f"Running again: {', '.join(started.sub_steps)}"
    except (DecisionRejected, NotFound) as exc:
        problem = str(exc)
    return await _drawer(request, ctx, job_id, org, notice=notice, problem=problem)


@router.post("/jobs/{job_id}/menu")
async def job_menu(
    job_id: str,
    org: Org,
    actor: Actor,
    ctx: Ctx,
    action: Annotated[str, Form(max_length=20)],
    file: Annotated[UploadFile | None, File()] = None,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """The inbox's menu card: upload a menu file, retry extraction rendered, or continue without."""
    await asyncio.to_thread(ctx.store.job, job_id, org)
    raw = await file.read(MAX_MENU_BYTES + 1) if file is not None and file.filename else None
    try:
        await answer_menu(
            ctx.client, ctx.store, job_id, action, actor=actor, reason=reason, menu_file=raw, org=org
        )
    except (DecisionRejected, NotFound) as exc:
        return _back("/inbox", problem=str(exc))
    return _back("/inbox", notice=MENU_DONE.get(action, action))
