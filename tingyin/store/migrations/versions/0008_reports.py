"""Reports: half-hour call aggregates, flattened tickets, terms per day, dirty markers.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 17:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tingyin.store.base

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# report_tickets' covering indexes (the complaint views' cuts of a period of local days).
TICKET_DAY_INDEXES = {
    "ix_report_tickets_day_category": ["local_day", "category"],
    "ix_report_tickets_store_day": ["store_id", "local_day", "category"],
    "ix_report_tickets_merchant_day": ["merchant_id", "local_day", "category"],
    "ix_report_tickets_rider_day": ["rider_id", "local_day", "category"],
    "ix_report_tickets_day_channels": ["local_day", "channel", "order_channel"],
    "ix_report_tickets_day_party": ["local_day", "responsible_party", "category"],
    "ix_report_tickets_day_hour": ["local_day", "weekday", "local_hour", "category"],
    "ix_report_tickets_day_sla": [
        "local_day", "first_response_state", "first_response_due", "resolution_state",
        "resolution_due", "is_repeat", "repeat_contacts",
    ],
}  # fmt: skip


def upgrade() -> None:

    op.create_table(
        "report_half_hours",
        sa.Column("bucket_start", tingyin.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("queue", sa.String(length=32), nullable=False),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("ivr_entered", sa.Integer(), nullable=False),
        sa.Column("ivr_contained", sa.Integer(), nullable=False),
        sa.Column("offered", sa.Integer(), nullable=False),
        sa.Column("answered", sa.Integer(), nullable=False),
        sa.Column("abandoned", sa.Integer(), nullable=False),
        sa.Column("within_10", sa.Integer(), nullable=False),
        sa.Column("within_20", sa.Integer(), nullable=False),
        sa.Column("within_30", sa.Integer(), nullable=False),
        sa.Column("within_60", sa.Integer(), nullable=False),
        sa.Column("wait_seconds", sa.Float(), nullable=False),
        sa.Column("abandon_wait_seconds", sa.Float(), nullable=False),
        sa.Column("handled", sa.Integer(), nullable=False),
        sa.Column("talk_seconds", sa.Float(), nullable=False),
        sa.Column("wrap_seconds", sa.Float(), nullable=False),
        sa.Column("fcr_eligible", sa.Integer(), nullable=False),
        sa.Column("fcr_repeat", sa.Integer(), nullable=False),
        sa.Column("callbacks", sa.Integer(), nullable=False),
        sa.Column("callbacks_answered", sa.Integer(), nullable=False),
        sa.Column("refreshed_at", tingyin.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("bucket_start", "queue", name=op.f("pk_report_half_hours")),
    )
    with op.batch_alter_table("report_half_hours", schema=None) as batch_op:
        batch_op.create_index("ix_report_half_hours_local_day", ["local_day"], unique=False)

    op.create_table(
        "report_tickets",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("opened_at", tingyin.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.Column("local_hour", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("responsible_party", sa.String(length=24), nullable=False),
        sa.Column("order_channel", sa.String(length=16), nullable=True),
        sa.Column("store_id", sa.Integer(), nullable=True),
        sa.Column("merchant_id", sa.Integer(), nullable=True),
        sa.Column("rider_id", sa.Integer(), nullable=True),
        sa.Column("is_repeat", sa.Boolean(), nullable=False),
        sa.Column("repeat_contacts", sa.Integer(), nullable=False),
        sa.Column("first_response_state", sa.String(length=12), nullable=False),
        sa.Column(
            "first_response_due", tingyin.store.base.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("resolution_state", sa.String(length=12), nullable=False),
        sa.Column("resolution_due", tingyin.store.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", tingyin.store.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("refreshed_at", tingyin.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_report_tickets_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_report_tickets")),
    )
    with op.batch_alter_table("report_tickets", schema=None) as batch_op:
        batch_op.create_index("ix_report_tickets_opened", ["opened_at"], unique=False)
        batch_op.create_index("ix_report_tickets_resolved", ["resolved_at"], unique=False)
        for name, columns in TICKET_DAY_INDEXES.items():
            batch_op.create_index(name, columns, unique=False)

    op.create_table(
        "report_term_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("term", sa.String(length=32), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "category", "term", name=op.f("pk_report_term_days")),
    )

    op.create_table(
        "report_dirty",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("marked_at", tingyin.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", "key", name=op.f("pk_report_dirty")),
    )

    op.create_table(
        "report_watermarks",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", tingyin.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_report_watermarks")),
    )


def downgrade() -> None:

    op.drop_table("report_watermarks")
    op.drop_table("report_dirty")
    op.drop_table("report_term_days")
    with op.batch_alter_table("report_tickets", schema=None) as batch_op:
        for name in reversed(TICKET_DAY_INDEXES):
            batch_op.drop_index(name)
        batch_op.drop_index("ix_report_tickets_resolved")
        batch_op.drop_index("ix_report_tickets_opened")

    op.drop_table("report_tickets")
    with op.batch_alter_table("report_half_hours", schema=None) as batch_op:
        batch_op.drop_index("ix_report_half_hours_local_day")

    op.drop_table("report_half_hours")
