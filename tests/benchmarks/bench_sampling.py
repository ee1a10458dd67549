"""Rank a large pool with labeler's strategies and with modAL, side by side.

    python tests/benchmarks/bench_sampling.py [--n 1000000] [--batch 100] [--no-tfidf]

Pools: ``n x 64`` dense float64 Gaussian features (10 classes), and ``n``
synthetic TF-IDF documents (10 topics, a 20,000-word Zipf vocabulary). A
logistic regression is fitted on the first 5,000 rows (their labels are
known; the rest are unlabeled), and a committee of 5 bagged logistic
regressions likewise. Each method then picks a batch from the whole pool.

Each pool runs in a fresh subprocess that loads the cached pool and fits the
models (not timed), warms every method up once, then:

- time: ``--repeats`` rounds (default 3), each calling every method once in a
  new random order, so labeler and modAL share whatever load the machine has;
  the table shows the median and the best;
- peak extra memory: the tracemalloc peak of one more call (numpy and scipy
  buffers are traced; the pool itself is not counted, it exists before).

modAL runs on the same pool with the same fitted models: ``ActiveLearner.query``
with ``margin_sampling``, and ``Committee.query`` with its default
``vote_entropy_sampling`` (labeler's committee uses vote entropy too).
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
import tracemalloc
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

N_LABELED = 5_000
N_CLASSES = 10
N_FEATURES = 64

METHODS = [
    ("labeler margin (batch-aware, the default)", "margin"),
    ("labeler margin (plain top-n, diversity=1)", "margin_plain"),
    ("modAL margin (ActiveLearner.query)", "modal_margin"),
    ("labeler committee of 5 (vote entropy)", "committee"),
    ("modAL committee of 5 (Committee.query)", "modal_committee"),
    ("labeler cluster", "cluster"),
    ("labeler region", "region"),
    ("labeler rank (margin, whole pool ordered)", "rank_margin"),
]
# which modAL row each labeler row is compared with
BASELINE = {
    "margin": "modal_margin",
    "margin_plain": "modal_margin",
    "committee": "modal_committee",
    "rank_margin": "modal_margin",
}


# ------------------------------------------------------------------ pools
def make_dense(n: int, path: Path) -> None:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, N_FEATURES))
    w = rng.standard_normal((N_FEATURES, N_CLASSES))
    y = np.argmax(X[:N_LABELED] @ w + rng.gumbel(size=(N_LABELED, N_CLASSES)) * 2.0, axis=1)
    np.save(path / "dense_X.npy", X)
    np.save(path / "dense_y.npy", y)


def make_tfidf(n: int, path: Path) -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    rng = np.random.default_rng(1)
    vocab = np.array([f"w{i}" for i in range(20_000)])
    topic_words = rng.choice(20_000, size=(N_CLASSES, 30), replace=False)
    y = rng.integers(0, N_CLASSES, size=n)
    zipf = 1.0 / np.arange(1, 20_001) ** 1.1
    zipf /= zipf.sum()
    lengths = rng.integers(8, 25, size=n)
    words = rng.choice(20_000, size=int(lengths.sum()), p=zipf)
    topical = topic_words[y[:, None], rng.integers(0, 30, size=(n, 3))]
    docs = []
    start = 0
    for i in range(n):
        end = start + lengths[i]
        docs.append(" ".join(vocab[np.concatenate([words[start:end], topical[i]])]))
        start = end
    X = TfidfVectorizer(dtype=np.float64).fit_transform(docs).tocsr()
    sp.save_npz(path / "tfidf_X.npz", X)
    np.save(path / "tfidf_y.npy", y[:N_LABELED])


# ------------------------------------------------------------------ child
def _load(pool: str, path: Path) -> tuple[Any, np.ndarray]:
    if pool == "dense":
        return np.load(path / "dense_X.npy"), np.load(path / "dense_y.npy")
    return sp.load_npz(path / "tfidf_X.npz").tocsr(), np.load(path / "tfidf_y.npy")


def runners(pool: str, methods: list[str], path: Path, batch: int) -> dict[str, Any]:
    """Load the pool, fit the models (untimed) and return one callable per method."""
    warnings.filterwarnings("ignore")
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression

    from labeler.sampling import (
        Committee,
        RegionSampler,
        cluster_sampling,
        committee_sampling,
        margin_sampling,
        rank,
    )

    X, y_lab = _load(pool, path)
    n = X.shape[0]
    X_lab = X[:N_LABELED]
    y = np.full(n, -1, dtype=np.int64)
    y[:N_LABELED] = y_lab
    model = LogisticRegression(max_iter=300).fit(X_lab, y_lab)
    committee = Committee(LogisticRegression(max_iter=300), 5, random_state=0).fit(X_lab, y_lab)
    out: dict[str, Any] = {"_X": X}
    for method in methods:
        if method == "margin":
            out[method] = lambda: margin_sampling(model, X, batch, random_state=0)
        elif method == "margin_plain":
            out[method] = lambda: margin_sampling(model, X, batch, random_state=0, diversity=1)
        elif method == "rank_margin":
            out[method] = lambda: rank("margin", model, X, batch, y=y, random_state=0).order
        elif method == "committee":
            out[method] = lambda: committee_sampling(
                committee, X, batch, measure="vote", random_state=0
            )
        elif method == "cluster":
            out[method] = lambda: cluster_sampling(model, X, batch, y=y, random_state=0)
        elif method == "region":
            # a fresh sampler each call: partition, allocation, bandit, base strategies
            out[method] = lambda: RegionSampler(n_regions=8, random_state=0).query(
                clone(model).fit(X_lab, y_lab), X, batch, y=y
            )
        elif method == "modal_margin":
            from modAL.models import ActiveLearner
            from modAL.uncertainty import margin_sampling as modal_margin

            learner = ActiveLearner(estimator=model, query_strategy=modal_margin)
            out[method] = lambda learner=learner: learner.query(X, n_instances=batch)
        elif method == "modal_committee":
            from modAL.models import ActiveLearner
            from modAL.models import Committee as ModalCommittee

            learners = [ActiveLearner(estimator=m) for m in committee.estimators_]
            modal = ModalCommittee(learner_list=learners)
            out[method] = lambda modal=modal: modal.query(X, n_instances=batch)
        else:
            raise SystemExit(f"unknown method {method}")
    return out


def child(
    pool: str, methods: list[str], path: Path, batch: int, repeats: int
) -> list[dict[str, Any]]:
    """Time the methods interleaved (each round in a new random order), then trace memory."""
    run = runners(pool, methods, path, batch)
    X = run.pop("_X")
    for method in methods:  # warm-up: imports, first-call caches
        run[method]()
    times: dict[str, list[float]] = {m: [] for m in methods}
    order = list(methods)
    rng = np.random.default_rng(0)
    for _ in range(repeats):
        rng.shuffle(order)
        for method in order:
            t = time.perf_counter()
            run[method]()
            times[method].append(time.perf_counter() - t)
    pool_mb = (
        X.nbytes if not sp.issparse(X) else X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    ) / 2**20
    results = []
    for method in methods:
        tracemalloc.start()
        run[method]()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        results.append(
            {
                "pool": pool,
                "method": method,
                "n": X.shape[0],
                "median_s": statistics.median(times[method]),
                "min_s": min(times[method]),
                "times": times[method],
                "traced_peak_mb": peak / 2**20,
                "pool_mb": pool_mb,
            }
        )
    return results


# ------------------------------------------------------------------ parent
def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-tfidf", action="store_true")
    ap.add_argument("--only", default="", help="comma-separated method keys")
    ap.add_argument("--cache", default="", help="directory to keep the generated pools in")
    ap.add_argument("--child", nargs=3, metavar=("POOL", "METHOD", "DIR"), help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.child:
        pool, methods_arg, path = args.child
        print(json.dumps(child(pool, methods_arg.split(","), Path(path), args.batch, args.repeats)))
        return

    cache = Path(args.cache) if args.cache else Path(tempfile.mkdtemp(prefix="bench_sampling_"))
    cache.mkdir(parents=True, exist_ok=True)
    stamp = cache / f"pools_{args.n}.ok"
    pools = ["dense"] if args.no_tfidf else ["dense", "tfidf"]
    if not stamp.exists():
        t = time.perf_counter()
        make_dense(args.n, cache)
        print(f"dense pool {args.n} x {N_FEATURES}: {time.perf_counter() - t:.1f} s", flush=True)
        if not args.no_tfidf:
            t = time.perf_counter()
            make_tfidf(args.n, cache)
            print(f"tfidf pool {args.n} docs: {time.perf_counter() - t:.1f} s", flush=True)
            stamp.write_text("ok")
    only = {m for m in args.only.split(",") if m}
    methods = [m for _, m in METHODS if not only or m in only]
    results: dict[tuple[str, str], dict[str, Any]] = {}
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    labels = {m: lab for lab, m in METHODS}
    for pool in pools:
        cmd = [sys.executable, __file__, "--batch", str(args.batch), "--repeats", str(args.repeats)]
        cmd += ["--child", pool, ",".join(methods), str(cache)]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            print(f"{pool} failed:\n{proc.stderr[-3000:]}", flush=True)
            continue
        for r in json.loads(proc.stdout.strip().splitlines()[-1]):
            results[(pool, r["method"])] = r
            print(
                f"{pool:6s} {labels[r['method']]:44s} median {r['median_s']:7.3f} s"
                f"  min {r['min_s']:7.3f} s  traced peak {r['traced_peak_mb']:7.1f} MB",
                flush=True,
            )

    print()
    header = f"{'pool':6s} {'method':44s} {'median s':>9s} {'min s':>8s} {'peak MB':>9s} {'time x':>8s} {'mem x':>7s}"
    print(header)
    print("-" * len(header))
    for (pool, method), r in results.items():
        label = labels[method]
        ratio_t = ratio_m = ""
        base = results.get((pool, BASELINE.get(method, "")))
        if base:
            ratio_t = f"{base['median_s'] / r['median_s']:.2f}"
            ratio_m = f"{r['traced_peak_mb'] / max(base['traced_peak_mb'], 1e-9):.2f}"
        print(
            f"{pool:6s} {label:44s} {r['median_s']:9.3f} {r['min_s']:8.3f} "
            f"{r['traced_peak_mb']:9.1f} {ratio_t:>8s} {ratio_m:>7s}"
        )
    print(
        "\ntime x = modAL median / labeler median (>1: labeler faster); "
        "mem x = labeler traced peak / modAL traced peak (<1: labeler leaner)."
    )


if __name__ == "__main__":
    main()
