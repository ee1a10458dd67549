"""How long a big import blocks others on the embedded default (SQLite).

One thread imports an N-row CSV into project A of a SQLite file database; the
main thread meanwhile asks for ``next`` and annotates on project B every 50 ms (timed)
(its own connection, as a second web worker would), and records each call's
latency, and checks that neither ``next`` nor a lookup on A finds a row of A's
pending batch. Prints the import's duration, the latency percentiles and the longest
wait, and how many calls saw an item of A while A's import was pending (must be 0).

    PYTHONPATH=. python tests/benchmarks/bench_import_lock.py --rows 200000
    PYTHONPATH=. python tests/benchmarks/bench_import_lock.py --rows 1000000

``PYTHONPATH=.`` makes it measure the checkout it is run from.
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import threading
import time
from pathlib import Path


def _csv(n: int) -> bytes:
    lines = ["id,text"] + [f"r{k},some text to label number {k} " + "x" * 40 for k in range(n)]
    return ("\n".join(lines) + "\n").encode()


def _status(project_id: int) -> str | None:
    """The newest import batch's status (None before batches existed)."""
    from sqlalchemy import select

    from labeler.extensions import db

    try:
        from labeler.models import ImportBatch
    except ImportError:
        return None
    status = db.session.scalar(
        select(ImportBatch.status)
        .where(ImportBatch.project_id == project_id)
        .order_by(ImportBatch.id.desc())
        .limit(1)
    )
    db.session.commit()
    return status


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()

    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from labeler import create_app
    from labeler.extensions import db
    from labeler.models import Item
    from labeler.services import assignment, importing, projects, users
    from labeler.services.errors import NotFound

    tmp = Path(tempfile.mkdtemp())
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'bench.db'}",
            "LABELER_DATA_DIR": str(tmp),
            "SECRET_KEY": "bench",
        }
    )
    with app.app_context():
        upgrade()
        a = projects.create_project("a", ["pos", "neg"])
        b = projects.create_project("b", ["pos", "neg"], overlap=1)
        importing.import_records(b, [{"id": f"b{k}", "text": f"b {k}"} for k in range(5000)])
        rater = users.create_user("r", "rater", "pw")
        a_id, b_id, rater_id = a.id, b.id, rater.id
        db.session.commit()
    data = _csv(args.rows)
    done = threading.Event()
    took: dict[str, float] = {}

    def run_import() -> None:
        try:
            with app.app_context():
                project = db.session.get(type(a), a_id)
                start = time.perf_counter()
                importing.import_file(project, io.BytesIO(data), "csv")
                took["import"] = time.perf_counter() - start
                db.session.remove()
        finally:
            done.set()

    thread = threading.Thread(target=run_import)
    latencies: list[float] = []
    leaks = 0
    with app.app_context():
        rater_obj = db.session.get(type(rater), rater_id)
        project_b = db.session.get(type(b), b_id)
        project_a = db.session.get(type(a), a_id)
        db.session.commit()
        began = time.perf_counter()
        thread.start()
        while not done.is_set():
            start = time.perf_counter()
            got = assignment.next_item(project_b, rater_obj)
            if got is not None:
                assignment.annotate(project_b, rater_obj, got.item, "pos")
            latencies.append(time.perf_counter() - start)
            # What a rater of A could see while A's batch is pending: nothing.
            before = _status(a_id)
            visible = assignment.next_item(project_a, rater_obj) is not None
            try:
                assignment.find_item(project_a, "r0")
                visible = True
            except NotFound:
                pass
            after = _status(a_id)
            if visible and before == after == "pending":
                leaks += 1
            assignment.release(project_a, rater_obj)
            if after == "publishing" and "staged" not in took:
                took["staged"] = time.perf_counter() - began
            time.sleep(0.05)
        thread.join()
        n = db.session.scalar(select(func.count(Item.id)).where(Item.project_id == a_id))
    latencies.sort()
    staged = f" (staged after about {took['staged']:.1f} s)" if "staged" in took else ""
    print(f"rows {args.rows}: import {took['import']:.1f} s{staged}, items in A after: {n}")
    print(
        f"concurrent next+annotate on B: {len(latencies)} calls, "
        f"p50 {statistics.median(latencies) * 1000:.0f} ms, "
        f"p99 {latencies[int(len(latencies) * 0.99)] * 1000:.0f} ms, "
        f"max {latencies[-1] * 1000:.0f} ms; calls that saw rows of A while its batch was pending: {leaks}"
    )


if __name__ == "__main__":
    main()
