"""Follow-up survey calls after a ticket is resolved (followups).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 14:32:57.423994
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tingyin.store.base

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "followups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("due_at", tingyin.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=32), nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=64), nullable=False),
        sa.Column("created_at", tingyin.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", tingyin.store.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_followups_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_followups")),
    )
    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.create_index("ix_followups_status_due", ["status", "due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_followups_ticket_id"), ["ticket_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_followups_ticket_id"))
        batch_op.drop_index("ix_followups_status_due")

    op.drop_table("followups")
