"""The artifact store: named blobs a worker on another host can read.

The default backend keeps them in the database (``artifacts`` table).
"""

from __future__ import annotations

import io

from sqlalchemy import delete as sa_delete
from sqlalchemy import select

from labeler.extensions import db
from labeler.models import Artifact
from labeler.services.errors import NotFound


def put(project_id: int | None, kind: str, name: str, content: bytes) -> Artifact:
    artifact = Artifact(
        project_id=project_id, kind=kind, name=name, content=content, size=len(content)
    )
    db.session.add(artifact)
    db.session.commit()
    return artifact


def get(artifact_id: int) -> bytes:
    content = db.session.scalar(select(Artifact.content).where(Artifact.id == artifact_id))
    if content is None:
        raise NotFound(f"no artifact {artifact_id}")
    return bytes(content)


def open_stream(artifact_id: int) -> io.BytesIO:
    return io.BytesIO(get(artifact_id))


def latest(project_id: int, kind: str, name: str) -> bytes | None:
    content = db.session.scalar(
        select(Artifact.content)
        .where(Artifact.project_id == project_id, Artifact.kind == kind, Artifact.name == name)
        .order_by(Artifact.id.desc())
        .limit(1)
    )
    return None if content is None else bytes(content)


def delete(artifact_id: int) -> None:
    db.session.execute(sa_delete(Artifact).where(Artifact.id == artifact_id))
    db.session.commit()
