"""Projects, label sets, membership and who may see what."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import case, func, select, update

from labeler.extensions import db
from labeler.models import (
    Adjudication,
    Annotation,
    AnnotationKind,
    GoldLabel,
    Item,
    Label,
    LabelingFunction,
    Membership,
    Project,
    Role,
    User,
)
from labeler.models.items import open_after
from labeler.services import assignment, queue
from labeler.services.errors import BadInput, Conflict, Forbidden, NotFound
from labeler.services.inputs import (
    HOTKEYS,
    MAX_LABELS,
    NAME_MAX,
    STRATEGY_NAMES,
    LabelChange,
    NewProject,
    ProjectPatch,
    as_id,
    check,
    is_reference,
)

# The registry's names (one list: labeler.sampling.registry.STRATEGIES).
STRATEGIES = STRATEGY_NAMES


def default_hotkeys(names: list[str]) -> list[str]:
    """1-9 then 0 and letters; when every label is a single digit, each keeps its own key.

    >>> default_hotkeys(["pos", "neg"])
    ['1', '2']
    >>> default_hotkeys(["0", "1", "2"])
    ['0', '1', '2']
    """
    if all(len(n) == 1 and n.isascii() and n.isdigit() for n in names):
        return list(names)
    if len(names) > len(HOTKEYS):
        raise BadInput(f"at most {len(HOTKEYS)} labels get hotkeys", {"field": "labels"})
    return list(HOTKEYS[: len(names)])


def parse_labels(labels: str) -> list[str]:
    """A comma-separated label set as typed on a command line (blank pieces dropped).

    >>> parse_labels("pos, neg,,neutral")
    ['pos', 'neg', 'neutral']
    """
    return [s.strip() for s in labels.split(",") if s.strip()]


def create_project(
    name: str | NewProject,
    labels: str | Sequence[str] | None = None,
    *,
    created_by: User | None = None,
    **settings: Any,
) -> Project:
    """Create a project from a validated :class:`NewProject`, or from its fields.

    Fields go through the same declared rules as the API (``labels`` may also be a
    comma-separated string), so no caller can store what the API would refuse.
    """
    if isinstance(name, NewProject):
        spec = name
    else:
        if isinstance(labels, str):
            labels = parse_labels(labels)
        spec = check(NewProject, {"name": name, "labels": labels, **settings})
    names = spec.labels
    if db.session.scalar(select(Project.id).where(Project.name == spec.name)) is not None:
        raise Conflict(f"project {spec.name!r} already exists", {"field": "name"})
    project = Project(
        **spec.model_dump(exclude={"labels"}),
        created_by_id=created_by.id if created_by else None,
    )
    project.labels = [
        Label(name=n, hotkey=key, position=i)
        for i, (n, key) in enumerate(zip(names, default_hotkeys(names), strict=True))
    ]
    db.session.add(project)
    db.session.flush()
    if created_by is not None:
        db.session.add(Membership(project_id=project.id, user_id=created_by.id))
    db.session.commit()
    return project


def find_project(ref: str | int) -> Project:
    """A project by id or by name."""
    project = None
    pid = as_id(ref)
    if pid is not None:
        project = db.session.get(Project, pid)
    if project is None and is_reference(str(ref), NAME_MAX):
        project = db.session.scalar(select(Project).where(Project.name == str(ref)))
    if project is None:
        raise NotFound(f"no project {ref!r}")
    return project


def is_member(user: User, project: Project) -> bool:
    if user.is_admin:
        return True
    return (
        db.session.scalar(
            select(Membership.user_id).where(
                Membership.project_id == project.id, Membership.user_id == user.id
            )
        )
        is not None
    )


def project_for(user: User, ref: str | int) -> Project:
    """The project if ``user`` may see it; a non-member gets the same 404 as a missing one."""
    pid = as_id(ref)
    if pid is not None:
        # One query: the project joined to the caller's membership.
        query = select(Project).where(Project.id == pid)
        if not user.is_admin:
            query = query.join(
                Membership,
                (Membership.project_id == Project.id) & (Membership.user_id == user.id),
            )
        found = db.session.scalar(query)
        if found is not None:
            return found
    try:
        project = find_project(ref)
    except NotFound:
        raise NotFound(f"no project {ref!r}") from None
    if not is_member(user, project):
        raise NotFound(f"no project {ref!r}")
    return project


def require_role(user: User, *roles: Role) -> None:
    if not user.can(*roles):
        allowed = ", ".join(r.value for r in roles)
        raise Forbidden(f"this needs one of the roles: admin, {allowed}")


def visible_projects(user: User) -> list[Project]:
    query = select(Project).order_by(Project.id)
    if not user.is_admin:
        query = query.join(Membership, Membership.project_id == Project.id).where(
            Membership.user_id == user.id
        )
    return list(db.session.scalars(query))


def add_member(project: Project, user: User) -> bool:
    """Add ``user`` to ``project``; False when already a member."""
    exists = db.session.get(Membership, (project.id, user.id))
    if exists is not None:
        return False
    db.session.add(Membership(project_id=project.id, user_id=user.id))
    db.session.commit()
    return True


def remove_member(project: Project, user: User) -> bool:
    """Remove ``user`` from ``project`` and release their leases; False when not a member."""
    membership = db.session.get(Membership, (project.id, user.id))
    if membership is None:
        return False
    db.session.delete(membership)
    assignment.release(project, user)  # commits the removal with the released leases
    return True


def members(project: Project) -> list[User]:
    """The project's members by name."""
    return list(
        db.session.scalars(
            select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.project_id == project.id)
            .order_by(User.name)
        )
    )


def update_project(project: Project, patch: ProjectPatch | None = None, **fields: Any) -> Project:
    """Change settings: a validated :class:`ProjectPatch`, or its fields (same rules).

    All in one transaction: a label rename renames its annotations and gold labels too.
    """
    checked = check(ProjectPatch, fields if patch is None else patch)
    changes = checked.model_dump(exclude_none=True, exclude={"labels"})
    name = changes.get("name")
    if name is not None and name != project.name:
        taken = db.session.scalar(
            select(Project.id).where(Project.name == name, Project.id != project.id)
        )
        if taken is not None:
            raise Conflict(f"project {name!r} already exists", {"field": "name"})
    overlap = changes.get("overlap")
    if overlap is not None and overlap != project.overlap:
        # Reopen or close items under the new overlap in one statement.
        db.session.execute(
            Item.__table__.update()
            .where(Item.project_id == project.id)
            .values(is_open=open_after(Item.n_done + Item.n_leased, overlap))
        )
    for key, value in changes.items():
        setattr(project, key, value)
    if checked.labels:
        _change_labels(project, checked.labels)
    db.session.commit()
    return project


def _change_labels(project: Project, wanted: list[LabelChange]) -> None:
    """Rename, re-key and add labels; names and hotkeys stay distinct, history follows."""
    by_name = {lb.name: lb for lb in project.labels}
    final_name = {lb.id: lb.name for lb in project.labels}
    final_key = {lb.id: lb.hotkey for lb in project.labels}
    renames: dict[str, str] = {}
    added: list[LabelChange] = []
    for change in wanted:
        if change.old is None:
            if change.name in by_name and change.name not in renames:
                raise Conflict(f"label {change.name!r} already exists", {"field": "labels"})
            added.append(change)
            continue
        label = by_name.get(change.old)
        if label is None:
            raise BadInput(f"labels: no label {change.old!r} in this project", {"field": "labels"})
        if change.name != change.old:
            renames[change.old] = change.name
            final_name[label.id] = change.name
        if change.hotkey is not None:
            final_key[label.id] = change.hotkey
    if len(project.labels) + len(added) > MAX_LABELS:
        raise BadInput(f"labels: at most {MAX_LABELS} labels", {"field": "labels"})
    names = list(final_name.values()) + [a.name for a in added]
    if len(set(names)) != len(names):
        raise Conflict("labels: label names must be distinct", {"field": "labels"})
    keys = list(final_key.values())
    free = iter(k for k in HOTKEYS if k not in keys and k not in {a.hotkey for a in added})
    for a in added:
        keys.append(a.hotkey or next(free, ""))
    if "" in keys or len(set(keys)) != len(keys):
        raise Conflict("labels: hotkeys must be distinct", {"field": "labels"})
    # Two steps, so swaps (a<->b) never meet the unique constraints half-way.
    for k, lb in enumerate(project.labels):
        lb.name, lb.hotkey = f"~rename-{lb.id}", chr(0x2460 + k)
    db.session.flush()
    for lb in project.labels:
        lb.name, lb.hotkey = final_name[lb.id], final_key[lb.id]
    start = len(project.labels)
    for k, a in enumerate(added):
        project.labels.append(Label(name=a.name, hotkey=keys[start + k], position=start + k))
    if renames:
        _rename_in_lf_specs(project, renames)
        for model in (Annotation, GoldLabel, Adjudication):
            db.session.execute(
                update(model)
                .where(model.project_id == project.id, model.label.in_(list(renames)))
                .values(label=case(renames, value=model.label))
                .execution_options(synchronize_session=False)
            )


def _rename_in_lf_specs(project: Project, renames: dict[str, str]) -> None:
    """LF specs name labels: a renamed label is renamed there too (votes are indices,
    so they stay valid; the LF's definition is the same, so no new version)."""
    for lf in db.session.scalars(
        select(LabelingFunction).where(
            LabelingFunction.project_id == project.id, LabelingFunction.spec.is_not(None)
        )
    ):
        spec = dict(lf.spec or {})
        if spec.get("label") in renames:
            spec["label"] = renames[spec["label"]]
        if isinstance(spec.get("mapping"), dict):
            spec["mapping"] = {k: renames.get(v, v) for k, v in spec["mapping"].items()}
        if spec != lf.spec:
            lf.spec = spec


def project_progress(project: Project, rater: User | None = None) -> dict[str, Any]:
    """Counts for progress bars; none of them can pass its total.

    ``n_annotations`` counts the answers that fill an item's ``overlap`` slots
    (labels and unsure; skips give their slot back), at most ``overlap`` per item,
    so it never exceeds ``target_annotations``. For a rater: ``mine`` (their
    labels), ``mine_by_kind`` (label, unsure, skip) and ``left_for_me`` (items they
    can still get, at least that many when ``left_capped``).
    """
    # Gold items are answered by every rater: they would make the project look done.
    k = project.overlap
    filled = case((Item.n_done > k, k), else_=Item.n_done)
    n_items, n_complete, n_filled = db.session.execute(
        select(
            func.count(Item.id),
            func.coalesce(func.sum(case((Item.n_done >= k, 1), else_=0)), 0),
            func.coalesce(func.sum(filled), 0),
        ).where(Item.project_id == project.id, ~Item.is_gold)
    ).one()
    out: dict[str, Any] = {
        "n_items": int(n_items),
        "n_complete": int(n_complete),
        "n_annotations": int(n_filled),
        "target_annotations": int(n_items) * k,
    }
    if rater is not None:
        by_kind = {kind.value: 0 for kind in AnnotationKind}
        for kind, n in db.session.execute(
            select(Annotation.kind, func.count(Annotation.id))
            .where(
                Annotation.project_id == project.id,
                Annotation.rater_id == rater.id,
                Annotation.is_current,
            )
            .group_by(Annotation.kind)
        ):
            by_kind[kind] = int(n)
        left, capped = queue.left_for(project, rater)
        out["mine"] = by_kind[AnnotationKind.LABEL.value]
        out["mine_by_kind"] = by_kind
        out["left_for_me"] = left
        out["left_capped"] = capped
    return out


def project_dict(project: Project) -> dict[str, Any]:
    return {
        "id": project.id,
        "name": project.name,
        "kind": project.kind,
        "overlap": project.overlap,
        "strategy": project.strategy,
        "lease_seconds": project.lease_seconds,
        "retrain_every": project.retrain_every,
        "text_field": project.text_field,
        "labels_ordered": project.labels_ordered,
        "consensus_method": project.consensus_method,
        "adjudication_threshold": project.adjudication_threshold,
        "gold_rate": project.gold_rate,
        "train_on_weak": project.train_on_weak,
        "weak_min_confidence": project.weak_min_confidence,
        "instructions": project.instructions,
        "labels": [{"name": lb.name, "hotkey": lb.hotkey} for lb in project.labels],
        "created_at": project.created_at.isoformat() if project.created_at else None,
    }
