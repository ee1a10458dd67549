"""Server-rendered SVG for the quality section: the rater x rater kappa heatmap and
agreement over time.

No JavaScript and no CDN, like ``charts.py``: the SVG scales with its box
(``viewBox``, width 100 %), so 50 raters still fit a 390 px screen; each cell
carries a ``<title>`` with the pair, kappa and shared items.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from markupsafe import Markup, escape

from labeler.web.charts import PAD_B, PAD_L, PAD_R, PAD_T, H, W, _ticks, y_range

CELL = 14
LABEL_W = 90


def kappa_colour(kappa: float | None) -> str:
    """White at 0, blue towards 1, red towards -1, grey when undefined.

    >>> kappa_colour(1.0), kappa_colour(0.0), kappa_colour(None)
    ('#1f5fbf', '#ffffff', '#d0d4da')
    """
    if kappa is None or math.isnan(kappa):
        return "#d0d4da"
    k = max(-1.0, min(1.0, kappa))
    end = (31, 95, 191) if k >= 0 else (179, 38, 30)
    t = abs(k)
    r, g, b = (round(255 + (e - 255) * t) for e in end)
    return f"#{r:02x}{g:02x}{b:02x}"


def kappa_heatmap_svg(
    raters: Sequence[str], cohen: Mapping[str, float | None], support: Mapping[str, int]
) -> Markup:
    """The pairwise Cohen's kappa matrix (keys ``"A|B"``, names sorted) as an SVG heatmap."""
    names = sorted(raters)
    n = len(names)
    if n < 2 or not cohen:
        return Markup("")
    size = LABEL_W + n * CELL
    parts = [
        f'<svg viewBox="0 0 {size + 60} {size + 4}" width="100%" role="img" '
        'class="chart kappa-heatmap" aria-label="Cohen\'s kappa of every rater pair">'
    ]
    for i, name in enumerate(names):
        y = LABEL_W + i * CELL + CELL * 0.75
        parts.append(
            f'<text x="{LABEL_W - 4}" y="{y:.1f}" text-anchor="end" class="tick">'
            f"{escape(name[:14])}</text>"
        )
        x = LABEL_W + i * CELL + CELL * 0.75
        parts.append(
            f'<text transform="translate({x:.1f},{LABEL_W - 4}) rotate(-60)" class="tick">'
            f"{escape(name[:14])}</text>"
        )
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            if i == j:
                continue
            key = f"{a}|{b}" if a < b else f"{b}|{a}"
            if key not in cohen:
                continue
            kappa = cohen[key]
            shown = "n/a" if kappa is None else f"{kappa:.2f}"
            parts.append(
                f'<rect x="{LABEL_W + j * CELL}" y="{LABEL_W + i * CELL}" width="{CELL}" '
                f'height="{CELL}" fill="{kappa_colour(kappa)}" stroke="#ffffff">'
                f"<title>{escape(a)} / {escape(b)}: kappa {shown} on {support.get(key, 0)} items"
                "</title></rect>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def agreement_trend_svg(points: Sequence[Mapping[str, object]], period: str | None) -> Markup:
    """Percent agreement per period (``trend.agreement_over_time``'s points) as a line.

    >>> pts = [{"start": "2026-11-02T00:00:00+00:00", "n_items": 4, "percent_agreement": 0.8},
    ...        {"start": "2026-11-09T00:00:00+00:00", "n_items": 6, "percent_agreement": 0.6}]
    >>> "polyline" in agreement_trend_svg(pts, "week"), agreement_trend_svg(pts[:1], "week")
    (True, Markup(''))
    """
    pts = [p for p in points if isinstance(p.get("percent_agreement"), float)]
    if len(pts) < 2:
        return Markup("")
    values = [float(p["percent_agreement"]) for p in pts]  # type: ignore[arg-type]
    y0, y1 = y_range(values)
    plot_w, plot_h = W - PAD_L - PAD_R, H - PAD_T - PAD_B

    def sx(k: int) -> float:
        return PAD_L + k / (len(pts) - 1) * plot_w

    def sy(v: float) -> float:
        return PAD_T + (y1 - v) / (y1 - y0) * plot_h

    colour = "#1f5fbf"
    parts = [
        f'<svg viewBox="0 0 {W} {H}" role="img" class="chart agreement-trend" '
        f'aria-label="Percent agreement of the items finished each {escape(period or "period")}">',
        f'<rect x="{PAD_L}" y="{PAD_T}" width="{plot_w}" height="{plot_h}" fill="none" '
        'stroke="#aab0b8"/>',
    ]
    for v in _ticks(y0, y1):
        parts.append(
            f'<line x1="{PAD_L}" x2="{W - PAD_R}" y1="{sy(v):.1f}" y2="{sy(v):.1f}" '
            'stroke="#e1e4e8" fill="none"/>'
            f'<text x="{PAD_L - 6}" y="{sy(v) + 4:.1f}" text-anchor="end" class="tick">{v:.2f}</text>'
        )
    for k in sorted({0, len(pts) - 1, (len(pts) - 1) // 2}):
        parts.append(
            f'<text x="{sx(k):.1f}" y="{H - PAD_B + 16}" text-anchor="middle" class="tick">'
            f"{escape(str(pts[k]['start'])[:10])}</text>"
        )
    parts.append(
        f'<text x="{PAD_L + plot_w / 2:.0f}" y="{H - 6}" text-anchor="middle" class="axis-title">'
        f"{escape(period or '')} of the items' last answer</text>"
    )
    coords = " ".join(f"{sx(k):.1f},{sy(v):.1f}" for k, v in enumerate(values))
    parts.append(f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2"/>')
    for k, (p, v) in enumerate(zip(pts, values, strict=True)):
        parts.append(
            f'<circle cx="{sx(k):.1f}" cy="{sy(v):.1f}" r="3.5" fill="{colour}" stroke="none">'
            f"<title>{escape(str(p['start'])[:10])}: {v:.3f} on {escape(str(p['n_items']))} items"
            "</title></circle>"
        )
    parts.append(
        f'<g class="chart-legend"><line x1="{PAD_L}" x2="{PAD_L + 18}" y1="14" y2="14" '
        f'stroke="{colour}" stroke-width="3"/><text x="{PAD_L + 24}" y="18" class="legend">'
        "percent agreement</text></g></svg>"
    )
    return Markup("".join(parts))
