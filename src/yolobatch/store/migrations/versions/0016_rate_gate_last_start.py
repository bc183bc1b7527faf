"""the rate gate remembers when the last call actually started

A reserved start assumed the call before it started on time; the platform's rule (at least the interval
between the starts of consecutive account calls) counts from actual starts.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 12:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rate_gates") as batch:
        batch.add_column(sa.Column("last_start_at", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rate_gates") as batch:
        batch.drop_column("last_start_at")
