"""The LF coverage picture: a server-rendered SVG bar chart (no JavaScript, no CDN).

One horizontal bar per labeling function (its coverage of the project's items)
and one for all of them together; the part of a bar where the LF conflicts
with another is drawn darker. Names are escaped; the SVG carries its own colours.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup, escape

W = 560
ROW, PAD_T, LABEL_W, PAD_R = 22, 26, 150, 56


def coverage_svg(rows: Sequence[Mapping[str, Any]], total: float | None) -> Markup:
    """Bars of ``coverage`` (and ``conflicts``) per LF row, then the total coverage.

    >>> svg = coverage_svg([{"name": "kw<1>", "coverage": 0.5, "conflicts": 0.1}], 0.5)
    >>> "kw&lt;1&gt;" in svg and "50%" in svg
    True
    >>> coverage_svg([], None)
    Markup('')
    """
    if not rows:
        return Markup("")
    bars = [
        (str(r["name"]), float(r.get("coverage") or 0), float(r.get("conflicts") or 0))
        for r in rows
    ]
    bars.append(("all LFs", float(total or 0), 0.0))
    plot_w = W - LABEL_W - PAD_R
    height = PAD_T + ROW * len(bars) + 8
    parts = [
        f'<svg viewBox="0 0 {W} {height}" role="img" class="chart coverage-chart" '
        'aria-label="Coverage of each labeling function and of all together">',
        f'<text x="{LABEL_W}" y="16" class="legend">coverage of the items '
        "(darker: conflicts with another LF)</text>",
    ]
    for k, (name, cov, conflict) in enumerate(bars):
        y = PAD_T + k * ROW
        short = name if len(name) <= 22 else name[:21] + "…"
        colour = "#1f5fbf" if k < len(bars) - 1 else "#2e7d32"
        parts.append(
            f'<text x="{LABEL_W - 6}" y="{y + 14}" text-anchor="end" class="tick">'
            f"{escape(short)}<title>{escape(name)}</title></text>"
        )
        parts.append(
            f'<rect x="{LABEL_W}" y="{y + 3}" width="{plot_w}" height="{ROW - 8}" '
            'fill="#eef1f4" stroke="none"/>'
        )
        parts.append(
            f'<rect x="{LABEL_W}" y="{y + 3}" width="{max(cov, 0) * plot_w:.1f}" '
            f'height="{ROW - 8}" fill="{colour}" stroke="none" class="bar"/>'
        )
        if conflict > 0:
            parts.append(
                f'<rect x="{LABEL_W}" y="{y + 3}" width="{min(conflict, cov) * plot_w:.1f}" '
                f'height="{ROW - 8}" fill="#0b2f66" stroke="none" class="bar-conflict"/>'
            )
        parts.append(
            f'<text x="{LABEL_W + plot_w + 6}" y="{y + 14}" class="tick">{cov * 100:.0f}%</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
