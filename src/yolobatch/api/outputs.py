"""The operator's outputs over HTTP: a batch's export and the audited reveal of an owner's password."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response

from yolobatch.api.routes import Actor, Ctx, Org
from yolobatch.api.schemas import BatchExport, RevealedPassword, RevealRequest
from yolobatch.service import outputs
from yolobatch.service.outputs import ExportFormat, OutputsNotFound, ReasonRequired

router = APIRouter(prefix="/api", tags=["outputs"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such id in the caller's organisation"}}
EXPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND,
    200: {
        "description": "one row per restaurant: name, status, every output, errors and warnings",
        "model": BatchExport,
        "content": {
            "text/csv": {
                "schema": {"type": "string"},
                "example": "job_id,restaurant,status,platform_restaurant_id\n5b0c…,Jax,completed,RES4F2A9C",
            },
        },
    },
    422: {"description": "unknown format, or include_passwords without a reason"},
}


@router.get("/batches/{batch_id}/export", responses=EXPORT_RESPONSES)
async def export_batch(
    batch_id: str,
    org: Org,
    actor: Actor,
    ctx: Ctx,
    format: ExportFormat = "csv",  # noqa: A002 - the query parameter's public name
    include_passwords: bool = False,
    reason: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    """The batch's outputs as CSV (cells that a spreadsheet would run as formulas are quoted) or JSON.
    Owners' passwords only with `include_passwords=true` and a `reason`; that export is audited."""
    try:
        export = await asyncio.to_thread(
            outputs.export_batch,
            ctx.store,
            batch_id,
            org,
            format,
            include_passwords=include_passwords,
            actor=actor,
            reason=reason,
        )
    except OutputsNotFound:
        raise HTTPException(404, detail="batch not found") from None
    except ValueError as exc:
        raise HTTPException(422, detail=str(exc)) from None
    headers = {
        "Content-Disposition": f'attachment; filename="{export.filename}"',
        # A file with passwords in it must not linger in a shared cache.
        "Cache-Control": "no-store",
    }
    return Response(export.text, media_type=export.media_type, headers=headers)


@router.post(
    "/jobs/{job_id}/reveal-password",
    response_model=RevealedPassword,
    responses={**NOT_FOUND, 422: {"description": "no reason given"}},
    tags=["restaurants"],
)
async def reveal_password(job_id: str, body: RevealRequest, org: Org, actor: Actor, ctx: Ctx) -> Any:
    """The owner's generated platform password, for this one restaurant. Audited with who and why before
    it is answered; never shown in lists, job details, exports without the flag, or logs."""
    try:
        login = await asyncio.to_thread(outputs.reveal_password, ctx.store, job_id, org, actor, body.reason)
    except OutputsNotFound:
        raise HTTPException(404, detail="restaurant not found") from None
    except ReasonRequired as exc:
        raise HTTPException(422, detail=str(exc)) from None
    response = RevealedPassword(job_id=job_id, email=login.email, password=login.password)
    return Response(
        response.model_dump_json(), media_type="application/json", headers={"Cache-Control": "no-store"}
    )
