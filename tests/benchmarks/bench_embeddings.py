"""Embedding throughput per process, and simulation time before/after the speedups.

    python tests/benchmarks/bench_embeddings.py [--texts FILE.csv --text-column C]
        [--embed-n 500] [--repeats 5] [--batch-size 64]
        [--sim-n 5000] [--sim-seeds 1] [--sim-rounds 20] [--jobs 2] [--skip-embed] [--skip-sim]

1. Embedding: the packaged all-MiniLM-L6-v2 through labeler's own
   ``SentenceEmbedder`` (one process, the default device). The model is loaded
   and warmed up first (not timed); then ``--repeats`` runs embed the same
   ``--embed-n`` texts and the median (and best) items per second is printed,
   with the machine's load average before and after (the figure follows the
   load on a shared machine). Texts: a CSV column, or synthetic short
   sentences when no file is given.
2. Simulation: ``--sim-n`` synthetic TF-IDF documents (6 topics, an 8,000-word
   Zipf vocabulary), all six strategies, ``--sim-seeds`` seeds,
   ``--sim-rounds`` rounds of 20 labels, logistic regression:
   - *before*: every logistic regression fitted on all TF-IDF columns (what
     labeler did before; ``labeler.sampling.fitting.MAX_USED_SHARE = 0``);
   - *after*: fitted on the columns the labeled rows use (same models);
   - *after, --jobs N*: the (seed, strategy) cells in N processes.
   The rows of the three runs are checked to be identical.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import time
from pathlib import Path

import numpy as np

STRATEGIES = ["random", "margin", "entropy", "committee", "cluster", "region"]


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def _texts(path: str | None, column: str, n: int) -> list[str]:
    if path:
        with Path(path).open(newline="", encoding="utf-8-sig") as fh:
            texts = [r[column] for r in csv.DictReader(fh)]
        return (texts * (n // max(len(texts), 1) + 1))[:n]
    rng = np.random.default_rng(0)
    subjects = ["the service", "my order", "this phone", "the new app", "our team", "the song"]
    verbs = ["works well", "broke again", "is too slow", "arrived late", "sounds great"]
    tails = ["today", "after the update", "for the third time", "as promised", "again"]
    return [
        f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(tails)}, {k}" for k in range(n)
    ]


def bench_embeddings(texts: list[str], repeats: int, batch_size: int) -> None:
    from labeler.learning.embeddings import SentenceEmbedder

    emb = SentenceEmbedder(batch_size=batch_size).load()
    emb.transform(texts[:64])  # warm-up
    print(f"\n== embedding {len(texts)} texts x {repeats} runs, batch {batch_size}")
    print(f"   device {emb.device or emb._model.device}; before: {_load()}")
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        emb.transform(texts)
        rates.append(len(texts) / (time.perf_counter() - start))
    print(f"   items/s per process: median {statistics.median(rates):.1f}, best {max(rates):.1f}")
    print(f"   runs: {', '.join(f'{r:.1f}' for r in rates)}; after: {_load()}")


def _synthetic_docs(n: int, seed: int = 0) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    vocab = 8000
    words = np.array([f"w{i}" for i in range(vocab)])
    base = 1.0 / np.arange(1, vocab + 1) ** 1.1
    topics = []
    for _ in range(6):
        p = base.copy()
        p[rng.choice(vocab, 200, replace=False)] *= 20
        topics.append(p / p.sum())
    y = rng.integers(0, 6, n)
    docs = [" ".join(rng.choice(words, size=rng.integers(5, 15), p=topics[c])) for c in y]
    return docs, y


def bench_simulation(n: int, seeds: int, rounds: int, jobs: int) -> None:
    import labeler.sampling.fitting as fitting
    from labeler.learning.features import featurize
    from labeler.learning.simulate import simulate

    docs, y = _synthetic_docs(n)
    X, _ = featurize("text", [{"text": d} for d in docs], method="tfidf")
    kw = {"budget": 20 * rounds, "batch": 20, "seeds": seeds}
    print(f"\n== simulation: {n} TF-IDF texts {X.shape}, {len(STRATEGIES)} strategies x ")
    print(f"   {seeds} seed(s) x {rounds} rounds of 20 labels, logistic regression")
    results = {}
    for label, share, n_jobs in (
        ("before (all columns)", 0.0, 1),
        ("after", fitting.MAX_USED_SHARE, 1),
        (f"after, --jobs {jobs}", fitting.MAX_USED_SHARE, jobs),
    ):
        saved = fitting.MAX_USED_SHARE
        fitting.MAX_USED_SHARE = share
        try:
            start = time.perf_counter()
            rows = simulate(X, y, STRATEGIES, n_jobs=n_jobs, **kw)
            took = time.perf_counter() - start
        finally:
            fitting.MAX_USED_SHARE = saved
        results[label] = rows
        print(f"   {label:22s} {took:7.1f} s   ({_load()})")
    first, *rest = results.values()
    print(f"   rows identical across the three runs: {all(r == first for r in rest)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--texts", help="CSV file with texts to embed (default: synthetic)")
    ap.add_argument("--text-column", default="text")
    ap.add_argument("--embed-n", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--sim-n", type=int, default=5000)
    ap.add_argument("--sim-seeds", type=int, default=1)
    ap.add_argument("--sim-rounds", type=int, default=20)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--skip-embed", action="store_true")
    ap.add_argument("--skip-sim", action="store_true")
    args = ap.parse_args()
    if not args.skip_embed:
        bench_embeddings(
            _texts(args.texts, args.text_column, args.embed_n), args.repeats, args.batch_size
        )
    if not args.skip_sim:
        bench_simulation(args.sim_n, args.sim_seeds, args.sim_rounds, args.jobs)


if __name__ == "__main__":
    main()
