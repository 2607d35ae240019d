"""The daily report: one self-contained HTML file per local day, ``<data dir>/reports/DAY.html``.

Everything is inside the file (styles, SVG charts), so it opens from a mail attachment or a
shared folder on a closed network. Written by the hub's report service each morning for the day
before (``[reports] daily_report_time``) and by ``tingyin reports daily --date``.
"""

from __future__ import annotations

import html
import os
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tingyin.config import Settings
from tingyin.reports import complaints, plots, queries, tables
from tingyin.reports.figures import call_figures
from tingyin.reports.recompute import HALF_HOUR
from tingyin.reports.rollup import refresh, scan
from tingyin.store import Database
from tingyin.tickets.policy import TicketPolicy

STYLE = """
body{font-family:"Noto Sans CJK SC","WenQuanYi Micro Hei",sans-serif;margin:24px;color:#111827}
h1{font-size:20px}h2{font-size:15px;margin-top:28px}
.figs{display:grid;grid-template-columns:repeat(auto-fill,minmax(160px,1fr));gap:8px}
.fig{border:1px solid #e5e7eb;border-radius:6px;padding:8px}.fig b{display:block;font-size:20px}
.alert{color:#b91c1c;font-weight:600}table{border-collapse:collapse;font-size:12px}
td,th{border-bottom:1px solid #e5e7eb;padding:3px 8px;text-align:left}svg{max-width:100%}
"""


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _sec(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f} s"


def _table(table: tables.Table, limit: int = 60) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape('' if v is None else str(v))}</td>" for v in row)
        + "</tr>"
        for row in table.rows[:limit]
    )  # fmt: skip
    return f"<h2>{html.escape(table.title)}</h2><table><tr>{head}</tr>{body}</table>"


def _strip_xml_header(svg: str) -> str:
    return svg[svg.index("<svg") :]


def render_daily(session: Session, settings: Settings, day: date, now: datetime) -> str:
    tz = ZoneInfo(settings.timezone)
    cfg = settings.reports
    since = datetime.combine(day, time(), tz).astimezone(UTC)
    until = since + timedelta(days=1)
    sl = cfg.service_level_seconds
    f = call_figures(queries.call_totals(session, since, until), sl)
    t = queries.ticket_figures(
        session, since, until, now, tz=tz, recurrence_alert=cfg.recurrence_alert
    )
    figs = [
        ("来电 calls", str(f.calls)), ("进入队列 offered", str(f.offered)),
        ("接通 answered", str(f.answered)), ("放弃 abandoned", str(f.abandoned)),
        (f"服务水平 SL ({sl}s)", _pct(f.service_level)), ("平均应答 ASA", _sec(f.asa_seconds)),
        ("平均处理 AHT", _sec(f.aht_seconds)), ("放弃率 abandonment", _pct(f.abandonment_rate)),
        ("IVR 自助率", _pct(f.ivr_containment)), ("首次解决率 FCR", _pct(f.fcr)),
        ("回拨 callbacks", str(f.callbacks)), ("新工单 tickets", str(t.opened)),
        ("满意度 CSAT", _pct(t.satisfaction.csat)),
        ("首响达标 first response", _pct(t.first_response.rate)),
        ("解决达标 resolution", _pct(t.resolution.rate)),
        ("重复投诉 recurrence", _pct(t.recurrence.rate)),
    ]  # fmt: skip
    parts = [
        f"<h1>听音 日报 Daily report {day.isoformat()}</h1>",
        f"<p>{html.escape(settings.timezone)} · 生成于 generated "
        f"{now.astimezone(tz):%Y-%m-%d %H:%M}</p>",
    ]  # fmt: skip
    if t.recurrence.alert:
        parts.append(
            f'<p class="alert">重复投诉率 {_pct(t.recurrence.rate)} 超过阈值 '
            f"{_pct(t.recurrence.threshold)} · repeat complaints above the threshold</p>"
        )
    cards = (f'<div class="fig">{html.escape(k)}<b>{html.escape(v)}</b></div>' for k, v in figs)
    parts.append('<div class="figs">' + "".join(cards) + "</div>")
    halves = queries.half_hours(session, since, until)
    if halves:
        local = [(b.astimezone(tz) + HALF_HOUR / 2, x) for b, x in halves]
        chart = plots.line_chart(
            {"offered": [(b, float(x.offered)) for b, x in local],
             "answered": [(b, float(x.answered)) for b, x in local]},
            title="每半小时来电 Calls per half hour",
        )  # fmt: skip
        parts.append(_strip_xml_header(chart))
    shares = complaints.complaint_shares(session, day, day, "category")
    if shares:
        parts.append(
            _strip_xml_header(
                plots.bar_chart(
                    [s.key for s in shares],
                    [s.tickets for s in shares],
                    title="投诉类别 Complaints",
                )
            )
        )
    parts.append(_table(tables.queue_table(queries.by_queue(session, since, until), sl)))
    parts.append(_table(tables.share_table("category", shares)))
    parts.append(_table(tables.share_table("store", complaints.complaint_shares(
        session, day, day, "store", limit=10))))  # fmt: skip
    parts.append(_table(tables.backlog_table(queries.backlog(session))))
    parts.append(_table(tables.keyword_table(queries.top_terms(session, day, day, limit=20))))
    parts.append(_table(tables.rising_table(queries.rising_terms(session, day))))
    plan = queries.staffing(
        session, start=day + timedelta(days=1), days=1, tz=tz, now=until,
        target_level=cfg.service_level_target, target_seconds=sl, shrinkage=cfg.shrinkage,
    )  # fmt: skip
    busy = [s for s in plan.slots if s.calls > 0]
    if busy:
        parts.append(
            _strip_xml_header(
                plots.staffing_chart(
                    [s.label for s in plan.slots],
                    [s.calls for s in plan.slots],
                    [s.agents for s in plan.slots],
                    title="明日排班 Staffing for tomorrow",
                )
            )
        )
    body = "\n".join(parts)
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>听音日报 {day.isoformat()}</title><style>{STYLE}</style></head>"
        f"<body>{body}</body></html>"
    )


def bring_up_to_date(db: Database, settings: Settings, policy: TicketPolicy, now: datetime) -> None:
    """Scan and refresh until the pre-aggregates are complete (bounded)."""
    tz = ZoneInfo(settings.timezone)
    window = timedelta(hours=settings.reports.fcr_window_hours)
    with db.session() as session:
        scan(session, now, tz, window)
    for _ in range(1000):
        with db.session() as session:
            done = refresh(session, policy, now=now, tz=tz, fcr_window=window)
        if done.left == 0 or done.half_hours + done.tickets + done.term_days == 0:
            return


def report_path(settings: Settings, day: date) -> Path:
    return settings.data_dir / "reports" / f"{day.isoformat()}.html"


def write_daily(
    db: Database, settings: Settings, policy: TicketPolicy, day: date, now: datetime
) -> Path:
    """Bring the pre-aggregates up to date, render the day, write it atomically."""
    bring_up_to_date(db, settings, policy, now)
    with db.session() as session:
        text = render_daily(session, settings, day, now)
    path = report_path(settings, day)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path
