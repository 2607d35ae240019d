"""Keeps the report pre-aggregates (``tingyin.store.models.reports``) in step with the raw rows.

How late events stay correct. Pre-aggregates are never incremented: a bucket is always
recomputed whole from the raw rows and replaced (delete + insert in one transaction), so doing
it twice, or after an event that arrived an hour late, gives the same row as doing it once on
complete data. Which buckets to recompute is decided by ``scan``:

1. **Watermarks.** ``report_watermarks`` keeps the highest ``call_events.id``,
   ``ticket_events.id`` and ``transcript_segments.id`` already looked at. New rows above a mark
   make their call's half hour (by the call's ``started_at``), their ticket, or their call's
   local day dirty. A late event is a new row, whatever its timestamp, so it is seen.
2. **The recent edge.** Calls can change with no event row (a call that only rang and ended),
   so the half hours of the last ``SETTLE`` are marked dirty on every scan.
3. **FCR looks ahead.** A call's FCR depends on later calls and tickets on the same order, so a
   new call or ticket about an order also marks the half hours of that order's calls in the
   window before it.
4. **Anyone may mark.** ``mark_dirty`` (and ``tingyin reports rebuild``) put keys in
   ``report_dirty`` by hand, e.g. after an import of old calls.

``refresh`` then recomputes the dirty keys and deletes their markers in the same transaction;
a marker written again meanwhile is simply processed again. Term days are heavier (jieba over a
day's transcripts), so today's is recomputed at most every ``TERM_DEBOUNCE``. The ids of
``call_events`` and friends grow in commit order here because one CDR thread writes them; the
recent edge covers the rare out-of-order commit. Everything is in UTC except term days, which
are the site's local calendar days.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from tingyin.reports.recompute import (
    HALF_HOUR,
    bucket_of,
    recompute_half_hour,
    recompute_term_day,
    recompute_ticket,
)
from tingyin.store.models import (
    Call,
    CallContext,
    CallEventRow,
    ReportDirty,
    ReportWatermark,
    Ticket,
    TicketEvent,
    TranscriptSegment,
)
from tingyin.tickets.policy import TicketPolicy

SETTLE = timedelta(hours=1)
TERM_DEBOUNCE = timedelta(minutes=10)
HALF, TICKET, TERM_DAY = "half_hour", "ticket", "term_day"


def buckets_between(since: datetime, until: datetime) -> list[datetime]:
    out, b = [], bucket_of(since)
    while b < until:
        out.append(b)
        b += HALF_HOUR
    return out


# -- dirty markers and watermarks ------------------------------------------------------------
def mark_dirty(session: Session, kind: str, keys: Iterable[str], now: datetime) -> int:
    """Mark keys dirty (a key already marked keeps its older time); returns how many are new."""
    wanted = set(keys)
    if not wanted:
        return 0
    have: set[str] = set()
    chunk = sorted(wanted)
    for i in range(0, len(chunk), 500):
        have |= set(
            session.scalars(
                select(ReportDirty.key).where(
                    ReportDirty.kind == kind, ReportDirty.key.in_(chunk[i : i + 500])
                )
            )
        )
    new = wanted - have
    session.add_all(ReportDirty(kind=kind, key=k, marked_at=now) for k in new)
    session.flush()
    return len(new)


def _mark_buckets(session: Session, starts: Iterable[datetime], now: datetime) -> int:
    return mark_dirty(session, HALF, {bucket_of(s).isoformat() for s in starts}, now)


def _watermark(session: Session, name: str) -> ReportWatermark:
    row = session.get(ReportWatermark, name)
    if row is None:
        row = ReportWatermark(name=name, value=0, updated_at=datetime.now(UTC))
        session.add(row)
    return row


def last_refresh(session: Session) -> datetime | None:
    """When the refresher last scanned (the pre-aggregates are complete up to then)."""
    row = session.get(ReportWatermark, "call_events")
    return row.updated_at if row is not None else None


@dataclass(frozen=True)
class ScanResult:
    half_hours: int
    tickets: int
    term_days: int


def scan(
    session: Session, now: datetime, tz: ZoneInfo, fcr_window: timedelta, batch: int = 200_000
) -> ScanResult:
    """Mark what changed since the last scan dirty (see the module's docstring)."""
    halves = tickets = days = 0
    # 1. New call events: their calls' half hours, and earlier calls on the same orders (FCR).
    mark = _watermark(session, "call_events")
    top = session.scalar(
        select(func.max(CallEventRow.id)).where(CallEventRow.id > mark.value)
    )  # fmt: skip
    if top is not None:
        top = min(top, mark.value + batch)
        new_calls = (
            select(CallEventRow.call_id)
            .where(CallEventRow.id > mark.value, CallEventRow.id <= top)
            .distinct()
            .scalar_subquery()
        )
        starts = session.scalars(select(Call.started_at).where(Call.id.in_(new_calls))).all()
        halves += _mark_buckets(session, starts, now)
        orders = session.execute(
            select(CallContext.order_no, Call.started_at)
            .join(Call, Call.id == CallContext.call_id)
            .where(CallContext.call_id.in_(new_calls), CallContext.order_no.is_not(None))
        ).all()
        halves += _mark_order_calls(session, orders, fcr_window, now)
        mark.value = top
    mark.updated_at = now
    # 2. The recent edge.
    halves += _mark_buckets(session, buckets_between(now - SETTLE, now + HALF_HOUR), now)
    # 3. Tickets: changed ones, and (FCR) the calls on a new ticket's order before it.
    tmark = _watermark(session, "ticket_events")
    rows = session.execute(
        select(TicketEvent.id, TicketEvent.ticket_id, TicketEvent.kind)
        .where(TicketEvent.id > tmark.value)
        .order_by(TicketEvent.id)
        .limit(batch)
    ).all()
    if rows:
        ids = {r.ticket_id for r in rows}
        tickets += mark_dirty(session, TICKET, {str(i) for i in ids}, now)
        created = [r.ticket_id for r in rows if r.kind in ("created", "repeat_contact")]
        if created:
            opened = session.execute(
                select(Ticket.order_no, Ticket.updated_at).where(
                    Ticket.id.in_(created), Ticket.order_no.is_not(None)
                )
            ).all()
            halves += _mark_order_calls(session, opened, fcr_window, now)
        tmark.value = rows[-1].id
    tmark.updated_at = now
    # 4. Transcripts: their calls' local days.
    smark = _watermark(session, "transcripts")
    stop = session.scalar(
        select(func.max(TranscriptSegment.id)).where(TranscriptSegment.id > smark.value)
    )
    if stop is not None:
        stop = min(stop, smark.value + batch)
        calls = (
            select(TranscriptSegment.call_id)
            .where(TranscriptSegment.id > smark.value, TranscriptSegment.id <= stop)
            .distinct()
            .scalar_subquery()
        )
        starts = session.scalars(select(Call.started_at).where(Call.id.in_(calls))).all()
        days += mark_dirty(
            session, TERM_DAY, {s.astimezone(tz).date().isoformat() for s in starts}, now
        )
        smark.value = stop
    smark.updated_at = now
    return ScanResult(halves, tickets, days)


def _mark_order_calls(
    session: Session, orders: Sequence[tuple[str | None, datetime]], window: timedelta,
    now: datetime,
) -> int:  # fmt: skip
    """The half hours of calls on these orders in the window before each contact."""
    latest: dict[str, datetime] = {}
    for order_no, at in orders:
        if order_no:
            latest[order_no] = max(at, latest.get(order_no, at))
    if not latest:
        return 0
    earliest = min(latest.values()) - window
    starts = session.execute(
        select(CallContext.order_no, Call.started_at)
        .join(Call, Call.id == CallContext.call_id)
        .where(CallContext.order_no.in_(list(latest)), Call.started_at >= earliest)
    ).all()
    return _mark_buckets(
        session,
        (s for o, s in starts if o and latest[o] - window <= s <= latest[o]),
        now,
    )


# -- recomputing -----------------------------------------------------------------------------
@dataclass(frozen=True)
class RefreshResult:
    half_hours: int
    tickets: int
    term_days: int
    left: int  # dirty keys still waiting (limit reached, or a term day in its debounce)


def refresh(
    session: Session,
    policy: TicketPolicy,
    *,
    now: datetime,
    tz: ZoneInfo,
    fcr_window: timedelta,
    limit: int = 2000,
) -> RefreshResult:
    """Recompute up to ``limit`` dirty keys (oldest first) and clear their markers."""
    dirty = session.scalars(select(ReportDirty).order_by(ReportDirty.marked_at).limit(limit)).all()
    done = Counter[str]()
    today = now.astimezone(tz).date()
    for row in dirty:
        if row.kind == HALF:
            recompute_half_hour(session, datetime.fromisoformat(row.key), fcr_window, now, tz)
        elif row.kind == TICKET:
            recompute_ticket(session, policy, int(row.key), now, tz)
        elif row.kind == TERM_DAY:
            day = date.fromisoformat(row.key)
            if day >= today and now - row.marked_at < TERM_DEBOUNCE:
                continue
            recompute_term_day(session, day, tz)
        done[row.kind] += 1
        session.delete(row)
    session.flush()
    left = session.scalar(select(func.count()).select_from(ReportDirty)) or 0
    return RefreshResult(done[HALF], done[TICKET], done[TERM_DAY], left)


def optimize(session: Session) -> None:
    """Refresh SQLite's planner statistics of the report tables (sampled: ``analysis_limit``):
    without them it may read a year of tickets through the wrong index. PostgreSQL's
    autovacuum does this by itself."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("PRAGMA analysis_limit=2000"))
        for table in ("report_half_hours", "report_tickets", "report_term_days"):
            session.execute(text(f"ANALYZE {table}"))


def rebuild(
    session: Session, *, since: datetime, until: datetime, now: datetime,
    tz: ZoneInfo,
) -> int:  # fmt: skip
    """Mark every bucket, ticket and day of [since, until) dirty (refresh does the work)."""
    n = _mark_buckets(session, buckets_between(since, until), now)
    ids = session.scalars(
        select(Ticket.id).where(Ticket.opened_at >= since, Ticket.opened_at < until)
    ).all()
    n += mark_dirty(session, TICKET, {str(i) for i in ids}, now)
    day, last = since.astimezone(tz).date(), until.astimezone(tz).date()
    keys = set()
    while day <= last:
        keys.add(day.isoformat())
        day += timedelta(days=1)
    n += mark_dirty(session, TERM_DAY, keys, now)
    return n
