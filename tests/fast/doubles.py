"""Doubles of the engine's activities, registered under the real names, so the real workflow runs unchanged
on the real dev server while each test decides what every call answers. Nothing touches a database, the
sandbox platform or a registry: the read-model `record` only collects its transitions."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio import activity
from temporalio.client import Client, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from yolobatch.engine.contracts import (
    CallInput,
    CallOutput,
    LookupInput,
    OnboardingInput,
    Queues,
    StepOutput,
    SubStepRecord,
    Tuning,
    onboarding_workflow_id,
)
from yolobatch.engine.worker import WORKFLOW_RUNNER
from yolobatch.engine.workflows.onboarding import RestaurantOnboarding

# Every sub-step enabled, so the whole graph runs unless a test says otherwise.
FULL_CONFIG: dict[str, Any] = {
    "account": {"registerNewUser": True},
    "menu": {"selectedMenuId": "menu-1", "uploadImages": True, "addOptionSets": True, "addItemTags": True},
    "onboarding": {"createOnboardingUser": True, "syncOnboardingRecord": True},
}
FAST = Tuning(time_scale=0.01, retry_attempts=1)  # a failure is final at once: a person must decide


@dataclass
class Doubles:
    failing: set[str] = field(default_factory=set)  # sub-steps whose first attempt (generation 0) fails
    blocking: set[str] = field(default_factory=set)  # sub-steps that run until cancelled
    events: list[tuple[str, str, int]] = field(default_factory=list)  # (start|end, sub_step, generation)
    records: list[SubStepRecord] = field(default_factory=list)
    lookups: list[tuple[str, LookupInput]] = field(default_factory=list)
    answers: dict[str, StepOutput] = field(default_factory=dict)  # pipeline activity name -> its answer
    cancelled: list[str] = field(default_factory=list)

    def started(self, sub_step: str) -> list[int]:
        return [g for kind, key, g in self.events if kind == "start" and key == sub_step]

    def index(self, kind: str, sub_step: str) -> int:
        return next(i for i, (k, key, _) in enumerate(self.events) if k == kind and key == sub_step)

    def activities(self) -> dict[str, list[Any]]:
        @activity.defn(name="platform_call")
        async def platform_call(inp: CallInput) -> CallOutput:
            self.events.append(("start", inp.sub_step, inp.generation))
            if inp.sub_step in self.blocking:
                try:
                    while True:  # heartbeats carry the cancellation to us
                        activity.heartbeat()
                        await asyncio.sleep(0.05)
                except asyncio.CancelledError:
                    self.cancelled.append(inp.sub_step)
                    raise
            if inp.sub_step in self.failing and inp.generation == 0:
                raise ApplicationError(f"{inp.sub_step} refused by the double", non_retryable=True)
            self.events.append(("end", inp.sub_step, inp.generation))
            return CallOutput(context={})

        @activity.defn(name="record")
        async def record(rec: SubStepRecord) -> None:
            self.records.append(rec)

        def lookup(name: str):
            @activity.defn(name=name)
            async def answer(arg: LookupInput) -> StepOutput:
                self.lookups.append((name, arg))
                return self.answers[name]

            return answer

        names = ("extract_store", "search_companies", "company_details", "save_manual_details")
        return {
            "platform": [platform_call],
            "workflows": [record],
            "lookup": [lookup(n) for n in (*names, "prepare_config", "approve_config")],
        }


@asynccontextmanager
async def workers(client: Client, doubles: Doubles) -> AsyncIterator[Queues]:
    """One worker per task queue of a fresh installation prefix, so tests never share work."""
    queues = Queues(f"fast-{uuid.uuid4().hex[:8]}")
    acts = doubles.activities()
    throttle = {"max_heartbeat_throttle_interval": timedelta(milliseconds=50)}
    async with AsyncExitStack() as stack:
        for queue, kwargs in (
            (queues.workflows, {"workflows": [RestaurantOnboarding], "activities": acts["workflows"]}),
            (queues.platform, {"activities": acts["platform"]}),
            (queues.accounts, {"activities": acts["platform"]}),
            (queues.lookup, {"activities": acts["lookup"]}),
        ):
            worker = Worker(client, task_queue=queue, workflow_runner=WORKFLOW_RUNNER, **throttle, **kwargs)
            await stack.enter_async_context(worker)
        yield queues


async def start(client: Client, queues: Queues, **fields: Any) -> WorkflowHandle:
    job_id = uuid.uuid4().hex
    inp = OnboardingInput(
        job_id=job_id,
        org_id="org",
        batch_id="batch",
        config=fields.pop("config", FULL_CONFIG),
        tuning=FAST,
        queue_prefix=queues.prefix,
        **fields,
    )
    return await client.start_workflow(
        RestaurantOnboarding.run,
        inp,
        id=onboarding_workflow_id(job_id),
        task_queue=queues.workflows,
        execution_timeout=timedelta(seconds=60),
    )


async def until(handle: WorkflowHandle, predicate, timeout: float = 15.0):
    """Polls the workflow's own `progress` query until `predicate(progress)` holds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        progress = await handle.query(RestaurantOnboarding.progress)
        if predicate(progress):
            return progress
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not reached in {timeout}s: {progress}")
        await asyncio.sleep(0.05)
