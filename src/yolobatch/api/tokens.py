"""The organisation's API tokens: list them and revoke one (which also ends its dashboard sessions).

Tokens are created with `yolobatch token create` (shown once, stored as a hash); the API never returns a
token's value, only its id, name and dates.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict

from yolobatch.http.context import AppContext, context
from yolobatch.http.security import current_org
from yolobatch.store.access import Access

tokens = APIRouter(prefix="/api/tokens", tags=["tokens"])
Org = Annotated[str, Depends(current_org)]
Ctx = Annotated[AppContext, Depends(context)]


class TokenView(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": "7c1d…",
                "name": "ops laptop",
                "created_at": "2026-11-30T09:00:00+00:00",
                "last_used_at": "2026-11-30T10:12:31+00:00",
                "revoked_at": None,
            }
        }
    )

    id: str
    name: str
    created_at: str | None
    last_used_at: str | None
    revoked_at: str | None


class Revoked(BaseModel):
    id: str
    revoked: bool  # false when the token had already been revoked


@tokens.get("", response_model=list[TokenView])
async def list_tokens(org: Org, ctx: Ctx) -> list[dict]:
    """The organisation's tokens, newest first, revoked ones included (with `revoked_at`)."""
    return await asyncio.to_thread(Access(ctx.store).list_tokens, org)


@tokens.delete("/{token_id}", response_model=Revoked, responses={404: {"description": "no such token"}})
async def revoke_token(org: Org, ctx: Ctx, token_id: Annotated[str, Path(max_length=36)]) -> Revoked:
    """Revoke a token at once: API calls with it get 401 and the dashboard sessions opened with it end."""
    revoked = await asyncio.to_thread(Access(ctx.store).revoke_token, org, token_id)
    return Revoked(id=token_id, revoked=revoked)
