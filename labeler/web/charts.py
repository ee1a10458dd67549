"""Small inline SVG charts (no JavaScript, no CDN): the learning curve of a project.

The chart carries its own presentation attributes (``fill="none"`` on lines,
colours on strokes and dots) and its classes are its own (``series-*``), so no
page stylesheet can turn a line into a filled shape. The legend sits above the
plot area, outside it, so it never covers a line.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

W, H = 560, 260
PAD_L, PAD_R, PAD_T, PAD_B = 48, 16, 34, 40  # the legend lives in the top band
SERIES = (("accuracy", "acc", "#1f5fbf"), ("macro-F1", "f1", "#b3541e"))


def y_range(values: Sequence[float]) -> tuple[float, float]:
    """From a bit below the lowest value to a bit above the highest, on 0.05 steps, in [0, 1].

    >>> y_range([0.5, 0.8])
    (0.45, 0.85)
    >>> y_range([0.97, 1.0])
    (0.9, 1.0)
    """
    lo = max(0.0, math.floor((min(values) - 0.025) * 20) / 20)
    hi = min(1.0, math.ceil((max(values) + 0.025) * 20) / 20)
    if hi - lo < 0.1:
        lo = max(0.0, hi - 0.1)
        hi = min(1.0, lo + 0.1)
    return round(lo, 2), round(hi, 2)


def _ticks(lo: float, hi: float) -> list[float]:
    step = 0.05 if hi - lo <= 0.25 else 0.1 if hi - lo <= 0.5 else 0.25
    first = math.ceil(lo / step - 1e-9) * step
    out = []
    v = first
    while v <= hi + 1e-9:
        out.append(round(v, 2))
        v += step
    return out


def learning_curve_svg(
    points: Sequence[tuple[int, float | None, float | None]], hlp: float | None = None
) -> Markup:
    """Accuracy and macro-F1 (cross-validated on the labeled set) against labels.

    A line per metric, a point per round; axes start where the data does. ``hlp``, the
    human-level accuracy, is a dashed line across: the model's bar, round by round.

    >>> "polyline" in learning_curve_svg([(10, 0.5, 0.4), (20, 0.7, 0.6)])
    True
    >>> learning_curve_svg([])
    Markup('')
    """
    pts = [(n, a, f) for n, a, f in points if a is not None]
    if not pts:
        return Markup("")
    xs = [n for n, _, _ in pts]
    x0, x1 = min(xs), max(xs)
    span = max(x1 - x0, 1)
    values = [v for _, *vs in pts for v in vs if v is not None]
    y0, y1 = y_range(values + ([hlp] if hlp is not None else []))
    plot_w, plot_h = W - PAD_L - PAD_R, H - PAD_T - PAD_B

    def sx(n: float) -> float:
        if x1 == x0:
            return PAD_L + plot_w / 2
        return PAD_L + (n - x0) / span * plot_w

    def sy(v: float) -> float:
        return PAD_T + (y1 - v) / (y1 - y0) * plot_h

    parts = [
        f'<svg viewBox="0 0 {W} {H}" role="img" class="chart learning-curve" '
        'aria-label="Learning curve: cross-validated accuracy and macro-F1 against labels">',
        f'<rect class="plot-area" x="{PAD_L}" y="{PAD_T}" width="{plot_w}" height="{plot_h}" '
        'fill="none" stroke="#aab0b8"/>',
    ]
    for v in _ticks(y0, y1):
        y = sy(v)
        parts.append(
            f'<line x1="{PAD_L}" x2="{W - PAD_R}" y1="{y:.1f}" y2="{y:.1f}" '
            'class="gridline" stroke="#e1e4e8" fill="none"/>'
        )
        parts.append(
            f'<text x="{PAD_L - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{v:.2f}</text>'
        )
    for n in sorted({x0, x1, (x0 + x1) // 2}):
        parts.append(
            f'<text x="{sx(n):.1f}" y="{H - PAD_B + 16}" text-anchor="middle" class="tick">'
            f"{escape(str(n))}</text>"
        )
    parts.append(
        f'<text x="{PAD_L + plot_w / 2:.0f}" y="{H - 6}" text-anchor="middle" class="axis-title">'
        "labels</text>"
    )
    legend_x = PAD_L
    legend: list[str] = []
    for k, (name, css, colour) in enumerate(SERIES):
        series = [(n, value) for n, *v in pts if (value := v[k]) is not None]
        if not series:
            continue
        coords = " ".join(f"{sx(n):.1f},{sy(v):.1f}" for n, v in series)
        parts.append(
            f'<polyline points="{coords}" class="series series-{css}" fill="none" '
            f'stroke="{colour}" stroke-width="2"/>'
        )
        for n, v in series:
            parts.append(
                f'<circle cx="{sx(n):.1f}" cy="{sy(v):.1f}" r="3.5" class="point series-{css}" '
                f'fill="{colour}" stroke="none">'
                f"<title>{escape(name)} {v:.3f} at {n} labels</title></circle>"
            )
        # The legend: a swatch and a name in the band above the plot area.
        legend.append(
            f'<g class="legend-entry"><line x1="{legend_x}" x2="{legend_x + 18}" y1="14" y2="14" '
            f'stroke="{colour}" stroke-width="3"/>'
            f'<text x="{legend_x + 24}" y="18" class="legend">{escape(name)}</text></g>'
        )
        legend_x += 110
    if hlp is not None:
        colour = "#2f7d32"
        parts.append(
            f'<line x1="{PAD_L}" x2="{W - PAD_R}" y1="{sy(hlp):.1f}" y2="{sy(hlp):.1f}" '
            f'class="series series-hlp" stroke="{colour}" stroke-width="2" stroke-dasharray="6 4" '
            f'fill="none"><title>human-level accuracy {hlp:.3f}</title></line>'
        )
        legend.append(
            f'<g class="legend-entry"><line x1="{legend_x}" x2="{legend_x + 18}" y1="14" y2="14" '
            f'stroke="{colour}" stroke-width="3" stroke-dasharray="6 4"/>'
            f'<text x="{legend_x + 24}" y="18" class="legend">human-level accuracy</text></g>'
        )
    parts.append('<g class="chart-legend">' + "".join(legend) + "</g></svg>")
    return Markup("".join(parts))
