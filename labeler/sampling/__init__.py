"""Active-learning strategies: pure functions from a model and a pool to indices.

Measures (:mod:`~labeler.sampling.measures`) turn probabilities into one
score per row, higher = more informative. Strategies turn a model (or its
probabilities) and a pool into the indices of the next batch:
``strategy(model_or_probas, X, n, *, y=None, random_state=None) -> indices``.
:mod:`~labeler.sampling.registry` names them, handles the cold start and ranks
the whole pool. Nothing here touches a database or a web framework.

The names below load lazily (PEP 562): the services' input declarations read the strategy
names from :mod:`~labeler.sampling.names`, which must not pull scikit-learn into every web
and CLI process.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from labeler.sampling._base import Query, allocate_batch
    from labeler.sampling.cluster import cluster_query, cluster_sampling
    from labeler.sampling.committee import Committee, committee_query, committee_sampling
    from labeler.sampling.measures import (
        consensus_entropy,
        entropy_scores,
        kl_max_disagreement,
        least_confidence,
        margin,
        margin_scores,
        vote_entropy,
    )
    from labeler.sampling.region import RegionSampler, region_query, region_sampling
    from labeler.sampling.registry import (
        STRATEGIES,
        Ranking,
        Selection,
        cold_start_reason,
        rank,
        select,
    )
    from labeler.sampling.uncertainty import (
        entropy_sampling,
        least_confident_sampling,
        margin_sampling,
        random_sampling,
        uncertainty_query,
    )

_WHERE = {
    "Committee": "committee",
    "Query": "_base",
    "Ranking": "registry",
    "RegionSampler": "region",
    "STRATEGIES": "registry",
    "Selection": "registry",
    "allocate_batch": "_base",
    "cluster_query": "cluster",
    "cluster_sampling": "cluster",
    "cold_start_reason": "registry",
    "committee_query": "committee",
    "committee_sampling": "committee",
    "consensus_entropy": "measures",
    "entropy_sampling": "uncertainty",
    "entropy_scores": "measures",
    "kl_max_disagreement": "measures",
    "least_confidence": "measures",
    "least_confident_sampling": "uncertainty",
    "margin": "measures",
    "margin_sampling": "uncertainty",
    "margin_scores": "measures",
    "random_sampling": "uncertainty",
    "rank": "registry",
    "region_query": "region",
    "region_sampling": "region",
    "select": "registry",
    "uncertainty_query": "uncertainty",
    "vote_entropy": "measures",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"labeler.sampling.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'labeler.sampling' has no attribute {name!r}")


__all__ = [
    "Committee",
    "Query",
    "Ranking",
    "RegionSampler",
    "STRATEGIES",
    "Selection",
    "allocate_batch",
    "cluster_query",
    "cluster_sampling",
    "cold_start_reason",
    "committee_query",
    "committee_sampling",
    "consensus_entropy",
    "entropy_sampling",
    "entropy_scores",
    "kl_max_disagreement",
    "least_confidence",
    "least_confident_sampling",
    "margin",
    "margin_sampling",
    "margin_scores",
    "random_sampling",
    "rank",
    "region_query",
    "region_sampling",
    "select",
    "uncertainty_query",
    "vote_entropy",
]
