"""Organisations' defaults (country, currency, locale, time zone): read by step 5, set by people."""

from __future__ import annotations

import uuid

from yolobatch.domain.org_defaults import OrgDefaults
from yolobatch.store.core import NotFound, StoreCore
from yolobatch.store.tables import Event, Organisation, OrgDefaultsRow, utcnow

FIELDS = ("country", "currency", "locale", "time_zone")


class OrgDefaultsStore(StoreCore):
    def org_defaults(self, org_id: str) -> OrgDefaults:
        """The organisation's defaults; none set is all None (the installation's settings apply)."""
        with self.session() as s:
            row = s.get(OrgDefaultsRow, org_id)
            return OrgDefaults(**{f: getattr(row, f) for f in FIELDS}) if row else OrgDefaults()

    def set_org_defaults(self, org_id: str, changes: OrgDefaults, actor: str) -> OrgDefaults:
        """Set the fields `changes` gives (the others are kept), audited."""
        given = changes.model_dump(exclude_unset=True)
        with self.transaction() as s:
            if s.get(Organisation, org_id) is None:
                raise NotFound(f"organisation {org_id} not found")
            row = s.get(OrgDefaultsRow, org_id)
            if row is None:
                row = OrgDefaultsRow(org_id=org_id, updated_by=actor)
                s.add(row)
            for field, value in given.items():
                setattr(row, field, value)
            row.updated_by, row.updated_at = actor, utcnow()
            message = ", ".join(f"{k}={v}" for k, v in given.items()) or "nothing changed"
            s.add(
                Event(
                    org_id=org_id,
                    kind="org_defaults_set",
                    actor=actor,
                    message=message,
                    dedupe_key=str(uuid.uuid4()),
                    created_at=utcnow(),
                )
            )
            s.flush()
            return OrgDefaults(**{f: getattr(row, f) for f in FIELDS})
