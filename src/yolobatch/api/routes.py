"""The HTTP API under /api: batches, restaurants (jobs), people's actions and the live event feed.

Every route is scoped to the caller's organisation: another organisation's ids answer 404, exactly like
ids that do not exist. People's actions are idempotent: send the same `Idempotency-Key` again and the
engine applies the action once.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Header, HTTPException, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response, StreamingResponse

from yolobatch.api.event_feed import FeedCursor
from yolobatch.api.original_progress import SnapshotCache
from yolobatch.api.schemas import (
    INPUT_PROBLEMS,
    ActionResult,
    BatchCreated,
    BatchList,
    BatchProgress,
    BatchSummaryView,
    CompanyAnswer,
    ConfigEdits,
    ConfigRevision,
    CreateBatch,
    DuplicateRow,
    DuplicatesProblem,
    JobDetail,
    OriginalProgress,
    Reason,
)
from yolobatch.domain.batch_defaults import defaults_json, with_defaults
from yolobatch.domain.batch_input import (
    MAX_UPLOAD_BYTES,
    BatchInput,
    BatchInputError,
    parse_batch,
    parse_upload,
)
from yolobatch.domain.identities import DuplicateRestaurants
from yolobatch.engine.contracts import Approval, CompanyChoice
from yolobatch.http.context import AppContext, context
from yolobatch.http.problems import ProblemItem, problem
from yolobatch.http.security import current_actor, current_org
from yolobatch.service import batches, configs, control
from yolobatch.store.read_models import RegistrationProgress, plain
from yolobatch.store.repository import ConfigFrozen, ConfigNotApproved, IdempotencyConflict

router = APIRouter(prefix="/api", tags=["batches"])
Org = Annotated[str, Depends(current_org)]
Actor = Annotated[str, Depends(current_actor)]  # the audit log's name for the caller
Ctx = Annotated[AppContext, Depends(context)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]
PROBLEMS: dict[int | str, dict[str, Any]] = {
    422: {"description": "bad input; nothing was created: `errors` lists every problem"}
}
CREATE_RESPONSES: dict[int | str, dict[str, Any]] = {
    **PROBLEMS,
    409: {
        "model": DuplicatesProblem,
        "description": "restaurants already registered or in flight in another batch of the organisation "
        "(send force to create it anyway), or the Idempotency-Key was used for a different batch "
        "(`detail` only)",
    },
}
# Paging and event ids bound what reaches SQL: a larger integer is an overflow error in the database driver.
MAX_OFFSET = 2**31 - 1
MAX_EVENT_ID = 2**63 - 1
PROGRESS_SNAPSHOTS = SnapshotCache()  # per API process


def _problems(exc: BatchInputError, instance: str) -> JSONResponse:
    errors = [ProblemItem(detail=text) for text in exc.problems]
    return problem(422, INPUT_PROBLEMS, instance=instance, errors=errors)


async def _create(
    ctx: AppContext,
    org: str,
    actor: str,
    batch: BatchInput,
    options: dict[str, Any],
    start: bool,
    idempotency_key: str | None,
    force: bool,
    *,
    instance: str,
) -> BatchCreated:
    try:
        created = await batches.create(
            ctx.client,
            ctx.store,
            ctx.settings,
            org=org,
            actor=actor,
            batch=batch,
            options=options,
            start_now=start,
            idempotency_key=idempotency_key,
            force=force,
        )
    except IdempotencyConflict as exc:
        raise HTTPException(409, detail=str(exc)) from None
    except DuplicateRestaurants as exc:
        duplicates = [DuplicateRow.model_validate(asdict(d)).model_dump() for d in exc.duplicates]
        return problem(409, str(exc), instance=instance, extensions={"duplicates": duplicates})  # type: ignore[return-value]
    return BatchCreated(batch_id=created.batch_id, restaurants=created.restaurants, started=created.started)


@router.post("/batches", status_code=201, response_model=BatchCreated, responses=CREATE_RESPONSES)
async def create_batch(
    body: CreateBatch, org: Org, actor: Actor, ctx: Ctx, idempotency_key: IdempotencyKey = None
) -> Any:
    """Create a batch from JSON: plain restaurants run the whole pipeline, ready configs register only.

    Send an `Idempotency-Key` to make a resend safe: the same key answers the batch it created."""
    text = json.dumps({"name": body.name, "restaurants": body.restaurants})
    try:
        # Off the event loop: validating thousands of rows takes a while, and every other request waits
        # for the loop.
        batch = await asyncio.to_thread(parse_batch, text)
        options = with_defaults(body.options.model_dump(), body.defaults)
    except BatchInputError as exc:
        return _problems(exc, "/api/batches")
    return await _create(
        ctx, org, actor, batch, options, body.start, idempotency_key, body.force, instance="/api/batches"
    )


@router.post("/batches/upload", status_code=201, response_model=BatchCreated, responses=CREATE_RESPONSES)
async def upload_batch(
    org: Org,
    actor: Actor,
    ctx: Ctx,
    file: Annotated[UploadFile, File(description="CSV (name, storeUrl, city, email, ...) or JSON")],
    name: Annotated[str | None, Form(max_length=200)] = None,
    yolo: Annotated[bool, Form()] = False,
    start: Annotated[bool, Form()] = False,
    force: Annotated[
        bool, Form(description="create it even when restaurants are already in another batch")
    ] = False,
    menu_policy: Annotated[
        Literal["wait", "continue"], Form(description="when extraction finds no menu: wait, or continue")
    ] = "wait",
    defaults: Annotated[
        str, Form(max_length=20_000, description='JSON {"section.field": value} for every plain row')
    ] = "",
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Create a batch from an uploaded CSV or JSON file; every bad row is reported, nothing is created.
    An `Idempotency-Key` makes a resend safe, as for `POST /api/batches`."""
    raw = await file.read(MAX_UPLOAD_BYTES + 1)
    if len(raw) > MAX_UPLOAD_BYTES:
        raise HTTPException(413, detail=f"the file is larger than {MAX_UPLOAD_BYTES // 1_000_000} MB")
    filename = file.filename or "upload"
    try:
        title = name or filename.rsplit(".", 1)[0]
        batch = await asyncio.to_thread(parse_upload, raw, filename, title, ctx.sandbox_url)
        options = {"yolo": yolo, "auto_select": True, "menu_policy": menu_policy}
        options = with_defaults(options, defaults_json(defaults))
    except BatchInputError as exc:
        return _problems(exc, "/api/batches/upload")
    return await _create(
        ctx, org, actor, batch, options, start, idempotency_key, force, instance="/api/batches/upload"
    )


@router.get("/batches", response_model=BatchList)
async def list_batches(
    org: Org,
    ctx: Ctx,
    status_filter: Annotated[
        str | None, Query(alias="status", description="e.g. running, action_required")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> Any:
    """The organisation's batches, newest first, with counts of restaurants by state."""
    items, total = await asyncio.to_thread(
        ctx.store.list_batches, org, status=status_filter, limit=limit, offset=offset
    )
    views = [BatchSummaryView.model_validate(asdict(item)) for item in items]
    return BatchList(items=views, total=total, limit=limit, offset=offset)


@router.get("/batches/{batch_id}", response_model=BatchProgress)
async def get_batch(
    batch_id: str,
    org: Org,
    ctx: Ctx,
    state: Annotated[
        Literal["failed", "waiting", "running", "done"] | None,
        Query(description="only restaurants in this state (the dashboard's filters)"),
    ] = None,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="restaurants to skip, in input order")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000, description="restaurants in this page")] = 100,
) -> dict[str, Any]:
    """A batch's counts (all restaurants) and one page of its restaurants with their steps and
    registration calls. `page.matching` says how many restaurants the filter matches."""

    def read() -> dict[str, Any]:
        return plain(ctx.store.batch_progress(batch_id, org, state=state, offset=offset, limit=limit))

    return await asyncio.to_thread(read)


@router.post("/batches/{batch_id}/start", response_model=ActionResult)
async def start_batch(batch_id: str, org: Org, actor: Actor, ctx: Ctx) -> Any:
    """Start a batch. Starting twice is harmless: a batch already started (or finished) answers
    `already started`."""
    await asyncio.to_thread(ctx.store.batch, batch_id, org)
    return ActionResult(
        result=await batches.start(ctx.client, ctx.store, ctx.settings, batch_id, actor=actor)
    )


@router.post("/batches/{batch_id}/cancel", response_model=ActionResult)
async def cancel_batch(batch_id: str, org: Org, actor: Actor, ctx: Ctx) -> Any:
    """Cancel every restaurant of the batch that has not finished."""
    await asyncio.to_thread(ctx.store.batch, batch_id, org)
    count = await control.cancel_batch(ctx.client, ctx.store, batch_id, actor=actor)
    return ActionResult(result=f"cancellation requested for {count} restaurants")


@router.delete("/batches/{batch_id}", status_code=204)
async def delete_batch(batch_id: str, org: Org, actor: Actor, ctx: Ctx) -> None:
    """Delete a draft (never started) batch."""
    try:
        await asyncio.to_thread(ctx.store.delete_draft_batch, batch_id, org, actor)
    except ValueError as exc:
        raise HTTPException(409, detail=str(exc)) from None


@router.post("/batches/{batch_id}/approve-all")
async def approve_all(batch_id: str, org: Org, actor: Actor, ctx: Ctx) -> dict[str, str]:
    """Approve every config of the batch that waits for review (job id -> outcome)."""
    await asyncio.to_thread(ctx.store.batch, batch_id, org)
    return await control.bulk_approve(ctx.client, ctx.store, batch_id, actor=actor)


@router.get(
    "/registration-batches/{batch_id}/progress",
    response_model=None,  # answered pre-encoded (`api/original_progress.py`); the schema is declared below
    responses={200: {"model": OriginalProgress, "description": "the original's shape"}},
)
async def original_progress(batch_id: str, org: Org, ctx: Ctx) -> Response:
    """Progress in the original system's shape, every field with the original's name and meaning
    (`status`, `progress_percent`, `current_step`, `step_requiring_action`, `restaurants_summary`,
    `last_updated`: see domain/original_progress.py), plus yolobatch's own figures under `batch`,
    `percentage` and `restaurants`. For a batch of 1 000 restaurants or more it may be up to 5 seconds old
    (`api/original_progress.py`)."""

    async def read() -> RegistrationProgress:
        return await asyncio.to_thread(ctx.store.registration_progress, batch_id, org)

    body = await PROGRESS_SNAPSHOTS.get((id(ctx.store), org, batch_id), read)
    return Response(body, media_type="application/json")


jobs = APIRouter(prefix="/api/jobs", tags=["restaurants"])


@jobs.get("/{job_id}", response_model=JobDetail)
async def get_job(job_id: str, org: Org, ctx: Ctx) -> dict[str, Any]:
    """One restaurant: steps, calls with redacted requests/responses, candidates, config (masked), audit,
    and `outputs` (platform restaurant id, demo store, Stripe link, logins; never the password)."""
    return plain(await asyncio.to_thread(ctx.store.job_detail, job_id, org))


@jobs.post("/{job_id}/company", response_model=ActionResult)
async def answer_company(job_id: str, body: CompanyAnswer, org: Org, actor: Actor, ctx: Ctx) -> Any:
    """Step 3: choose a candidate, search again with edited terms, enter details by hand, or no company."""
    await asyncio.to_thread(ctx.store.job, job_id, org)
    choice = CompanyChoice(
        action=body.action,
        number=body.number,
        terms=body.terms,
        details=body.details,
        actor=actor,
        reason=body.reason,
    )
    return ActionResult(result=await control.choose_company(ctx.client, ctx.store, job_id, choice))


@jobs.patch("/{job_id}/config")
async def edit_config(job_id: str, body: ConfigEdits, org: Org, actor: Actor, ctx: Ctx) -> dict[str, Any]:
    """Step 5: change config fields (`section.field`); answers the config (masked) and what still fails.
    An unknown field is a 422; an approved config is frozen (409): revise it instead."""
    await asyncio.to_thread(ctx.store.job, job_id, org)
    if await asyncio.to_thread(ctx.store.config_review, job_id) is None:
        raise HTTPException(409, detail=str(configs.NoConfigYet()))
    try:
        await asyncio.to_thread(ctx.store.edit_config, job_id, body.changes, actor)
    except ConfigFrozen as exc:
        raise HTTPException(409, detail=str(exc)) from None
    except ValueError as exc:
        raise HTTPException(422, detail=str(exc)) from None
    errors = await asyncio.to_thread(configs.problems, ctx.store, job_id)
    review = await asyncio.to_thread(ctx.store.config_review, job_id)
    return {"config": review, "errors": errors}


@jobs.post("/{job_id}/config/revise")
async def revise_config(
    job_id: str, body: ConfigRevision, org: Org, actor: Actor, ctx: Ctx
) -> dict[str, Any]:
    """Change an approved config: a new version, approved by the caller, audited with its reason. Calls
    already completed are not sent again; calls that run from now on (retries included) use it."""
    await asyncio.to_thread(ctx.store.job, job_id, org)
    if await asyncio.to_thread(ctx.store.config_review, job_id) is None:
        raise HTTPException(409, detail=str(configs.NoConfigYet()))
    try:
        version = await asyncio.to_thread(ctx.store.revise_config, job_id, body.changes, actor, body.reason)
    except ConfigNotApproved as exc:
        raise HTTPException(409, detail=str(exc)) from None
    except ValueError as exc:
        raise HTTPException(422, detail=str(exc)) from None
    return {"config": await asyncio.to_thread(ctx.store.config_review, job_id), "version": version}


@jobs.post(
    "/{job_id}/config/approve",
    response_model=ActionResult,
    responses={422: {"description": "the stored config is not valid: `detail` says why"}},
)
async def approve(job_id: str, body: Reason, org: Org, actor: Actor, ctx: Ctx) -> Any:
    """Step 5: approve the stored config; the engine validates it again before registering."""
    await asyncio.to_thread(ctx.store.job, job_id, org)
    approval = Approval(actor=actor, reason=body.reason)
    try:
        return ActionResult(result=await configs.approve(ctx.client, ctx.store, job_id, approval))
    except configs.NoConfigYet as exc:
        raise HTTPException(409, detail=str(exc)) from None
    except configs.ConfigInvalid as exc:
        raise HTTPException(422, detail=str(exc)) from None


@jobs.post("/{job_id}/config/copy-to-all")
async def copy_to_all(job_id: str, org: Org, actor: Actor, ctx: Ctx) -> dict[str, list[str]]:
    """Apply this config's settings to the batch's other unapproved configs (their own owner, name,
    address and menu are kept)."""
    await asyncio.to_thread(ctx.store.job, job_id, org)
    return {"updated": await asyncio.to_thread(ctx.store.copy_config_to_batch, job_id, actor)}


@jobs.post("/{job_id}/steps/{step}/{action}", response_model=ActionResult)
async def decide(
    job_id: str,
    step: str,
    action: control.Action,
    body: Reason,
    org: Org,
    actor: Actor,
    ctx: Ctx,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Retry, skip or mark done (`mark_done`, with a reason) a failed step (`extraction`, `companySearch`,
    `companyDetails`, `config`) or registration call (`menuImport`, ...)."""
    await asyncio.to_thread(ctx.store.job, job_id, org)
    if problem := control.missing_reason(action, body.reason):
        raise HTTPException(422, detail=problem)
    result = await control.decide(
        ctx.client,
        ctx.store,
        job_id,
        action,
        step,
        reason=body.reason,
        actor=actor,
        request_id=idempotency_key,
    )
    return ActionResult(result=result)


@jobs.post("/{job_id}/cancel", response_model=ActionResult)
async def cancel(job_id: str, body: Reason, org: Org, actor: Actor, ctx: Ctx) -> Any:
    """Cancel this restaurant: calls in flight are cancelled, nothing new starts."""
    await asyncio.to_thread(ctx.store.job, job_id, org)
    await control.cancel_job(ctx.client, ctx.store, job_id, actor=actor, reason=body.reason)
    return ActionResult(result="cancellation requested")


events = APIRouter(prefix="/api", tags=["events"])


EVENT_EXAMPLE = (
    'id: 42\nevent: progress\ndata: {"id": 42, "kind": "sub_step", "batch_id": "0b8a…", "job_id": "5b0c…", '
    '"sub_step": "menuImport", "actor": "engine", "message": "menuImport completed"}\n\n'
)


@events.get(
    "/events",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "an endless event stream; each event's data is one JSON object",
            "content": {"text/event-stream": {"schema": {"type": "string"}, "example": EVENT_EXAMPLE}},
        }
    },
)
async def event_stream(
    request: Request,
    org: Org,
    ctx: Ctx,
    batch_id: str | None = None,
    after: Annotated[int, Query(ge=0, le=MAX_EVENT_ID, description="resume after this event id")] = 0,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    """Server-sent events: every audit/progress event of the organisation (or one batch), live."""
    if batch_id:
        await asyncio.to_thread(ctx.store.batch, batch_id, org)
    start = after
    # isascii: "²".isdigit() is true and int() refuses it; an id beyond any database's integers is capped.
    if last_event_id and last_event_id.isascii() and last_event_id.isdigit():
        start = min(int(last_event_id), MAX_EVENT_ID)

    async def feed() -> AsyncIterator[str]:
        cursor = FeedCursor(start)
        yield "retry: 2000\n\n"
        while not await request.is_disconnected():
            rows = await asyncio.to_thread(
                ctx.store.events, org_id=org, batch_id=batch_id, after_id=cursor.high, limit=200
            )
            late, gaps = [], cursor.gaps
            for chunk in range(0, len(gaps), 500):  # ids skipped earlier that may have committed since
                late += await asyncio.to_thread(
                    ctx.store.events, org_id=org, batch_id=batch_id, ids=gaps[chunk : chunk + 500]
                )
            # A late event's own id would move a reconnecting browser's Last-Event-ID backwards.
            resume = cursor.high
            for e in cursor.take([*late, *rows]):
                resume = max(resume, e.id)
                data = {
                    "id": e.id,
                    "kind": e.kind,
                    "batch_id": e.batch_id,
                    "job_id": e.job_id,
                    "sub_step": e.sub_step,
                    "actor": e.actor,
                    "message": e.message,
                }
                # One event name for all, so browsers subscribe once; the kind travels in the data.
                yield f"id: {resume}\nevent: progress\ndata: {json.dumps(data)}\n\n"
            if not rows:
                yield ": keep-alive\n\n"
                await asyncio.sleep(0.5)

    return StreamingResponse(feed(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})
