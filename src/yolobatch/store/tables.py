"""Tables: domain data plus the read model of progress that the API, CLI and dashboard read."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: DateTime(timezone=True)}


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Installation(Base):
    """The one row naming this installation. Every process sharing the database shares it, so scale-out
    workers and APIs agree on their task queues while another installation's never match."""

    __tablename__ = "installation"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    task_queue_prefix: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    """A bearer token of an organisation. Only its SHA-256 is stored: a leaked table grants nothing."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class DashboardSession(Base):
    """A dashboard login. The cookie carries a random session id; only its SHA-256 is stored, so the table
    grants nothing. Each session belongs to the token it was opened with: revoking the token ends it."""

    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_id: Mapped[str] = mapped_column(ForeignKey("api_tokens.id", ondelete="CASCADE"), index=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class LoginCode(Base):
    """A one-time, short-lived code in a login link (`yolobatch login-link`), in place of the API token
    that such links used to carry. Only its SHA-256 is stored; using it sets `used_at`."""

    __tablename__ = "login_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_id: Mapped[str] = mapped_column(ForeignKey("api_tokens.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class Batch(Base):
    __tablename__ = "batches"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # Pipeline policy: {"yolo": bool, "auto_select": bool, "registry": domain.company.RegistrySource}
    options: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    # The schema's `cancelled_at` column (0001) is not mapped: a batch's cancellation is its restaurants'.
    # A client's Idempotency-Key for the create request, and a digest of what it asked for: the same key
    # again answers the same batch, a different request under it is refused.
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    request_digest: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index("ux_batches_org_idempotency_key", "org_id", "idempotency_key", unique=True),)


class Job(Base):
    """One restaurant of a batch; its workflow is `onboard-<id>`."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # order within the batch (row of the input file)
    restaurant_name: Mapped[str] = mapped_column(String(200))
    # What staff gave us (store URL, address, city, phone, email); empty when the config came ready-made.
    input: Mapped[dict[str, Any] | None]
    status: Mapped[str] = mapped_column(String(32), default="pending")
    current_step: Mapped[int] = mapped_column(Integer, default=6)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    # ix_jobs_status_batch: the starters count the restaurants in progress across batches (start_room).
    # ix_jobs_batch_position: a page of a batch in input order (grid, starter) without sorting the batch.
    __table_args__ = (
        Index("ix_jobs_batch_status", "batch_id", "status"),
        Index("ix_jobs_status_batch", "status", "batch_id"),
        Index("ix_jobs_batch_position", "batch_id", "position"),
    )


class JobStep(Base):
    """Steps 1-6 of a job (this slice only runs step 6; the others arrive with extraction)."""

    __tablename__ = "job_steps"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), primary_key=True)
    step: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(32), default="pending")
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)  # why skipped / auto-selected / decided by whom
    result: Mapped[dict[str, Any] | None]  # small summary for the grid (counts, chosen company...)


class SubStepRow(Base):
    """One of the 12 registration sub-steps of a job."""

    __tablename__ = "sub_steps"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    status: Mapped[str] = mapped_column(String(32), default="pending")
    generation: Mapped[int] = mapped_column(Integer, default=0)  # bumped by each explicit user retry
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str | None] = mapped_column(Text)  # skip / manual-completion reason
    error: Mapped[str | None] = mapped_column(Text)
    warning: Mapped[str | None] = mapped_column(Text)
    request: Mapped[dict[str, Any] | None]  # last request, secrets redacted
    response: Mapped[dict[str, Any] | None]  # last response body, secrets redacted
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    # ix_sub_steps_warned: the few calls answered with a warning, so a batch's count of restaurants with a
    # warning probes them instead of reading every call of the batch (42 -> 2 ms at 10 000 restaurants).
    __table_args__ = (
        Index(
            "ix_sub_steps_warned",
            "job_id",
            sqlite_where=text("warning IS NOT NULL"),
            postgresql_where=text("warning IS NOT NULL"),
        ),
    )


class RegistrationConfigRow(Base):
    """The job's registration config: public part in clear, secrets encrypted (Fernet)."""

    __tablename__ = "registration_configs"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), primary_key=True)
    public: Mapped[dict[str, Any]]  # secrets masked
    secrets: Mapped[str] = mapped_column(Text)  # Fernet token of {"json/pointer": "secret"}
    warnings: Mapped[list[Any] | None]  # from extraction and derivation, shown at review
    approved_by: Mapped[str | None] = mapped_column(String(200))
    approved_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class MenuRow(Base):
    """A job's menu. Ids come from input files, so they are only unique within their job."""

    __tablename__ = "menus"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), primary_key=True, index=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    data: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MenuUpload(Base):
    """A menu file a person uploaded for a restaurant waiting for one; it becomes the job's menu only when
    the restaurant's workflow accepts the answer (a refused or raced answer leaves the menus as they were)."""

    __tablename__ = "menu_uploads"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), index=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    data: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Extraction(Base):
    """Step 1's result for a job: branding, contact, hours and warnings (the menu goes to `menus`)."""

    __tablename__ = "extractions"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), primary_key=True)
    data: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CompanyCandidateRow(Base):
    """Step 2's ranked registry candidates (replaced by each new search)."""

    __tablename__ = "company_candidates"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), primary_key=True)
    number: Mapped[str] = mapped_column(String(40), primary_key=True)
    rank: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    data: Mapped[dict[str, Any]]


class CompanyDetailsRow(Base):
    """Step 4's company details, fetched from the registry or entered by a person."""

    __tablename__ = "company_details"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), primary_key=True)
    data: Mapped[dict[str, Any]]
    manual: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Event(Base):
    """Audit log and progress feed. `dedupe_key` makes writes from retried activities harmless."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    org_id: Mapped[str] = mapped_column(String(64), index=True)
    batch_id: Mapped[str | None] = mapped_column(String(36), index=True)
    job_id: Mapped[str | None] = mapped_column(String(36), index=True)
    sub_step: Mapped[str | None] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(200), default="system")
    message: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any] | None]
    dedupe_key: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("dedupe_key", name="uq_events_dedupe_key"),)


class SlotLease(Base):
    """One permit of a global concurrency cap (`slot_no` < cap). A permit is held while `holder` is set and
    `expires_at` is in the future, so a killed worker's permits come back by themselves. A worker short of
    its fair share asks for a held permit (`requested_by`); the holder then gives it back instead of
    reusing it, and for a while only the asker may take it."""

    __tablename__ = "slot_leases"

    call_class: Mapped[str] = mapped_column(String(40), primary_key=True)
    slot_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(200))
    expires_at: Mapped[datetime | None]
    requested_by: Mapped[str | None] = mapped_column(String(200))
    requested_at: Mapped[datetime | None]


class RateGate(Base):
    """Strict spacing of call starts across all workers (account creation: one per minute, no bursts)."""

    __tablename__ = "rate_gates"

    call_class: Mapped[str] = mapped_column(String(40), primary_key=True)
    next_at: Mapped[float] = mapped_column(Float)  # unix time before which no call of the class may start
    # When the last call of the class actually started: the rule counts from starts, not reservations.
    last_start_at: Mapped[float | None] = mapped_column(Float)


class OrgPlatform(Base):
    """An organisation's own registration platform: its URL, service key (sealed like the configs'
    secrets) and contract. Organisations without a row use the process's settings."""

    __tablename__ = "org_platforms"

    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    contract: Mapped[str] = mapped_column(String(20))
    service_key: Mapped[str] = mapped_column(Text)  # SecretBox-sealed {"service_key": ...}
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class JobOutputRow(Base):
    """What step 6 produced for one restaurant, for the operator (issue 15): merged from the sub-steps'
    answers as each one completes. Never a password: that stays sealed in `registration_configs`."""

    __tablename__ = "job_outputs"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), primary_key=True)
    platform_restaurant_id: Mapped[str | None] = mapped_column(String(200))
    subdomain: Mapped[str | None] = mapped_column(String(253))
    demo_store_url: Mapped[str | None] = mapped_column(Text)
    dashboard_url: Mapped[str | None] = mapped_column(Text)
    stripe_connect_url: Mapped[str | None] = mapped_column(Text)
    account_email: Mapped[str | None] = mapped_column(String(320))
    account_id: Mapped[str | None] = mapped_column(String(200))
    onboarding_user_id: Mapped[str | None] = mapped_column(String(200))
    onboarding_user_email: Mapped[str | None] = mapped_column(String(320))
    logo_url: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class RestaurantIdentity(Base):
    """A restaurant's normalised store URL, company number or account email (domain/identities.py), so an
    upload can find the same restaurant in another batch of the organisation with one indexed look-up."""

    __tablename__ = "restaurant_identities"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    value: Mapped[str] = mapped_column(String(500))

    __table_args__ = (Index("ix_restaurant_identities_org_kind_value", "org_id", "kind", "value"),)


class SubStepRerunRow(Base):
    """A person's re-run of registration calls (issue 17): who asked, why and when, and what ran again."""

    __tablename__ = "sub_step_reruns"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), index=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    sub_step: Mapped[str] = mapped_column(String(40))  # the one asked for
    with_dependents: Mapped[bool] = mapped_column(default=False)
    sub_steps: Mapped[list[Any]]  # what runs again, in plan order
    generations: Mapped[dict[str, Any]]  # sub-step -> the generation it runs as
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)


class OrgDefaultsRow(Base):
    """An organisation's defaults (domain/org_defaults.py): country, currency, locale, time zone."""

    __tablename__ = "org_defaults"

    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    country: Mapped[str | None] = mapped_column(String(2))
    currency: Mapped[str | None] = mapped_column(String(3))
    locale: Mapped[str | None] = mapped_column(String(10))
    time_zone: Mapped[str | None] = mapped_column(String(64))
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
