"""The organisation's registration platform: which URL, key and contract its restaurants are registered
with. Any token of the organisation administers it (tokens carry no finer role); the key is write-only."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from yolobatch.domain.org_platform import BadPlatform
from yolobatch.http.context import AppContext, context
from yolobatch.http.security import current_actor, current_org

org_platform = APIRouter(prefix="/api/org", tags=["organisation"])
Org = Annotated[str, Depends(current_org)]
Actor = Annotated[str, Depends(current_actor)]
Ctx = Annotated[AppContext, Depends(context)]


class PlatformSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=500, description="base URL of the platform's registration API")
    key: SecretStr = Field(max_length=1000, description="its service key (stored encrypted, never returned)")
    contract: Literal["contract", "original"] = Field(
        description="contract: yolobatch's own (docs/platform-contract.yaml); original: the original service"
    )


class PlatformView(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "url": "https://platform.example/api",
                "contract": "contract",
                "service_key_set": True,
                "own": True,
            }
        }
    )

    url: str | None
    contract: str
    service_key_set: bool
    own: bool  # false: the organisation uses the installation's default platform


@org_platform.get("/platform", response_model=PlatformView)
async def get_platform(org: Org, ctx: Ctx) -> PlatformView:
    """The organisation's platform, without its key."""
    own = await asyncio.to_thread(ctx.store.org_platform, org)
    if own is None:
        return PlatformView(
            url=ctx.settings.registration_api_url,
            contract=ctx.settings.registration_contract,
            service_key_set=True,
            own=False,
        )
    return PlatformView(url=own.url, contract=own.contract, service_key_set=True, own=True)


@org_platform.put(
    "/platform", response_model=PlatformView, responses={422: {"description": "a field is not usable"}}
)
async def set_platform(body: PlatformSettings, org: Org, actor: Actor, ctx: Ctx) -> PlatformView:
    """Set the platform the organisation's restaurants are registered with from now on (calls already
    running finish where they started). Audited as `org_platform_set`, without the key."""
    try:
        saved = await asyncio.to_thread(
            ctx.store.set_org_platform,
            org,
            body.url,
            body.key.get_secret_value(),
            body.contract,
            actor=actor,
        )
    except BadPlatform as exc:
        raise HTTPException(422, str(exc)) from None
    return PlatformView(url=saved.url, contract=saved.contract, service_key_set=True, own=True)
