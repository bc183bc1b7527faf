"""menu uploads: a person's menu file, kept apart until the restaurant's workflow accepts it (issue 17)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 03:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "menu_uploads",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("job_id", sa.String(length=36), sa.ForeignKey("jobs.id"), nullable=False),
        sa.Column("org_id", sa.String(length=64), sa.ForeignKey("organisations.id"), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_menu_uploads_job_id", "menu_uploads", ["job_id"])


def downgrade() -> None:
    op.drop_index("ix_menu_uploads_job_id", table_name="menu_uploads")
    op.drop_table("menu_uploads")
