"""sessions and login codes: dashboard sessions live on the server, apart from API tokens, and login links
carry a one-time code instead of a token

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-30 17:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None
TOKEN_ID = "api_tokens.id"


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("session_hash", sa.String(length=64), nullable=False, unique=True),
        sa.Column(
            "token_id",
            sa.String(length=36),
            sa.ForeignKey("api_tokens.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("org_id", sa.String(length=64), sa.ForeignKey("organisations.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_sessions_token_id", "sessions", ["token_id"])
    op.create_index("ix_sessions_org_id", "sessions", ["org_id"])
    op.create_index("ix_sessions_expires_at", "sessions", ["expires_at"])
    op.create_table(
        "login_codes",
        sa.Column("code_hash", sa.String(length=64), primary_key=True),
        sa.Column(
            "token_id",
            sa.String(length=36),
            sa.ForeignKey("api_tokens.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_login_codes_token_id", "login_codes", ["token_id"])


def downgrade() -> None:
    op.drop_table("login_codes")
    op.drop_table("sessions")
