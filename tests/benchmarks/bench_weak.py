"""Weak-supervision core benchmark: applier vs Snorkel, the weak round, propagation.

Three parts, each skippable (see ``--help``):

- apply: N texts x 20 keyword and regex LFs, the vectorized applier and
  Snorkel's ``PandasLFApplier`` on the same LFs and data in one run; checks the
  matrices are identical, prints both times and the ratio.
- round: N items x M LFs (synthetic texts, keyword LFs): apply, fit Snorkel's
  LabelModel, predict (the service's store is not included).
- propagate: N items x 64 features (clustered Gaussians, 1 % seeds): kNN graph
  + label spreading; ``--peer`` runs scikit-learn's LabelSpreading(kNN=10) too.
  PyNNDescent compiles its kernels once per process: a warm-up on 2,000 rows
  runs first and is timed apart.

Examples::

    python tests/benchmarks/bench_weak.py --apply-n 20000 --round-n 50000 --prop-n 30000 --peer
    python tests/benchmarks/bench_weak.py --apply-n 200000 --round-n 1000000 --prop-n 100000,1000000
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from labeler.weak.apply import apply_lfs  # noqa: E402
from labeler.weak.lf import KeywordLF, RegexLF  # noqa: E402
from labeler.weak.model import fit_label_model, predict  # noqa: E402
from labeler.weak.propagate import knn_graph, propagate  # noqa: E402

VOCAB = str.split(
    "check out my channel subscribe please plz song love video http www com great "
    "free gift card money win best music watch like share follow new amazing views "
    "the a is this to and of you it in for on that with was"
)


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


def _texts(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(3, 25, n)
    words = rng.choice(VOCAB, size=int(lengths.sum()))
    out, pos = [], 0
    for length in lengths:
        out.append(" ".join(words[pos : pos + length]).capitalize())
        pos += length
    return out


def _lfs(m: int) -> list[KeywordLF | RegexLF]:
    patterns = [r"check.*out", r"https?://\S+", r"w{3}\.\S+", r"\b(?:free|win)\b", r"[A-Z]{4,}"]
    lfs: list[KeywordLF | RegexLF] = []
    for j in range(m):
        if j % 4 == 3:
            lfs.append(RegexLF(f"re{j}", j % 2, patterns[(j // 4) % len(patterns)]))
        else:
            words = tuple(VOCAB[(j * 3 + i) % len(VOCAB)] for i in range(1 + j % 3))
            lfs.append(KeywordLF(f"kw{j}", j % 2, words, whole_word=j % 2 == 0))
    return lfs


def _snorkel(lf: KeywordLF | RegexLF):  # type: ignore[no-untyped-def]
    from snorkel.labeling import LabelingFunction

    if isinstance(lf, RegexLF):
        rx = re.compile(lf.pattern, re.IGNORECASE)
        return LabelingFunction(lf.name, lambda x: lf.label if rx.search(x.text) else -1)
    if lf.whole_word:
        body = "|".join(re.escape(w.lower()) for w in lf.words)
        wrx = re.compile(rf"(?<!\w)(?:{body})(?!\w)")
        return LabelingFunction(lf.name, lambda x: lf.label if wrx.search(x.text.lower()) else -1)
    words = [w.lower() for w in lf.words]
    return LabelingFunction(
        lf.name, lambda x: lf.label if any(w in x.text.lower() for w in words) else -1
    )


def bench_apply(n: int, repeats: int) -> None:
    import pandas as pd
    from snorkel.labeling import PandasLFApplier

    texts, lfs = _texts(n), _lfs(20)
    print(f"\n== apply: {n:,} texts x {len(lfs)} LFs ({_load()})")
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        ours = apply_lfs({"text": texts}, lfs)
        times.append(time.perf_counter() - t)
    ours_s = float(np.median(times))
    t = time.perf_counter()
    theirs = PandasLFApplier([_snorkel(lf) for lf in lfs]).apply(
        pd.DataFrame({"text": texts}), progress_bar=False
    )
    snorkel_s = time.perf_counter() - t
    same = bool(np.array_equal(ours, theirs))
    print(f"vectorized median {ours_s:.2f} s (runs {', '.join(f'{x:.2f}' for x in times)})")
    print(
        f"Snorkel PandasLFApplier {snorkel_s:.1f} s; ratio x{snorkel_s / ours_s:.0f}; identical: {same}"
    )
    print(f"coverage {float((ours != -1).any(axis=1).mean()):.3f} ({_load()})")
    if not same:
        raise SystemExit("matrices differ")


def bench_round(n: int, m: int) -> None:
    print(f"\n== weak round: {n:,} items x {m} LFs ({_load()})")
    texts, lfs = _texts(n, seed=1), _lfs(m)
    t0 = time.perf_counter()
    L = apply_lfs({"text": texts}, lfs)
    t1 = time.perf_counter()
    res = fit_label_model(L, 2, n_epochs=500)
    t2 = time.perf_counter()
    labels = predict(res.proba)
    t3 = time.perf_counter()
    print(
        f"apply {t1 - t0:.1f} s, fit + predict_proba {t2 - t1:.1f} s, predict {t3 - t2:.1f} s, "
        f"total {t3 - t0:.1f} s; labeled {float((labels >= 0).mean()):.3f} ({_load()})"
    )


def _blobs(n: int, d: int = 64, k: int = 10, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(k, d))
    y = rng.integers(0, k, n)
    return (centers[y] + rng.normal(scale=2.0, size=(n, d))).astype(np.float32), y


def bench_propagate(n: int, peer: bool) -> None:
    X, y = _blobs(n)
    seeds = np.where(np.random.default_rng(1).random(n) < 0.01, y, -1)
    print(
        f"\n== propagate: {n:,} items x 64 features, {int((seeds >= 0).sum()):,} seeds ({_load()})"
    )
    t0 = time.perf_counter()
    graph = knn_graph(X, k=10)
    t1 = time.perf_counter()
    labels, conf = propagate(X, seeds, 10, graph=graph)
    t2 = time.perf_counter()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"graph {t1 - t0:.1f} s + spreading {t2 - t1:.1f} s = {t2 - t0:.1f} s; accuracy on "
        f"unseeded {float((labels == y)[seeds < 0].mean()):.3f}; peak RSS {rss:.0f} MB ({_load()})"
    )
    if peer:
        from sklearn.semi_supervised import LabelSpreading

        t = time.perf_counter()
        ref = LabelSpreading(kernel="knn", n_neighbors=10, alpha=0.2).fit(X, seeds).transduction_
        s = time.perf_counter() - t
        print(
            f"sklearn LabelSpreading(knn=10) {s:.1f} s; accuracy {float((ref == y)[seeds < 0].mean()):.3f}; "
            f"agreement with ours {float((ref == labels).mean()):.3f} ({_load()})"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--apply-n", type=int, default=200_000, help="0 skips the applier part")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--round-n", type=int, default=1_000_000, help="0 skips the weak round")
    ap.add_argument("--round-lfs", type=int, default=50)
    ap.add_argument("--prop-n", default="100000,1000000", help="comma-separated sizes; empty skips")
    ap.add_argument("--peer", action="store_true", help="also run sklearn LabelSpreading")
    args = ap.parse_args()
    print(f"bench_weak start ({_load()}, {os.cpu_count()} cores)")
    if args.apply_n:
        bench_apply(args.apply_n, args.repeats)
    if args.round_n:
        bench_round(args.round_n, args.round_lfs)
    sizes = [int(s) for s in args.prop_n.split(",") if s.strip()]
    if sizes:
        t = time.perf_counter()
        knn_graph(_blobs(25_000)[0][:25_000], k=10)  # past EXACT_MAX: compiles PyNNDescent
        print(
            f"\nPyNNDescent warm-up (JIT compile, once per process) {time.perf_counter() - t:.1f} s"
        )
        for n in sizes:
            bench_propagate(n, args.peer and n <= 200_000)
    print(f"\nbench_weak end ({_load()})")


if __name__ == "__main__":
    main()
