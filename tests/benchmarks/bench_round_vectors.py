"""A round with stored vectors against the same round computing its features from scratch.

    PYTHONPATH=. python tests/benchmarks/bench_round_vectors.py [--n 100000] [--scratch-n 1000]
        [--distinct 1000] [--vectors embedded|random] [--labels 200] [--strategy margin]
        [--repeats 3] [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
        [--embed-n 500 --embed-repeats 5 | --skip-embed]

``PYTHONPATH=.`` makes it measure the checkout it is run from.

1. A project of ``--n`` text items on a fresh database (SQLite file, or a new
   PostgreSQL database with ``--pg-url``; the real migrations), ``--labels`` of
   them labeled by one rater, and one stored vector per item. Item ``k`` has
   text ``k % distinct`` of ``--distinct`` synthetic sentences; its stored
   vector is that text's real embedding (``--vectors embedded``: the model runs
   on the distinct texts once) or a random unit vector (``--vectors random``).
   Either way the round reads the same 100,000 x 384 float16 matrix, so its
   time does not depend on which.
2. The round a worker runs (``training.execute_round``), ``--repeats`` times,
   median: it reads the stored vectors.
3. From scratch, on the first ``--scratch-n`` items as a project of their own:
   the same round with stored vectors, then the round as it ran before vectors
   were stored (``vectors.model_for`` returns None and
   ``LABELER_TEXT_FEATURES=embeddings``, so ``featurize`` embeds every item's
   text). Its items per second, and the time for ``--n`` items extrapolated
   linearly (embedding dominates it and is linear in the items), printed as an
   extrapolation; ``--scratch-n`` equal to ``--n`` measures it instead.
4. Similar items on the ``--n`` items: the exact search per request, the HNSW
   index's build time and size, its first (loading) and later requests.
5. Items embedded per second per process (``bench_embeddings.bench_embeddings``).

The load average is printed before and after each part: on a shared machine the
figures follow the load.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _db import scratch_database  # noqa: E402
from bench_embeddings import _load, _texts, bench_embeddings  # noqa: E402

LABELS = ["pos", "neg"]


def _vectors(texts: list[str], how: str) -> np.ndarray:
    if how == "random":
        rng = np.random.default_rng(0)
        m = rng.standard_normal((len(texts), 384)).astype(np.float32)
        return m / np.linalg.norm(m, axis=1, keepdims=True)
    from labeler.learning.embeddings import SentenceEmbedder

    return SentenceEmbedder().transform(texts)


def _fill(name: str, n: int, texts: list[str], matrix: np.ndarray, n_labels: int, **kw: Any) -> Any:
    """A project of ``n`` items (text k % len(texts)), their vectors and ``n_labels`` labels."""
    from sqlalchemy import insert, select

    from labeler.extensions import db
    from labeler.models import Annotation, Item, ItemVector, User
    from labeler.services import projects, users, vectors

    project = projects.create_project(name, LABELS, retrain_every=20, **kw)
    rater = db.session.scalar(select(User).where(User.name == "bench")) or users.create_user(
        "bench", "rater", "pw"
    )
    model = vectors.model_for(project)
    assert model is not None, "the embedding model is not installed"
    d = len(texts)
    for start in range(0, n, 10_000):
        rows = [
            {"project_id": project.id, "external_id": f"x{k}", "data": {"text": texts[k % d]}}
            for k in range(start, min(n, start + 10_000))
        ]
        db.session.execute(insert(Item), rows)
        db.session.commit()
    ids = list(db.session.scalars(select(Item.id).where(Item.project_id == project.id)))
    ids.sort()
    blobs = [vectors.encode(v) for v in matrix]
    for start in range(0, n, 5_000):
        db.session.execute(
            insert(ItemVector),
            [
                {
                    "item_id": ids[k],
                    "model": model,
                    "project_id": project.id,
                    "dim": matrix.shape[1],
                    "vector": blobs[k % d],
                }
                for k in range(start, min(n, start + 5_000))
            ],
        )
        db.session.commit()
    rng = np.random.default_rng(1)
    labeled = rng.choice(n, size=min(n_labels, n), replace=False)
    db.session.execute(
        insert(Annotation),
        [
            {
                "project_id": project.id,
                "item_id": ids[k],
                "rater_id": rater.id,
                "kind": "label",
                "label": LABELS[(k % d) % 2],
            }
            for k in labeled
        ],
    )
    db.session.commit()
    return project


def _round(project: Any) -> tuple[float, Any]:
    from labeler.services import training

    rnd = training.request_round(project, "bench", enqueue=False)
    start = time.perf_counter()
    rnd = training.execute_round(rnd.id)
    took = time.perf_counter() - start
    assert rnd.status == "done", rnd.error
    return took, rnd


def _rounds(project: Any, repeats: int, label: str) -> float:
    times, features = [], ""
    for _ in range(repeats):
        took, rnd = _round(project)
        times.append(took)
        features = rnd.info["features"]
    med = statistics.median(times)
    print(f"   {label}: median {med:.2f} s over {repeats} ({', '.join(f'{t:.2f}' for t in times)})")
    print(f"      features: {features}; {_load()}")
    return med


def _read_time(project: Any) -> float:
    """The part of a round that reads the stored vectors (``vectors.load_matrix``)."""
    from sqlalchemy import select

    from labeler.extensions import db
    from labeler.models import Item
    from labeler.services import vectors

    ids = list(db.session.scalars(select(Item.id).where(Item.project_id == project.id)))
    start = time.perf_counter()
    X = vectors.load_matrix(project, sorted(ids))
    took = time.perf_counter() - start
    db.session.commit()
    assert X is not None and X.shape[0] == len(ids)
    return took


@contextmanager
def _from_scratch(app: Any) -> Iterator[None]:
    """The round as it ran before stored vectors: it embeds every item's text itself."""
    from labeler.learning.embeddings import SentenceEmbedder
    from labeler.services import vectors

    SentenceEmbedder().load()  # loaded once per worker process: not part of a round
    saved, saved_method = vectors.model_for, app.config["LABELER_TEXT_FEATURES"]
    vectors.model_for = lambda project: None  # type: ignore[assignment]
    app.config["LABELER_TEXT_FEATURES"] = "embeddings"
    try:
        yield
    finally:
        vectors.model_for = saved  # type: ignore[assignment]
        app.config["LABELER_TEXT_FEATURES"] = saved_method


@contextmanager
def _database(pg_url: str | None) -> Iterator[str]:
    if not pg_url:
        tmp = Path(tempfile.mkdtemp())
        yield f"sqlite:///{tmp / 'bench.db'}"
        return
    with scratch_database("vec", pg_url) as url:
        yield url


def bench_rounds(args: argparse.Namespace) -> None:
    from flask_migrate import upgrade

    from labeler import create_app
    from labeler.extensions import db

    texts = _texts(None, "text", args.distinct)
    start = time.perf_counter()
    matrix = _vectors(texts, args.vectors)
    print(
        f"\n== {args.distinct} distinct texts, vectors {args.vectors} ({time.perf_counter() - start:.1f} s)"
    )
    with _database(args.pg_url) as url:
        tmp = Path(tempfile.mkdtemp())
        app = create_app(
            {
                "TESTING": True,
                "SQLALCHEMY_DATABASE_URI": url,
                "LABELER_DATA_DIR": str(tmp),
                "LABELER_BROKER_URL": "memory://",
                "SECRET_KEY": "bench",
                "LABELER_TEXT_FEATURES": "auto",
            }
        )
        with app.app_context():
            upgrade()
            backend = db.engine.dialect.name
            start = time.perf_counter()
            big = _fill("big", args.n, texts, matrix, args.labels, strategy=args.strategy)
            print(
                f"== {backend}: {args.n} items, vectors and {args.labels} labels stored "
                f"in {time.perf_counter() - start:.1f} s; strategy {args.strategy}"
            )
            stored_n = _rounds(big, args.repeats, f"round on {args.n} items, stored vectors")
            print(f"      of which reading the stored vectors: {_read_time(big):.2f} s")

            if not args.skip_index:
                _bench_similar(app, big, args.n)
            m = args.scratch_n
            small = _fill(
                "small",
                m,
                texts,
                matrix,
                max(args.labels * m // args.n, 20),
                strategy=args.strategy,
            )
            print(f"== {backend}: the first {m} items as a project of their own")
            stored_m = _rounds(small, args.repeats, f"round on {m} items, stored vectors")
            with _from_scratch(app):
                scratch_m = _rounds(
                    small,
                    args.scratch_repeats,
                    f"round on {m} items, from scratch (embeds every text)",
                )
            rate = m / scratch_m
            print(f"   from scratch: {rate:.1f} items/s of round time")
            label = "measured" if m >= args.n else "EXTRAPOLATED linearly from the line above"
            print(f"   from scratch on {args.n} items: {args.n / rate:.0f} s ({label})")
            print(
                f"   stored vectors on {args.n} items: {stored_n:.2f} s (measured); "
                f"ratio x{args.n / rate / stored_n:.0f}"
            )
            print(
                f"   at {m} items: stored {stored_m:.2f} s, scratch {scratch_m:.2f} s, "
                f"x{scratch_m / stored_m:.0f}"
            )
            db.session.remove()
            db.engine.dispose()


def _bench_similar(app: Any, project: Any, n: int) -> None:
    """Similar items on the big project: exact search, index build, index queries."""
    from sqlalchemy import func, select

    from labeler.extensions import db
    from labeler.models import Artifact, Item
    from labeler.services import neighbours, vectors

    model = vectors.model_for(project)
    assert model is not None
    items = list(db.session.scalars(select(Item).where(Item.project_id == project.id).limit(2000)))[
        ::100
    ]
    print(f"== similar items on {n} items ({len(items)} queries each, k=10)")
    for label, threshold in (("exact", n + 1), ("hnsw", 1)):
        app.config["LABELER_ANN_MIN_ITEMS"] = threshold
        if label == "hnsw":
            start = time.perf_counter()
            neighbours.build_index(project.id, model)
            took = time.perf_counter() - start
            size = db.session.scalar(
                select(func.sum(Artifact.size)).where(
                    Artifact.project_id == project.id,
                    Artifact.kind.in_((neighbours.INDEX_KIND, neighbours.PART_KIND)),
                )
            )
            print(f"   index built and stored in {took:.1f} s, {int(size or 0) / 1e6:.0f} MB")
            start = time.perf_counter()
            neighbours.similar_items(project, items[0], 10)
            print(
                f"   first query in a process (loads the index): {time.perf_counter() - start:.2f} s"
            )
        times = []
        for item in items:
            start = time.perf_counter()
            got = neighbours.similar_items(project, item, 10)
            times.append(time.perf_counter() - start)
            assert got["method"] == label, got["method"]
        print(f"   {label}: median {statistics.median(times) * 1000:.0f} ms per request; {_load()}")
    app.config["LABELER_ANN_MIN_ITEMS"] = 20000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--scratch-n", type=int, default=1000)
    ap.add_argument("--distinct", type=int, default=1000)
    ap.add_argument("--vectors", choices=["embedded", "random"], default="embedded")
    ap.add_argument("--labels", type=int, default=200)
    ap.add_argument("--strategy", default="margin")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--scratch-repeats", type=int, default=3)
    ap.add_argument(
        "--pg-url", help="PostgreSQL instead of SQLite (a database is created, then dropped)"
    )
    ap.add_argument("--embed-n", type=int, default=500)
    ap.add_argument("--embed-repeats", type=int, default=5)
    ap.add_argument("--skip-embed", action="store_true")
    ap.add_argument("--skip-index", action="store_true", help="skip the similar-items part")
    args = ap.parse_args()
    print(f"start: {_load()}")
    bench_rounds(args)
    if not args.skip_embed:
        bench_embeddings(_texts(None, "text", args.embed_n), args.embed_repeats, 64)


if __name__ == "__main__":
    main()
