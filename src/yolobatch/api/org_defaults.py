"""The caller's organisation's defaults over HTTP: country, currency, locale and time zone."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter

from yolobatch.api.routes import Actor, Ctx, Org
from yolobatch.domain.org_defaults import OrgDefaults

router = APIRouter(prefix="/api/org", tags=["organisation"])


@router.get("/defaults", response_model=OrgDefaults)
async def get_org_defaults(org: Org, ctx: Ctx) -> Any:
    """The organisation's defaults (null: the installation's settings apply, e.g. YOLOBATCH_DEFAULT_COUNTRY).
    A restaurant's own values win over its batch's defaults, which win over these."""
    return await asyncio.to_thread(ctx.store.org_defaults, org)


@router.put("/defaults", response_model=OrgDefaults, responses={422: {"description": "a value is not valid"}})
async def set_org_defaults(body: OrgDefaults, org: Org, actor: Actor, ctx: Ctx) -> Any:
    """Set the fields given (the others are kept): `country` reads phone numbers written without a
    country code; audited."""
    return await asyncio.to_thread(ctx.store.set_org_defaults, org, body, actor)
