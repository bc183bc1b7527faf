"""The dashboard: server-rendered pages and HTMX partials over the same store and engine as the API.

Pages authenticate with the `yb_session` cookie (a server-side session opened at /login with a token or a
one-time login code) and redirect to /login without it; every unsafe request goes through the API's
`current_org`, which also checks the origin and the CSRF token.
Actions are plain forms (post, then redirect) or HTMX posts that answer the re-rendered partial.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader

from yolobatch.domain.batch_defaults import parse_assignments, with_defaults
from yolobatch.domain.batch_input import MAX_UPLOAD_BYTES, BatchInputError, parse_upload
from yolobatch.domain.identities import DuplicateRestaurants
from yolobatch.engine.contracts import Approval, CompanyChoice, onboarding_workflow_id
from yolobatch.engine.runtime import workflow_url
from yolobatch.http.context import AppContext, context
from yolobatch.http.security import (
    SESSION_COOKIE,
    bearer_token,
    check_csrf,
    check_token,
    csrf_token,
    current_actor,
    current_org,
    session_caller,
)
from yolobatch.service import batches, configs, control, inbox, outputs
from yolobatch.service.control import DecisionRejected
from yolobatch.service.outputs import OutputsNotFound, ReasonRequired
from yolobatch.store.access import Access, Caller
from yolobatch.store.repository import IdempotencyConflict, NotFound
from yolobatch.web import config_form, views

HERE = Path(__file__).parent

router = APIRouter(include_in_schema=False)
# Autoescape everything: restaurant names, errors and registry data come from outside.
templates = Jinja2Templates(env=Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True))
static = StaticFiles(directory=HERE / "static")
Ctx = Annotated[AppContext, Depends(context)]
Org = Annotated[str, Depends(current_org)]
Actor = Annotated[str, Depends(current_actor)]  # "dashboard:<token name>" in the audit log
LINK_USED = "This login link has expired or was already used; get a new one with `yolobatch login-link`."
LOGIN_COOKIE = "yb_login"  # a random nonce before login: the login form's CSRF token is derived from it


class LoginRequired(HTTPException):
    """A page request without a valid session: send the browser to /login (HTMX follows HX-Redirect)."""

    def __init__(self) -> None:
        super().__init__(303, detail="log in first", headers={"Location": "/login", "HX-Redirect": "/login"})


async def page_org(request: Request, ctx: Ctx) -> str:
    token = bearer_token(request)
    if token is not None:
        org = await check_token(request, ctx, token)
    else:
        caller = await session_caller(request, ctx)
        org = caller.org_id if caller else None
    if org is None:
        raise LoginRequired()
    if token is not None:  # a session's caller carries its organisation's zone already
        request.state.org_time_zone = (await asyncio.to_thread(ctx.store.org_defaults, org)).time_zone
    request.state.org_id = org
    return org


PageOrg = Annotated[str, Depends(page_org)]


def _render(request: Request, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
    session_id = getattr(request.state, "session_id", None)
    values.setdefault("csrf", csrf_token(session_id) if session_id else "")
    # Every page says whose data it shows: a browser switched to another organisation must be obvious.
    values.setdefault("org_name", getattr(request.state, "org_name", ""))
    values.setdefault("org_id", getattr(request.state, "org_id", ""))
    values.setdefault("notice", request.query_params.get("notice", ""))
    values.setdefault("problem", request.query_params.get("problem", ""))
    # Times on every page read as the organisation's clock, with the zone named beside them.
    zone, zone_name = views.display_zone(context(request).settings, org_zone(request))
    values.setdefault("zone_name", zone_name)
    values.setdefault("clock", lambda iso, date=False: views.local_time(iso, zone, date=date))
    return templates.TemplateResponse(request, template, values, status_code=status_code)


def org_zone(request: Request) -> str | None:
    """The organisation's own time zone (its defaults), if it set one and the page knows its caller."""
    return getattr(request.state, "org_time_zone", None)


def _back(path: str, *, notice: str = "", problem: str = "") -> RedirectResponse:
    query = urlencode({k: v for k, v in (("notice", notice), ("problem", problem)) if v})
    return RedirectResponse(path + (f"?{query}" if query else ""), status_code=303)


# -- static files and login -----------------------------------------------------------------------------


@router.get("/static/{path:path}")
async def static_file(path: str, request: Request) -> Response:
    """HTMX and its SSE extension are vendored here: no CDN, no build step."""
    return await static.get_response(path, request.scope)


@router.get("/login", response_class=HTMLResponse)
async def login_page(
    request: Request,
    ctx: Ctx,
    code: Annotated[str | None, Query(max_length=200)] = None,
    token: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    """The login form; with `?code=` (a one-time link from `yolobatch login-link`), a confirmation naming
    the organisation. Nothing logs in on a GET: another site could send a browser to any link."""
    if token is not None:
        problem = "Login links no longer carry a token; get a one-time link with `yolobatch login-link`."
        return _login_form(request, 400, problem=problem)
    if code is None:
        return _login_form(request, 200)
    caller = await asyncio.to_thread(Access(ctx.store).peek_login_code, code)
    if caller is None:
        return _login_form(request, 400, problem=LINK_USED)
    org_name = await asyncio.to_thread(Access(ctx.store).org_name, caller.org_id)
    return _login_form(request, 200, code=code, target_org=org_name, target_org_id=caller.org_id)


def _login_form(request: Request, status_code: int, **values: Any) -> HTMLResponse:
    """The login page with a login CSRF token bound to a pre-login cookie (double submit)."""
    nonce = request.cookies.get(LOGIN_COOKIE)
    if not nonce or len(nonce) > 100:
        nonce = secrets.token_urlsafe(24)
    page = _render(request, "login.html", status_code, csrf="", login_csrf=csrf_token(nonce), **values)
    page.set_cookie(
        LOGIN_COOKIE, nonce, httponly=True, samesite="strict", secure=_https(request), path="/login"
    )
    return page


def _https(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    ctx: Ctx,
    token: Annotated[str, Form(max_length=500)] = "",
    code: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Log in with an API token or a one-time code: a new server-side session, never the token itself."""
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    try:
        if not nonce:
            raise HTTPException(403, detail="missing or invalid CSRF token")
        await check_csrf(request, nonce)
    except HTTPException as refused:
        return _login_form(request, 403, problem=f"{refused.detail}: open the login page and try again.")
    access = Access(ctx.store)
    if code:
        caller = await asyncio.to_thread(access.use_login_code, code.strip())
        if caller is None:
            return _login_form(request, 401, problem=LINK_USED)
    else:
        try:
            caller = await _token_caller(request, ctx, token.strip())
        except HTTPException as refused:  # too many invalid tokens like this one from this address
            page = _login_form(request, refused.status_code, problem=str(refused.detail))
            page.headers.update(refused.headers or {})
            return page
        if caller is None:
            return _login_form(request, 401, problem="That token is not valid.")
    previous = request.cookies.get(SESSION_COOKIE)
    if previous and len(previous) <= 200:  # logging in again, maybe as another organisation: one session
        await asyncio.to_thread(access.end_session, previous)
    lifetime = timedelta(hours=ctx.settings.session_hours)
    session_id = await asyncio.to_thread(access.open_session, caller, lifetime)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=int(lifetime.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=_https(request),
        path="/",
    )
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


async def _token_caller(request: Request, ctx: AppContext, token: str) -> Caller | None:
    if not token:
        return None
    caller = await asyncio.to_thread(Access(ctx.store).token_caller, token)
    if caller is None:
        await check_token(request, ctx, token)  # counts the failure; raises 429 when locked out
    return caller


@router.post("/logout")
async def logout(request: Request, org: Org, ctx: Ctx) -> Response:
    """Ends the session on the server too: a copied cookie stops working at once."""
    session_id = getattr(request.state, "session_id", None)
    if session_id:
        await asyncio.to_thread(Access(ctx.store).end_session, session_id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# -- batches ----------------------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
async def batch_list(
    request: Request, org: PageOrg, ctx: Ctx, q: Annotated[str, Query(max_length=200)] = "", status: str = ""
) -> Response:
    """The organisation's batches, newest first; `q` searches names, `status` keeps one status."""
    found = await asyncio.to_thread(views.batch_list, ctx.store, org, q, status)
    waiting = len(await asyncio.to_thread(inbox.waiting, ctx.store, org))
    return _render(request, "batches.html", **found, inbox_count=waiting)


@router.get("/batches/new", response_class=HTMLResponse)
async def new_batch(request: Request, org: PageOrg) -> Response:
    return _new_batch_form(request, 200, problems=[], name="")


def _new_batch_form(request: Request, status_code: int, *, problems: list[str], name: str) -> HTMLResponse:
    # One id per form shown: a double click or a resent post creates the batch once (Idempotency-Key).
    submission = uuid.uuid4().hex
    return _render(
        request, "new_batch.html", status_code, problems=problems, name=name, submission=submission
    )


@router.post("/batches/new", response_class=HTMLResponse)
async def create_batch(
    request: Request,
    org: Org,
    actor: Actor,
    ctx: Ctx,
    file: Annotated[UploadFile, File()],
    name: Annotated[str, Form(max_length=200)] = "",
    yolo: Annotated[bool, Form()] = False,
    start: Annotated[bool, Form()] = False,
    force: Annotated[bool, Form()] = False,
    menu_policy: Annotated[Literal["wait", "continue"], Form()] = "wait",
    defaults: Annotated[str, Form(max_length=20_000)] = "",
    submission: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    raw = await file.read(MAX_UPLOAD_BYTES + 1)
    filename = file.filename or "upload"
    try:
        title = name.strip() or filename.rsplit(".", 1)[0]
        # Off the event loop, as in the API: a big file must not stall every other page and request.
        batch = await asyncio.to_thread(parse_upload, raw, filename, title, ctx.sandbox_url)
        assigned, problems = parse_assignments(defaults.splitlines())
        if problems:
            raise BatchInputError(problems)
        options = with_defaults({"yolo": yolo, "auto_select": True, "menu_policy": menu_policy}, assigned)
    except BatchInputError as exc:
        return _new_batch_form(request, 422, problems=exc.problems, name=name)
    key = f"dashboard:{submission}" if submission else None
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
            idempotency_key=key,
            force=force,
        )
    except IdempotencyConflict:
        problem = "This form was already sent with another file; it is shown afresh, upload again."
        return _new_batch_form(request, 409, problems=[problem], name=name)
    except DuplicateRestaurants as exc:
        problems = [d.describe() for d in exc.duplicates]
        problems.append("Or tick 'Create it even if…' to register them anyway.")
        return _new_batch_form(request, 409, problems=problems, name=name)
    notice = f"Created with {created.restaurants} restaurants" + (" and started" if start else "")
    return _back(f"/batches/{created.batch_id}", notice=notice)


# The event feed names every message "progress" (its kind is in the data), so one trigger covers all.
SSE_EVENTS = "sse:progress delay:300ms"


GridState = Annotated[Literal["all", "failed", "waiting", "running", "done"], Query()]
GridPage = Annotated[int, Query(ge=1, le=1_000_000)]


async def _grid_values(ctx: AppContext, batch_id: str, org: str, state: str, page: int) -> dict[str, Any]:
    progress = await asyncio.to_thread(
        ctx.store.batch_progress,
        batch_id,
        org,
        state=None if state == "all" else state,
        offset=(page - 1) * views.GRID_PAGE_SIZE,
        limit=views.GRID_PAGE_SIZE,
    )
    return {
        **views.grid(progress),
        "state": state,
        "sub_steps": views.SUB_STEPS,
        "step_titles": views.STEP_TITLES,
        "sub_step_labels": views.SUB_STEP_LABELS,
    }


@router.get("/batches/{batch_id}", response_class=HTMLResponse)
async def batch_page(
    request: Request, batch_id: str, org: PageOrg, ctx: Ctx, state: GridState = "all", page: GridPage = 1
) -> Response:
    try:
        values = await _grid_values(ctx, batch_id, org, state, page)
    except NotFound:
        return _render(request, "not_found.html", 404, what="batch")
    pace = await asyncio.to_thread(views.pace_of, ctx.store, ctx.settings, batch_id)
    return _render(request, "batch.html", sse_events=SSE_EVENTS, pace=pace, **values)


@router.get("/batches/{batch_id}/grid", response_class=HTMLResponse)
async def batch_grid(
    request: Request, batch_id: str, org: PageOrg, ctx: Ctx, state: GridState = "all", page: GridPage = 1
) -> Response:
    return _render(request, "_grid.html", **await _grid_values(ctx, batch_id, org, state, page))


async def _batch_action(batch_id: str, org: str, actor: str, ctx: AppContext, action: str) -> str:
    await asyncio.to_thread(ctx.store.batch, batch_id, org)
    if action == "start":
        outcome = await batches.start(ctx.client, ctx.store, ctx.settings, batch_id, actor=actor)
        return "Batch started" if outcome == "started" else "Batch already started"
    if action == "cancel":
        count = await control.cancel_batch(ctx.client, ctx.store, batch_id, actor=actor)
        return f"Cancellation requested for {count} restaurants"
    outcomes = await control.bulk_approve(ctx.client, ctx.store, batch_id, actor=actor)
    approved = sum(1 for o in outcomes.values() if not o.startswith("not approved"))
    return f"Approved {approved} of {len(outcomes)} configs waiting for review"


@router.post("/batches/{batch_id}/{action}")
async def batch_action(
    batch_id: str, action: str, org: Org, actor: Actor, ctx: Ctx, back: Annotated[str, Form()] = "batch"
) -> Response:
    """Start, cancel or approve every config of a batch; goes back to the page the button was on."""
    if action not in ("start", "cancel", "approve-all"):
        raise HTTPException(404, detail="no such action")
    back = "/inbox" if back == "inbox" else f"/batches/{batch_id}"
    try:
        return _back(back, notice=await _batch_action(batch_id, org, actor, ctx, action))
    except (DecisionRejected, NotFound) as exc:
        return _back(back, problem=str(exc))


# -- one restaurant -----------------------------------------------------------------------------------------


async def _drawer(request: Request, ctx: AppContext, job_id: str, org: str, **extra: Any) -> Response:
    return _render(request, "_drawer.html", **await _job_values(ctx, job_id, org, org_zone(request)), **extra)


async def _job_values(ctx: AppContext, job_id: str, org: str, zone: str | None) -> dict[str, Any]:
    """A restaurant's detail, timeline and workflow link: the drawer, or its page (picture_routes.py)."""
    values = await asyncio.to_thread(views.drawer, ctx.store, job_id, org)
    drawn = await asyncio.to_thread(views.timeline, ctx.store, job_id, org, ctx.settings, zone)
    temporal_url = workflow_url(
        ctx.settings.temporal_ui_url, ctx.client.namespace, onboarding_workflow_id(job_id)
    )
    return {**values, **drawn, "temporal_url": temporal_url}


@router.get("/jobs/{job_id}/drawer", response_class=HTMLResponse)
async def job_drawer(request: Request, job_id: str, org: PageOrg, ctx: Ctx) -> Response:
    return await _drawer(request, ctx, job_id, org)


@router.post("/jobs/{job_id}/decide", response_class=HTMLResponse)
async def job_decide(
    request: Request,
    job_id: str,
    org: Org,
    actor: Actor,
    ctx: Ctx,
    action: Annotated[str, Form()],
    step: Annotated[str, Form(max_length=60)],
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Retry, skip or mark done a failed step or call; answers the drawer (HTMX) or goes back (form)."""
    await asyncio.to_thread(ctx.store.job, job_id, org)
    notice = problem = ""
    known = control.action_named(action)
    if known is None:
        problem = f"unknown action {action!r}"
    elif missing := control.missing_reason(action, reason):
        problem = missing.capitalize()
    else:
        try:
            outcome = await control.decide(
                ctx.client, ctx.store, job_id, known, step, reason=reason.strip(), actor=actor
            )
            notice = f"{step}: {action.replace('_', ' ')} — {outcome}"
        except (DecisionRejected, NotFound) as exc:
            problem = str(exc)
    if request.headers.get("HX-Request"):
        return await _drawer(request, ctx, job_id, org, notice=notice, problem=problem)
    return _back("/inbox", notice=notice, problem=problem)


@router.post("/jobs/{job_id}/cancel", response_class=HTMLResponse)
async def job_cancel(
    request: Request,
    job_id: str,
    org: Org,
    actor: Actor,
    ctx: Ctx,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    await asyncio.to_thread(ctx.store.job, job_id, org)
    notice = problem = ""
    try:
        await control.cancel_job(ctx.client, ctx.store, job_id, actor=actor, reason=reason.strip())
        notice = "Cancellation requested"
    except NotFound as exc:
        problem = str(exc)
    return await _drawer(request, ctx, job_id, org, notice=notice, problem=problem)


@router.post("/jobs/{job_id}/reveal-password", response_class=HTMLResponse)
async def job_reveal_password(
    request: Request,
    job_id: str,
    org: Org,
    actor: Actor,
    ctx: Ctx,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """The owner's password, shown once in the drawer this POST answers; audited with who and why."""
    try:
        login = await asyncio.to_thread(outputs.reveal_password, ctx.store, job_id, org, actor, reason)
    except OutputsNotFound:
        raise NotFound(f"job {job_id} not found") from None
    except ReasonRequired as exc:
        return await _drawer(request, ctx, job_id, org, problem=str(exc))
    page = await _drawer(request, ctx, job_id, org, revealed=login)
    page.headers["Cache-Control"] = "no-store"
    return page


# -- the inbox -------------------------------------------------------------------------------------------


KIND_TITLES = {
    "company": "Company choice",
    "config": "Config review",
    "failed_step": "Failed step",
    "failed_call": "Failed registration call",
    "outcome_unknown": "Outcome unknown: check the platform's portal",
    "menu": "No menu found",
}


@router.get("/inbox", response_class=HTMLResponse)
async def inbox_page(
    request: Request, org: PageOrg, ctx: Ctx, kind: str | None = None, batch: str | None = None
) -> Response:
    waiting = await asyncio.to_thread(inbox.inbox, ctx.store, org, kind or None, batch or None)
    previews = await asyncio.to_thread(views.config_previews, ctx.store, waiting.items)
    calls = [item.job_id for item in waiting.items if item.kind in ("failed_call", "outcome_unknown")]
    rerun_jobs = await asyncio.to_thread(ctx.store.jobs_with_reruns, calls)
    return _render(
        request,
        "inbox.html",
        items=waiting.items,
        rerun_jobs=rerun_jobs,
        batches=waiting.batches,
        kinds={k: waiting.kinds[k] for k in KIND_TITLES},
        kind_titles=KIND_TITLES,
        kind=kind or "",
        batch=batch or "",
        form_sections=config_form.form_sections,
        previews=previews,
    )


@router.post("/jobs/{job_id}/company")
async def answer_company(
    job_id: str,
    org: Org,
    actor: Actor,
    ctx: Ctx,
    action: Annotated[str, Form()],
    number: Annotated[str, Form(max_length=60)] = "",
    terms_name: Annotated[str, Form(max_length=200)] = "",
    terms_address: Annotated[str, Form(max_length=300)] = "",
    terms_city: Annotated[str, Form(max_length=100)] = "",
    legal_name: Annotated[str, Form(max_length=200)] = "",
    company_number: Annotated[str, Form(max_length=60)] = "",
    contact_person: Annotated[str, Form(max_length=200)] = "",
    email: Annotated[str, Form(max_length=200)] = "",
    phone: Annotated[str, Form(max_length=60)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Step 3: choose a candidate, search again with edited terms, enter the company by hand, or none."""
    await asyncio.to_thread(ctx.store.job, job_id, org)
    terms = {"name": terms_name, "address": terms_address, "city": terms_city}
    details = {
        "legal_name": legal_name,
        "company_number": company_number,
        "contact_person": contact_person,
        "email": email,
        "phone": phone,
    }
    choice = CompanyChoice(
        action=action,
        number=number or None,
        terms={k: v.strip() for k, v in terms.items() if v.strip()} if action == "retry_search" else None,
        details={k: v.strip() for k, v in details.items() if v.strip()} if action == "manual" else None,
        actor=actor,
        reason=reason.strip(),
    )
    try:
        outcome = await control.choose_company(ctx.client, ctx.store, job_id, choice)
    except (DecisionRejected, NotFound) as exc:
        return _back("/inbox", problem=str(exc))
    return _back("/inbox", notice=f"Company answer sent: {outcome}")


async def _form_lists(request: Request) -> dict[str, list[str]]:
    form = await request.form()
    return {key: [str(v) for v in form.getlist(key)] for key in form}


@router.post("/jobs/{job_id}/config")
async def review_config(request: Request, job_id: str, org: Org, actor: Actor, ctx: Ctx) -> Response:
    """Step 5: save the reviewer's edits, then approve (button `do=approve`) or copy to the batch."""
    await asyncio.to_thread(ctx.store.job, job_id, org)
    review = await asyncio.to_thread(ctx.store.config_review, job_id)
    if review is None:
        return _back("/inbox", problem="This restaurant has no config yet")
    form = await _form_lists(request)
    try:
        changes = config_form.changes_from_form(form, review["config"])
        if changes:
            await asyncio.to_thread(ctx.store.edit_config, job_id, changes, actor)
    except ValueError as exc:
        return _back("/inbox", problem=str(exc))
    errors = await asyncio.to_thread(configs.problems, ctx.store, job_id)
    do = (form.get("do") or ["save"])[-1]
    saved = f"Saved {len(changes)} change(s)" if changes else "No changes"
    if errors:
        return _back("/inbox", problem=f"{saved}; still invalid: " + "; ".join(errors))
    try:
        if do == "approve":
            outcome = await control.approve_config(ctx.client, ctx.store, job_id, Approval(actor=actor))
            return _back("/inbox", notice=f"{saved}. Approved: {outcome}")
        if do == "copy":
            updated = await asyncio.to_thread(ctx.store.copy_config_to_batch, job_id, actor)
            return _back("/inbox", notice=f"{saved}. Copied to {len(updated)} other restaurant(s)")
    except (DecisionRejected, NotFound) as exc:
        return _back("/inbox", problem=str(exc))
    return _back("/inbox", notice=saved)


# Issue 17's pictures and dashboard basics live beside this module, on the same router (imported last:
# it uses this module's helpers).
from yolobatch.web import picture_routes  # noqa: E402, F401
