"""QA: scorecard versions, calibration rounds, evaluations, comments, appeals, review queue.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 17:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tingyin.store.base

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "qa_scorecard_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scorecard_key", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("created_at", tingyin.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qa_scorecard_versions")),
        sa.UniqueConstraint("content_hash", name=op.f("uq_qa_scorecard_versions_content_hash")),
    )
    op.create_table(
        "qa_calibrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=32), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=255), nullable=False),
        sa.Column("created_at", tingyin.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["calls.id"],
            name=op.f("fk_qa_calibrations_call_id_calls"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_qa_calibrations_created_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qa_calibrations")),
    )
    with op.batch_alter_table("qa_calibrations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_qa_calibrations_call_id"), ["call_id"], unique=False)

    op.create_table(
        "qa_review_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("auto_total", sa.Float(), nullable=True),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("created_at", tingyin.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["users.id"], name=op.f("fk_qa_review_items_agent_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["calls.id"],
            name=op.f("fk_qa_review_items_call_id_calls"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qa_review_items")),
        sa.UniqueConstraint("call_id", "reason", name=op.f("uq_qa_review_items_call_id")),
    )
    with op.batch_alter_table("qa_review_items", schema=None) as batch_op:
        batch_op.create_index(
            "ix_qa_review_items_done_created", ["done", "created_at"], unique=False
        )

    op.create_table(
        "qa_evaluations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=32), nullable=False),
        sa.Column("scorecard_version_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("evaluator_id", sa.Integer(), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("calibration_id", sa.Integer(), nullable=True),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("raw_total", sa.Float(), nullable=False),
        sa.Column("critical_failed", sa.Boolean(), nullable=False),
        sa.Column("resolution_level", sa.String(length=16), nullable=True),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("created_at", tingyin.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tingyin.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["users.id"], name=op.f("fk_qa_evaluations_agent_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["calibration_id"],
            ["qa_calibrations.id"],
            name=op.f("fk_qa_evaluations_calibration_id_qa_calibrations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["calls.id"],
            name=op.f("fk_qa_evaluations_call_id_calls"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["evaluator_id"], ["users.id"], name=op.f("fk_qa_evaluations_evaluator_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["scorecard_version_id"],
            ["qa_scorecard_versions.id"],
            name=op.f("fk_qa_evaluations_scorecard_version_id_qa_scorecard_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qa_evaluations")),
    )
    with op.batch_alter_table("qa_evaluations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_qa_evaluations_agent_created", ["agent_id", "created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_qa_evaluations_calibration_id"), ["calibration_id"], unique=False
        )
        batch_op.create_index("ix_qa_evaluations_call_kind", ["call_id", "kind"], unique=False)

    op.create_table(
        "qa_appeals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("evaluation_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decision", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("previous_total", sa.Float(), nullable=True),
        sa.Column("log", sa.JSON(), nullable=False),
        sa.Column("opened_at", tingyin.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", tingyin.store.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["users.id"], name=op.f("fk_qa_appeals_agent_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["users.id"], name=op.f("fk_qa_appeals_decided_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["evaluation_id"],
            ["qa_evaluations.id"],
            name=op.f("fk_qa_appeals_evaluation_id_qa_evaluations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qa_appeals")),
    )
    with op.batch_alter_table("qa_appeals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_qa_appeals_evaluation_id"), ["evaluation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_qa_appeals_status"), ["status"], unique=False)

    op.create_table(
        "qa_comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=32), nullable=False),
        sa.Column("evaluation_id", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("at_seconds", sa.Float(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", tingyin.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_qa_comments_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_qa_comments_call_id_calls"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["evaluation_id"],
            ["qa_evaluations.id"],
            name=op.f("fk_qa_comments_evaluation_id_qa_evaluations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qa_comments")),
    )
    with op.batch_alter_table("qa_comments", schema=None) as batch_op:
        batch_op.create_index("ix_qa_comments_call_at", ["call_id", "at_seconds"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("qa_comments", schema=None) as batch_op:
        batch_op.drop_index("ix_qa_comments_call_at")

    op.drop_table("qa_comments")
    with op.batch_alter_table("qa_appeals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_qa_appeals_status"))
        batch_op.drop_index(batch_op.f("ix_qa_appeals_evaluation_id"))

    op.drop_table("qa_appeals")
    with op.batch_alter_table("qa_evaluations", schema=None) as batch_op:
        batch_op.drop_index("ix_qa_evaluations_call_kind")
        batch_op.drop_index(batch_op.f("ix_qa_evaluations_calibration_id"))
        batch_op.drop_index("ix_qa_evaluations_agent_created")

    op.drop_table("qa_evaluations")
    with op.batch_alter_table("qa_review_items", schema=None) as batch_op:
        batch_op.drop_index("ix_qa_review_items_done_created")

    op.drop_table("qa_review_items")
    with op.batch_alter_table("qa_calibrations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_qa_calibrations_call_id"))

    op.drop_table("qa_calibrations")
    op.drop_table("qa_scorecard_versions")
