"""jobs by status: the batch starters count restaurants in progress across batches (issue 18)

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


def downgrade() -> None:
    op.drop_index("ix_jobs_status_batch", table_name="jobs")
