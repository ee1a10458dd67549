"""How long the project's consensus and the adjudication queue take on a big project (issue 10).

Reuses ``bench_agreement``'s database (one project, 3 labels, 50 raters of accuracy
0.55-0.95, ``--items`` items x ``--per-item`` answers) and times, uncached:

- ``consensus <method>``: :func:`labeler.services.quality.consensus.project_consensus`
  for mv, wawa and dawid-skene (the database read included), as the export calls it;
- ``queue page``: the first page of the adjudication queue (50 entries) by majority vote,
  after the consensus is cached, i.e. what a page turn costs;
- ``queue cold``: the same with the cache emptied.

    PYTHONPATH=. python tests/benchmarks/bench_adjudication.py
    PYTHONPATH=. python tests/benchmarks/bench_adjudication.py --items 20000   # smoke test
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.benchmarks._db import bench_app, drop_database  # noqa: E402
from tests.benchmarks.bench_agreement import _time, create_database  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=300_000)
    parser.add_argument("--per-item", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}", flush=True)
    name, url, setup_s = create_database(args.items, args.per_item)
    print(f"   database {name}: {args.items:,} items x {args.per_item} in {setup_s:.1f} s")
    out: dict[str, float] = {}
    try:
        from labeler.models import User
        from labeler.services import projects
        from labeler.services.quality import adjudication
        from labeler.services.quality import consensus as cs

        app = bench_app(url)
        with app.app_context():
            from labeler.extensions import db

            project = projects.find_project("bench")
            user = db.session.query(User).first()
            assert user is not None
            for method in cs.METHODS:

                def run(method: str = method) -> int:
                    cs._cache.clear()
                    return len(cs.project_consensus(project, method))

                out[f"consensus {method}"], n = _time(run, args.repeat)
            project.consensus_method = "mv"
            adjudication.queue(project, user)  # warm the cache
            out["queue page"], page = _time(lambda: adjudication.queue(project, user), args.repeat)

            def cold() -> object:
                cs._cache.clear()
                return adjudication.queue(project, user)

            out["queue cold"], _ = _time(cold, args.repeat)
            print(f"   {n:,} items with answers; {page['total']:,} in the queue (mv, 0.6)")
    finally:
        drop_database(name)
    print(f"medians of {args.repeat} runs (s):")
    for key, value in out.items():
        print(f"   {key:18s} {value:7.2f}")
    print(f"load average after: {os.getloadavg()}", flush=True)


if __name__ == "__main__":
    main()
