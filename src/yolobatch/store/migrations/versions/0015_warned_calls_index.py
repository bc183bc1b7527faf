"""the calls answered with a warning, indexed (issue 18)

A batch's count of restaurants with a warning read every call row of the batch (40-50 ms at 10 000
restaurants, on every grid page); a partial index holds only the few warned calls.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 11:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

WARNED = sa.text("warning IS NOT NULL")


def upgrade() -> None:
    op.create_index(
        "ix_sub_steps_warned", "sub_steps", ["job_id"], sqlite_where=WARNED, postgresql_where=WARNED
    )


def downgrade() -> None:
    op.drop_index("ix_sub_steps_warned", table_name="sub_steps")
