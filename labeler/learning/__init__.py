"""Featurizing, training and one active-learning round: pure functions, no database.

:mod:`~labeler.learning.features` turns item records into a feature matrix,
:mod:`~labeler.learning.training` makes and scores models,
:mod:`~labeler.learning.round` runs one round (train, score, rank) and
:mod:`~labeler.learning.simulate` replays the loop offline with the true
labels as the oracle.
"""

from labeler.learning.round import RoundResult, run_round
from labeler.learning.training import (
    consensus_labels,
    cross_validated_scores,
    make_model,
    train,
)

__all__ = [
    "RoundResult",
    "consensus_labels",
    "cross_validated_scores",
    "make_model",
    "run_round",
    "train",
]
