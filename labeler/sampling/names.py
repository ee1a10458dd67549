"""The strategies' names, without their code: what input declarations validate against.

:data:`labeler.sampling.registry.STRATEGIES` maps the same names to the functions (and
checks at import that the two lists agree); this module imports nothing, so declaring
a project's ``strategy`` field does not load scikit-learn into every process.
"""

STRATEGY_NAMES: tuple[str, ...] = (
    "random",
    "least_confident",
    "margin",
    "entropy",
    "committee",
    "cluster",
    "region",
)
