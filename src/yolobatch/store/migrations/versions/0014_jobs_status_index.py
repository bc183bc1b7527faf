"""jobs by status, and by position within a batch (issue 18)

The batch starters count restaurants in progress across batches; the grid and the starters read a page of
a batch in input order, which sorted the whole batch for every page.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 05:30:00
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_jobs_status_batch", "jobs", ["status", "batch_id"])
    op.create_index("ix_jobs_batch_position", "jobs", ["batch_id", "position"])


def downgrade() -> None:
    op.drop_index("ix_jobs_batch_position", table_name="jobs")
    op.drop_index("ix_jobs_status_batch", table_name="jobs")
