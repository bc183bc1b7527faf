"""Registration configs (step 5): drafts, edits, review, approval, revisions, and their sealed secrets."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, func, select, update

from yolobatch.domain.config import RegistrationConfig, config_fields
from yolobatch.domain.derive import copy_config, validate_config
from yolobatch.domain.menu import Menu
from yolobatch.domain.org_platform import OrgPlatform
from yolobatch.store.batches import Batches
from yolobatch.store.core import (
    ConfigFrozen,
    ConfigNotApproved,
    NotFound,
    Registration,
    _iso,
)
from yolobatch.store.org_platforms import KEY_FIELD
from yolobatch.store.tables import (
    Event,
    Job,
    JobStep,
    MenuRow,
    RegistrationConfigRow,
    utcnow,
)
from yolobatch.store.tables import OrgPlatform as OrgPlatformRow

# Built once: building the statement cost as much as running it (a registration call's hot path).
_CALL_FACTS = (
    select(
        Job.org_id,
        Job.batch_id,
        RegistrationConfigRow.public,
        RegistrationConfigRow.secrets,
        OrgPlatformRow.url,
        OrgPlatformRow.contract,
        OrgPlatformRow.service_key,
    )
    .join(RegistrationConfigRow, RegistrationConfigRow.job_id == Job.id)
    .outerjoin(OrgPlatformRow, OrgPlatformRow.org_id == Job.org_id)
    .where(Job.id == bindparam("job_id"))
)
_MENU_DATA = select(MenuRow.data).where(
    MenuRow.job_id == bindparam("job_id"), MenuRow.id == bindparam("menu_id")
)


class Configs(Batches):  # a config belongs to a job (Batches) and its edits are audited
    def save_config_draft(self, job_id: str, wire: dict[str, Any], warnings: list[str] | None = None) -> None:
        """Store step 5's draft config, which may not validate yet (a person completes it at review)."""
        row = self._wire_row(job_id, wire)
        with self.transaction() as s:
            existing = s.get(RegistrationConfigRow, job_id)
            if existing is None:
                row.warnings = warnings or []
                s.add(row)
            else:
                existing.public, existing.secrets = row.public, row.secrets
                existing.warnings = warnings if warnings is not None else existing.warnings
                existing.approved_by = existing.approved_at = None
                existing.updated_at = utcnow()

    def edit_config(self, job_id: str, changes: dict[str, Any], actor: str = "system") -> None:
        """Apply a reviewer's edits (`{"account.email": "x@y.z", ...}`) to the stored config; the audit log
        names the fields changed, never their values (some are passwords). An approved config is frozen:
        a change after approval is a revision (`revise_config`)."""
        wire = self.config_wire(job_id)
        _apply_changes(wire, changes)
        review = self.config_review(job_id) or {}
        job = self.job(job_id)
        with self.transaction() as s:
            row = s.get(RegistrationConfigRow, job_id, with_for_update=True)
            if row is not None and row.approved_at is not None:
                raise ConfigFrozen(
                    f"the config was approved by {row.approved_by}; it is frozen. To change it, revise it "
                    "(POST /api/jobs/{id}/config/revise with a reason): only calls that run from then on use "
                    "the revision"
                )
            self.save_config_draft(job_id, wire, review.get("warnings"))
            fields = ", ".join(sorted(changes))
            self.add_event(job.org_id, job.batch_id, job_id, "config_edited", f"Edited {fields}", actor=actor)

    def revise_config(self, job_id: str, changes: dict[str, Any], actor: str, reason: str) -> int:
        """A new version of an approved config, approved by whoever makes it (it must validate). Calls that
        completed keep what they sent; calls that run from now on (first runs after a wait, and retries)
        read the revision. Audited with its version, fields and reason; returns the new version."""
        if not reason.strip():
            raise ValueError("say why the approved config is revised: a reason is required")
        wire = self.config_wire(job_id)
        _apply_changes(wire, changes)
        _, errors = validate_config(wire)
        if errors:
            raise ValueError("the revision is not a valid config: " + "; ".join(errors))
        job = self.job(job_id)
        sealed = self._wire_row(job_id, wire)
        with self.transaction() as s:
            row = s.get(RegistrationConfigRow, job_id, with_for_update=True)
            if row is None or row.approved_at is None:
                raise ConfigNotApproved("the config is not approved yet: edit it and approve it instead")
            revisions = s.scalar(
                select(func.count())
                .select_from(Event)
                .where(Event.job_id == job_id, Event.kind == "config_revised")
            )
            version = 2 + (revisions or 0)  # version 1 is the config as first approved
            row.public, row.secrets = sealed.public, sealed.secrets
            row.approved_by, row.approved_at, row.updated_at = actor, utcnow(), utcnow()
            fields = sorted(changes)
            self.add_event(
                job.org_id,
                job.batch_id,
                job_id,
                "config_revised",
                f"Config revised to version {version} ({', '.join(fields)}): {reason.strip()}",
                actor=actor,
                data={"version": version, "fields": fields, "reason": reason.strip()},
            )
        return version

    def reseal_secrets(self, batch_size: int = 500) -> int:
        """Re-encrypt every stored secret with the first secret key (key rotation); returns how many."""
        done = 0
        while True:
            with self.transaction() as s:
                rows = list(
                    s.scalars(
                        select(RegistrationConfigRow)
                        .order_by(RegistrationConfigRow.job_id)
                        .offset(done)
                        .limit(batch_size)
                    )
                )
                for row in rows:
                    row.secrets = self.box.reseal(row.secrets)
            done += len(rows)
            if len(rows) < batch_size:
                return done

    def copy_config_to_batch(self, source_job_id: str, actor: str = "system") -> list[str]:
        """Apply one job's config to every other job of its batch that has one and is not yet approved.

        Returns the job ids changed. Each keeps its own per-restaurant fields (owner, name, address, menu).
        """
        source = self.config_wire(source_job_id)
        job = self.job(source_job_id)
        with self.session() as s:
            targets = list(
                s.scalars(
                    select(RegistrationConfigRow.job_id)
                    .join(Job, Job.id == RegistrationConfigRow.job_id)
                    .where(
                        Job.batch_id == job.batch_id,
                        Job.id != source_job_id,
                        RegistrationConfigRow.approved_at.is_(None),
                    )
                )
            )
        message = f"Config copied from {job.restaurant_name}"
        for target in targets:
            review = self.config_review(target) or {}
            with self.transaction():
                self.save_config_draft(
                    target, copy_config(source, self.config_wire(target)), review.get("warnings")
                )
                self.add_event(job.org_id, job.batch_id, target, "config_copied", message, actor=actor)
        return targets

    def awaiting_review(self, batch_id: str) -> list[str]:
        """Jobs of the batch whose step 5 waits for a person."""
        with self.session() as s:
            return list(
                s.scalars(
                    select(JobStep.job_id)
                    .join(Job, Job.id == JobStep.job_id)
                    .where(Job.batch_id == batch_id, JobStep.step == 5, JobStep.status == "action_required")
                    .order_by(Job.position)
                )
            )

    def approve_config(self, job_id: str, actor: str) -> None:
        with self.transaction() as s:
            s.execute(
                update(RegistrationConfigRow)
                .where(RegistrationConfigRow.job_id == job_id)
                .values(approved_by=actor, approved_at=utcnow())
            )

    def config_review(self, job_id: str) -> dict[str, Any] | None:
        """The public config and its review state (None before step 5 derived one)."""
        with self.session() as s:
            row = s.get(RegistrationConfigRow, job_id)
            if row is None:
                return None
            revisions = s.scalar(
                select(func.count())
                .select_from(Event)
                .where(Event.job_id == job_id, Event.kind == "config_revised")
            )
            return {
                "config": row.public,
                "warnings": row.warnings or [],
                "approved_by": row.approved_by,
                "approved_at": _iso(row.approved_at),
                # 1 as derived (or given) and approved; each revision after approval adds one.
                "version": 1 + (revisions or 0),
            }

    def public_config(self, job_id: str) -> dict[str, Any]:
        with self.session() as s:
            row = s.get(RegistrationConfigRow, job_id)
            if row is None:
                raise NotFound(f"job {job_id} has no registration config")
            return row.public

    def config_wire(self, job_id: str) -> dict[str, Any]:
        """The stored config as wire JSON with secrets in clear (activities only)."""
        with self.session() as s:
            row = s.get(RegistrationConfigRow, job_id)
            if row is None:
                raise NotFound(f"job {job_id} has no registration config")
            return self._wire(row)

    def _wire(self, row: Any) -> dict[str, Any]:
        """The config with its secrets in clear, from a row (or result row) with `public` and `secrets`."""
        wire = {k: dict(v) if isinstance(v, dict) else v for k, v in row.public.items()}
        for pointer, secret in self.box.open(row.secrets).items():
            section, field = pointer.split(".")
            wire[section][field] = secret
        return wire

    def call_facts(self, job_id: str, *, with_menu: bool) -> tuple[Registration, OrgPlatform | None]:
        """`registration()` and the job's organisation's own platform (`org_platform()`), for a registration
        call: one SQL query (two with the menu) without ORM objects. Three or four ORM loads per call were
        a seventh of a busy worker's CPU."""
        with self.engine.connect() as connection:
            row = connection.execute(_CALL_FACTS, {"job_id": job_id}).one_or_none()
            if row is None:
                raise NotFound(f"job {job_id} not found")
            wire = self._wire(row)
            menu_id = wire.get("menu", {}).get("selectedMenuId")
            menu = None
            if menu_id and with_menu:
                menu = connection.execute(
                    _MENU_DATA, {"job_id": job_id, "menu_id": menu_id}
                ).scalar_one_or_none()
        platform = (
            OrgPlatform(
                url=row.url, service_key=self.box.open(row.service_key)[KEY_FIELD], contract=row.contract
            )
            if row.url is not None
            else None
        )
        registration = Registration(
            job_id=job_id,
            org_id=row.org_id,
            batch_id=row.batch_id,
            config=RegistrationConfig.model_validate(wire),
            menu=Menu.model_validate(menu) if menu is not None else None,
        )
        return registration, platform

    def registration(self, job_id: str, *, with_menu: bool = True) -> Registration:
        """`with_menu=False` skips reading and validating the menu, for the calls that do not send it."""
        with self.session() as s:
            job = s.get(Job, job_id)
            row = s.get(RegistrationConfigRow, job_id)
            if job is None or row is None:
                raise NotFound(f"job {job_id} not found")
            wire = self._wire(row)
            menu_id = wire.get("menu", {}).get("selectedMenuId")
            menu_row = s.get(MenuRow, (job_id, menu_id)) if menu_id and with_menu else None
            return Registration(
                job_id=job.id,
                org_id=job.org_id,
                batch_id=job.batch_id,
                config=RegistrationConfig.model_validate(wire),
                menu=Menu.model_validate(menu_row.data) if menu_row else None,
            )


def _apply_changes(wire: dict[str, Any], changes: dict[str, Any]) -> None:
    """Set `section.field` values in a wire config; an unknown field is refused, never stored (it could
    not be removed again, and the config would never validate)."""
    known = config_fields()
    for pointer, value in changes.items():
        section, _, field = pointer.partition(".")
        if section not in known or field not in known[section]:
            raise ValueError(f"{pointer!r} is not a config field (use section.field, e.g. account.email)")
        target = wire.setdefault(section, {})
        if not isinstance(target, dict):
            raise ValueError(f"{pointer!r}: the stored config has no {section} section")
        target[field] = value
