"""An item's nearest neighbours over the stored vectors: exact when small, an index when large.

The similar-items route and the item page ask for the ``k`` items nearest to
one item by cosine. Below ``LABELER_ANN_MIN_ITEMS`` vectors the answer is
exact: the project's vectors stream from the database in blocks and a running
top-k is kept, so memory stays one block whatever the size. At or above it,
reading every vector per request would cost seconds, so the embed job that
finishes a project builds an HNSW index (hnswlib, labels are the item ids),
stores it in the artifact store in parts (PostgreSQL refuses a value over
1 GB) and each process loads the newest one once and keeps it. Until an index
exists, or when it cannot load, the exact search answers. Items added after
the index was built are found once the next embed job rebuilds it.

Only ids, shown data (``items.data``) and similarities leave here: gold
answers and weak votes live in their own tables and are never read.
"""

from __future__ import annotations

import logging
import os
import pickle
import tempfile
import threading
from typing import Any

import numpy as np
from flask import current_app
from numpy.typing import NDArray
from sqlalchemy import delete, func, select

from labeler.extensions import db
from labeler.models import Artifact, Item, ItemVector, Project
from labeler.services import artifacts, vectors
from labeler.services.errors import Conflict, NotFound

log = logging.getLogger(__name__)
_WARNED = False
INDEX_KIND = "ann-index"
PART_KIND = "ann-index-part"
PART_BYTES = 256 * 1024 * 1024
BLOCK = 5000

# (project id, model) -> (header artifact id, loaded index); one per process.
_CACHE: dict[tuple[int, str], tuple[int, Any]] = {}
_CACHE_LOCK = threading.Lock()
_CACHE_MAX = 4


def similar_items(project: Project, item: Item, k: int = 10) -> dict[str, Any]:
    """The ``k`` items nearest to ``item`` by cosine over the stored vectors.

    Returns the item, the model, ``ready``/``total`` counts, ``method``
    (``exact`` or ``hnsw``) and the neighbours (id, shown data, similarity),
    most similar first. Raises Conflict (409) when the project does not use
    embeddings (``embeddings_disabled``) or the item has no vector yet
    (``vectors_not_ready``, with ``ready`` and ``total``).
    """
    model = vectors.model_for(project)
    if model is None:
        raise Conflict(
            "similar items need sentence embeddings (text project, embeddings features)",
            {"reason": "embeddings_disabled"},
        )
    ready = vectors.count_ready(project.id, model)
    total = int(
        db.session.scalar(
            select(func.count()).select_from(Item).where(Item.project_id == project.id)
        )
        or 0
    )
    blob = db.session.scalar(
        select(ItemVector.vector).where(ItemVector.item_id == item.id, ItemVector.model == model)
    )
    if blob is None:
        raise Conflict(
            f"vectors not ready: {ready}/{total} items embedded",
            {"reason": "vectors_not_ready", "ready": ready, "total": total},
        )
    query = _unit(vectors.decode(blob))
    found: list[tuple[int, float]] | None = None
    method = "exact"
    if ready >= current_app.config["LABELER_ANN_MIN_ITEMS"]:
        index = _cached_index(project.id, model)
        if index is not None:
            found, method = _search_index(index, query, item.id, k), "hnsw"
    if found is None:
        found = _search_exact(project.id, model, query, item.id, k)
    rows = {
        r.id: r
        for r in db.session.execute(
            select(Item.id, Item.external_id, Item.data).where(
                Item.id.in_([i for i, _ in found]), Item.project_id == project.id
            )
        )
    }
    return {
        "item": item.external_id,
        "model": model,
        "method": method,
        "ready": ready,
        "total": total,
        "similar": [
            {"id": rows[i].external_id, "data": rows[i].data, "similarity": round(s, 6)}
            for i, s in found
            if i in rows
        ],
    }


def _unit(v: NDArray[Any]) -> NDArray[np.float32]:
    v = np.asarray(v, dtype=np.float32)
    return (v / np.float32(max(float(np.linalg.norm(v)), 1e-12))).astype(np.float32)


def _search_exact(
    project_id: int, model: str, query: NDArray[np.float32], me: int, k: int
) -> list[tuple[int, float]]:
    """Cosine against every stored vector, block by block, keeping the best ``k``."""
    if k <= 0:
        return []
    best_ids = np.zeros(0, dtype=np.int64)
    best_sims = np.zeros(0, dtype=np.float32)
    rows = db.session.execute(
        select(ItemVector.item_id, ItemVector.vector)
        .where(ItemVector.project_id == project_id, ItemVector.model == model)
        .execution_options(yield_per=BLOCK)
    )
    for part in rows.partitions(BLOCK):
        ids = np.fromiter((r[0] for r in part), dtype=np.int64, count=len(part))
        M = np.frombuffer(b"".join(r[1] for r in part), dtype=vectors.STORED_DTYPE)
        M = M.reshape(len(part), -1).astype(np.float32)
        sims = (M @ query) / np.maximum(np.linalg.norm(M, axis=1), 1e-12)
        sims[ids == me] = -np.inf
        best_ids = np.concatenate([best_ids, ids])
        best_sims = np.concatenate([best_sims, sims])
        if len(best_ids) > k:
            keep = np.argpartition(-best_sims, k - 1)[:k]
            best_ids, best_sims = best_ids[keep], best_sims[keep]
    order = np.lexsort((best_ids, -best_sims))
    return [(int(best_ids[o]), float(best_sims[o])) for o in order if np.isfinite(best_sims[o])]


def _search_index(
    index: Any, query: NDArray[np.float32], me: int, k: int
) -> list[tuple[int, float]]:
    n = index.get_current_count()
    want = min(k + 1, n)
    index.set_ef(max(64, 2 * want))
    labels, distances = index.knn_query(query.reshape(1, -1), k=want)
    found = [
        (int(i), 1.0 - float(d)) for i, d in zip(labels[0], distances[0], strict=True) if i != me
    ]
    return found[:k]


# --- the index: built by a worker, kept in the artifact store, cached per process ----------


def build_index(project_id: int, model: str) -> int | None:
    """Build and store the project's HNSW index over its vectors for ``model``.

    Returns the header artifact's id, or None below ``LABELER_ANN_MIN_ITEMS``
    vectors (the exact search serves those). Older indexes of the project and
    model are deleted once the new one is stored, so readers always find a
    whole one (a reader holding an old header falls back to the exact search).
    """
    n = vectors.count_ready(project_id, model)
    db.session.commit()
    if n < current_app.config["LABELER_ANN_MIN_ITEMS"]:
        return None
    hnswlib = _hnswlib()
    if hnswlib is None:
        return None
    dim = int(
        db.session.scalar(
            select(ItemVector.dim)
            .where(ItemVector.project_id == project_id, ItemVector.model == model)
            .limit(1)
        )
        or 0
    )
    index = hnswlib.Index(space="cosine", dim=dim)
    index.init_index(max_elements=max(n, 1), ef_construction=100, M=16, random_seed=0)
    rows = db.session.execute(
        select(ItemVector.item_id, ItemVector.vector)
        .where(ItemVector.project_id == project_id, ItemVector.model == model)
        .execution_options(yield_per=BLOCK)
    )
    added = 0
    for part in rows.partitions(BLOCK):
        if added + len(part) > index.get_max_elements():  # vectors added since we counted
            index.resize_index(added + len(part))
        ids = np.fromiter((r[0] for r in part), dtype=np.int64, count=len(part))
        M = np.frombuffer(b"".join(r[1] for r in part), dtype=vectors.STORED_DTYPE)
        index.add_items(M.reshape(len(part), -1).astype(np.float32), ids.astype(np.uint64))
        added += len(part)
    db.session.commit()
    blob = _index_bytes(index)
    part_ids = [
        artifacts.put(project_id, PART_KIND, model, blob[start : start + PART_BYTES]).id
        for start in range(0, len(blob), PART_BYTES)
    ]
    header = {"model": model, "dim": dim, "n": added, "parts": part_ids}
    new = artifacts.put(project_id, INDEX_KIND, model, pickle.dumps(header))
    _delete_older(project_id, model, new.id, part_ids)
    return new.id


def _index_bytes(index: Any) -> bytes:
    fd, path = tempfile.mkstemp(suffix=".hnsw")
    os.close(fd)
    try:
        index.save_index(path)
        with open(path, "rb") as fh:
            return fh.read()
    finally:
        os.unlink(path)


def _delete_older(project_id: int, model: str, keep: int, keep_parts: list[int]) -> None:
    db.session.execute(
        delete(Artifact).where(
            Artifact.project_id == project_id,
            Artifact.name == model,
            Artifact.kind.in_((INDEX_KIND, PART_KIND)),
            Artifact.id.not_in([keep, *keep_parts]),
            Artifact.id < keep,
        )
    )
    db.session.commit()


def _cached_index(project_id: int, model: str) -> Any | None:
    """The newest stored index of the project and model, loaded once per process."""
    newest = db.session.scalar(
        select(func.max(Artifact.id)).where(
            Artifact.project_id == project_id,
            Artifact.kind == INDEX_KIND,
            Artifact.name == model,
        )
    )
    if newest is None:
        return None
    key = (project_id, model)
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
        if cached is not None and cached[0] == newest:
            return cached[1]
    index = _load_index(int(newest))
    if index is None:
        return None
    with _CACHE_LOCK:
        _CACHE.pop(key, None)
        while len(_CACHE) >= _CACHE_MAX:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = (int(newest), index)
    return index


def _hnswlib() -> Any | None:
    """The hnswlib module, or None (logged once): the exact search then serves every size."""
    global _WARNED
    try:
        import hnswlib
    except ImportError as exc:
        if not _WARNED:
            _WARNED = True
            log.warning("no similar-items index: %s (pip install hnswlib)", exc)
        return None
    return hnswlib


def _load_index(header_id: int) -> Any | None:
    hnswlib = _hnswlib()
    if hnswlib is None:
        return None
    try:
        header = pickle.loads(artifacts.get(header_id))  # written by our own workers only
        blob = b"".join(artifacts.get(part) for part in header["parts"])
    except NotFound:  # replaced by a newer index while we read it
        return None
    fd, path = tempfile.mkstemp(suffix=".hnsw")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
        index = hnswlib.Index(space="cosine", dim=int(header["dim"]))
        index.load_index(path, max_elements=int(header["n"]))
    finally:
        os.unlink(path)
    return index
