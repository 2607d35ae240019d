"""Agents: profiles (extension, phone, skills, current state) and the state log.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 15:11:11.220717
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tingyin.store.base

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "agent_profiles",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("extension", sa.String(length=16), nullable=True),
        sa.Column("phone_uri", sa.String(length=255), nullable=True),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("state_reason", sa.String(length=32), nullable=False),
        sa.Column("state_since", tingyin.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("idle_since", tingyin.store.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("missed_offers", sa.Integer(), nullable=False),
        sa.Column("current_call_id", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_agent_profiles_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_agent_profiles")),
        sa.UniqueConstraint("extension", name=op.f("uq_agent_profiles_extension")),
    )
    with op.batch_alter_table("agent_profiles", schema=None) as batch_op:
        batch_op.create_index("ix_agent_profiles_state_idle", ["state", "idle_since"], unique=False)

    op.create_table(
        "agent_state_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("call_id", sa.String(length=32), nullable=True),
        sa.Column("started_at", tingyin.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", tingyin.store.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_agent_state_log_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_state_log")),
    )
    with op.batch_alter_table("agent_state_log", schema=None) as batch_op:
        batch_op.create_index(
            "ix_agent_state_log_user_started", ["user_id", "started_at"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("agent_state_log", schema=None) as batch_op:
        batch_op.drop_index("ix_agent_state_log_user_started")

    op.drop_table("agent_state_log")
    with op.batch_alter_table("agent_profiles", schema=None) as batch_op:
        batch_op.drop_index("ix_agent_profiles_state_idle")

    op.drop_table("agent_profiles")
