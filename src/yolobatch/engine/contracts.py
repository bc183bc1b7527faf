"""Data classes passed between workflows and activities. They never carry secrets: activities load them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The queue names of an installation created before installations had their own (and of recorded histories).
WORKFLOW_QUEUE = "yolobatch-workflows"
PLATFORM_QUEUE = "yolobatch-platform"
ACCOUNTS_QUEUE = "yolobatch-accounts"
LOOKUP_QUEUE = "yolobatch-lookup"  # extraction and registry calls


@dataclass(frozen=True)
class Queues:
    """An installation's task queues, all named `<prefix>-<role>`. The prefix comes from the installation's
    database, so work never reaches a worker of another installation on the same Temporal server."""

    prefix: str = "yolobatch"

    @property
    def workflows(self) -> str:
        return f"{self.prefix}-workflows"

    @property
    def platform(self) -> str:
        return f"{self.prefix}-platform"

    @property
    def accounts(self) -> str:
        return f"{self.prefix}-accounts"

    @property
    def lookup(self) -> str:
        return f"{self.prefix}-lookup"


def onboarding_workflow_id(job_id: str) -> str:
    return f"onboard-{job_id}"


def workflow_summary(restaurant_name: str, batch_name: str) -> str:
    """The static summary a restaurant's workflow carries (names only: never a secret)."""
    return f"{restaurant_name} · batch {batch_name}"[:400]


def starter_workflow_id(batch_id: str) -> str:
    return f"batch-{batch_id}"


@dataclass
class Tuning:
    """Per-batch engine knobs, fixed when the batch starts (so they are part of workflow history)."""

    time_scale: float = 1.0  # multiplies call timeouts and backoff (demo / test speed-ups)
    retry_attempts: int = 4


@dataclass
class OnboardingInput:
    job_id: str
    org_id: str
    batch_id: str
    config: dict[str, Any]  # the registration config with secrets masked (skip rules need no secrets)
    tuning: Tuning = field(default_factory=Tuning)
    # Full pipeline (steps 1-5 first): the config is derived, so `config` above starts empty.
    pipeline: bool = False
    yolo: bool = False  # auto-approve valid configs; never wait for a company choice
    auto_select: bool = True  # take an unambiguous registry match without asking
    company_number: str | None = None  # given in the input: chosen when the search finds it
    # When extraction finds no menu: "wait" for a person (upload one, retry with a render, or go on
    # without), or "continue" without one (the batch's `menu_policy`).
    menu_policy: str = "wait"
    # The installation's task queues (`Queues`); histories from before it was passed use the old names.
    queue_prefix: str = "yolobatch"


@dataclass
class CallInput:
    job_id: str
    sub_step: str
    generation: int
    context: dict[str, Any]  # non-secret results of dependencies (e.g. codeInjectionId)
    timeout_seconds: float
    backoff_seconds: float
    # A completed call sent again (run again): the platform's state shows the earlier send's effect, so a
    # read cannot tell whether this one took effect.
    rerun: bool = False


@dataclass
class CallOutput:
    context: dict[str, Any]
    warning: str | None = None
    replayed: bool = False


@dataclass
class SubStepRecord:
    """A transition of the read model, written by the `record` local activity."""

    job_id: str
    org_id: str
    batch_id: str
    sub_step: str | None = None  # None: only the job status changes
    status: str | None = None
    generation: int = 0
    reason: str | None = None
    error: str | None = None
    warning: str | None = None
    job_status: str | None = None
    job_error: str | None = None
    event_kind: str | None = None
    event_message: str = ""
    actor: str = "system"
    dedupe_key: str | None = None
    step: int | None = None  # a pipeline step (1-6) whose status changes with this record
    step_status: str | None = None
    step_reason: str | None = None
    step_result: dict[str, Any] | None = None


@dataclass
class Decision:
    """A person's answer to a failed sub-step (update argument)."""

    sub_step: str
    reason: str = ""
    actor: str = "unknown"


@dataclass
class StarterInput:
    batch_id: str
    tuning: Tuning = field(default_factory=Tuning)
    after_position: int = -1
    page_size: int = 200


@dataclass
class StartPage:
    batch_id: str
    after_position: int
    limit: int
    tuning: Tuning


@dataclass
class StartedPage:
    last_position: int
    started: int
    # True when the batch has no job after `last_position`. None in histories written before the
    # active-restaurant window, where a short page meant the end.
    exhausted: bool | None = None


@dataclass
class LookupInput:
    """Argument of the pipeline activities (steps 1-5); only ids and what people typed, never secrets."""

    job_id: str
    terms: dict[str, Any] | None = None  # edited search terms {name, address, city}
    number: str | None = None  # chosen company number
    details: dict[str, Any] | None = None  # manually entered company details
    actor: str = "system"
    render: bool = False  # step 1: render the page in Chromium even if the deployment does not by default
    upload_id: str | None = None  # step 1: a person's staged menu file to adopt


@dataclass
class StepOutput:
    summary: dict[str, Any]
    ok: bool = True


@dataclass
class CompanyChoice:
    """A person's step-3 answer: `choose` a candidate, `retry_search` with terms, `manual` details, or
    `no_company`."""

    action: str
    number: str | None = None
    terms: dict[str, Any] | None = None
    details: dict[str, Any] | None = None
    actor: str = "unknown"
    reason: str = ""


MENU_ACTIONS = ("uploaded", "retry_render", "continue")


@dataclass
class MenuAnswer:
    """A person's answer when extraction found no menu: a menu file was `uploaded` (staged as
    `upload_id` before this is sent; the workflow adopts it once it accepts the answer), `retry_render`
    extraction in a browser, or `continue` without a menu."""

    action: str
    actor: str = "unknown"
    reason: str = ""
    upload_id: str | None = None


@dataclass
class Approval:
    actor: str = "unknown"
    reason: str = ""


@dataclass
class RerunInput:
    """A person's re-run of completed (or skipped) registration calls of a finished restaurant: each runs
    again as a new generation, so with a new idempotency key (the platform does it again)."""

    job_id: str
    org_id: str
    batch_id: str
    rerun_id: str  # the audit row (who, why, when) in `sub_step_reruns`
    sub_steps: list[str]  # in plan order: the one asked for, then its dependents if asked
    generations: dict[str, int]  # sub-step -> its new generation
    context: dict[str, Any]  # non-secret results of the calls not re-run (ids the re-run calls need)
    actor: str
    reason: str
    tuning: Tuning = field(default_factory=Tuning)
    queue_prefix: str = "yolobatch"


def rerun_workflow_id(rerun_id: str) -> str:
    return f"rerun-{rerun_id}"
