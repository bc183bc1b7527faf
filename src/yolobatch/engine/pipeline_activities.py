"""Activities of steps 1-5: extraction, registry search and details, config derivation and approval."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError

from yolobatch.domain.batch_defaults import apply_defaults
from yolobatch.domain.company import CompanyDetails, SearchTerms, is_unambiguous, street_search_terms
from yolobatch.domain.derive import derive_config, generate_password, validate_config
from yolobatch.domain.extraction import ExtractionResult
from yolobatch.engine.activities import _with_heartbeats, as_application_error, logged
from yolobatch.engine.contracts import LookupInput, StepOutput
from yolobatch.integrations.extraction import ExtractionError, UrlGuard, extract_store
from yolobatch.integrations.extraction.render import render_options
from yolobatch.integrations.registry import REGISTRIES, Registry, RegistryError, make_registry
from yolobatch.settings import Settings
from yolobatch.store.repository import Store

TOP_CANDIDATES = 10
BACKOFF = 2.0  # seconds before the first retry of a lookup (registries and store pages are not scaled)


class PipelineActivities:
    def __init__(self, store: Store, http: httpx.AsyncClient, settings: Settings) -> None:
        self._store = store
        self._http = http
        self._settings = settings
        self._guard = UrlGuard(allowed_hosts=frozenset(settings.fetch_allowed_hosts))

    def _registry(self, kind: str) -> Registry:
        """The batch's registry; an unknown one fails the step for good (retrying cannot fix it)."""
        if kind not in REGISTRIES:
            raise ApplicationError(
                f"unknown company registry {kind!r}; expected one of {', '.join(REGISTRIES)}",
                type="UnknownRegistry",
                non_retryable=True,
            )
        url, key = getattr(self._settings, f"{kind}_api_url"), getattr(self._settings, f"{kind}_api_key")
        return make_registry(kind, self._http, url, key.get_secret_value())

    @activity.defn(name="extract_store")
    async def extract_store(self, inp: LookupInput) -> StepOutput:
        job, _ = await asyncio.to_thread(self._store.job_facts, inp.job_id)
        org = await asyncio.to_thread(self._store.org_defaults, job.org_id)
        url = (job.input or {}).get("store_url")
        if not url:
            error = ApplicationError("no store URL to extract from", type="NonRetryable", non_retryable=True)
            raise logged(error, batch_id=job.batch_id, job_id=inp.job_id, sub_step="extract_store")
        try:
            # Heartbeats: with a render, step 1 can outlast the lookups' 30 s heartbeat timeout.
            result = await _with_heartbeats(
                extract_store(
                    url,
                    http=self._http,
                    guard=self._guard,
                    max_bytes=self._settings.fetch_max_bytes,
                    # Per-item option requests (Uber Eats) keep to the lookup rate the task queue enforces.
                    item_rate=self._settings.lookups_per_second / self._settings.time_scale,
                    # A person asked for a render (the page builds its menu in the browser).
                    render=render_options(
                        self._settings.model_copy(update={"render_pages": True})
                        if inp.render
                        else self._settings
                    ),
                    # Prices shown as "$12" on a page that names no country: the organisation's currency.
                    currency=org.currency,
                )
            )
        except ExtractionError as exc:
            raise _failed(exc, job.batch_id, inp.job_id) from None
        menu = result.menu
        data = result.model_dump(mode="json", exclude={"menu"})
        await asyncio.to_thread(self._store.save_extraction, inp.job_id, job.org_id, data, menu)
        return StepOutput(
            summary={
                "source": result.source,
                "menu_id": menu.id if menu else None,
                "items": len(menu.items()) if menu else 0,
                "rendered": result.rendered,
                "warnings": [w.message for w in result.warnings],
            }
        )

    @activity.defn(name="search_companies")
    async def search_companies(self, inp: LookupInput) -> StepOutput:
        job, options = await asyncio.to_thread(self._store.job_facts, inp.job_id)
        facts = job.input or {}
        edited = inp.terms or {}
        terms = SearchTerms(
            name=edited.get("name") or job.restaurant_name,
            address=edited.get("address") or facts.get("address"),
            city=edited.get("city") or facts.get("city"),
        )
        try:
            ranked = await self._registry(options.get("registry", self._settings.registry)).search(terms)
        except RegistryError as exc:
            raise _failed(exc, job.batch_id, inp.job_id) from None
        await asyncio.to_thread(
            self._store.save_candidates, inp.job_id, [c.model_dump(mode="json") for c in ranked]
        )
        top = [{"number": c.number, "name": c.name, "score": c.score} for c in ranked[:TOP_CANDIDATES]]
        street = street_search_terms(terms.address, terms.city)
        return StepOutput(
            summary={"candidates": top, "unambiguous": is_unambiguous(ranked), "street": street}
        )

    @activity.defn(name="company_details")
    async def company_details(self, inp: LookupInput) -> StepOutput:
        job, options = await asyncio.to_thread(self._store.job_facts, inp.job_id)
        try:
            details = await self._registry(options.get("registry", self._settings.registry)).details(
                inp.number or ""
            )
        except RegistryError as exc:
            raise _failed(exc, job.batch_id, inp.job_id) from None
        await asyncio.to_thread(
            self._store.save_company_details, inp.job_id, details.model_dump(mode="json"), manual=False
        )
        return StepOutput(
            summary={
                "legal_name": details.legal_name,
                "number": details.number,
                "contact": details.contact_person,
            }
        )

    @activity.defn(name="save_manual_details")
    def save_manual_details(self, inp: LookupInput) -> StepOutput:
        details = inp.details or {}
        record = {
            "source": "manual",
            "number": details.get("company_number") or "",
            "nzbn": details.get("nzbn"),
            "legal_name": details.get("legal_name") or details.get("company_name") or "",
            "gst_number": details.get("gst_number"),
            "contact_person": details.get("contact_person"),
            "email": details.get("email"),
            "phone": details.get("phone"),
            "registered_address": details.get("address"),
        }
        self._store.save_company_details(inp.job_id, record, manual=True)
        return StepOutput(summary={"manual": True})

    @activity.defn(name="adopt_menu")
    def adopt_menu(self, inp: LookupInput) -> StepOutput:
        """The menu file a person uploaded becomes the job's menu (after the workflow accepted the answer;
        a retry finds it adopted already)."""
        assert inp.upload_id is not None, "adopt_menu needs the upload's id"
        adopted = self._store.adopt_menu(inp.job_id, inp.upload_id)
        return StepOutput(summary={"menu_ids": self._store.menu_ids(inp.job_id), "adopted": adopted})

    @activity.defn(name="prepare_config")
    def prepare_config(self, inp: LookupInput) -> StepOutput:
        """Derive the config once; a retry or replay finds it stored and does not regenerate the password."""
        existing = self._store.config_review(inp.job_id)
        if existing is None:
            job, options = self._store.job_facts(inp.job_id)
            org = self._store.org_defaults(job.org_id)
            raw = self._store.extraction(inp.job_id)
            extraction = ExtractionResult.model_validate({**raw, "menu": None}) if raw else None
            raw_company = self._store.company_details(inp.job_id)
            company = _company(raw_company)
            menu_ids = self._store.menu_ids(inp.job_id)
            wire, warnings = derive_config(
                job.restaurant_name,
                job.input or {},
                extraction,
                company,
                menu_ids[0] if menu_ids else None,
                generate_password(),
                country=org.country or self._settings.default_country,
            )
            # The batch's defaults for its plain rows (set once at upload) win over what was derived.
            wire = apply_defaults(wire, options.get("defaults"))
            self._store.save_config_draft(inp.job_id, wire, warnings)
        wire = self._store.config_wire(inp.job_id)
        _, errors = validate_config(wire)
        review = self._store.config_review(inp.job_id) or {}
        return StepOutput(summary={"errors": errors, "warnings": review.get("warnings", [])}, ok=not errors)

    @activity.defn(name="approve_config")
    def approve_config(self, inp: LookupInput) -> StepOutput:
        config, errors = validate_config(self._store.config_wire(inp.job_id))
        if config is None:
            return StepOutput(summary={"errors": errors}, ok=False)
        self._store.approve_config(inp.job_id, inp.actor)
        return StepOutput(summary={"config": config.to_public()})


def _failed(exc: ExtractionError | RegistryError, batch_id: str, job_id: str) -> ApplicationError:
    """The lookup's failure as Temporal should treat it, logged with its context (the activity's name is
    the sub-step: steps 1-5 have one call each)."""
    info = activity.info()
    error = as_application_error(exc, BACKOFF, info.attempt)
    return logged(error, batch_id=batch_id, job_id=job_id, sub_step=info.activity_type)


def _company(raw: dict[str, Any] | None) -> CompanyDetails | None:
    if not raw:
        return None
    try:
        return CompanyDetails.model_validate(raw)
    except ValueError:
        return CompanyDetails.model_construct(**raw)  # manual entries carry fewer fields
