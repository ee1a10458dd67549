"""Server-rendered SVG for the quality section: the rater x rater kappa heatmap.

No JavaScript and no CDN, like ``charts.py``: the SVG scales with its box
(``viewBox``, width 100 %), so 50 raters still fit a 390 px screen; each cell
carries a ``<title>`` with the pair, kappa and shared items.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from markupsafe import Markup, escape

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
