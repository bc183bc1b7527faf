"""Per-organisation registration platforms: the key sealed at rest, read in clear only by the engine."""

from __future__ import annotations

from sqlalchemy import select

from yolobatch.domain.org_platform import OrgPlatform, checked, contract_named
from yolobatch.store.core import NotFound, StoreCore
from yolobatch.store.tables import Event, Organisation, utcnow
from yolobatch.store.tables import OrgPlatform as OrgPlatformRow

KEY_FIELD = "service_key"


class OrgPlatforms(StoreCore):
    def org_platform(self, org_id: str) -> OrgPlatform | None:
        """`org_id`'s own registration platform (key in clear: for the engine only), None for the default."""
        with self.session() as s:
            row = s.get(OrgPlatformRow, org_id)
            if row is None:
                return None
            key = self.box.open(row.service_key)[KEY_FIELD]
            return OrgPlatform(url=row.url, service_key=key, contract=contract_named(row.contract))

    def set_org_platform(
        self, org_id: str, url: str, service_key: str, contract: str, *, actor: str
    ) -> OrgPlatform:
        """Set (or replace) `org_id`'s platform and audit who did, in one transaction (never the key).
        Raises BadPlatform, NotFound."""
        platform = checked(url, service_key, contract)
        sealed = self.box.seal({KEY_FIELD: platform.service_key})
        now = utcnow()
        with self.transaction() as s:
            if s.get(Organisation, org_id) is None:
                raise NotFound(f"organisation {org_id} not found")
            row = s.get(OrgPlatformRow, org_id)
            if row is None:
                row = OrgPlatformRow(org_id=org_id)
                s.add(row)
            row.url, row.contract, row.service_key, row.updated_at = (
                platform.url,
                platform.contract,
                sealed,
                now,
            )
            s.add(
                Event(
                    org_id=org_id,
                    kind="org_platform_set",
                    actor=actor,
                    message=f"Registration platform set to {platform.url} ({platform.contract} contract)",
                    data=platform.public(),
                    dedupe_key=f"org_platform_set/{org_id}/{now.isoformat()}",
                    created_at=now,
                )
            )
        return platform

    def reseal_org_platforms(self) -> int:
        """Key rotation: every stored platform key sealed again with the first secret key."""
        with self.transaction() as s:
            rows = list(s.scalars(select(OrgPlatformRow)))
            for row in rows:
                row.service_key = self.box.reseal(row.service_key)
        return len(rows)
