"""slot lease requests: a worker without leases asks for one, so leases spread over workers

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 12:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("slot_leases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("requested_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("requested_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("slot_leases", schema=None) as batch_op:
        batch_op.drop_column("requested_at")
        batch_op.drop_column("requested_by")
