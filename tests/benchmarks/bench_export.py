"""How long a full JSONL export of a big project takes, and its peak memory (issue 10).

1. builds bench_agreement's project on a fresh PostgreSQL database
   ``labeler_bench_agree_*``: ``--items`` items (default 300,000), 50 raters and
   ``--per-item`` (3) distinct raters' answers per item (900,000 annotations),
   inserted with ``generate_series``;
2. runs ``--repeat`` (3) full exports, each in a fresh process (``--child``) that
   writes ``FILE`` and ``FILE.manifest.json`` with :func:`exporting.export_to_file`
   exactly as ``labeler export PROJECT --format jsonl --out FILE`` does (majority
   vote consensus, per-rater answers on), and reports its wall time and its peak
   resident memory (``resource.getrusage(RUSAGE_SELF).ru_maxrss``: the whole
   process, interpreter and imports included);
3. prints the medians, the machine's load average (``uptime``) before and after,
   and drops the database (``--keep-db`` keeps it; ``--db NAME`` reuses one).

    PYTHONPATH=. python tests/benchmarks/bench_export.py
    PYTHONPATH=. python tests/benchmarks/bench_export.py --items 20000 --repeat 1   # smoke test

Targets on this 2-core machine: under 60 s and under 300 MB resident.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.benchmarks._db import bench_app, database_url, drop_database  # noqa: E402
from tests.benchmarks.bench_agreement import create_database  # noqa: E402

TARGET_S = 60.0
TARGET_MB = 300.0


def child(url: str, out: Path, fmt: str) -> None:
    """One export in this process; prints a JSON line with seconds, rows and peak RSS."""
    import resource

    from labeler.services import exporting, projects
    from labeler.services.inputs import check

    app = bench_app(url)
    with app.app_context():
        project = projects.find_project("bench")
        opts = check(exporting.ExportOptions, {"format": fmt})
        # The app and its imports (the web layer pulls in the quality stack: scipy,
        # scikit-learn, pandas) before the export starts.
        base_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t0 = time.perf_counter()
        manifest = exporting.export_to_file(project, opts, out)
        seconds = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(
        json.dumps(
            {
                "seconds": seconds,
                "rows": manifest["rows"],
                "bytes": manifest["bytes"],
                "peak_rss_mb": peak_kb / 1024,
                "app_rss_mb": base_kb / 1024,
                "counts": manifest["counts_per_source"],
            }
        ),
        flush=True,
    )


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=300_000)
    parser.add_argument("--per-item", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--format", default="jsonl")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--db", default=None, help="Reuse a database kept by --keep-db.")
    parser.add_argument("--child", nargs=2, metavar=("URL", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), args.format)
        return

    print(f"uptime before: {_uptime()}", flush=True)
    if args.db:
        name, url = args.db, database_url(args.db)
        args.keep_db = True
    else:
        name, url, setup_s = create_database(args.items, args.per_item)
        print(f"   database {name}: {args.items:,} items x {args.per_item} in {setup_s:.1f} s")
    runs = []
    try:
        with tempfile.TemporaryDirectory(prefix="labeler-bench-export-") as tmp:
            for k in range(args.repeat):
                out = Path(tmp) / f"export-{k}.{args.format}"
                env = {**os.environ, "PYTHONPATH": str(ROOT)}
                done = subprocess.run(
                    [sys.executable, __file__, "--format", args.format, "--child", url, str(out)],
                    capture_output=True,
                    text=True,
                    env=env,
                    check=True,
                )
                run = json.loads(done.stdout.strip().splitlines()[-1])
                runs.append(run)
                print(
                    f"   run {k + 1}: {run['seconds']:.1f} s, peak RSS {run['peak_rss_mb']:.0f} MB "
                    f"(app before the export {run['app_rss_mb']:.0f} MB), "
                    f"{run['rows']:,} rows, {run['bytes'] / 1e6:.0f} MB written; {run['counts']}",
                    flush=True,
                )
                out.unlink()
    finally:
        if args.keep_db:
            print(f"   kept database {name} ({url})")
        else:
            drop_database(name)
    seconds = statistics.median(r["seconds"] for r in runs)
    rss = statistics.median(r["peak_rss_mb"] for r in runs)
    grew = statistics.median(r["peak_rss_mb"] - r["app_rss_mb"] for r in runs)
    print(f"median of {len(runs)}: {seconds:.1f} s (target < {TARGET_S:.0f}: "
          f"{'ok' if seconds < TARGET_S else 'MISSED'}), peak RSS {rss:.0f} MB "
          f"(target < {TARGET_MB:.0f}: {'ok' if rss < TARGET_MB else 'MISSED'}), "
          f"of which the export {grew:.0f} MB over the started app")  # fmt: skip
    print(f"uptime after: {_uptime()}", flush=True)


if __name__ == "__main__":
    main()
