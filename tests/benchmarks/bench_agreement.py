"""How long the agreement report takes on a big project (issue 10).

1. creates a fresh PostgreSQL database ``labeler_bench_agree_*`` with the real schema,
   one project (3 labels), 50 raters and ``--items`` items (default 300,000), and
   ``--per-item`` (default 3) distinct raters' answers per item inserted in one SQL
   statement (``generate_series``): rater r is right with probability 0.55 + 0.4 r / 49,
   durations 0.5-5 s, about 2 % skips and 2 % unsure;
2. times, ``--repeat`` times each (medians printed):
   - ``report``: :func:`labeler.services.quality.agreement_report` as the API and the
     CLI run it without Dawid-Skene: the database read, alpha, Fleiss, the pairwise
     Cohen matrix (50 x 50), percent agreement, per-rater figures, per-class and
     per-item figures, and the human-level bootstrap (``--bootstrap``, default 200);
   - its parts: ``read`` (the one query into integer arrays), ``core`` (every figure but
     the bootstrap, from the arrays), ``bootstrap``;
   - ``krippendorff pkg``: the ``krippendorff`` package's alpha on the same answers, for
     scale (it is a test-only dependency);
   - ``dawid-skene``: crowd-kit's Dawid-Skene on the same answers (``--no-ds`` skips it);
3. prints the load average before and after, and drops the database (``--keep-db`` keeps it).

    PYTHONPATH=. python tests/benchmarks/bench_agreement.py
    PYTHONPATH=. python tests/benchmarks/bench_agreement.py --items 20000 --repeat 1   # smoke test
    PYTHONPATH=. python tests/benchmarks/bench_agreement.py --keep-db     # then --db NAME reuses it

Targets on this 2-core machine: the report under 5 s, Dawid-Skene under 30 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.benchmarks._db import (  # noqa: E402
    bench_app,
    database_url,
    drop_database,
    filled_database,
    vacuum_analyze,
)
from tests.benchmarks._db import engine as make_engine  # noqa: E402

LABELS = ["positive", "negative", "neutral"]
N_RATERS = 50
TARGET_REPORT_S = 5.0
TARGET_DS_S = 30.0


def create_database(n_items: int, per_item: int) -> tuple[str, str, float]:
    """A filled database (see the module's docstring): name, URL, seconds to fill."""
    t0 = time.perf_counter()
    name, url, _ = filled_database("agree", lambda _name, url: _fill(url, n_items, per_item))
    return name, url, time.perf_counter() - t0


def _fill(url: str, n_items: int, per_item: int) -> None:
    from labeler.extensions import db
    from labeler.services import projects, users
    from tests.conftest import _create_schema

    _create_schema(url)
    app = bench_app(url)
    with app.app_context():
        project = projects.create_project("bench", LABELS, overlap=per_item)
        pid = project.id
        first = None
        for k in range(N_RATERS):
            rater = users.create_user(f"rater{k:02d}", "rater")
            projects.add_member(project, rater)
            first = rater.id if first is None else first
        db.session.remove()
        db.engine.dispose()

    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            """
            INSERT INTO items (project_id, external_id, data, priority, n_done, n_leased,
                               is_open, created_at)
            SELECT %(pid)s, 'x' || g, jsonb_build_object('text', 'item ' || g), 0, %(k)s, 0,
                   false, now()
            FROM generate_series(1, %(n)s) AS g
            """,
            {"pid": pid, "n": n_items, "k": per_item},
        )
        # Rater j of item g: (a + j * b) mod 50 with b in 1..24, distinct for j < 3.
        conn.exec_driver_sql(
            """
            INSERT INTO annotations (project_id, item_id, rater_id, kind, label, duration_ms,
                                     origin, created_at, is_current)
            SELECT %(pid)s, it.id, %(first)s + r.rater, r.kind,
                   CASE WHEN r.kind = 'label' THEN
                       (ARRAY['positive', 'negative', 'neutral'])[
                           1 + CASE WHEN random() < 0.55 + 0.4 * r.rater / 49.0 THEN it.truth
                                    ELSE (it.truth + 1 + floor(random() * 2)::int) %% 3 END]
                   END,
                   500 + floor(random() * 4500)::int, 'import',
                   now() - random() * interval '30 days', true
            FROM (SELECT id, (id %% 3)::int AS truth, (id * 37) %% 50 AS a, 1 + (id %% 24) AS b
                  FROM items WHERE project_id = %(pid)s) AS it
            CROSS JOIN generate_series(0, %(per)s - 1) AS j
            CROSS JOIN LATERAL (
                SELECT ((it.a + j * it.b) %% 50)::int AS rater,
                       CASE WHEN random() < 0.02 THEN 'skip'
                            WHEN random() < 0.02 THEN 'unsure' ELSE 'label' END AS kind
            ) AS r
            """,
            {"pid": pid, "first": first, "per": per_item},
        )
    engine.dispose()
    vacuum_analyze(url, "annotations", "items")


def _time(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def measure(url: str, args: argparse.Namespace) -> dict[str, float]:
    import numpy as np

    from labeler.quality import agreement as ag
    from labeler.quality.hlp import human_level
    from labeler.quality.raters import LABEL, dawid_skene, rater_stats
    from labeler.services import projects, quality

    app = bench_app(url)
    out: dict[str, float] = {}
    with app.app_context():
        project = projects.find_project("bench")
        # Warm the imports (statsmodels, scipy) once, outside the timings.
        quality.agreement_report(project, dawid_skene_mode="off", n_boot=1, top=1)

        out["report"], report = _time(
            lambda: quality.agreement_report(
                project, dawid_skene_mode="off", n_boot=args.bootstrap
            ),
            args.repeat,
        )
        out["read"], ans = _time(
            lambda: quality.load_answers(project, quality.AgreementSlice()), args.repeat
        )
        n_items, n_raters, k = len(ans.item_ids), len(ans.rater_ids), len(LABELS)
        is_label = ans.kind == LABEL
        item, rater, label = ans.item[is_label], ans.rater[is_label], ans.label[is_label]

        def core() -> None:
            counts = ag.item_label_counts(item, label, n_items, k)
            ag.krippendorff_alpha(counts)
            ag.fleiss_kappa(counts)
            ag.percent_agreement(counts)
            tables = ag.pair_tables(item, rater, label, k)
            ag.cohen_kappa_from_tables(tables.tables)
            rater_stats(
                ans.rater,
                ans.kind,
                ans.duration_ms,
                n_raters,
                label_item=item,
                label_rater=rater,
                label=label,
                counts=counts,
            )
            ag.item_entropy(counts)

        out["core"], _ = _time(core, args.repeat)
        counts = ag.item_label_counts(item, label, n_items, k)
        out["bootstrap"], _ = _time(
            lambda: human_level(counts, item, label, n_boot=args.bootstrap), args.repeat
        )
        try:
            import krippendorff

            data = np.full((n_raters, n_items), np.nan)
            data[rater, item] = label

            def pkg() -> float:
                return float(
                    krippendorff.alpha(
                        reliability_data=data,
                        level_of_measurement="nominal",
                        value_domain=[0, 1, 2],
                    )
                )

            out["krippendorff pkg"], theirs = _time(pkg, args.repeat)
            assert abs(theirs - report["krippendorff_alpha"]) < 1e-9, (theirs, report)
        except ImportError:
            print("   (the krippendorff package is not installed: not compared)")
        if not args.no_ds:
            out["dawid-skene"], _ = _time(
                lambda: dawid_skene(item, rater, label, n_items, n_raters, k),
                max(1, args.repeat // 2),
            )
        print(
            f"   {report['n_annotations']:,} labels on {report['n_items']:,} items, "
            f"{len(report['per_rater'])} raters, {len(report['cohen_kappa'])} pairs; "
            f"alpha {report['krippendorff_alpha']:.4f}, Fleiss {report['fleiss_kappa']:.4f}, "
            f"HLP {report['human_level']['accuracy']:.3f}",
            flush=True,
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=300_000)
    parser.add_argument("--per-item", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--bootstrap", type=int, default=200)
    parser.add_argument("--no-ds", action="store_true", help="Leave Dawid-Skene out.")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--db", default=None, help="Reuse a database kept by --keep-db.")
    args = parser.parse_args()

    print(f"load average before: {os.getloadavg()}", flush=True)
    if args.db:
        name, url = args.db, database_url(args.db)
        args.keep_db = True
    else:
        name, url, setup_s = create_database(args.items, args.per_item)
        print(f"   database {name}: {args.items:,} items x {args.per_item} in {setup_s:.1f} s")
    try:
        results = measure(url, args)
    finally:
        if args.keep_db:
            print(f"   kept database {name} ({url})")
        else:
            drop_database(name)
    print(f"medians of {args.repeat} runs (s):")
    for key, value in results.items():
        target = {"report": TARGET_REPORT_S, "dawid-skene": TARGET_DS_S}.get(key)
        mark = (
            ""
            if target is None
            else f"   target < {target:.0f} s: {'ok' if value < target else 'MISSED'}"
        )
        print(f"   {key:18s} {value:7.2f}{mark}")
    print(f"load average after: {os.getloadavg()}", flush=True)


if __name__ == "__main__":
    main()
