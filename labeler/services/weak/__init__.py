"""Weak supervision around the pure core (:mod:`labeler.weak`), split by reason to change.

- :mod:`.lfs`: define, version and switch labeling functions (specs, Python files);
- :mod:`.columns`: the items' data as columns, read in chunks;
- :mod:`.votes`: the vote store (sparse votes packed per LF and range of items);
- :mod:`.apply`: apply what is stale (new items, new LF versions) and store votes sparsely;
- :mod:`.matrix`: the label matrix ``L`` from stored votes;
- :mod:`.model`: fit the label model and store per-item probabilities;
- :mod:`.propagate`: label propagation over stored vectors (or TF-IDF);
- :mod:`.stats`: LF statistics against the human consensus;
- :mod:`.preview`: what an LF would do, before it is saved;
- :mod:`.jobs`: the same work as background jobs with progress.
"""
