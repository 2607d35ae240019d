"""Every report table as plain rows (for the API's CSV/XLSX exports and the daily report).

A ``Table`` has a title, column headers (Chinese first, English in brackets, so one export
reads in both) and rows of plain values. CSV is UTF-8 with a byte-order mark so Excel opens
the Chinese correctly; XLSX is written by openpyxl.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from tingyin.reports.complaints import CallRow, Share, TicketRow
from tingyin.reports.figures import CallTotals, call_figures
from tingyin.reports.keywords import RankedTerm, RisingTerm
from tingyin.reports.queries import StaffingPlan

Cell = str | int | float | None


@dataclass
class Table:
    name: str  # file name stem, e.g. "daily"
    title: str
    columns: list[str]
    rows: list[list[Cell]] = field(default_factory=list)

    def csv_bytes(self) -> bytes:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(self.columns)
        writer.writerows(["" if v is None else v for v in row] for row in self.rows)
        return ("\ufeff" + out.getvalue()).encode()

    def xlsx_bytes(self) -> bytes:
        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.title = self.name[:31]
        sheet.append(self.columns)
        for row in self.rows:
            sheet.append(list(row))
        for i, column in enumerate(self.columns, start=1):
            width = max([len(str(column))] + [len(str(r[i - 1] or "")) for r in self.rows[:200]])
            sheet.column_dimensions[get_column_letter(i)].width = min(60, width + 4)
        sheet.freeze_panes = "A2"
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def _sec(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


CALL_COLUMNS = [
    "来电 (calls)", "进入队列 (offered)", "接通 (answered)", "放弃 (abandoned)",
    "服务水平% (service level)", "平均应答秒 (ASA s)", "平均处理秒 (AHT s)",
    "放弃率% (abandonment)", "IVR 自助率% (containment)", "首次解决率% (FCR)", "回拨 (callbacks)",
]  # fmt: skip


def _call_cells(t: CallTotals, sl_seconds: int) -> list[Cell]:
    f = call_figures(t, sl_seconds)
    return [
        f.calls, f.offered, f.answered, f.abandoned, _pct(f.service_level), _sec(f.asa_seconds),
        _sec(f.aht_seconds), _pct(f.abandonment_rate), _pct(f.ivr_containment), _pct(f.fcr),
        f.callbacks,
    ]  # fmt: skip


def daily_table(days: Sequence[tuple[date, CallTotals]], sl_seconds: int) -> Table:
    table = Table("daily", "每日话务 (calls per day)", ["日期 (day)", *CALL_COLUMNS])
    table.rows = [[d.isoformat(), *_call_cells(t, sl_seconds)] for d, t in days]
    return table


def half_hour_table(
    halves: Sequence[tuple[datetime, CallTotals]], tz: ZoneInfo, sl_seconds: int
) -> Table:
    table = Table(
        "half_hours", "每半小时话务 (calls per half hour)", ["时段 (from)", *CALL_COLUMNS]
    )
    table.rows = [
        [b.astimezone(tz).strftime("%Y-%m-%d %H:%M"), *_call_cells(t, sl_seconds)]
        for b, t in halves
    ]
    return table


def queue_table(queues: dict[str, CallTotals], sl_seconds: int) -> Table:
    table = Table("queues", "各队列 (per queue)", ["队列 (queue)", *CALL_COLUMNS])
    table.rows = [[q or "(IVR)", *_call_cells(t, sl_seconds)] for q, t in queues.items()]
    return table


def share_table(dimension: str, shares: Sequence[Share]) -> Table:
    table = Table(
        f"complaints_{dimension}",
        f"投诉分布 (complaints by {dimension})",
        [f"{dimension}", "名称 (name)", "工单 (tickets)", "占比% (share)"],
    )
    table.rows = [[s.key, s.label, s.tickets, _pct(s.share)] for s in shares]
    return table


def heatmap_table(grid: Sequence[Sequence[int]]) -> Table:
    names = ["一 Mon", "二 Tue", "三 Wed", "四 Thu", "五 Fri", "六 Sat", "日 Sun"]
    table = Table("complaints_hours", "投诉时段 (weekday × hour)", ["", *map(str, range(24))])
    table.rows = [[names[i], *row] for i, row in enumerate(grid)]
    return table


def ticket_table(rows: Sequence[TicketRow], tz: ZoneInfo) -> Table:
    table = Table(
        "tickets", "工单明细 (tickets)",
        ["工单号 (number)", "受理时间 (opened)", "类别 (category)", "状态 (status)",
         "优先级 (priority)", "渠道 (channel)", "订单号 (order)", "门店 (store)",
         "通话 (calls)", "描述 (description)"],
    )  # fmt: skip
    table.rows = [
        [r.number, r.opened_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"), r.category, r.status,
         r.priority, r.channel, r.order_no, r.store, " ".join(r.call_ids), r.description]
        for r in rows
    ]  # fmt: skip
    return table


def call_table(rows: Sequence[CallRow], tz: ZoneInfo) -> Table:
    table = Table(
        "calls", "通话明细 (calls)",
        ["通话 (call)", "开始 (started)", "状态 (status)", "来电 (caller)", "订单号 (order)",
         "原因 (reason)"],
    )  # fmt: skip
    table.rows = [
        [r.id, r.started_at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"), r.status, r.caller,
         r.order_no, r.reason]
        for r in rows
    ]  # fmt: skip
    return table


def keyword_table(terms: Sequence[RankedTerm]) -> Table:
    table = Table("keywords", "热词 (terms)", ["词 (term)", "通话 (calls)", "占比% (share)"])
    table.rows = [[t.term, t.calls, _pct(t.share)] for t in terms]
    return table


def rising_table(terms: Sequence[RisingTerm]) -> Table:
    table = Table(
        "rising", "上升热词 (rising terms)",
        ["词 (term)", "本周 (this week)", "上周 (last week)", "倍数 (lift)", "新词 (new)"],
    )  # fmt: skip
    table.rows = [[t.term, t.calls, t.previous, round(t.lift, 2), int(t.new)] for t in terms]
    return table


def staffing_table(plan: StaffingPlan) -> Table:
    table = Table(
        "staffing", "排班预测 (staffing forecast)",
        ["日期 (day)", "时段 (from)", "预测来电 (calls)", "在线坐席 (agents)",
         "排班人数 (rostered)", "服务水平% (service level)", "平均应答秒 (ASA s)"],
    )  # fmt: skip
    table.rows = [
        [s.day.isoformat(), s.label, round(s.calls, 1), s.agents, s.rostered,
         _pct(s.service_level), _sec(s.asa_seconds)]
        for s in plan.slots
    ]  # fmt: skip
    return table


def backlog_table(backlog: dict[str, dict[str, int]]) -> Table:
    priorities = ["urgent", "high", "normal", "low"]
    table = Table(
        "backlog", "积压工单 (open tickets)", ["状态 (status)", *priorities, "合计 (total)"]
    )
    table.rows = [
        [status, *(by.get(p, 0) for p in priorities), sum(by.values())]
        for status, by in backlog.items()
    ]
    return table
