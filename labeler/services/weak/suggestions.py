"""Keyword LFs suggested from the labels so far, for the SME to accept or edit.

The texts come from the preview's per-project sample (the same column loading
and cache, so the page's second request costs no item scan); the labels are
the human consensus (``stats.human_consensus``, read fresh: an SME who just
saw raters label expects their labels to count). The pure
``labeler.weak.suggest.suggest_lfs`` mines and scores the candidates; here the
project's existing LFs are left out (a keyword LF with the same label and
word, a regex LF with the same label whose pattern is just that word), and a
suggested name that an LF already holds gets a suffix, so accepting one never
turns into a new version of an unrelated LF.
"""

from __future__ import annotations

import re
from typing import Any

from labeler.models import Project
from labeler.services.weak import lfs, preview, stats


def _regex_words(spec: dict[str, Any]) -> set[str]:
    """The word a plain-word regex LF matches (``word``, ``\\bword\\b``), lowercased."""
    pattern = str(spec.get("pattern") or "")
    core = pattern.removeprefix(r"\b").removesuffix(r"\b")
    plain = re.sub(r"\\(.)", r"\1", core)
    return {plain.lower()} if re.escape(plain) == core or plain == core else set()


def _free_name(name: str, taken: set[str]) -> str:
    if name not in taken:
        return name
    k = 2
    while f"{name[:95]}_{k}" in taken:
        k += 1
    return f"{name[:95]}_{k}"


def suggestions(
    project: Project, min_precision: float = 0.9, min_support: int = 5, top: int = 20
) -> dict[str, Any]:
    """Suggested keyword LFs with their figures, best coverage first.

    ``precision`` and ``support``: on the items with a human consensus that the
    LF matches; ``coverage``: the share of the items without one that it matches.
    On projects larger than the preview's sample, on that sample (``exact`` false).
    """
    data = preview._sample(project)
    y = stats.as_y(data.ids, stats.human_consensus(project))
    existing = lfs.newest(project)
    specs = [lf.spec for lf in existing if isinstance(lf.spec, dict)]
    regex_taken = {
        (str(s.get("label")), w) for s in specs if s.get("kind") == "regex" for w in _regex_words(s)
    }
    from labeler.weak.suggest import suggest_lfs  # scikit-learn: loaded when used

    found = suggest_lfs(
        data.column(project.text_field),
        y,
        project.label_names,
        min_precision=min_precision,
        min_support=min_support,
        top=top + len(regex_taken),
        exclude=specs,
    )
    taken = {lf.name for lf in existing}
    out = []
    for s in found:
        if (s.spec["label"], s.spec["words"][0].lower()) in regex_taken:
            continue
        spec = {**s.spec, "field": project.text_field}
        spec["name"] = _free_name(spec["name"], taken)
        taken.add(spec["name"])
        out.append(
            {
                "spec": spec,
                "label": spec["label"],
                "words": spec["words"],
                "precision": s.precision,
                "support": s.support,
                "coverage": s.coverage,
            }
        )
    return {
        "suggestions": out[:top],
        "n_labeled": int((y >= 0).sum()),
        "n_items": data.n_items,
        "n_scanned": len(data.ids),
        "exact": len(data.ids) == data.n_items,
    }
