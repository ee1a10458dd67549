"""Shared test factories, CTFd's ``gen_*`` way: build rows with sensible defaults.

Every helper commits, so the rows are visible to other connections (a live
server, a worker process) as soon as it returns.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import insert

from labeler.extensions import db
from labeler.models import Item, Project, User
from labeler.services import projects, users


def gen_user(name: str, role: str = "rater", password: str | None = "pw") -> tuple[User, str]:
    """A user and a fresh API token for them."""
    user = users.create_user(name, role, password)
    return user, users.create_token(user)


def gen_items(
    project: Project,
    n: int | None = None,
    *,
    records: Iterable[dict[str, Any]] | None = None,
    prefix: str = "i",
    priority: Any = None,
) -> None:
    """Bulk-insert items straight into the table (no import checks).

    ``n`` items ``{prefix}0..`` with text ``"t{k}"``, or ``records`` of
    ``{"external_id", "data", ...}``. ``priority(k)`` sets priorities.
    """
    if records is None:
        records = (
            {
                "external_id": f"{prefix}{k}",
                "data": {"text": f"t{k}"},
                "priority": float(priority(k)) if priority else 0.0,
            }
            for k in range(n or 0)
        )
    rows = [{"project_id": project.id, **r} for r in records]
    if rows:
        db.session.execute(insert(Item), rows)
    db.session.commit()


def gen_project(
    name: str = "p",
    labels: Sequence[str] = ("pos", "neg"),
    *,
    items: int = 0,
    members: Iterable[User] = (),
    priority: Any = None,
    **settings: Any,
) -> Project:
    """A project with ``items`` items ``i0..`` and the given members."""
    project = projects.create_project(name, list(labels), **settings)
    for member in members:
        projects.add_member(project, member)
    gen_items(project, items, priority=priority)
    return project
