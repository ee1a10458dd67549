"""Agreement over time: percent agreement of the items finished in each period.

An item belongs to the period (day, week or 30 days, whichever gives at most
``max_points`` periods over the project's span) of its latest current label. A
falling line says the raters drift apart (instructions that need sharpening, a new
rater, a harder batch); the engineer's project page draws it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import select

from labeler.extensions import db
from labeler.models import Annotation, AnnotationKind, Project
from labeler.quality import agreement as ag

DAY = 86_400.0
WIDTHS = ((DAY, "day"), (7 * DAY, "week"), (30 * DAY, "30 days"))


def agreement_over_time(project: Project, max_points: int = 12) -> dict[str, Any]:
    """``{"period": "day"|"week"|"30 days", "points": [{"start", "n_items",
    "percent_agreement"}]}`` over the project's current labels (the last ``max_points``
    periods with items in them)."""
    positions = {lb.name: lb.position for lb in project.labels}
    rows = db.session.execute(
        select(Annotation.item_id, Annotation.label, Annotation.created_at).where(
            Annotation.project_id == project.id,
            Annotation.is_current,
            Annotation.kind == AnnotationKind.LABEL.value,
        )
    ).all()
    keep = [r for r in rows if r.label in positions]
    if not keep:
        return {"period": None, "points": []}
    item_ids, item = np.unique(np.asarray([r.item_id for r in keep]), return_inverse=True)
    label = np.asarray([positions[r.label] for r in keep], dtype=np.int64)
    when = np.asarray(
        [
            (r.created_at if r.created_at.tzinfo else r.created_at.replace(tzinfo=UTC)).timestamp()
            for r in keep
        ]
    )
    last = np.full(len(item_ids), -np.inf)
    np.maximum.at(last, item, when)
    t0, t1 = float(last.min()), float(last.max())
    width, name = next(((w, n) for w, n in WIDTHS if (t1 - t0) / w < max_points), WIDTHS[-1])
    # Weeks start on Mondays (the epoch began on a Thursday, 1970-01-05 was a Monday).
    offset = 4 * DAY if name == "week" else 0.0
    start = np.floor((t0 - offset) / width) * width + offset
    group = ((last - start) // width).astype(np.int64)
    n_groups = int(group.max()) + 1
    counts = ag.item_label_counts(item, label, len(item_ids), len(positions))
    share, n = ag.percent_agreement_by_group(counts, group, n_groups)
    points = [
        {
            "start": datetime.fromtimestamp(start + g * width, UTC).isoformat(),
            "n_items": int(n[g]),
            "percent_agreement": float(share[g]),
        }
        for g in range(n_groups)
        if n[g] > 0
    ]
    return {"period": name, "points": points[-max_points:]}
