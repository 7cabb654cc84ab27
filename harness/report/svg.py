"""Small inline SVG charts for the HTML report and ``history --plot`` (no plotting dependency).

Each function returns one ``<svg>`` element as a string. Every text that reaches the markup
(titles, labels, series names) is XML-escaped; a ``<title>`` child on each mark gives a
hover tooltip without any script.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

from harness.report import labels

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7",
           "#9c755f", "#bab0ac")
FONT = "font-family:system-ui,-apple-system,'Segoe UI',sans-serif;font-size:11px"


@dataclass(frozen=True)
class Value:
    """A plotted number with an optional interval (whisker)."""

    value: float
    low: float = math.nan
    high: float = math.nan

    @property
    def ok(self) -> bool:
        return not math.isnan(self.value)


@dataclass(frozen=True)
class Point:
    """A labelled point; ``low``/``high``: an optional interval of ``y`` (a vertical whisker)."""

    x: float
    y: float
    label: str
    series: str = ""
    low: float = math.nan
    high: float = math.nan


Colors = Mapping[str, str] | None


def color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def condition_colors(conditions: Sequence[str]) -> dict[str, str]:
    """One colour per condition for a whole page (in the leaderboard's order): a colour never
    means two things on it."""
    return {str(c): color(i) for i, c in enumerate(conditions)}


def series_color(name: str, names: Sequence[str], colors: Colors) -> str:
    """A series' colour: the page's fixed one when given, else its place in the palette."""
    if colors and name in colors:
        return colors[name]
    return color(list(names).index(name))


def _num(x: float) -> str:
    return f"{x:.1f}"


def nice_ticks(low: float, high: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values covering [low, high]."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        high = low + 1.0
    raw = (high - low) / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(low / step) * step
    ticks = [round(start, 10)]
    while ticks[-1] < high - step * 1e-9:  # the last tick reaches the top of the data
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _fmt_tick(v: float) -> str:
    return f"{v:g}" if abs(v) >= 1e-9 else "0"


class _Frame:
    """Plot area with linear axes; maps data to pixel coordinates."""

    def __init__(self, width: int, height: int, y_range: tuple[float, float], x_range: tuple[float, float] = (0, 1),
                 left: int = 52, right: int = 16, top: int = 30, bottom: int = 46):
        self.width, self.height = width, height
        self.left, self.right, self.top, self.bottom = left, right, top, bottom
        self.y0, self.y1 = y_range
        self.x0, self.x1 = x_range

    @property
    def plot_w(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_h(self) -> float:
        return self.height - self.top - self.bottom

    def x(self, v: float) -> float:
        return self.left + (v - self.x0) / ((self.x1 - self.x0) or 1) * self.plot_w

    def y(self, v: float) -> float:
        v = min(max(v, self.y0), self.y1)
        return self.top + (1 - (v - self.y0) / ((self.y1 - self.y0) or 1)) * self.plot_h


def _open(width: int, height: int, title: str) -> list[str]:
    return [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" style="{FONT}">',
            f"<title>{escape(title)}</title>",
            f'<rect width="{width}" height="{height}" fill="#fff"/>',
            f'<text x="{width / 2:.1f}" y="16" text-anchor="middle" font-weight="600" font-size="13">'
            f"{escape(title)}</text>"]


def _y_axis(f: _Frame, ticks: list[float], label: str, pct: bool = False) -> list[str]:
    out = []
    for t in ticks:
        y = f.y(t)
        out.append(f'<line x1="{f.left}" x2="{f.width - f.right}" y1="{_num(y)}" y2="{_num(y)}" '
                   f'stroke="{"#999" if t == 0 else "#e5e5e5"}"/>')
        text = f"{t * 100:g}" if pct else _fmt_tick(t)
        out.append(f'<text x="{f.left - 6}" y="{_num(y + 4)}" text-anchor="end" fill="#444">{escape(text)}</text>')
    out.append(f'<text transform="translate(13,{_num(f.top + f.plot_h / 2)}) rotate(-90)" text-anchor="middle" '
               f'fill="#444">{escape(label)}</text>')
    return out


def _legend_step(name: str) -> float:
    return 24 + 6.5 * len(name)


def legend_width(names: Sequence[str]) -> float:
    return sum(_legend_step(n) for n in names)


def _legend(names: Sequence[str], x: float, y: float, colors: Colors = None) -> list[str]:
    out, cx = [], x
    for name in names:
        out.append(f'<rect x="{_num(cx)}" y="{_num(y - 9)}" width="10" height="10" '
                   f'fill="{series_color(name, names, colors)}"/>')
        out.append(f'<text x="{_num(cx + 14)}" y="{_num(y)}" fill="#222">{escape(name)}</text>')
        cx += _legend_step(name)
    return out


def _whisker(x: float, low: float, high: float, f: _Frame) -> str:
    y_lo, y_hi = f.y(low), f.y(high)
    return (f'<path d="M{_num(x)},{_num(y_lo)}V{_num(y_hi)}M{_num(x - 3)},{_num(y_lo)}h6'
            f'M{_num(x - 3)},{_num(y_hi)}h6" stroke="#222" fill="none"/>')


def empty(title: str, message: str, width: int = 420, height: int = 120) -> str:
    """A placeholder saying why a chart has nothing to show."""
    parts = _open(width, height, title)
    parts.append(f'<text x="{width / 2:.1f}" y="{height / 2 + 10:.1f}" text-anchor="middle" fill="#777">'
                 f"{escape(message)}</text></svg>")
    return "\n".join(parts)


def axis_label_lines(label: str) -> list[str]:
    """An x-axis label as its lines: "task/metric" is split after the slash, since task names
    are long and a group is only a few bars wide (the chart widens its groups for the rest)."""
    head, slash, tail = label.rpartition("/")
    return [head + slash, tail] if head else [label]


def _axis_label(x: float, y: float, lines: Sequence[str]) -> list[str]:
    return [f'<text x="{_num(x)}" y="{_num(y + 14 * i)}" text-anchor="middle" fill="#222">{escape(line)}</text>'
            for i, line in enumerate(lines)]


def bar_chart(title: str, groups: Sequence[str], series: Sequence[str], values: dict[tuple[str, str], Value], *,
              y_label: str = "", y_range: tuple[float, float] | None = None, pct: bool = False,
              width: int | None = None, height: int = 300, colors: Colors = None) -> str:
    """Grouped bars: one group per x label, one bar per series, CI whiskers where known
    (``colors``: series -> colour, as in :func:`scatter`)."""
    known = [v for v in values.values() if v.ok]
    if not groups or not series or not known:
        return empty(title, "nothing to plot")
    if y_range is None:
        lows = [min(v.value, v.low if not math.isnan(v.low) else v.value) for v in known]
        highs = [max(v.value, v.high if not math.isnan(v.high) else v.value) for v in known]
        ticks = nice_ticks(min(0.0, min(lows)), max(0.0, max(highs)))
        y_range = (ticks[0], ticks[-1])
    else:
        ticks = nice_ticks(*y_range)
    bar_w = 16 if len(series) > 3 else 22
    lines = {g: axis_label_lines(g) for g in groups}
    label_w = max(labels.CHAR_W * len(line) for g in groups for line in lines[g])
    group_w = max(bar_w * len(series) + 18, label_w + 12)  # a group is as wide as its label too
    width = width or int(max(360, 70 + group_w * len(groups), 70 + legend_width(series)))
    depth = max(len(v) for v in lines.values())
    f = _Frame(width, height + 14 * (depth - 1), y_range, bottom=54 + 14 * (depth - 1))
    parts = _open(width, f.height, title) + _y_axis(f, ticks, y_label, pct)
    step = f.plot_w / len(groups)
    zero = f.y(max(y_range[0], min(0.0, y_range[1])))
    for gi, group in enumerate(groups):
        start = f.left + gi * step + (step - bar_w * len(series)) / 2
        for si, name in enumerate(series):
            v = values.get((group, name))
            if v is None or not v.ok:
                continue
            x = start + si * bar_w
            top = f.y(v.value)
            y, h = min(top, zero), abs(zero - top)
            tip = f"{name} · {group}: {v.value:.3f}" + (
                f" [{v.low:.3f}, {v.high:.3f}]" if not math.isnan(v.low) else "")
            parts.append(f'<rect x="{_num(x + 1)}" y="{_num(y)}" width="{bar_w - 2}" height="{_num(max(h, 0.5))}" '
                         f'fill="{series_color(name, series, colors)}"><title>{escape(tip)}</title></rect>')
            if not math.isnan(v.low) and not math.isnan(v.high):
                parts.append(_whisker(x + bar_w / 2, v.low, v.high, f))
        parts += _axis_label(f.left + (gi + 0.5) * step, f.height - f.bottom + 16, lines[group])
    parts += _legend(series, f.left, f.height - 12, colors)
    parts.append("</svg>")
    return "\n".join(parts)


def scatter(title: str, points: Sequence[Point], *, x_label: str, y_label: str,
            y_range: tuple[float, float] | None = None, x_range: tuple[float, float] | None = None,
            pct: bool = False, width: int = 460, height: int = 320, colors: Colors = None) -> str:
    """Labelled points, coloured by series (``colors``: series -> colour, so a page keeps one
    colour per condition; else the palette in order); labels by harness.report.labels."""
    pts = [p for p in points if math.isfinite(p.x) and math.isfinite(p.y)]
    if not pts:
        return empty(title, "no data for this chart (the records lack the needed fields)")
    if x_range is None:
        xs = [p.x for p in pts]
        span = (max(xs) - min(xs)) or max(abs(max(xs)), 1.0)
        x_ticks = nice_ticks(min(xs) - 0.08 * span, max(xs) + 0.15 * span)
    else:
        x_ticks = nice_ticks(*x_range)
    if y_range is None:
        ys = [p.y for p in pts]
        y_ticks = nice_ticks(min(0.0, min(ys)), max(ys) * 1.05 or 1.0)
    else:
        y_ticks = nice_ticks(*y_range)
    f = _Frame(width, height, (y_ticks[0], y_ticks[-1]), (x_ticks[0], x_ticks[-1]), bottom=58)
    parts = _open(width, height, title) + _y_axis(f, y_ticks, y_label, pct)
    for t in x_ticks:
        x = f.x(t)
        parts.append(f'<line x1="{_num(x)}" x2="{_num(x)}" y1="{f.top}" y2="{_num(f.top + f.plot_h)}" stroke="#f0f0f0"/>')
        parts.append(f'<text x="{_num(x)}" y="{_num(f.top + f.plot_h + 14)}" text-anchor="middle" fill="#444">'
                     f"{escape(_fmt_tick(t))}</text>")
    parts.append(f'<text x="{_num(f.left + f.plot_w / 2)}" y="{_num(f.height - 28)}" text-anchor="middle" '
                 f'fill="#444">{escape(x_label)}</text>')
    names = list(dict.fromkeys(p.series for p in pts))
    xy = [(f.x(p.x), f.y(p.y)) for p in pts]
    for p, (x, y) in zip(pts, xy):
        if math.isfinite(p.low) and math.isfinite(p.high):
            parts.append(_whisker(x, p.low, p.high, f))
    for p, (x, y) in zip(pts, xy):
        parts.append(f'<circle cx="{_num(x)}" cy="{_num(y)}" r="5" fill="{series_color(p.series, names, colors)}" '
                     f'fill-opacity="0.85"><title>{escape(f"{p.label}: x={p.x:.3g}, y={p.y:.3f}")}</title></circle>')
    bounds = labels.Box(2, 22, width - 2, f.top + f.plot_h)
    for p, spot in zip(pts, labels.place(xy, [p.label for p in pts], bounds)):
        anchor = "" if spot.anchor == "start" else f' text-anchor="{spot.anchor}"'
        parts.append(f'<text x="{_num(spot.x)}" y="{_num(spot.y)}"{anchor} fill="#222">{escape(p.label)}</text>')
    if any(names):
        parts += _legend([n for n in names], f.left, f.height - 8, colors)
    parts.append("</svg>")
    return "\n".join(parts)


def line_chart(title: str, x_labels: Sequence[str], series: dict[str, Sequence[Value | None]], *,
               y_label: str = "", width: int | None = None, height: int = 360) -> str:
    """One line per series over ordered x labels (runs), with CI whiskers where known."""
    known = [v for vs in series.values() for v in vs if v is not None and v.ok]
    if not x_labels or not known:
        return empty(title, "nothing to plot")
    lows = [v.low if not math.isnan(v.low) else v.value for v in known]
    highs = [v.high if not math.isnan(v.high) else v.value for v in known]
    lo, hi = min(lows), max(highs)
    pad = (hi - lo) * 0.1 or max(abs(hi) * 0.1, 0.05)
    ticks = nice_ticks(lo - pad, hi + pad)
    width = width or max(420, 80 + 70 * len(x_labels))
    f = _Frame(width, height, (ticks[0], ticks[-1]), (-0.5, len(x_labels) - 0.5), bottom=100)
    parts = _open(width, height, title) + _y_axis(f, ticks, y_label)
    for i, label in enumerate(x_labels):
        x = f.x(i)
        parts.append(f'<text transform="translate({_num(x)},{_num(f.top + f.plot_h + 12)}) rotate(30)" '
                     f'fill="#444">{escape(label)}</text>')
    for si, (name, values) in enumerate(series.items()):
        c = color(si)
        path = []
        for i, v in enumerate(values):
            if v is None or not v.ok:
                continue
            path.append(f"{'M' if not path else 'L'}{_num(f.x(i))},{_num(f.y(v.value))}")
        if path:
            parts.append(f'<path d="{"".join(path)}" stroke="{c}" stroke-width="2" fill="none"/>')
        for i, v in enumerate(values):
            if v is None or not v.ok:
                continue
            if not math.isnan(v.low) and not math.isnan(v.high):
                parts.append(_whisker(f.x(i), v.low, v.high, f).replace('stroke="#222"', f'stroke="{c}"'))
            parts.append(f'<circle cx="{_num(f.x(i))}" cy="{_num(f.y(v.value))}" r="3.5" fill="{c}">'
                         f"<title>{escape(f'{name} · {x_labels[i]}: {v.value:.4g}')}</title></circle>")
    parts += _legend(list(series), f.left, f.height - 8)
    parts.append("</svg>")
    return "\n".join(parts)


__all__ = ["Point", "Value", "bar_chart", "empty", "line_chart", "nice_ticks", "scatter"]
