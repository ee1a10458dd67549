"""Featurizing, training and one active-learning round: pure functions, no database.

:mod:`~labeler.learning.features` turns item records into a feature matrix,
:mod:`~labeler.learning.training` makes and scores models,
:mod:`~labeler.learning.round` runs one round (train, score, rank) and
:mod:`~labeler.learning.simulate` replays the loop offline with the true
labels as the oracle.

The names below load lazily (PEP 562): the web and CLI processes import
:mod:`~labeler.learning.embeddings` (model names, no model) and must not pull
scikit-learn in with it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from labeler.learning.round import RoundResult, run_round
    from labeler.learning.training import (
        consensus_labels,
        cross_validated_scores,
        make_model,
        train,
    )

_WHERE = {
    "RoundResult": "round",
    "run_round": "round",
    "consensus_labels": "training",
    "cross_validated_scores": "training",
    "make_model": "training",
    "train": "training",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"labeler.learning.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'labeler.learning' has no attribute {name!r}")


__all__ = [
    "RoundResult",
    "consensus_labels",
    "cross_validated_scores",
    "make_model",
    "run_round",
    "train",
]
