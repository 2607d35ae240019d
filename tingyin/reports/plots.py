"""Plots drawn on the server with matplotlib: SVG for charts, PNG for the word cloud.

Nothing is fetched at run time (no CDN, no web fonts): charts are SVG whose text is left as
text (``svg.fonttype = none``) so the browser draws the Chinese labels with the fonts it has,
and the CJK family names come first in the stack. The word cloud is a bitmap, so it needs a CJK
font file on the server: ``cjk_font()`` finds one (Debian: fonts-noto-cjk or
fonts-wqy-microhei, installed by scripts/setup.sh); without one it is not drawn.
Each figure is its own ``Figure`` object (no pyplot state), so threads may draw at once.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

log = logging.getLogger(__name__)

FAMILIES = ["Noto Sans CJK SC", "WenQuanYi Micro Hei", "Source Han Sans SC", "DejaVu Sans"]
COLORS = ["#2563eb", "#f97316", "#16a34a", "#dc2626", "#9333ea", "#0891b2", "#ca8a04", "#64748b"]
_FONT_HINTS = ("NotoSansCJK", "wqy-microhei", "wqy-zenhei", "SourceHanSans", "NotoSerifCJK")
WEEKDAYS = {"zh": "一二三四五六日", "en": "MTWTFSS"}


@lru_cache(maxsize=1)
def cjk_font() -> Path | None:
    """A font file with Chinese glyphs, or None (logged once)."""
    from matplotlib import font_manager

    names = [Path(font.fname) for font in font_manager.fontManager.ttflist]
    for hint in _FONT_HINTS:  # Sans before Serif
        for path in names:
            if hint.lower() in path.name.lower():
                return path
    for folder in (Path("/usr/share/fonts/opentype/noto"), Path("/usr/share/fonts/truetype/wqy")):
        for path in sorted(folder.glob("*")) if folder.is_dir() else []:
            if path.suffix in (".ttc", ".ttf", ".otf"):
                return path
    log.warning("no CJK font found: the word cloud is off (install fonts-noto-cjk)")
    return None


def _figure(width: float = 8.0, height: float = 3.2) -> Figure:
    families()
    return Figure(figsize=(width, height), dpi=100, layout="constrained")


@lru_cache(maxsize=1)
def families() -> list[str]:
    """The font stack: the CJK font found here first (its name as matplotlib reads it, for
    measuring the labels), then the usual CJK families for the browser."""
    font = cjk_font()
    if font is None:
        return FAMILIES
    from matplotlib import font_manager

    font_manager.fontManager.addfont(str(font))
    stack = [font_manager.FontProperties(fname=str(font)).get_name(), *FAMILIES]
    # Process-wide on purpose: tick labels resolve their font before any rc_context applies.
    matplotlib.rcParams["font.sans-serif"] = stack
    return stack


def _svg(fig: Figure) -> str:
    out = io.StringIO()
    with matplotlib.rc_context(
        {"svg.fonttype": "none", "font.family": "sans-serif", "font.sans-serif": families()}
    ):
        # No date or creator: the same data gives the same bytes (caches, tests).
        fig.savefig(out, format="svg", metadata={"Date": None, "Creator": None})
    return out.getvalue()


def _style(ax: Axes) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="y", color="#e5e7eb", linewidth=0.8)
    ax.set_axisbelow(True)


def line_chart(
    series: Mapping[str, Sequence[tuple[datetime | date, float | None]]],
    *,
    title: str = "",
    percent: bool = False,
    ylim: tuple[float, float] | None = None,
    xlim: tuple[date, date] | None = None,
) -> str:
    fig = _figure()
    ax = fig.add_subplot()
    for i, (name, points) in enumerate(series.items()):
        xs: Any = [x for x, y in points if y is not None]
        ys = [y for _x, y in points if y is not None]
        ax.plot(xs, ys, label=name, color=COLORS[i % len(COLORS)], linewidth=1.8, marker=".")
    if percent:
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    if ylim is not None:
        ax.set_ylim(*ylim)
    if xlim is not None:  # the whole period, not only the days with data (one day: not years)
        half = timedelta(hours=12)
        span: Any = (
            datetime.combine(xlim[0], time()) - half,
            datetime.combine(xlim[1], time()) + half,
        )
        ax.set_xlim(*span)  # datetimes: matplotlib converts them (its stubs say floats)
    ax.set_title(title, loc="left", fontsize=11)
    if len(series) > 1:
        ax.legend(frameon=False, fontsize=8, ncols=min(4, len(series)))
    fig.autofmt_xdate()
    _style(ax)
    return _svg(fig)


def bar_chart(
    labels: Sequence[str], values: Sequence[float], *, title: str = "", horizontal: bool = True
) -> str:
    height = max(2.4, 0.32 * len(labels) + 1) if horizontal else 3.2
    fig = _figure(8.0, height)
    ax = fig.add_subplot()
    if horizontal:
        ax.barh(list(labels)[::-1], list(values)[::-1], color=COLORS[0])
    else:
        ax.bar(list(labels), list(values), color=COLORS[0])
    ax.set_title(title, loc="left", fontsize=11)
    _style(ax)
    return _svg(fig)


def stacked_days(series: Mapping[str, Sequence[tuple[date, int]]], *, title: str = "") -> str:
    """Tickets per day, one colour per category, stacked."""
    days: Any = sorted({d for points in series.values() for d, _ in points})
    fig = _figure()
    ax = fig.add_subplot()
    bottom = [0.0] * len(days)
    index = {d: i for i, d in enumerate(days)}
    for i, (name, points) in enumerate(series.items()):
        ys = [0.0] * len(days)
        for d, n in points:
            ys[index[d]] = n
        ax.bar(days, ys, bottom=bottom, label=name, color=COLORS[i % len(COLORS)], width=0.8)
        bottom = [b + y for b, y in zip(bottom, ys, strict=True)]
    ax.set_title(title, loc="left", fontsize=11)
    if series:
        ax.legend(frameon=False, fontsize=8, ncols=min(4, len(series)))
    fig.autofmt_xdate()
    _style(ax)
    return _svg(fig)


def heatmap(grid: Sequence[Sequence[int]], *, title: str = "", language: str = "zh") -> str:
    """Weekday (rows) × hour of day (columns)."""
    fig = _figure(8.0, 3.0)
    ax = fig.add_subplot()
    image = ax.imshow(grid, aspect="auto", cmap="YlOrRd", interpolation="nearest")
    ax.set_yticks(range(7), list(WEEKDAYS.get(language, WEEKDAYS["en"])))
    ax.set_xticks(range(0, 24, 2), [f"{h}" for h in range(0, 24, 2)])
    ax.set_title(title, loc="left", fontsize=11)
    fig.colorbar(image, ax=ax, shrink=0.8)
    return _svg(fig)


def staffing_chart(
    labels: Sequence[str], calls: Sequence[float], agents: Sequence[int], *, title: str = ""
) -> str:
    """Forecast calls (bars) and agents needed (line, right axis) per half hour."""
    fig = _figure(9.0, 3.4)
    ax = fig.add_subplot()
    xs = range(len(labels))
    ax.bar(xs, calls, color="#bfdbfe", label="calls")
    right = ax.twinx()
    right.step(xs, agents, where="mid", color=COLORS[1], linewidth=1.8, label="agents")
    step = max(1, len(labels) // 12)
    ax.set_xticks(list(xs)[::step], list(labels)[::step], rotation=45, fontsize=8)
    ax.set_title(title, loc="left", fontsize=11)
    _style(ax)
    return _svg(fig)


def word_cloud(
    frequencies: Mapping[str, float], *, width: int = 720, height: int = 360
) -> bytes | None:
    """A PNG word cloud, or None without a CJK font or without words."""
    font = cjk_font()
    if font is None or not frequencies:
        return None
    from wordcloud import WordCloud

    cloud = WordCloud(
        font_path=str(font), width=width, height=height, background_color="white",
        colormap="tab10", prefer_horizontal=1.0, random_state=1, max_words=80,
    ).generate_from_frequencies(dict(frequencies))  # fmt: skip
    out = io.BytesIO()
    cloud.to_image().save(out, format="PNG")
    return out.getvalue()
