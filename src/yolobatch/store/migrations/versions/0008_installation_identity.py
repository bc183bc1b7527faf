"""installation identity: the names this installation's work carries in Temporal (task queues), so two
installations pointed at one server by mistake never run each other's work

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 17:00:00
"""

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    installation = op.create_table(
        "installation",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("task_queue_prefix", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    identity = uuid.uuid4().hex
    # A database that already holds batches keeps the queue names its workflows in flight were started
    # on; a new one gets names no other installation has.
    has_batches = op.get_bind().execute(sa.text("SELECT 1 FROM batches LIMIT 1")).first() is not None
    prefix = "yolobatch" if has_batches else f"yolobatch-{identity[:12]}"
    op.bulk_insert(
        installation,
        [{"id": identity, "task_queue_prefix": prefix, "created_at": datetime.now(UTC)}],
    )


def downgrade() -> None:
    op.drop_table("installation")
