"""Run again over HTTP: re-run a finished restaurant's registration call (with or without its dependents),
and the audit of the re-runs asked for."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from yolobatch.api.routes import Actor, Ctx, Org
from yolobatch.api.schemas import Body
from yolobatch.domain.plan import SubStep
from yolobatch.service import rerun
from yolobatch.store.read_models import RerunView

router = APIRouter(prefix="/api/jobs", tags=["restaurants"])


class RerunRequest(Body):
    sub_step: SubStep = Field(description="the registration call to run again, e.g. websiteConfig")
    with_dependents: bool = Field(
        default=False, description="also run again the completed calls that depend on it (e.g. menuImport's)"
    )
    reason: str = Field(min_length=1, max_length=1000, description="why it runs again (audited)")


class RerunAccepted(BaseModel):
    rerun_id: str
    sub_steps: list[str] = Field(description="what runs again, in order")
    generations: dict[str, int] = Field(description="the generation each runs as (a new idempotency key)")


RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such restaurant in the caller's organisation"},
    409: {
        "description": "it cannot run again now (the restaurant is not finished, or the call not completed)"
    },
    422: {"description": "unknown call, or no reason"},
}


@router.post("/{job_id}/rerun", status_code=202, response_model=RerunAccepted, responses=RESPONSES)
async def rerun_call(job_id: str, body: RerunRequest, org: Org, actor: Actor, ctx: Ctx) -> Any:
    """Run a completed or skipped registration call of a finished restaurant again (after fixing its
    colours, its menu...), as a new generation with a new idempotency key: the platform does it once
    more. `with_dependents` re-runs the completed calls that depend on it too. Who, why and when are
    audited (`GET .../reruns`, the restaurant's audit log); progress shows as the calls run."""
    started = await rerun.rerun(
        ctx.client,
        ctx.store,
        ctx.settings,
        job_id,
        body.sub_step.value,
        with_dependents=body.with_dependents,
        reason=body.reason,
        actor=actor,
        org=org,
    )
    return RerunAccepted(**asdict(started))


EXAMPLE_RERUNS = [
    {
        "rerun_id": "3f1c…",
        "sub_step": "websiteConfig",
        "with_dependents": False,
        "sub_steps": ["websiteConfig"],
        "actor": "token:ops",
        "reason": "brand colours fixed",
        "requested_at": "2026-11-30T09:12:00+00:00",
    }
]


@router.get(
    "/{job_id}/reruns",
    response_model=list[RerunView],
    responses={200: {"content": {"application/json": {"example": EXAMPLE_RERUNS}}}, 404: RESPONSES[404]},
)
async def list_reruns(job_id: str, org: Org, ctx: Ctx) -> Any:
    """The re-runs asked for this restaurant, oldest first: what ran again, who asked, why and when."""
    await asyncio.to_thread(ctx.store.job, job_id, org)
    return await asyncio.to_thread(ctx.store.reruns, job_id)
