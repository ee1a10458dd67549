"""Item vectors: embed each item once, in workers, and read the stored vectors back.

Embedding is the slow part of text features (about 80-100 short texts per
second per CPU process), so rounds must not redo it: a worker embeds the
items that have no vector for the current model, in batches, each batch in
its own short transaction. Only missing items are selected and the primary
key (item, model) drops duplicates, so a killed job simply resumes, and
several jobs (workers) can work on one project at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from flask import current_app
from numpy.typing import NDArray
from sqlalchemy import exists, func, select

from labeler.extensions import db
from labeler.learning import embeddings
from labeler.models import Item, ItemVector, Project
from labeler.services.errors import Conflict, NotFound

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
            return done
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
        db.session.commit()
        done += len(rows)
        after = rows[-1].id
        if progress is not None:
            progress(done)
        if max_items is not None and done >= max_items:
            return done


def load_matrix(project: Project, ids: list[int], model: str | None = None) -> NDArray[Any] | None:
    """The stored vectors of ``ids`` in that order, or None when any is missing."""
    model = model or model_for(project)
    if model is None:
        return None
    if not ids:
        return np.zeros((0, 0), dtype=np.float32)
    found = dict(_project_vectors(project.id, model))
    if any(i not in found for i in ids):
        return None
    return np.vstack([found[i] for i in ids])


def _project_vectors(project_id: int, model: str) -> list[tuple[int, NDArray[np.float32]]]:
    rows = db.session.execute(
        select(ItemVector.item_id, ItemVector.vector)
        .where(ItemVector.project_id == project_id, ItemVector.model == model)
        .order_by(ItemVector.item_id)
        .execution_options(yield_per=5000)
    )
    return [(int(i), decode(v)) for i, v in rows]


def similar_items(project: Project, item: Item, k: int = 10) -> dict[str, Any]:
    """The ``k`` items nearest to ``item`` by cosine over the stored vectors.

    Brute force over the project's matrix (fine up to ~100k items). Returns
    ids, shown data and similarity only. Raises Conflict (409) when the
    project does not use embeddings or ``item`` has no vector yet.
    """
    model = model_for(project)
    if model is None:
        raise Conflict(
            "similar items need sentence embeddings (text project, embeddings features)",
            {"reason": "embeddings_disabled"},
        )
    stored = _project_vectors(project.id, model)
    total = int(
        db.session.scalar(
            select(func.count()).select_from(Item).where(Item.project_id == project.id)
        )
        or 0
    )
    ids = [i for i, _ in stored]
    if item.id not in ids:
        raise Conflict(
            f"vectors not ready: {len(ids)}/{total} items embedded",
            {"reason": "vectors_not_ready", "ready": len(ids), "total": total},
        )
    M = np.vstack([v for _, v in stored])
    M /= np.maximum(np.linalg.norm(M, axis=1, keepdims=True), 1e-12)
    me = ids.index(item.id)
    sims = M @ M[me]
    sims[me] = -np.inf
    k = max(0, min(k, len(ids) - 1))
    top = np.argpartition(-sims, k - 1)[:k] if k else np.array([], dtype=np.int64)
    top = top[np.argsort(-sims[top], kind="stable")]
    chosen = [ids[t] for t in top]
    found = {
        r.id: r
        for r in db.session.execute(
            select(Item.id, Item.external_id, Item.data).where(Item.id.in_(chosen))
        )
    }
    return {
        "item": item.external_id,
        "model": model,
        "ready": len(ids),
        "total": total,
        "similar": [
            {
                "id": found[i].external_id,
                "data": found[i].data,
                "similarity": round(float(sims[t]), 6),
            }
            for i, t in zip(chosen, top, strict=True)
            if i in found
        ],
    }
