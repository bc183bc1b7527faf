"""operator outputs: per restaurant, what step 6 produced (platform restaurant id, subdomain, demo-store
URL, Stripe connect link, account and onboarding user), read out of the sub-steps' answers

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 18:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"  # re-chained after 0009_org_platform (issue 15, the engine side)
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_outputs",
        sa.Column("job_id", sa.String(length=36), sa.ForeignKey("jobs.id"), nullable=False),
        sa.Column("platform_restaurant_id", sa.String(length=200), nullable=True),
        sa.Column("subdomain", sa.String(length=253), nullable=True),
        sa.Column("demo_store_url", sa.Text(), nullable=True),
        sa.Column("dashboard_url", sa.Text(), nullable=True),
        sa.Column("stripe_connect_url", sa.Text(), nullable=True),
        sa.Column("account_email", sa.String(length=320), nullable=True),
        sa.Column("account_id", sa.String(length=200), nullable=True),
        sa.Column("onboarding_user_id", sa.String(length=200), nullable=True),
        sa.Column("onboarding_user_email", sa.String(length=320), nullable=True),
        sa.Column("logo_url", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("job_id"),
    )


def downgrade() -> None:
    op.drop_table("job_outputs")
