"""Report pre-aggregates: derived from the raw rows, never the source of truth.

Every row here can be thrown away and recomputed from ``calls``/``call_events``,
``tickets``/``ticket_events``, ``transcript_segments`` (``tingyin reports rebuild``). They keep
the dashboard under a second on a year of data. ``tingyin.reports.rollup`` maintains them and
explains how late events are folded in (dirty markers, recompute a whole bucket, upsert).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tingyin.store.base import Base, UTCDateTime


class ReportHalfHour(Base):
    """Calls started in one half hour (UTC instants; local half hours line up with them in any
    zone with whole or half-hour offsets), per the first queue they entered ("" for none)."""

    __tablename__ = "report_half_hours"
    __table_args__ = (Index("ix_report_half_hours_local_day", "local_day"),)

    bucket_start: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    queue: Mapped[str] = mapped_column(String(32), primary_key=True)
    # The site's calendar day of the half hour: per-day figures group in SQL (a year is 365
    # rows, not 17 520). A change of the site's time zone needs ``tingyin reports rebuild``.
    local_day: Mapped[date] = mapped_column(Date)
    calls: Mapped[int] = mapped_column(Integer, default=0)
    ivr_entered: Mapped[int] = mapped_column(Integer, default=0)
    ivr_contained: Mapped[int] = mapped_column(Integer, default=0)
    offered: Mapped[int] = mapped_column(Integer, default=0)
    answered: Mapped[int] = mapped_column(Integer, default=0)
    abandoned: Mapped[int] = mapped_column(Integer, default=0)
    within_10: Mapped[int] = mapped_column(Integer, default=0)
    within_20: Mapped[int] = mapped_column(Integer, default=0)
    within_30: Mapped[int] = mapped_column(Integer, default=0)
    within_60: Mapped[int] = mapped_column(Integer, default=0)
    wait_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    abandon_wait_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    handled: Mapped[int] = mapped_column(Integer, default=0)
    talk_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    wrap_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    fcr_eligible: Mapped[int] = mapped_column(Integer, default=0)
    fcr_repeat: Mapped[int] = mapped_column(Integer, default=0)
    callbacks: Mapped[int] = mapped_column(Integer, default=0)  # call-back attempts placed
    callbacks_answered: Mapped[int] = mapped_column(Integer, default=0)
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ReportTicket(Base):
    """One ticket flattened with its order's store, merchant, rider and channel and its SLA
    clocks as of the last refresh: complaint analytics group this one table, no joins."""

    __tablename__ = "report_tickets"
    # Covering indexes, one per way the complaint views cut a period of local days: a year of a
    # busy center is ~800 000 rows, read from a narrow index in ~0.2 s instead of the table.
    __table_args__ = (
        Index("ix_report_tickets_opened", "opened_at"),
        Index("ix_report_tickets_resolved", "resolved_at"),
        Index("ix_report_tickets_day_category", "local_day", "category"),
        # Led by the id: one store's tickets are a short range (the drill-down), and grouping
        # by store reads the index in order (no sort).
        Index("ix_report_tickets_store_day", "store_id", "local_day", "category"),
        Index("ix_report_tickets_merchant_day", "merchant_id", "local_day", "category"),
        Index("ix_report_tickets_rider_day", "rider_id", "local_day", "category"),
        Index("ix_report_tickets_day_channels", "local_day", "channel", "order_channel"),
        Index("ix_report_tickets_day_party", "local_day", "responsible_party", "category"),
        Index("ix_report_tickets_day_hour", "local_day", "weekday", "local_hour", "category"),
        Index(
            "ix_report_tickets_day_sla",
            "local_day",
            "first_response_state",
            "first_response_due",
            "resolution_state",
            "resolution_due",
            "is_repeat",
            "repeat_contacts",
        ),
    )

    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The opening in the site's calendar, so SQL groups by day, hour and weekday on any backend.
    local_day: Mapped[date] = mapped_column(Date)
    local_hour: Mapped[int] = mapped_column(Integer)  # 0 … 23
    weekday: Mapped[int] = mapped_column(Integer)  # 0 = Monday
    category: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    priority: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))
    responsible_party: Mapped[str] = mapped_column(String(24))
    order_channel: Mapped[str | None] = mapped_column(String(16), nullable=True)
    store_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    merchant_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rider_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    is_repeat: Mapped[bool] = mapped_column(Boolean, default=False)  # repeat_of is set
    repeat_contacts: Mapped[int] = mapped_column(Integer, default=0)  # contacts that joined it
    first_response_state: Mapped[str] = mapped_column(String(12))
    first_response_due: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    resolution_state: Mapped[str] = mapped_column(String(12))
    resolution_due: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ReportTermDay(Base):
    """Calls of one local day and ticket category ("" none) whose caller side said ``term``.
    The row with ``term = ""`` holds how many such calls had a transcript at all."""

    __tablename__ = "report_term_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    term: Mapped[str] = mapped_column(String(32), primary_key=True)
    calls: Mapped[int] = mapped_column(Integer, default=0)


class ReportDirty(Base):
    """A bucket to recompute: ``kind`` half_hour (key: ISO instant), ticket (id), term_day
    (ISO date). Written by the refresher's scans and by anyone who changes history."""

    __tablename__ = "report_dirty"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ReportWatermark(Base):
    """The last raw row id a scan has looked at (call_events, ticket_events, transcripts)."""

    __tablename__ = "report_watermarks"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
