"""Item vectors: embed each item once, in workers, and read the stored vectors back.

Embedding is the slow part of text features (about 80-100 short texts per
second per CPU process), so rounds must not redo it: a worker embeds the
items that have no vector for the current model, in batches, each batch in
its own short transaction. Only missing items are selected and the primary
key (item, model) drops duplicates, so a killed job simply resumes, and
several jobs (workers) can work on one project at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import numpy as np
from flask import current_app
from numpy.typing import NDArray
from sqlalchemy import delete as sa_delete
from sqlalchemy import exists, func, select

from labeler.extensions import db
from labeler.learning import embeddings
from labeler.models import Item, ItemVector, Job, Project
from labeler.models.types import utcnow
from labeler.services.enqueue import EMBED_ITEMS, enqueue
from labeler.services.errors import NotFound

# float16 halves the table (768 bytes per 384-d vector); cosine ranks do not notice.
STORED_DTYPE = np.dtype("<f2")
EMBED_METHODS = ("auto", "embeddings")


def model_for(project: Project) -> str | None:
    """The embedding model whose vectors ``project`` uses, or None (not text, or TF-IDF/hashing).

    Decided without loading the model: the configured method asks for
    embeddings and the model's package is installed.
    """
    if project.kind != "text":
        return None
    if current_app.config["LABELER_TEXT_FEATURES"] not in EMBED_METHODS:
        return None
    if not embeddings.available():
        return None
    return embeddings.model_version()


def encode(vector: NDArray[Any]) -> bytes:
    """One vector as stored (float16, little-endian)."""
    return np.asarray(vector, dtype=STORED_DTYPE).tobytes()


def decode(blob: bytes) -> NDArray[np.float32]:
    """A stored vector back as float32."""
    return np.frombuffer(blob, dtype=STORED_DTYPE).astype(np.float32)


def _missing(model: str, shard: tuple[int, int] = (0, 1)) -> Any:
    """Items without a vector for ``model`` in share ``k`` of ``n`` (ids ``% n == k``)."""
    cond = ~exists().where(ItemVector.item_id == Item.id, ItemVector.model == model)
    k, n = shard
    return cond if n <= 1 else cond & (Item.id % n == k)


def count_missing(project_id: int, model: str, shard: tuple[int, int] = (0, 1)) -> int:
    """Items of the project (in ``shard``) without a vector for ``model``."""
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(Item)
            .where(Item.project_id == project_id, _missing(model, shard))
        )
        or 0
    )


def _any_missing(project_id: int, model: str) -> bool:
    """Whether some item of the project has no vector (stops at the first one)."""
    probe = select(Item.id).where(Item.project_id == project_id, _missing(model)).limit(1)
    found = db.session.scalar(probe) is not None
    db.session.commit()
    return found


def count_ready(project_id: int, model: str) -> int:
    """Items of the project with a vector for ``model``."""
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(ItemVector)
            .where(ItemVector.project_id == project_id, ItemVector.model == model)
        )
        or 0
    )


def _insert_ignoring_duplicates(rows: list[dict[str, Any]]) -> None:
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(ItemVector).on_conflict_do_nothing(index_elements=["item_id", "model"])
    db.session.execute(stmt, rows)


def embed_missing(
    project_id: int,
    batch: int = 256,
    progress: Callable[[int], None] | None = None,
    *,
    shard: tuple[int, int] = (0, 1),
    max_items: int | None = None,
) -> int:
    """Embed the project's items that have no vector for the current model.

    Parameters
    ----------
    project_id : int
    batch : int, default=256
        Items per model call and per transaction.
    progress : callable, optional
        Called with the number embedded so far after each committed batch.
    shard : (k, n), default=(0, 1)
        Embed only items whose id is ``k`` modulo ``n``: n jobs share a project.
    max_items : int, optional
        Stop after the batch that reaches this many (a job's slice; None: all).

    Returns
    -------
    int
        Vectors written by this call (0 when the project does not use embeddings).
    """
    from labeler.learning.text_features import TextFeaturizer

    project = db.session.get(Project, project_id)
    if project is None:
        raise NotFound(f"no project {project_id}")
    model = model_for(project)
    if model is None:
        return 0
    featurizer = TextFeaturizer(project.text_field, method="embeddings").fit([])
    model = featurizer.describe()["model"]
    done, after = 0, 0
    while True:
        rows = db.session.execute(
            select(Item.id, Item.data)
            .where(Item.project_id == project_id, Item.id > after, _missing(model, shard))
            .order_by(Item.id)
            .limit(batch)
        ).all()
        # End the read transaction before the slow part (on SQLite it holds the lock).
        db.session.commit()
        if not rows:
            if after == 0:
                return done
            after = 0  # one more pass: items imported or re-texted behind us meanwhile
            continue
        X = featurizer.transform([r.data for r in rows])
        _insert_ignoring_duplicates(
            [
                {
                    "item_id": r.id,
                    "model": model,
                    "project_id": project_id,
                    "dim": int(X.shape[1]),
                    "vector": encode(x),
                }
                for r, x in zip(rows, X, strict=True)
            ]
        )
        stale = _drop_if_retexted(project.text_field, model, rows)
        db.session.commit()
        done += len(rows) - stale
        after = rows[-1].id
        if progress is not None:
            progress(done)
        if max_items is not None and done >= max_items:
            return done


def _drop_if_retexted(field: str, model: str, rows: Sequence[Any]) -> int:
    """Delete the vectors just written for items whose text an import changed meanwhile.

    Runs after the insert, in its transaction. On PostgreSQL the items are read
    FOR SHARE: an import's update waits for this commit (its own delete of the
    item's vectors then sees ours), or this read waits for the import's commit
    and sees the new text. On SQLite the insert holds the only write lock, so
    the read sees the latest text. Returns how many were dropped.
    """
    text = {r.id: _text(r.data, field) for r in rows}
    check = select(Item.id, Item.data).where(Item.id.in_(list(text)))
    if db.engine.dialect.name == "postgresql":
        check = check.with_for_update(read=True)
    stale = [i for i, data in db.session.execute(check) if _text(data, field) != text[i]]
    if stale:
        db.session.execute(
            sa_delete(ItemVector).where(ItemVector.item_id.in_(stale), ItemVector.model == model)
        )
    return len(stale)


def _text(data: Any, field: str) -> Any:
    return data.get(field) if isinstance(data, dict) else data


def request_embedding(project: Project) -> Job | None:
    """Queue embedding of the project's items without vectors, unless one is on its way.

    Called after every import (in a worker or in process) and by rounds that
    find vectors missing.

    None when every item has its vector, or the project does not use embeddings
    (not text, or ``LABELER_TEXT_FEATURES`` is tfidf/hashing, or the model is not
    installed).
    ``LABELER_EMBED_JOBS`` jobs share the items (ids modulo N); the first is returned.
    An embed job not updated within the round staleness limit is taken for lost.
    """
    model = model_for(project)
    if model is None:
        return None
    stale = timedelta(seconds=current_app.config["LABELER_ROUND_STALE_SECONDS"])
    current = db.session.scalar(
        select(Job)
        .where(
            Job.project_id == project.id,
            Job.kind == "embed",
            Job.status.in_(("queued", "running")),
            Job.updated_at > utcnow() - stale,
        )
        .order_by(Job.id.desc())
        .limit(1)
    )
    if current is not None:
        return current
    if not _any_missing(project.id, model):
        return None
    n = current_app.config["LABELER_EMBED_JOBS"]
    made = [
        Job(project_id=project.id, kind="embed", status="queued", params={"shard": [k, n]})
        for k in range(n)
    ]
    db.session.add_all(made)
    db.session.commit()
    for job in made:
        enqueue(EMBED_ITEMS, job.id)
    return made[0]


def load_matrix(project: Project, ids: list[int], model: str | None = None) -> NDArray[Any] | None:
    """The stored vectors of ``ids`` in that order (float32), or None when any is missing.

    The blobs are joined and decoded at once (one ``frombuffer`` for the whole
    project, not one per row): at 100,000 items this is most of a round's reading.
    """
    model = model or model_for(project)
    if model is None:
        return None
    if not ids:
        return np.zeros((0, 0), dtype=np.float32)
    stored_ids: list[int] = []
    blobs: list[bytes] = []
    rows = db.session.execute(
        select(ItemVector.item_id, ItemVector.vector)
        .where(ItemVector.project_id == project.id, ItemVector.model == model)
        .order_by(ItemVector.item_id)
        .execution_options(yield_per=5000)
    )
    for item_id, blob in rows:
        stored_ids.append(item_id)
        blobs.append(blob)
    if not stored_ids:
        return None
    have = np.asarray(stored_ids, dtype=np.int64)
    want = np.asarray(ids, dtype=np.int64)
    at = np.minimum(np.searchsorted(have, want), len(have) - 1)
    if not np.array_equal(have[at], want):
        return None
    M = np.frombuffer(b"".join(blobs), dtype=STORED_DTYPE).reshape(len(have), -1)
    return M[at].astype(np.float32)
