"""Creating and starting a batch: the one path the API, the dashboard and the CLI all take."""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from typing import Any

from temporalio.client import Client

from yolobatch.domain.batch_input import BatchInput
from yolobatch.service.control import start_batch, tuning_for
from yolobatch.settings import Settings
from yolobatch.store.repository import Store


@dataclass(frozen=True)
class Created:
    batch_id: str
    restaurants: int
    started: bool


async def start(
    client: Client, store: Store, settings: Settings, batch_id: str, *, actor: str = "system"
) -> str:
    """Start a batch with this process's engine knobs; "started" or "already started"."""
    return await start_batch(client, store, batch_id, tuning_for(settings), actor=actor)


async def create(
    client: Client,
    store: Store,
    settings: Settings,
    *,
    org: str,
    actor: str,
    batch: BatchInput,
    options: dict[str, Any],
    start_now: bool,
    idempotency_key: str | None = None,
    force: bool = False,
) -> Created:
    """Store a parsed batch and, when asked, start it. Raises `IdempotencyConflict` when the key
    already named a different batch; a resend with the same key answers the batch it created.

    Raises `DuplicateRestaurants` (nothing created) when a restaurant is already registered or in flight
    in another batch of the organisation, unless `force`: registering it twice makes two accounts."""
    batch_id = await asyncio.to_thread(
        functools.partial(
            store.create_batch,
            org,
            batch.name,
            batch.restaurants,
            actor,
            options,
            idempotency_key,
            refuse_duplicates=not force,
        )
    )
    if start_now:  # again on a resend: starting is idempotent, and the first attempt may have failed
        await start(client, store, settings, batch_id, actor=actor)
    return Created(batch_id=batch_id, restaurants=len(batch.restaurants), started=start_now)
