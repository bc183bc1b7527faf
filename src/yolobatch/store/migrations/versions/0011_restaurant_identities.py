"""restaurant identities: each restaurant's normalised store URL, company number and account email, so
an upload naming a restaurant the organisation already registers (or has in flight) is refused; and the
audit of re-runs of registration calls (who, why, when, what ran again) (issue 17)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 20:10:00
"""

import sqlalchemy as sa
from alembic import op

from yolobatch.domain.batch_input import RestaurantInput
from yolobatch.domain.identities import identity_keys

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "restaurant_identities",
        sa.Column("job_id", sa.String(length=36), sa.ForeignKey("jobs.id"), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("org_id", sa.String(length=64), sa.ForeignKey("organisations.id"), nullable=False),
        sa.Column("value", sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint("job_id", "kind"),
    )
    op.create_index(
        "ix_restaurant_identities_org_kind_value", "restaurant_identities", ["org_id", "kind", "value"]
    )
    op.create_table(
        "sub_step_reruns",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("job_id", sa.String(length=36), sa.ForeignKey("jobs.id"), nullable=False),
        sa.Column("org_id", sa.String(length=64), sa.ForeignKey("organisations.id"), nullable=False),
        sa.Column("sub_step", sa.String(length=40), nullable=False),
        sa.Column("with_dependents", sa.Boolean(), nullable=False),
        sa.Column("sub_steps", sa.JSON(), nullable=False),
        sa.Column("generations", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sub_step_reruns_job_id", "sub_step_reruns", ["job_id"])
    # Restaurants uploaded before this revision: their store URL, company number and email are in
    # jobs.input (a ready-made config's account email is not: those stay unchecked until re-uploaded).
    jobs = sa.table(
        "jobs", sa.column("id", sa.String), sa.column("org_id", sa.String), sa.column("input", sa.JSON)
    )
    rows = []
    for job_id, org_id, facts in op.get_bind().execute(sa.select(jobs.c.id, jobs.c.org_id, jobs.c.input)):
        if not facts or not facts.get("store_url"):
            continue
        try:
            restaurant = RestaurantInput.model_validate({"name": "-", **facts})
        except ValueError:
            continue  # a row that no longer validates names nothing we could match reliably
        rows += [
            {"job_id": job_id, "kind": kind.value, "org_id": org_id, "value": value}
            for kind, value in identity_keys(restaurant)
        ]
    if rows:
        op.bulk_insert(table, rows)


def downgrade() -> None:
    op.drop_index("ix_sub_step_reruns_job_id", table_name="sub_step_reruns")
    op.drop_table("sub_step_reruns")
    op.drop_index("ix_restaurant_identities_org_kind_value", table_name="restaurant_identities")
    op.drop_table("restaurant_identities")
