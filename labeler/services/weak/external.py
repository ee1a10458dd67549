"""External LF votes from a Snorkel label matrix (``L``, saved with ``np.save``).

Teams that already ran Snorkel bring their ``L`` (items x LFs, -1 abstain) and
the items' external ids in its row order. Each column becomes an external LF
(``snorkel_k`` or given names) stored exactly like WRENCH imports store
``wrench_k`` (``importing.publish.external_lfs`` / ``write_votes``), so fits,
stats and export treat them alike. Checked whole before anything is written:
a vote that is not a label index, an unknown or repeated id, a name taken by
one of the project's own LFs is a refusal naming the row, column, line or name,
and nothing is stored.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, select

from labeler.extensions import db
from labeler.models import Item, LabelingFunction, LFApplyState, Project
from labeler.models.types import utcnow
from labeler.services.errors import BadInput, Conflict
from labeler.services.importing.publish import external_lfs, write_votes
from labeler.services.inputs import is_reference
from labeler.services.weak import votes

CHUNK = 5000
NAME_MAX = 100


@dataclass
class _Row:
    external_id: str
    votes: list[int]


def load_matrix(data: bytes) -> np.ndarray:
    """A Snorkel label matrix saved with ``np.save``, read without unpickling anything.

    >>> import io
    >>> buf = io.BytesIO(); np.save(buf, np.array([[0, -1]])); load_matrix(buf.getvalue()).tolist()
    [[0, -1]]
    >>> load_matrix(b"junk")
    Traceback (most recent call last):
    ...
    labeler.services.errors.BadInput: matrix: not a numpy array file (np.save's .npy): ...
    """
    try:
        L = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise BadInput(
            f"matrix: not a numpy array file (np.save's .npy): {str(exc)[:200]}",
            {"field": "matrix"},
        ) from None
    if not isinstance(L, np.ndarray):  # an .npz archive
        raise BadInput("matrix: must hold one array (np.save), not an archive", {"field": "matrix"})
    return L


def read_ids(text: str) -> list[str]:
    """One external id per line (trailing blank lines ignored); a blank line inside is refused.

    >>> read_ids("a\\nb\\n\\n")
    ['a', 'b']
    """
    lines = [line.rstrip("\r") for line in text.split("\n")]
    while lines and not lines[-1].strip():
        lines.pop()
    for n, line in enumerate(lines, 1):
        if not line.strip():
            raise BadInput(f"ids: line {n} is blank", {"field": "ids", "line": n})
    return [line.strip() for line in lines]


def _check_matrix(L: np.ndarray, n_labels: int) -> np.ndarray:
    if L.ndim != 2:
        raise BadInput(f"matrix: must be 2-D (items x LFs), not {L.ndim}-D", {"field": "matrix"})
    if L.dtype.kind not in "iu":
        raise BadInput(f"matrix: must hold integers, not {L.dtype}", {"field": "matrix"})
    bad = np.argwhere((L < -1) | (n_labels <= L))
    if len(bad):
        row, col = (int(v) for v in bad[0])
        raise BadInput(
            f"matrix: row {row}, column {col}: {int(L[row, col])} is neither -1 (abstain) "
            f"nor a label index below {n_labels}",
            {"field": "matrix", "row": row, "column": col},
        )
    return L.astype(np.int64)


def _check_names(project: Project, names: Sequence[str] | None, n: int) -> list[str]:
    if names is None:
        names = [f"snorkel_{k}" for k in range(n)]
    names = [name.strip() for name in names]
    if len(names) != n:
        raise BadInput(f"names: {len(names)} names for {n} columns", {"field": "names"})
    for name in names:
        if not is_reference(name, NAME_MAX):
            raise BadInput(f"names: {name[:40]!r} is not a usable name", {"field": "names"})
    if len(set(names)) != n:
        raise BadInput("names: a name is repeated", {"field": "names"})
    own = db.session.scalars(
        select(LabelingFunction.name).where(
            LabelingFunction.project_id == project.id,
            LabelingFunction.name.in_(names),
            LabelingFunction.kind != "external",
        )
    ).first()
    if own is not None:
        raise Conflict(f"names: {own!r} is one of the project's own LFs", {"field": "names"})
    return names


def import_matrix(
    project: Project, L: np.ndarray, ids: Sequence[str], names: Sequence[str] | None = None
) -> dict[str, object]:
    """Store ``L``'s columns as external LFs of ``project``; their votes replace earlier ones.

    ``ids[r]`` is the external id of the item of row ``r``. Returns the LFs with
    their vote counts and coverage.
    """
    L = _check_matrix(np.asarray(L), len(project.label_names))
    if L.shape[0] != len(ids):
        raise BadInput(f"ids: {len(ids)} ids for a matrix of {L.shape[0]} rows", {"field": "ids"})
    known: dict[str, int] = {
        ext: item_id
        for ext, item_id in db.session.execute(
            select(Item.external_id, Item.id).where(Item.project_id == project.id)
        )
    }
    seen: dict[str, int] = {}
    for line, ext in enumerate(ids, 1):
        if ext not in known:
            raise BadInput(
                f"ids: line {line}: no item {ext[:120]!r} in this project",
                {"field": "ids", "line": line},
            )
        if ext in seen:
            raise BadInput(
                f"ids: line {line}: {ext[:120]!r} repeats line {seen[ext]}",
                {"field": "ids", "line": line},
            )
        seen[ext] = line
    names = _check_names(project, names, L.shape[1])
    now = utcnow()
    lf_ids = external_lfs(project.id, names, now)
    rows = [_Row(ext, L[r].tolist()) for r, ext in enumerate(ids)]
    for lo in range(0, len(rows), CHUNK):
        write_votes(rows[lo : lo + CHUNK], known, lf_ids)
    top = db.session.scalar(select(func.max(Item.id)).where(Item.project_id == project.id))
    out = []
    for name, lf_id in zip(names, lf_ids, strict=True):
        state = db.session.get(LFApplyState, lf_id) or LFApplyState(lf_id=lf_id)
        state.applied_upto, state.applied_at = int(top or 0), now
        state.n_votes = votes.count(lf_id)
        db.session.add(state)
        out.append({"name": name, "id": lf_id, "n_votes": state.n_votes})
    db.session.commit()
    return {"n_rows": int(L.shape[0]), "lfs": out}
