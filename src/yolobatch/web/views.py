"""Shaping the store's read model for pages: grid rows, filters and timings.

Everything here is synchronous and reads the store; the routes call it through `asyncio.to_thread`.
"""

from __future__ import annotations

import time
from dataclasses import asdict, fields
from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from yolobatch.domain import pace
from yolobatch.domain.plan import PLAN
from yolobatch.domain.statuses import SETTLED_SUB_STEP_STATUSES, BatchStatus
from yolobatch.domain.steps import STEP_KEYS, STEP_TITLES
from yolobatch.settings import Settings
from yolobatch.store.read_models import BatchProgress, JobRow
from yolobatch.store.repository import Store
from yolobatch.web import pictures

SUB_STEPS = [spec.key.value for spec in PLAN]
BATCH_STATUSES = tuple(s.value for s in BatchStatus)
SUB_STEP_LABELS = {spec.key.value: spec.label for spec in PLAN}
GRID_PAGE_SIZE = 100  # rows per page of the batch grid: a 10 000-restaurant batch stays quick to render


def duration(started: str | None, finished: str | None) -> str:
    """A short human duration ("1.4 s", "2 min 5 s"); empty when the step has not both started and ended."""
    if not started or not finished:
        return ""
    seconds = (datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds()
    if seconds < 60:
        return f"{seconds:.1f} s"
    return f"{int(seconds // 60)} min {int(seconds % 60)} s"


def _fields(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in fields(obj)}


def step6_summary(job: JobRow) -> tuple[int, int, int]:
    """(settled registration calls, 12, calls answered `success: false` and kept as warnings)."""
    subs = job.sub_steps.values()
    settled = sum(1 for s in subs if s.status in SETTLED_SUB_STEP_STATUSES)
    return settled, len(SUB_STEPS), sum(1 for s in subs if s.warning)


def grid(progress: BatchProgress) -> dict[str, Any]:
    """One page of the batch grid, how many rows each filter shows, and where the page sits."""
    # Shallow: the template reads attributes, and a deep `asdict` of 100 restaurants' 1 800 step and call
    # states was a quarter of the page's time at 10 000 restaurants.
    rows = [{"calls": step6_summary(job), **_fields(job)} for job in progress.jobs]
    counts = {"all": progress.total, **progress.state_counts}
    page = progress.page
    size = page.limit or max(1, len(rows))
    pager = {
        "number": page.offset // size + 1,
        "pages": max(1, -(-page.matching // size)),
        "first": page.offset + 1 if rows else 0,
        "last": page.offset + len(rows),
        "matching": page.matching,
    }
    return {"progress": progress, "rows": rows, "filter_counts": counts, "pager": pager}


def drawer(store: Store, job_id: str, org: str) -> dict[str, Any]:
    """A restaurant's detail with per-step timings and its calls in plan order."""
    detail = store.job_detail(job_id, org)
    steps = [
        {
            "number": int(n),
            "title": STEP_TITLES[int(n)],
            **asdict(s),
            "took": duration(s.started_at, s.finished_at),
        }
        for n, s in sorted(detail.steps.items())
    ]
    calls = [
        {"key": key, **asdict(sub), "took": duration(sub.started_at, sub.finished_at)}
        if sub
        else {"key": key, "took": ""}  # not created yet (a pipeline restaurant before step 6)
        for key, sub in detail.sub_steps.items()
    ]
    failed_steps = [
        {"number": s["number"], "name": STEP_KEYS[s["number"]]}
        for s in steps
        if s["status"] == "failed" and s["number"] in STEP_KEYS
    ]
    return {"job": detail, "steps": steps, "calls": calls, "failed_steps": failed_steps}


def pace_of(store: Store, settings: Settings, batch_id: str) -> dict[str, str | None]:
    """What the batch page says up front: which limit sets the pace, and the least time the rest takes
    (the same bound `yolobatch run` says and the benchmark measures against)."""
    open_jobs, pending = store.open_calls(batch_id)
    cap, interval = settings.platform_concurrency, settings.account_interval
    bound, accounts = pace.remaining_from_counts(
        open_jobs, pending, cap=cap, account_interval=interval, time_scale=settings.time_scale
    )
    if bound.seconds <= 0:
        return {"headline": None, "at_least": None}
    return {
        "headline": pace.headline(bound, accounts, interval, cap),
        "at_least": pace.duration(bound.seconds),
    }


def display_zone(settings: Settings, org_zone: str | None = None) -> tuple[tzinfo, str]:
    """The time zone of every time a page shows, and its name to show beside them: the organisation's
    own (`yolobatch org defaults --time-zone`), else the installation's (YOLOBATCH_DISPLAY_TIMEZONE)."""
    name = org_zone or settings.display_timezone
    return ZoneInfo(name), name


def local_time(iso: str | None, zone: tzinfo, *, date: bool = False) -> str:
    """An ISO instant from the store as the person's clock reads it ("" when there is none)."""
    if not iso:
        return ""
    moment = datetime.fromisoformat(iso).astimezone(zone)
    return moment.strftime("%Y-%m-%d %H:%M" if date else "%H:%M:%S")


def timeline(
    store: Store, job_id: str, org: str, settings: Settings, org_zone: str | None = None
) -> dict[str, Any]:
    """The drawer's timeline picture, its legend and its table alternative."""
    zone, name = display_zone(settings, org_zone)
    drawn = store.job_timeline(job_id, org)
    return {
        "timeline_svg": pictures.timeline_svg(drawn, zone, name),
        "timeline_rows": pictures.timeline_rows(drawn, zone),
        "timeline_attempts": drawn.attempts,
        "legend": pictures.legend(),
    }


# The chart reads every call attempt of the batch (12+ per restaurant) and each open batch page asks again
# every few seconds while it runs: a large batch's chart is drawn at most once per PACE_MAX_AGE seconds per
# API process (10 000 restaurants took seconds to read), a small one's on every request.
PACE_CACHED_FROM = 1000
PACE_MAX_AGE = 15.0
_drawn_paces: dict[tuple[int, str, str, str], tuple[float, dict[str, Any]]] = {}


def pace_chart(
    store: Store, batch_id: str, org: str, settings: Settings, org_zone: str | None = None
) -> dict[str, Any]:
    """The batch page's chart: completions against the lower-bound pace, calls in flight against the cap."""
    zone, name = display_zone(settings, org_zone)
    key = (id(store), org, batch_id, name)
    drawn = _drawn_paces.get(key)
    if drawn is not None and time.monotonic() - drawn[0] < PACE_MAX_AGE:
        return drawn[1]
    chart = _pace_chart(store, batch_id, org, settings, zone, name)
    if chart["pace_total"] >= PACE_CACHED_FROM:
        if len(_drawn_paces) > 64:  # batches being watched at once; the oldest is dropped
            _drawn_paces.pop(next(iter(_drawn_paces)))
        _drawn_paces[key] = (time.monotonic(), chart)
    return chart


def _pace_chart(
    store: Store, batch_id: str, org: str, settings: Settings, zone: tzinfo, name: str
) -> dict[str, Any]:
    measured = store.batch_pace(batch_id, org)
    interval = settings.account_interval
    cap = settings.platform_concurrency
    bound = pictures.pace_bound(measured, cap=cap, account_interval=interval, time_scale=settings.time_scale)
    return {
        "pace_svg": pictures.pace_svg(measured, bound, cap=cap, zone=zone, zone_name=name),
        "pace_rows": pictures.pace_rows(measured, bound, zone),
        "pace_limits": {"interval": pictures.seconds_label(interval), "cap": cap},
        "pace_total": measured.total,
        "pace_legend": [
            ("completed", pictures.KINDS["attempt_ok"][0], "restaurants completed"),
            ("bound", pictures.KINDS["gate"][0], "lower-bound pace (dashed)"),
            ("flight", pictures.KINDS["step"][0], "calls in flight"),
            ("cap", pictures.KINDS["attempt_failed"][0], "the global cap (dashed)"),
        ],
    }


IMAGES = {
    "logo": ("Logo", "logoUrl", "logo_url"),
    "cover": ("Cover", "headerImageUrl", "cover_image_url"),
    "favicon": ("Favicon", "faviconUrl", "favicon_url"),
}


def _images(store: Store, job_id: str, public: dict[str, Any]) -> dict[str, tuple[str, bool]]:
    """which -> (URL, whether the config sends it). An image step 1 found but the config does not send
    (a private address, say) is still shown, marked so: the reviewer sees why it is missing."""
    website = public.get("website") or {}
    branding = (store.extraction(job_id) or {}).get("branding") or {}
    found = {}
    for which, (_, key, found_key) in IMAGES.items():
        if website.get(key):
            found[which] = (website[key], True)
        elif branding.get(found_key):
            found[which] = (branding[found_key], False)
    return found


def config_preview(store: Store, job_id: str, public: dict[str, Any]) -> dict[str, Any]:
    """What the reviewer sees before the form: the images, the colours and the menu, not their ids."""
    website = public.get("website") or {}
    menu_id = (public.get("menu") or {}).get("selectedMenuId")
    menu = store.job_menu(job_id, menu_id)
    return {
        "images": [
            (which, IMAGES[which][0], f"/jobs/{job_id}/image/{which}", sent)
            for which, (_, sent) in _images(store, job_id, public).items()
        ],
        "colours": [
            (label, website[key])
            for label, key in (("Primary", "primaryColor"), ("Secondary", "secondaryColor"))
            if website.get(key)
        ],
        "menu": menu,
        "menu_items": _item_count(menu),
        "menu_choices": [
            (other, _menu_label(store.job_menu(job_id, other))) for other in store.menu_ids(job_id)
        ],
    }


def _item_count(menu: dict[str, Any] | None) -> int:
    return sum(len(c.get("items", [])) for c in (menu or {}).get("categories", []))


def _menu_label(menu: dict[str, Any] | None) -> str:
    """A menu as a reviewer tells menus apart: by what is in it, not by its id."""
    if not menu:
        return "menu"
    names = ", ".join(c.get("name", "") for c in menu.get("categories", [])[:3])
    return f"{len(menu.get('categories', []))} categories, {_item_count(menu)} items ({names})"


def image_url(store: Store, job_id: str, public: dict[str, Any], which: str) -> str | None:
    """The URL of a config's logo / cover / favicon (or the one step 1 found), fetched for the browser."""
    found = _images(store, job_id, public).get(which)
    return found[0] if found else None


def batch_list(store: Store, org: str, q: str, status: str) -> dict[str, Any]:
    """The batch list's rows: names containing `q` (any case), of `status` if it is one (else any)."""
    chosen = status if status in BATCH_STATUSES else None
    items, _ = store.list_batches(org, status=chosen, limit=100_000)
    needle = q.strip().casefold()
    found = [b for b in items if needle in b.name.casefold()] if needle else items
    return {
        "batches": found[:200],
        "total": len(found),
        "q": q,
        "status": chosen or "",
        "statuses": BATCH_STATUSES,
    }


def config_previews(store: Store, items: list[Any]) -> dict[str, dict[str, Any]]:
    """The config review's previews of every config item of the inbox, by job id."""
    return {
        item.job_id: config_preview(store, item.job_id, item.config.config)
        for item in items
        if item.kind == "config" and item.config
    }
