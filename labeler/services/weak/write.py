"""Writing a run's per-item results fast: PostgreSQL's binary COPY, executemany elsewhere.

A label-model fit or a propagation stores one :class:`WeakResult` per item of the
project; at 1,000,000 items the ORM's executemany took over a minute, longer than
the fit. On PostgreSQL (psycopg) the rows are packed into COPY's binary format by
numpy in one go and streamed in chunks, each chunk its own transaction so progress
shows; elsewhere (SQLite) plain tuples go through the driver's executemany.
Readers never see a half-written run: results belong to a run that is switched to
``done`` only after they are all written.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sqlalchemy import insert

from labeler.extensions import db
from labeler.models import WeakResult

CHUNK = 100_000
_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8
_TRAILER = b"\xff\xff"
_COPY = "COPY weak_results (run_id, item_id, label, confidence, covered, proba) FROM STDIN"


def _binary_rows(
    run_id: int,
    ids: np.ndarray,
    labels: np.ndarray,
    conf: np.ndarray,
    cov: np.ndarray,
    proba: np.ndarray | None,
) -> bytes:
    """Rows in PostgreSQL's binary COPY format (a NULL ``proba`` when ``proba`` is None)."""
    n = len(ids)
    width = 0 if proba is None else proba.shape[1] * 4
    fields: list[tuple[str, str] | tuple[str, str, tuple[int, ...]]] = [
        ("ncol", ">i2"),
        ("l_run", ">i4"),
        ("run", ">i4"),
        ("l_item", ">i4"),
        ("item", ">i8"),
        ("l_label", ">i4"),
        ("label", ">i2"),
        ("l_conf", ">i4"),
        ("conf", ">f8"),
        ("l_cov", ">i4"),
        ("cov", "u1"),
        ("l_proba", ">i4"),
    ]
    if width:
        fields.append(("proba", "u1", (width,)))
    rows = np.empty(n, dtype=np.dtype(fields))
    rows["ncol"], rows["l_run"], rows["run"] = 6, 4, run_id
    rows["l_item"], rows["item"] = 8, ids
    rows["l_label"], rows["label"] = 2, labels
    rows["l_conf"], rows["conf"] = 8, conf
    rows["l_cov"], rows["cov"] = 1, cov.astype(np.uint8)
    if proba is None:
        rows["l_proba"] = -1
    else:
        rows["l_proba"] = width
        rows["proba"] = np.ascontiguousarray(proba, dtype="<f4").view(np.uint8).reshape(n, width)
    return rows.tobytes()


def write_results(
    run_id: int,
    ids: np.ndarray,
    labels: np.ndarray,
    conf: np.ndarray,
    cov: np.ndarray,
    proba: np.ndarray | None,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """Store one result per item under ``run_id``, committing every :data:`CHUNK` items."""
    ids = np.asarray(ids, dtype=np.int64)
    labels = np.asarray(labels, dtype=np.int64)
    conf = np.asarray(conf, dtype=np.float64)
    cov = np.asarray(cov, dtype=bool)
    conn = db.session.connection()
    copy = conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg"
    for lo in range(0, len(ids), CHUNK):
        hi = min(lo + CHUNK, len(ids))
        part = None if proba is None else proba[lo:hi]
        if copy:
            payload = _binary_rows(run_id, ids[lo:hi], labels[lo:hi], conf[lo:hi], cov[lo:hi], part)
            cursor = db.session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
            with cursor.copy(_COPY + " WITH (FORMAT BINARY)") as out:
                out.write(_HEADER + payload + _TRAILER)
        else:
            db.session.execute(
                insert(WeakResult),
                [
                    {
                        "run_id": run_id,
                        "item_id": int(ids[r]),
                        "label": int(labels[r]),
                        "confidence": float(conf[r]),
                        "covered": bool(cov[r]),
                        "proba": None if part is None else part[r - lo].astype("<f4").tobytes(),
                    }
                    for r in range(lo, hi)
                ],
            )
        db.session.commit()
        if progress is not None:
            progress(hi, len(ids))
