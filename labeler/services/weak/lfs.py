"""Define, version and switch labeling functions.

A save never edits a row: it adds the next version of the name (old versions
and their votes stay, so a fit can say exactly which versions it used). A
save whose definition equals the newest version's changes nothing. ``active``
is switched for every version of a name at once; fits use the newest version
of each active name. External LFs (``wrench_k``, imported votes) are listed and
switched like the others but cannot be redefined.

Python LFs come as a file: each ``@labeling_function`` in it becomes an LF
named after the function (a version per upload that changes the file). The
file is only ever executed in a child process with time and memory limits
(``labeler.weak.python_lfs``), never in the web process itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from labeler.extensions import db
from labeler.models import LabelingFunction, LFApplyState, Project, User
from labeler.services.errors import BadInput, Conflict, NotFound
from labeler.services.inputs import as_id, is_reference

DECLARATIVE = ("keyword", "regex", "threshold", "lookup")
MAX_SOURCE_BYTES = 1_000_000


def spec_error(exc: Exception) -> BadInput:
    """An ``LFSpecError`` (or another refusal of the core) as a 400 naming the field."""
    field = getattr(exc, "field", None) or "spec"
    message = getattr(exc, "message", None) or str(exc)
    return BadInput(f"spec.{field}: {message}", {"field": f"spec.{field}"})


def build_lf(project: Project, spec: Mapping[str, Any]) -> Any:
    """The core's LF for ``spec``, the keyword/regex field defaulting to the project's text field."""
    from labeler.weak.lf import lf_from_spec

    full = dict(spec)
    if full.get("kind") in ("keyword", "regex"):
        full.setdefault("field", project.text_field)
    try:
        return lf_from_spec(full, project.label_names)
    except (ValueError, TypeError) as exc:
        raise spec_error(exc) from None


def canonical_spec(project: Project, spec: Mapping[str, Any]) -> dict[str, Any]:
    """``spec`` validated and written the one way ``lf_to_spec`` writes it."""
    from labeler.weak.lf import lf_to_spec

    return lf_to_spec(build_lf(project, spec), project.label_names)


def newest(project: Project) -> list[LabelingFunction]:
    """The newest version of every LF name of ``project``, by name."""
    top = (
        select(LabelingFunction.name, func.max(LabelingFunction.version).label("v"))
        .where(LabelingFunction.project_id == project.id)
        .group_by(LabelingFunction.name)
        .subquery()
    )
    return list(
        db.session.scalars(
            select(LabelingFunction)
            .join(
                top,
                (LabelingFunction.name == top.c.name) & (LabelingFunction.version == top.c.v),
            )
            .where(LabelingFunction.project_id == project.id)
            .order_by(LabelingFunction.name)
        )
    )


def used(project: Project) -> list[LabelingFunction]:
    """What a fit uses: the newest version of each active name, by id (a stable column order)."""
    return sorted((lf for lf in newest(project) if lf.active), key=lambda lf: lf.id)


def find_lf(project: Project, ref: str | int) -> LabelingFunction:
    """An LF of ``project`` by version id, or by name (its newest version)."""
    lf_id = as_id(ref)
    if lf_id is not None:
        found = db.session.get(LabelingFunction, lf_id)
        if found is not None and found.project_id == project.id:
            return found
    if isinstance(ref, str) and is_reference(ref, 120):
        found = db.session.scalar(
            select(LabelingFunction)
            .where(LabelingFunction.project_id == project.id, LabelingFunction.name == ref)
            .order_by(LabelingFunction.version.desc())
            .limit(1)
        )
        if found is not None:
            return found
    raise NotFound(f"no labeling function {str(ref)[:120]!r} in this project")


def _latest(project: Project, name: str) -> LabelingFunction | None:
    return db.session.scalar(
        select(LabelingFunction)
        .where(LabelingFunction.project_id == project.id, LabelingFunction.name == name)
        .order_by(LabelingFunction.version.desc())
        .limit(1)
    )


def _add_version(
    project: Project,
    name: str,
    kind: str,
    *,
    spec: dict[str, Any],
    source: str | None,
    user: User | None,
) -> tuple[LabelingFunction, bool]:
    latest = _latest(project, name)
    if latest is not None:
        if (latest.kind == "python") != (kind == "python") or latest.kind == "external":
            raise Conflict(
                f"{name!r} is a {latest.kind} labeling function; choose another name",
                {"field": "name"},
            )
        if latest.kind == kind and latest.spec == spec and latest.source == source:
            return latest, False
    row = LabelingFunction(
        project_id=project.id,
        name=name,
        kind=kind,
        version=(latest.version + 1) if latest else 1,
        active=True,
        spec=spec,
        source=source,
        created_by_id=user.id if user else None,
    )
    db.session.add(row)
    if latest is not None:
        # A save switches the name on: every version shares the switch.
        db.session.execute(
            update(LabelingFunction)
            .where(LabelingFunction.project_id == project.id, LabelingFunction.name == name)
            .values(active=True)
        )
    return row, True


def _commit_versions() -> None:
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("another save of this labeling function came first; try again") from None


def save_lf(
    project: Project, spec: Mapping[str, Any], user: User | None = None
) -> tuple[LabelingFunction, bool]:
    """Save a declarative LF: a new version when it differs from the newest; (lf, created)."""
    canonical = canonical_spec(project, spec)
    row, created = _add_version(
        project, canonical["name"], canonical["kind"], spec=canonical, source=None, user=user
    )
    if created:
        _commit_versions()
    return row, created


def upload_python(
    project: Project, source: str, filename: str = "lfs.py", user: User | None = None
) -> list[tuple[LabelingFunction, bool]]:
    """Save the ``@labeling_function`` objects of a Python file, one LF per function.

    The file is parsed and its names listed in a child process with a time
    limit; a syntax error or a file without LFs is a 400 naming ``file``.
    """
    from labeler.weak.python_lfs import list_python_lfs

    if len(source.encode("utf-8", "replace")) > MAX_SOURCE_BYTES:
        raise BadInput(f"file: at most {MAX_SOURCE_BYTES} bytes", {"field": "file"})
    if "\x00" in source:
        raise BadInput("file: must not contain NUL characters", {"field": "file"})
    # End the transaction before the child process runs (seconds): on SQLite an open
    # transaction holds the only write lock, and every other request would wait on it.
    db.session.commit()
    try:
        names = list_python_lfs(
            source, timeout_s=float(current_app.config["LABELER_PYTHON_LF_LIST_TIMEOUT"])
        )
    except (ValueError, TimeoutError, RuntimeError) as exc:
        raise BadInput(f"file: {exc}", {"field": "file"}) from None
    if not names:
        raise BadInput("file: no @labeling_function found", {"field": "file"})
    bad = [n for n in names if not is_reference(n, 120)]
    if bad:
        raise BadInput(f"file: LF name too long: {bad[0][:40]!r}...", {"field": "file"})
    out = [
        _add_version(
            project,
            name,
            "python",
            spec={"kind": "python", "name": name, "file": filename[:200]},
            source=source,
            user=user,
        )
        for name in names
    ]
    _commit_versions()
    return out


def set_active(project: Project, ref: str | int, active: bool) -> LabelingFunction:
    """Switch every version of an LF's name on or off; returns its newest version."""
    lf = find_lf(project, ref)
    db.session.execute(
        update(LabelingFunction)
        .where(LabelingFunction.project_id == project.id, LabelingFunction.name == lf.name)
        .values(active=active)
    )
    db.session.commit()
    latest = _latest(project, lf.name)
    assert latest is not None
    return latest


def versions(project: Project, name: str) -> list[LabelingFunction]:
    """Every version of ``name``, newest first."""
    return list(
        db.session.scalars(
            select(LabelingFunction)
            .where(LabelingFunction.project_id == project.id, LabelingFunction.name == name)
            .order_by(LabelingFunction.version.desc())
        )
    )


def states(lf_ids: list[int]) -> dict[int, LFApplyState]:
    if not lf_ids:
        return {}
    rows = db.session.scalars(select(LFApplyState).where(LFApplyState.lf_id.in_(lf_ids)))
    return {s.lf_id: s for s in rows}


def lf_dict(
    lf: LabelingFunction, state: LFApplyState | None = None, *, source: bool = False
) -> dict[str, Any]:
    """An LF version as the API and ``labeler lf list --json`` show it."""
    out: dict[str, Any] = {
        "id": lf.id,
        "name": lf.name,
        "kind": lf.kind,
        "version": lf.version,
        "active": lf.active,
        "spec": lf.spec,
        "created_at": lf.created_at.isoformat() if lf.created_at else None,
        "created_by": lf.created_by_id,
        "applied_upto": state.applied_upto if state else (None if lf.kind != "external" else 0),
        "n_votes": state.n_votes if state else None,
        "applied_at": state.applied_at.isoformat() if state and state.applied_at else None,
        "error": state.error if state else None,
    }
    if source:
        out["source"] = lf.source
    return out


def list_lfs(project: Project) -> list[dict[str, Any]]:
    """The newest version of every LF of ``project`` with its apply state."""
    found = newest(project)
    st = states([lf.id for lf in found])
    return [lf_dict(lf, st.get(lf.id)) for lf in found]
