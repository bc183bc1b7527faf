"""Step 5, the config review: is it valid, approve it, copy its settings to the batch."""

from __future__ import annotations

import asyncio

from temporalio.client import Client

from yolobatch.domain.derive import validate_config
from yolobatch.engine.contracts import Approval
from yolobatch.service.control import approve_config
from yolobatch.store.repository import Store


class NoConfigYet(LookupError):
    """Step 5 has not run for this restaurant: there is nothing to review."""

    def __init__(self) -> None:
        super().__init__("this restaurant has no config yet (step 5 has not run)")


class ConfigInvalid(ValueError):
    """Approving would be accepted and then refused by the engine's own check, silently: say why now."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("the config is not valid, fix it first: " + "; ".join(errors))


def problems(store: Store, job_id: str) -> list[str]:
    """Why the stored config would be refused at registration; empty when it is valid."""
    _, errors = validate_config(store.config_wire(job_id))
    return errors


async def approve(client: Client, store: Store, job_id: str, approval: Approval) -> str:
    """Approve the stored config after checking it here as the engine will."""
    if await asyncio.to_thread(store.config_review, job_id) is None:
        raise NoConfigYet()
    errors = await asyncio.to_thread(problems, store, job_id)
    if errors:
        raise ConfigInvalid(errors)
    return await approve_config(client, store, job_id, approval)
