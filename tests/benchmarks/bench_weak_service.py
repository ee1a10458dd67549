"""The whole weak round as the worker runs it, database included (issue 9's 60 s target).

1. creates a fresh PostgreSQL database ``labeler_bench_weak_*`` with the real schema, one
   project (labels ham, spam), ``--items`` items (default 1,000,000) of short synthetic
   comments (``bench_weak._texts``), and ``--lfs`` (default 50) keyword and regex LFs
   saved through the service (``bench_weak._lfs``: the same LFs as the core benchmark);
2. runs a ``weak_fit`` job through ``labeler.services.weak.jobs.run_job``, the Celery
   task's body: apply every LF to every item and store the votes sparsely, read the
   label matrix back, fit Snorkel's LabelModel, predict, and store every item's label,
   confidence and class probabilities under a new run; prints the time of each part
   (apply = vectorized LFs + vote insert; fit = matrix read + fit + results insert) and
   the total;
3. ``--repeat`` > 1 re-runs the round from scratch (votes and runs dropped) and prints
   the median; the load average is printed before and after; the database is dropped
   unless ``--keep-db``.

    PYTHONPATH=. python tests/benchmarks/bench_weak_service.py
    PYTHONPATH=. python tests/benchmarks/bench_weak_service.py --items 50000 --repeat 1  # smoke

Target on this 2-core machine: under 60 s end to end at 1,000,000 items x 50 LFs.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
for p in (ROOT, ROOT / "tests" / "benchmarks"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from bench_weak import _lfs, _load, _texts  # noqa: E402

from tests.benchmarks._db import (  # noqa: E402
    bench_app,
    database_url,
    drop_database,
    filled_database,
    vacuum_analyze,
)
from tests.benchmarks._db import engine as make_engine  # noqa: E402

TARGET_S = 60.0


def _app(url: str) -> Any:
    return bench_app(url, LABELER_BROKER_URL="memory://")


def create_database(n_items: int, n_lfs: int) -> tuple[str, str]:
    name, url, _ = filled_database("weak", lambda _name, url: _fill(url, n_items, n_lfs))
    return name, url


def _fill(url: str, n_items: int, n_lfs: int) -> None:
    from labeler.extensions import db
    from labeler.services import projects
    from labeler.services.weak import lfs
    from tests.conftest import _create_schema

    _create_schema(url)
    app = _app(url)
    with app.app_context():
        project = projects.create_project("bench", ["ham", "spam"], overlap=1)
        pid = project.id
        for lf in _lfs(n_lfs):
            spec: dict[str, Any] = {"name": lf.name, "label": ["ham", "spam"][lf.label]}
            if hasattr(lf, "pattern"):
                spec.update(kind="regex", pattern=lf.pattern)
            else:
                spec.update(kind="keyword", words=list(lf.words), whole_word=lf.whole_word)
            lfs.save_lf(project, spec)
        db.session.remove()
        db.engine.dispose()
    texts = _texts(n_items, seed=1)
    buf = io.StringIO()
    for k, text in enumerate(texts):
        data = json.dumps({"text": text}).replace("\\", "\\\\")
        buf.write(f"{pid}\tc{k}\t{data}\t0\t0\t0\ttrue\t2026-01-01\n")
    buf.seek(0)
    engine = make_engine(url)
    with engine.begin() as conn:
        cur = conn.connection.driver_connection.cursor()
        with cur.copy(
            "COPY items (project_id, external_id, data, priority, n_done, n_leased, is_open,"
            " created_at) FROM STDIN"
        ) as copy:
            while chunk := buf.read(1 << 20):
                copy.write(chunk)
    engine.dispose()
    vacuum_analyze(url, "items")


def one_round(url: str) -> dict[str, float]:
    """Reset the weak state, then run a fit job the way the worker does; times per part."""
    from sqlalchemy import delete

    from labeler.extensions import db
    from labeler.models import Job, LFApplyState, WeakResult, WeakRun, WeakVoteBlock
    from labeler.services import projects
    from labeler.services.weak import apply, jobs, model

    app = _app(url)
    with app.app_context():
        for table in (WeakResult, WeakRun, WeakVoteBlock, LFApplyState):
            db.session.execute(delete(table))
        db.session.commit()
        project = projects.find_project("bench")
        job = Job(project_id=project.id, kind="weak_fit", status="queued", params={})
        db.session.add(job)
        db.session.commit()
        parts: dict[str, float] = {}
        real_apply, real_fit = apply.apply_stale, model.fit

        def timed(name: str, fn: Any) -> Any:
            def wrapper(*a: Any, **kw: Any) -> Any:
                t0 = time.perf_counter()
                try:
                    return fn(*a, **kw)
                finally:
                    parts[name] = time.perf_counter() - t0

            return wrapper

        apply.apply_stale = timed("apply", real_apply)  # type: ignore[assignment]
        model.fit = timed("fit", real_fit)  # type: ignore[assignment]
        try:
            t0 = time.perf_counter()
            jobs.run_job(job.id)
            parts["total"] = time.perf_counter() - t0
        finally:
            apply.apply_stale, model.fit = real_apply, real_fit  # type: ignore[assignment]
        job = db.session.get_one(Job, job.id)
        if job.status != "done":
            raise SystemExit(f"job {job.status}: {job.error}")
        run = job.result["run"]
        parts["coverage"] = run["metrics"]["coverage"]
        parts["n_votes"] = float(sum(job.result["apply"]["applied"].values()))
        parts["n_results"] = float(
            db.session.query(WeakResult).filter(WeakResult.run_id == run["id"]).count()
        )
        db.session.remove()
        db.engine.dispose()
    return parts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=1_000_000)
    ap.add_argument("--lfs", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep-db", action="store_true")
    ap.add_argument("--db", help="reuse a database kept by --keep-db (its URL's last part)")
    args = ap.parse_args()
    print(f"== weak round through the worker's code: {args.items:,} items x {args.lfs} LFs")
    if args.db:
        name, url = args.db, database_url(args.db)
    else:
        t0 = time.perf_counter()
        name, url = create_database(args.items, args.lfs)
        print(f"database {name} filled in {time.perf_counter() - t0:.0f} s ({_load()})")
    try:
        runs = []
        for k in range(args.repeat):
            parts = one_round(url)
            runs.append(parts)
            print(
                f"run {k + 1}: apply {parts['apply']:.1f} s, fit {parts['fit']:.1f} s, "
                f"total {parts['total']:.1f} s; coverage {parts['coverage']:.3f}, "
                f"{parts['n_votes']:,.0f} item x LF applications, "
                f"{parts['n_results']:,.0f} results stored ({_load()})"
            )
        med = {key: statistics.median(r[key] for r in runs) for key in ("apply", "fit", "total")}
        verdict = "under" if med["total"] < TARGET_S else "OVER"
        print(
            f"median of {len(runs)}: apply {med['apply']:.1f} s, fit {med['fit']:.1f} s, "
            f"total {med['total']:.1f} s ({verdict} the {TARGET_S:.0f} s target)"
        )
    finally:
        if args.keep_db:
            print(f"kept database {name}")
        else:
            drop_database(name)


if __name__ == "__main__":
    main()
