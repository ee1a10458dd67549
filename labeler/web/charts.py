"""Small inline SVG charts (no JavaScript, no CDN): the learning curve of a project."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

W, H, PAD_L, PAD_B, PAD_T, PAD_R = 560, 240, 44, 34, 12, 12


def learning_curve_svg(points: Sequence[tuple[int, float | None, float | None]]) -> Markup:
    """Accuracy and macro-F1 (cross-validated on the labeled set) against labels.

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

    def sx(n: float) -> float:
        return PAD_L + (n - x0) / span * (W - PAD_L - PAD_R)

    def sy(v: float) -> float:
        return PAD_T + (1 - v) * (H - PAD_T - PAD_B)

    parts = [
        f'<svg viewBox="0 0 {W} {H}" width="100%" role="img" class="chart" '
        'aria-label="Learning curve: cross-validated accuracy and macro-F1 against labels">'
    ]
    for v in (0.0, 0.25, 0.5, 0.75, 1.0):
        y = sy(v)
        parts.append(
            f'<line x1="{PAD_L}" x2="{W - PAD_R}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
        )
        parts.append(f'<text x="{PAD_L - 6}" y="{y + 4:.1f}" text-anchor="end">{v:.2f}</text>')
    for n in sorted({x0, x1, (x0 + x1) // 2}):
        parts.append(
            f'<text x="{sx(n):.1f}" y="{H - 12}" text-anchor="middle">{escape(str(n))}</text>'
        )
    parts.append(f'<text x="{W / 2:.0f}" y="{H - 1}" text-anchor="middle">labels</text>')
    for k, (name, css) in enumerate((("accuracy", "acc"), ("macro-F1", "f1"))):
        series = [(n, value) for n, *v in pts if (value := v[k]) is not None]
        if not series:
            continue
        coords = " ".join(f"{sx(n):.1f},{sy(v):.1f}" for n, v in series)
        parts.append(f'<polyline points="{coords}" class="line {css}" fill="none"/>')
        for n, v in series:
            parts.append(
                f'<circle cx="{sx(n):.1f}" cy="{sy(v):.1f}" r="3" class="dot {css}">'
                f"<title>{escape(name)} {v:.3f} at {n} labels</title></circle>"
            )
        parts.append(
            f'<text x="{W - PAD_R - 4}" y="{PAD_T + 14 + 16 * k}" text-anchor="end" class="legend {css}">'
            f"{escape(name)}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))
