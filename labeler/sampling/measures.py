"""Informativeness measures: probabilities in, one score per row out.

Every measure follows one sign convention: **higher = more informative** (more
uncertain, more disagreement), so strategies always take the top scores.

Single-model measures take ``proba`` of shape ``(n_samples, n_classes)``.
Committee measures take a stack of the members' probabilities of shape
``(n_members, n_samples, n_classes)`` (members first: that is how the stack is
built, one member at a time) or, for :func:`vote_entropy`, integer votes of
shape ``(n_members, n_samples)``.

These are vectorised numpy versions of modAL's measures (``modAL.uncertainty``
and ``modAL.disagreement``); modAL's take a fitted classifier and predict the
whole pool at once, and its vote entropy counts votes row by row in Python.
The tests check both agree on the same probabilities. Logs are natural (nats),
as in modAL and ``scipy.stats.entropy``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import entr, rel_entr

__all__ = [
    "least_confidence",
    "margin",
    "margin_scores",
    "entropy_scores",
    "vote_entropy",
    "consensus_entropy",
    "kl_max_disagreement",
]


def _proba(proba: ArrayLike) -> NDArray[Any]:
    p = np.asarray(proba)
    if p.ndim != 2:
        raise ValueError(f"expected probabilities of shape (n_samples, n_classes), got {p.shape}")
    if not np.issubdtype(p.dtype, np.floating):
        p = p.astype(np.float64)
    return p


def _stack(probas_stack: ArrayLike) -> NDArray[Any]:
    p = np.asarray(probas_stack)
    if p.ndim != 3:
        raise ValueError(
            f"expected a committee stack of shape (n_members, n_samples, n_classes), got {p.shape}"
        )
    if not np.issubdtype(p.dtype, np.floating):
        p = p.astype(np.float64)
    return p


def least_confidence(proba: ArrayLike) -> NDArray[Any]:
    """One minus the probability of the predicted class.

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes)

    Returns
    -------
    ndarray of shape (n_samples,)
        In ``[0, 1 - 1/n_classes]``; higher = less confident.

    Examples
    --------
    >>> least_confidence([[0.9, 0.1], [0.5, 0.5], [0.2, 0.8]]).round(2).tolist()
    [0.1, 0.5, 0.2]
    """
    p = _proba(proba)
    return 1.0 - p.max(axis=1)


def margin(proba: ArrayLike) -> NDArray[Any]:
    """The raw margin: top probability minus the runner-up (lower = more uncertain).

    This is modAL's ``classifier_margin``; strategies use :func:`margin_scores`.

    Examples
    --------
    >>> margin([[0.7, 0.2, 0.1], [0.4, 0.35, 0.25]]).round(2).tolist()
    [0.5, 0.05]
    """
    p = _proba(proba)
    n_classes = p.shape[1]
    if n_classes < 2:
        return np.ones(p.shape[0], dtype=p.dtype)
    if n_classes == 2:
        return np.abs(p[:, 0] - p[:, 1])
    part = np.partition(p, n_classes - 2, axis=1)
    return part[:, -1] - part[:, -2]


def margin_scores(proba: ArrayLike) -> NDArray[Any]:
    """``1 - margin``: higher = the two likeliest classes are closer.

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes)

    Returns
    -------
    ndarray of shape (n_samples,)
        In ``[0, 1]``; 1 when the top two classes tie.

    Examples
    --------
    >>> margin_scores([[0.7, 0.2, 0.1], [0.4, 0.35, 0.25], [1.0, 0.0, 0.0]]).round(2).tolist()
    [0.5, 0.95, 0.0]
    """
    return 1.0 - margin(proba)


def entropy_scores(proba: ArrayLike) -> NDArray[Any]:
    """Shannon entropy of each row, in nats (``0 * log 0 = 0``).

    Examples
    --------
    >>> entropy_scores([[1.0, 0.0], [0.5, 0.5]]).round(4).tolist()
    [0.0, 0.6931]
    """
    p = _proba(proba)
    return entr(p).sum(axis=1)


def vote_entropy(votes_or_probas: ArrayLike, n_classes: int | None = None) -> NDArray[np.float64]:
    """Entropy of the committee's hard votes.

    Parameters
    ----------
    votes_or_probas : array-like
        Either integer votes ``(n_members, n_samples)`` holding class indices
        ``0..n_classes-1``, or a probability stack ``(n_members, n_samples,
        n_classes)`` from which each member votes for its argmax.
    n_classes : int, optional
        Needed with votes when some class got no vote; defaults to
        ``max(vote) + 1`` (or the stack's last dimension).

    Returns
    -------
    ndarray of shape (n_samples,)
        0 when all members agree; ``log(min(n_members, n_classes))`` at most.

    Examples
    --------
    Three members; the first row is unanimous, the second split 2-1:

    >>> votes = np.array([[0, 1], [0, 1], [0, 0]])
    >>> vote_entropy(votes).round(4).tolist()
    [0.0, 0.6365]
    >>> float(-(2/3) * np.log(2/3) - (1/3) * np.log(1/3)).__round__(4)
    0.6365
    """
    v = np.asarray(votes_or_probas)
    if v.ndim == 3:
        n_classes = v.shape[2] if n_classes is None else n_classes
        v = v.argmax(axis=2)
    elif v.ndim != 2:
        raise ValueError(
            "expected votes (n_members, n_samples) or probabilities "
            f"(n_members, n_samples, n_classes), got {v.shape}"
        )
    v = v.astype(np.intp, copy=False)
    n_members, n_samples = v.shape
    if n_classes is None:
        n_classes = int(v.max()) + 1 if v.size else 1
    counts = np.zeros((n_samples, n_classes), dtype=np.float64)
    rows = np.arange(n_samples)
    for member_votes in v:
        # each member casts exactly one vote per row: no repeated (row, class) pair
        counts[rows, member_votes] += 1.0
    counts /= n_members
    return entr(counts).sum(axis=1)


def consensus_entropy(probas_stack: ArrayLike) -> NDArray[Any]:
    """Entropy of the members' mean probabilities.

    Parameters
    ----------
    probas_stack : array-like of shape (n_members, n_samples, n_classes)

    Examples
    --------
    Two members, certain but opposed, average to a coin flip:

    >>> stack = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])
    >>> consensus_entropy(stack).round(4).tolist()
    [0.6931]
    """
    p = _stack(probas_stack)
    return entr(p.mean(axis=0)).sum(axis=1)


def kl_max_disagreement(probas_stack: ArrayLike) -> NDArray[Any]:
    """Largest Kullback-Leibler divergence of a member from the consensus.

    ``max_k KL(p_k || mean_j p_j)``, modAL's ``KL_max_disagreement``.

    Parameters
    ----------
    probas_stack : array-like of shape (n_members, n_samples, n_classes)

    Examples
    --------
    Members ``[1, 0]`` and ``[0, 1]``: the consensus is ``[.5, .5]`` and each
    member is ``log 2`` away from it; identical members do not disagree:

    >>> stack = np.array([[[1.0, 0.0], [0.3, 0.7]], [[0.0, 1.0], [0.3, 0.7]]])
    >>> kl_max_disagreement(stack).round(4).tolist()
    [0.6931, 0.0]
    """
    p = _stack(probas_stack)
    consensus = p.mean(axis=0)
    kl = rel_entr(p, consensus[None, :, :]).sum(axis=2)
    return kl.max(axis=0)
