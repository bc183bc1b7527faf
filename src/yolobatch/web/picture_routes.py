"""The dashboard pages issue 17 added (pictures and basics), on routes.py's router: a restaurant's own
page (what a grid link opens without JavaScript), the batch's pace chart, the config review's images,
and the inbox's bulk accept of best company matches."""

from __future__ import annotations

import asyncio
from typing import Annotated

import httpx
from fastapi import Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from yolobatch.engine.contracts import CompanyChoice
from yolobatch.integrations.extraction.errors import ExtractionError
from yolobatch.integrations.extraction.fetch import fetch_image
from yolobatch.integrations.extraction.guard import UrlGuard
from yolobatch.service import control
from yolobatch.service.control import DecisionRejected
from yolobatch.store.repository import NotFound
from yolobatch.web import views
from yolobatch.web.routes import Actor, Ctx, Org, PageOrg, _back, _job_values, _render, org_zone, router

IMAGE_MAX_BYTES = 3_000_000  # a logo or cover shown at review; a bigger file is not worth the wait
BULK_LIMIT = 500  # restaurants in one bulk answer: the inbox shows at most a few hundred


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
async def job_page(request: Request, job_id: str, org: PageOrg, ctx: Ctx) -> Response:
    """A restaurant on a page of its own: the grid's links work without JavaScript (which opens the same
    content in the drawer instead)."""
    try:
        values = await _job_values(ctx, job_id, org, org_zone(request))
    except NotFound:
        return _render(request, "not_found.html", 404, what="restaurant")
    return _render(request, "job.html", **values)


@router.get("/batches/{batch_id}/pace", response_class=HTMLResponse)
async def batch_pace(request: Request, batch_id: str, org: PageOrg, ctx: Ctx) -> Response:
    """The batch chart: loaded by the batch page, and again while the batch runs."""
    chart = await asyncio.to_thread(
        views.pace_chart, ctx.store, batch_id, org, ctx.settings, org_zone(request)
    )
    return _render(request, "_pace.html", batch_id=batch_id, **chart)


@router.get("/jobs/{job_id}/image/{which}")
async def config_image(job_id: str, which: str, org: PageOrg, ctx: Ctx) -> Response:
    """The config's logo or cover image, fetched here for the review: the page's CSP loads images from
    this origin only, and the fetch goes through extraction's guard (public addresses, size, type)."""
    await asyncio.to_thread(ctx.store.job, job_id, org)
    review = await asyncio.to_thread(ctx.store.config_review, job_id)
    public = review["config"] if review else {}
    url = await asyncio.to_thread(views.image_url, ctx.store, job_id, public, which)
    if not url:
        raise HTTPException(404, detail="no such image")
    guard = UrlGuard(allowed_hosts=frozenset(ctx.settings.fetch_allowed_hosts))
    try:
        async with httpx.AsyncClient() as http:
            image = await fetch_image(url, http=http, guard=guard, max_bytes=IMAGE_MAX_BYTES, timeout=10)
    except ExtractionError as refused:
        raise HTTPException(404, detail=f"image unavailable: {refused}") from None
    return Response(image.body, media_type=image.content_type.split(";")[0])


@router.post("/inbox/companies")
async def accept_best_matches(
    org: Org,
    actor: Actor,
    ctx: Ctx,
    job: Annotated[list[str], Form(max_length=BULK_LIMIT)] = [],  # noqa: B006 (FastAPI copies it)
) -> Response:
    """Choose each ticked restaurant's best-ranked registry candidate, as its own Choose button would.
    The candidate is read here, never taken from the form: what is accepted is what the page showed."""
    if not job:
        return _back("/inbox", problem="Tick the restaurants whose best match is right first")
    accepted, refused = 0, []
    for job_id in dict.fromkeys(job):
        try:
            found = await asyncio.to_thread(ctx.store.job, job_id, org)
            candidates = await asyncio.to_thread(ctx.store.candidates, job_id)
            if not candidates:
                raise DecisionRejected("it has no candidate to accept")
            choice = CompanyChoice(
                action="choose", number=candidates[0]["number"], actor=actor, reason="best match, bulk accept"
            )
            await control.choose_company(ctx.client, ctx.store, job_id, choice)
            accepted += 1
        except NotFound:
            refused.append(f"{job_id}: not found")
        except DecisionRejected as exc:
            refused.append(f"{found.restaurant_name}: {exc}")
    notice = f"Accepted the best match for {accepted} restaurant(s)" if accepted else ""
    return _back("/inbox", notice=notice, problem="; ".join(refused))
