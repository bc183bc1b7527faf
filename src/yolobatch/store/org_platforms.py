"""Per-organisation registration platforms: the key sealed at rest, read in clear only by the engine."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from yolobatch.domain.org_platform import OrgPlatform, checked
from yolobatch.store.crypto import SecretBox
from yolobatch.store.tables import Organisation, utcnow
from yolobatch.store.tables import OrgPlatform as OrgPlatformRow

KEY_FIELD = "service_key"


class UnknownOrganisation(LookupError):
    pass


def read(session: Session, box: SecretBox, org_id: str) -> OrgPlatform | None:
    row = session.get(OrgPlatformRow, org_id)
    if row is None:
        return None
    return OrgPlatform(url=row.url, service_key=box.open(row.service_key)[KEY_FIELD], contract=row.contract)


def write(
    session: Session, box: SecretBox, org_id: str, url: str, service_key: str, contract: str
) -> OrgPlatform:
    """Set (or replace) `org_id`'s platform; raises BadPlatform, UnknownOrganisation."""
    platform = checked(url, service_key, contract)
    if session.get(Organisation, org_id) is None:
        raise UnknownOrganisation(f"organisation {org_id} not found")
    sealed = box.seal({KEY_FIELD: platform.service_key})
    row = session.get(OrgPlatformRow, org_id)
    if row is None:
        session.add(
            OrgPlatformRow(
                org_id=org_id,
                url=platform.url,
                contract=platform.contract,
                service_key=sealed,
                updated_at=utcnow(),
            )
        )
    else:
        row.url, row.contract, row.service_key, row.updated_at = (
            platform.url,
            platform.contract,
            sealed,
            utcnow(),
        )
    return platform


def reseal_all(session: Session, box: SecretBox) -> int:
    """Key rotation: every stored platform key sealed again with the first secret key."""
    rows = list(session.scalars(select(OrgPlatformRow)))
    for row in rows:
        row.service_key = box.reseal(row.service_key)
    return len(rows)
