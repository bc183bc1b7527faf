"""Request and response bodies of the HTTP API (with the examples shown in the OpenAPI schema)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.json_schema import JsonDict

from yolobatch.domain.batch_input import unstorable_path
from yolobatch.domain.company import RegistrySource
from yolobatch.http.problems import Problem

EXAMPLE_RESTAURANT: JsonDict = {
    "name": "Jax Burger Shack",
    "storeUrl": "https://jaxburgers.co.nz",
    "city": "Auckland",
    "email": "owner@jaxburgers.co.nz",
}


class Body(BaseModel):
    """A request body. JSON can spell text no database or page can hold (`"\\ud800"`, `"\\u0000"`): it is
    refused here with its path, before anything is stored or sent to the engine."""

    @model_validator(mode="before")
    @classmethod
    def _storable_text(cls, data: Any) -> Any:
        bad = unstorable_path(data)
        if bad is not None:
            raise ValueError(f"{bad[0] or 'body'}: {bad[1]}")
        return data


class BatchOptions(BaseModel):
    yolo: bool = Field(
        default=False, description="auto-select clear companies (else none), auto-approve configs"
    )
    auto_select: bool = Field(default=True, description="take a clear registry match without asking")
    registry: RegistrySource = "nzbn"
    menu_policy: Literal["wait", "continue"] = Field(
        default="wait",
        description="when extraction finds no menu: wait for a person (upload one, retry with a render, "
        "or continue without), or continue without a menu",
    )


class CreateBatch(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"example": {"name": "Week 48", "restaurants": [EXAMPLE_RESTAURANT]}}
    )

    name: str = Field(default="Untitled batch", min_length=1, max_length=200)
    restaurants: list[dict[str, Any]] = Field(
        min_length=1, description="plain restaurants (storeUrl, ...) or ready ones (config, menu)"
    )
    options: BatchOptions = Field(default_factory=BatchOptions)
    start: bool = Field(default=False, description="start right away")
    defaults: dict[str, Any] = Field(
        default_factory=dict,
        description="settings for every plain row, `section.field` -> value: services (stepsEnabled.*), "
        "payment, onboarding flags, theme overrides (website.*); they win over what step 5 derives",
        examples=[{"payment.includeStripeLink": True, "website.theme": "light"}],
    )
    force: bool = Field(
        default=False,
        description="create it even when restaurants are already registered or in flight in another batch",
    )


class BatchCreated(BaseModel):
    batch_id: str
    restaurants: int
    started: bool


class DuplicateRow(BaseModel):
    row: int = Field(description="1-based row of the upload")
    name: str
    kind: Literal["store_url", "company_number", "account_email"]
    value: str = Field(description="the normalised key both rows share")
    batch_id: str
    batch_name: str
    job_id: str
    restaurant_name: str
    status: str = Field(description="the other restaurant's status (completed: registered)")


class DuplicatesProblem(Problem):
    """A 409 problem: restaurants already in another batch (each named), or, with no `duplicates`, an
    Idempotency-Key already used for a different batch."""

    duplicates: list[DuplicateRow] | None = Field(default=None, description="every duplicate named")


INPUT_PROBLEMS = "the batch has problems; nothing was created"  # the problem's detail; `errors` lists them


class BatchList(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "items": [
                    {
                        "batch_id": "0b8a3c1e-…",
                        "name": "Week 48",
                        "status": "running",
                        "total": 2,
                        "counts": {"running": 1, "completed": 1},
                        "options": {"yolo": False},
                        "created_at": "2026-11-30T09:00:00+00:00",
                        "started_at": "2026-11-30T09:00:02+00:00",
                    }
                ],
                "total": 1,
                "limit": 50,
                "offset": 0,
            }
        }
    )

    items: list[BatchSummaryView]
    total: int
    limit: int
    offset: int


class CompanyAnswer(Body):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {"action": "choose", "number": "9429041000038", "reason": "trades as Pizza Palace"}
        }
    )

    action: Literal["choose", "retry_search", "manual", "no_company"]
    number: str | None = None
    terms: dict[str, str | None] | None = Field(
        default=None, description="for retry_search: name, address, city"
    )
    details: dict[str, str | None] | None = Field(
        default=None, description="for manual: contact_person (required), legal_name, email, phone, ..."
    )
    reason: str = ""


class ConfigEdits(Body):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {"changes": {"account.email": "owner@jax.co.nz", "website.itemLayout": "list"}}
        }
    )

    changes: dict[str, Any] = Field(min_length=1, description="section.field -> new value")


class ConfigRevision(Body):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {"changes": {"payment.includeStripeLink": True}, "reason": "owner asked for Stripe"}
        }
    )

    changes: dict[str, Any] = Field(min_length=1, description="section.field -> new value")
    reason: str = Field(min_length=1, max_length=1000, description="why an approved config changes")


class Reason(Body):
    reason: str = Field(default="", max_length=1000)


class ActionResult(BaseModel):
    result: str


EXAMPLE_OUTPUTS: JsonDict = {
    "platform_restaurant_id": "RES4F2A9C",
    "subdomain": "jaxburgershack",
    "demo_store_url": "https://jaxburgershack.pumpd.co.nz",
    "dashboard_url": "https://admin.pumpd.co.nz/restaurants/RES4F2A9C",
    "stripe_connect_url": "https://connect.stripe.com/setup/s/acct_1Q2w3E4r",
    "account_email": "owner@jaxburgers.co.nz",
    "account_id": "ACC81D3",
    "onboarding_user_id": "ONB1207",
    "onboarding_user_email": "owner@jaxburgers.co.nz",
    "logo_url": "https://ucarecdn.com/5e1c0d2a/logo.png",
}


class JobOutputs(BaseModel):
    """What step 6 produced, taken from the platform's answers as each call completed; null until the call
    that produces it has completed. The owner's password is never here: see `reveal-password`."""

    model_config = ConfigDict(json_schema_extra={"example": EXAMPLE_OUTPUTS})

    platform_restaurant_id: str | None = Field(default=None, description="the platform's id (RES…)")
    subdomain: str | None = None
    demo_store_url: str | None = Field(default=None, description="the demo store (website config)")
    dashboard_url: str | None = Field(default=None, description="the restaurant in the admin portal")
    stripe_connect_url: str | None = Field(default=None, description="only when a connect link was asked for")
    account_email: str | None = Field(default=None, description="the owner's platform login")
    account_id: str | None = None
    onboarding_user_id: str | None = Field(default=None, description="the onboarding record (sync)")
    onboarding_user_email: str | None = None
    logo_url: str | None = Field(default=None, description="the logo as hosted by the platform")


class JobDetail(BaseModel):
    """One restaurant: steps, calls with redacted requests/responses, candidates, config (masked), audit,
    and its `outputs`."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "example": {
                "job_id": "5b0c…",
                "batch_id": "0b8a3c1e-…",
                "restaurant_name": "Jax Burger Shack",
                "status": "completed",
                "outputs": EXAMPLE_OUTPUTS,
            }
        },
    )

    job_id: str
    batch_id: str
    restaurant_name: str
    status: str
    outputs: JobOutputs


class RevealRequest(Body):
    model_config = ConfigDict(json_schema_extra={"example": {"reason": "owner locked out, ticket 4411"}})

    reason: str = Field(min_length=1, max_length=500, description="why; kept in the audit log")


class RevealedPassword(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"example": {"job_id": "5b0c…", "email": "owner@jaxburgers.co.nz", "password": "…"}}
    )

    job_id: str
    email: str | None
    password: str


class Health(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"status": "ok"}})

    status: Literal["ok"]


class Readiness(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"example": {"status": "ready", "database": "ok", "temporal": "ok"}}
    )

    status: Literal["ready"]
    database: str = Field(description="ok")
    temporal: str = Field(description="ok")


class BatchSummaryView(BaseModel):
    """One batch in a list: its derived status and its restaurants counted by status."""

    batch_id: str
    name: str
    status: str = Field(description="draft, running, action_required, completed, failed, cancelled, ...")
    total: int = Field(description="restaurants")
    counts: dict[str, int] = Field(description="restaurants by status")
    options: dict[str, Any]
    created_at: str | None
    started_at: str | None


EXAMPLE_BATCH: dict[str, Any] = {
    "batch_id": "0b8a3c1e-…",
    "name": "Week 48",
    "status": "running",
    "total": 2,
    "counts": {"running": 1, "completed": 1},
    "state_counts": {"failed": 0, "waiting": 0, "running": 1, "done": 1},
    "with_warnings": 0,
    "created_at": "2026-11-30T09:00:00+00:00",
    "started_at": "2026-11-30T09:00:02+00:00",
    "page": {"state": None, "offset": 0, "limit": 100, "matching": 2},
    "jobs": [{"job_id": "5b0c…", "restaurant_name": "Jax Burger Shack", "status": "completed"}],
}


class BatchProgress(BaseModel):
    """A batch's counts (all restaurants) and one page of its restaurants with their steps and calls."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"example": EXAMPLE_BATCH})

    batch_id: str
    name: str
    status: str
    total: int
    counts: dict[str, int]
    state_counts: dict[str, int] = Field(description="restaurants by state: failed, waiting, running, done")
    with_warnings: int = Field(description="restaurants completed with a platform warning")
    created_at: str | None
    started_at: str | None
    page: dict[str, Any] = Field(description="state, offset, limit, and how many restaurants match")
    jobs: list[dict[str, Any]] = Field(description="this page's restaurants: steps 1-5 and the 12 calls")


class OriginalProgress(BaseModel):
    """Progress in the original system's shape (reference §6.2), plus yolobatch's additive fields."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "example": {
                "success": True,
                "batch": {"id": "0b8a3c1e-…", "name": "Week 48", "status": "running"},
                "restaurants": [{"job_id": "5b0c…", "name": "Jax Burger Shack", "status": "running"}],
            }
        },
    )

    success: bool
    batch: dict[str, Any]
    restaurants: list[dict[str, Any]]


class BatchExport(BaseModel):
    """The JSON export: one record per restaurant (the CSV's columns)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "example": {
                "batch_id": "0b8a3c1e-…",
                "restaurants": [{"restaurant": "Jax Burger Shack", "status": "completed", **EXAMPLE_OUTPUTS}],
            }
        },
    )

    batch_id: str
    restaurants: list[dict[str, Any]]
