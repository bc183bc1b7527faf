"""Finding an upload's restaurants in the organisation's other batches (domain/identities.py says what
counts as the same restaurant). Used inside the create transaction, so the check and the insert agree."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import or_, select, tuple_
from sqlalchemy.orm import Session

from yolobatch.domain.batch_input import RestaurantInput
from yolobatch.domain.identities import Duplicate, IdentityKind, identity_keys
from yolobatch.domain.plan import SubStep
from yolobatch.domain.statuses import JobStatus, SubStepStatus
from yolobatch.store.tables import Batch, Job, RestaurantIdentity, SubStepRow

# A cancelled restaurant is free to upload again unless the platform already has its account or restaurant:
# registering it again would make a second one.
_created_on_the_platform = (
    select(SubStepRow.job_id)
    .where(
        SubStepRow.job_id == Job.id,
        SubStepRow.key.in_([SubStep.CLOUDWAITRESS_ACCOUNT.value, SubStep.RESTAURANT_REGISTRATION.value]),
        SubStepRow.status == SubStepStatus.COMPLETED.value,
    )
    .exists()
)
CHUNK = 400  # (kind, value) pairs per IN list: far below any driver's bound-parameter limit


def identity_rows(org_id: str, job_id: str, restaurant: RestaurantInput) -> list[dict[str, Any]]:
    return [
        {"job_id": job_id, "kind": kind.value, "org_id": org_id, "value": value}
        for kind, value in identity_keys(restaurant)
    ]


def find_duplicates(s: Session, org_id: str, restaurants: list[RestaurantInput]) -> list[Duplicate]:
    """Rows of the upload that name a restaurant of this organisation that is registered or in flight
    (any status but cancelled, or cancelled after its account or restaurant was created), each row
    reported once, with the first key that matched."""
    wanted: dict[tuple[str, str], list[int]] = defaultdict(list)
    for row, restaurant in enumerate(restaurants):
        for kind, value in identity_keys(restaurant):
            wanted[(kind.value, value)].append(row)
    pairs = list(wanted)
    found: dict[int, Duplicate] = {}
    for start in range(0, len(pairs), CHUNK):
        matches = s.execute(
            select(
                RestaurantIdentity.kind,
                RestaurantIdentity.value,
                Job.id,
                Job.restaurant_name,
                Job.status,
                Batch.id.label("batch_id"),
                Batch.name.label("batch_name"),
            )
            .join(Job, Job.id == RestaurantIdentity.job_id)
            .join(Batch, Batch.id == Job.batch_id)
            .where(
                RestaurantIdentity.org_id == org_id,
                tuple_(RestaurantIdentity.kind, RestaurantIdentity.value).in_(pairs[start : start + CHUNK]),
                or_(Job.status != JobStatus.CANCELLED.value, _created_on_the_platform),
            )
            .order_by(Batch.created_at, Job.position)
        ).all()
        for match in matches:
            for row in wanted[(match.kind, match.value)]:
                found.setdefault(
                    row,
                    Duplicate(
                        row=row + 1,
                        name=restaurants[row].name,
                        kind=IdentityKind(match.kind),
                        value=match.value,
                        batch_id=match.batch_id,
                        batch_name=match.batch_name,
                        job_id=match.id,
                        restaurant_name=match.restaurant_name,
                        status=match.status,
                    ),
                )
    return [found[row] for row in sorted(found)]
