"""Projects, label sets, membership and who may see what."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select

from labeler.extensions import db
from labeler.models import Annotation, Item, Label, Membership, Project, ProjectKind, Role, User
from labeler.services.errors import BadInput, Conflict, Forbidden, NotFound

HOTKEYS = "1234567890abcdefghijklmnopqrtvwxy"  # s, u, z are skip, unsure, undo


def default_hotkeys(names: list[str]) -> list[str]:
    """1-9 then 0 and letters; when every label is a single digit, each keeps its own key.

    >>> default_hotkeys(["pos", "neg"])
    ['1', '2']
    >>> default_hotkeys(["0", "1", "2"])
    ['0', '1', '2']
    """
    if all(len(n) == 1 and n.isdigit() for n in names):
        return list(names)
    if len(names) > len(HOTKEYS):
        raise BadInput(f"at most {len(HOTKEYS)} labels get hotkeys", {"field": "labels"})
    return list(HOTKEYS[: len(names)])


STRATEGIES = ("random", "margin", "least_confident", "entropy", "committee", "cluster", "region")


def parse_labels(labels: str | Sequence[str]) -> list[str]:
    names = [s.strip() for s in labels.split(",")] if isinstance(labels, str) else list(labels)
    names = [str(n).strip() for n in names if str(n).strip()]
    if not names:
        raise BadInput("a project needs at least one label", {"field": "labels"})
    if len(set(names)) != len(names):
        raise BadInput("labels must be distinct", {"field": "labels", "labels": names})
    return names


def create_project(
    name: str,
    labels: str | Sequence[str],
    *,
    kind: str = "text",
    overlap: int = 1,
    strategy: str = "random",
    instructions: str = "",
    lease_seconds: int = 600,
    text_field: str = "text",
    retrain_every: int = 20,
    created_by: User | None = None,
) -> Project:
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise BadInput("project name must be 1 to 120 characters", {"field": "name"})
    if name.isdigit():
        raise BadInput("project name cannot be a number (numbers are ids)", {"field": "name"})
    if kind not in {k.value for k in ProjectKind}:
        raise BadInput(
            f"unknown kind {kind!r}", {"field": "kind", "allowed": [k.value for k in ProjectKind]}
        )
    if not isinstance(overlap, int) or overlap < 1 or overlap > 100:
        raise BadInput("overlap must be an integer from 1 to 100", {"field": "overlap"})
    if strategy not in STRATEGIES:
        raise BadInput(
            f"unknown strategy {strategy!r}", {"field": "strategy", "allowed": list(STRATEGIES)}
        )
    if lease_seconds < 1:
        raise BadInput("lease_seconds must be positive", {"field": "lease_seconds"})
    names = parse_labels(labels)
    if db.session.scalar(select(Project.id).where(Project.name == name)) is not None:
        raise Conflict(f"project {name!r} already exists", {"field": "name"})
    project = Project(
        name=name,
        kind=kind,
        overlap=overlap,
        strategy=strategy,
        instructions=instructions or "",
        lease_seconds=lease_seconds,
        text_field=text_field or "text",
        retrain_every=retrain_every,
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
    if isinstance(ref, int) or str(ref).isdigit():
        project = db.session.get(Project, int(ref))
    if project is None:
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
    if isinstance(ref, int) or str(ref).isdigit():
        # One query: the project joined to the caller's membership.
        query = select(Project).where(Project.id == int(ref))
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


def update_project(project: Project, **fields: Any) -> Project:
    allowed = {"instructions", "overlap", "strategy", "lease_seconds", "retrain_every"}
    unknown = set(fields) - allowed
    if unknown:
        raise BadInput(f"cannot change {sorted(unknown)}", {"allowed": sorted(allowed)})
    if "strategy" in fields and fields["strategy"] not in STRATEGIES:
        raise BadInput(f"unknown strategy {fields['strategy']!r}", {"field": "strategy"})
    if "retrain_every" in fields:
        every = fields["retrain_every"]
        if not isinstance(every, int) or every < 0:
            raise BadInput(
                "retrain_every must be a non-negative integer", {"field": "retrain_every"}
            )
    if "overlap" in fields:
        overlap = fields["overlap"]
        if not isinstance(overlap, int) or overlap < 1:
            raise BadInput("overlap must be a positive integer", {"field": "overlap"})
        if overlap != project.overlap:
            # Reopen or close items under the new overlap in one statement.
            db.session.execute(
                Item.__table__.update()
                .where(Item.project_id == project.id)
                .values(is_open=(Item.n_done + Item.n_leased) < overlap)
            )
    for key, value in fields.items():
        setattr(project, key, value)
    db.session.commit()
    return project


def project_progress(project: Project, rater: User | None = None) -> dict[str, Any]:
    """Counts for progress bars: items, fully labeled items, annotations, and the rater's own."""
    n_items, n_complete = db.session.execute(
        select(
            func.count(Item.id),
            func.coalesce(func.sum((Item.n_done >= project.overlap).cast(db.Integer)), 0),
        ).where(Item.project_id == project.id)
    ).one()
    n_annotations = db.session.scalar(
        select(func.count(Annotation.id)).where(
            Annotation.project_id == project.id, Annotation.is_current
        )
    )
    out: dict[str, Any] = {
        "n_items": int(n_items),
        "n_complete": int(n_complete),
        "n_annotations": int(n_annotations or 0),
        "target_annotations": int(n_items) * project.overlap,
    }
    if rater is not None:
        out["mine"] = int(
            db.session.scalar(
                select(func.count(Annotation.id)).where(
                    Annotation.project_id == project.id,
                    Annotation.rater_id == rater.id,
                    Annotation.is_current,
                )
            )
            or 0
        )
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
        "instructions": project.instructions,
        "labels": [{"name": lb.name, "hotkey": lb.hotkey} for lb in project.labels],
        "created_at": project.created_at.isoformat() if project.created_at else None,
    }
