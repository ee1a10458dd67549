"""What the writers share: results, the problem list, duplicate detection, project hints."""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from flask import current_app

from labeler.models import Project, ProjectKind
from labeler.services.errors import BadInput
from labeler.services.importing.readers import Hints, Problem

MAX_ERRORS = 20


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    total: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class AnnotationImportResult(ImportResult):
    raters_created: int = 0


def hints_of(project: Project) -> Hints:
    field = project.text_field or "text"
    image = project.kind == ProjectKind.IMAGE
    return Hints(
        tabular=project.kind == ProjectKind.TABULAR,
        shown=(field, "image") if image else (field,),
        image=image,
        labels=tuple(project.label_names),
    )


def chunk_size() -> int:
    return max(1, int(current_app.config.get("LABELER_IMPORT_CHUNK", 2000)))


def source_name(stream: Any) -> str:
    name = getattr(stream, "name", None)
    return os.path.basename(name) if isinstance(name, str) and name else "the file"


class Problems:
    """The first MAX_ERRORS problems; ``truncated`` once there are more."""

    def __init__(self, source: str, unit: str) -> None:
        self.source, self.unit = source, unit
        self.found: list[Problem] = []
        self.truncated = False

    def __bool__(self) -> bool:
        return bool(self.found)

    def add(self, problem: Problem) -> None:
        if len(self.found) < MAX_ERRORS:
            self.found.append(problem)
        else:
            self.truncated = True

    def raise_if_any(self) -> None:
        if not self.found:
            return
        found = sorted(self.found, key=lambda p: p.line)
        first = found[0]
        where = f"{self.unit} {first.line}" + (f", field {first.field!r}" if first.field else "")
        count = f"more than {len(found)}" if self.truncated else str(len(found))
        noun = "problem" if count == "1" else "problems"
        raise BadInput(
            f"{count} {noun} in {self.source}; nothing was imported ({where}: {first.message})",
            {"errors": [p.as_dict() for p in found], "truncated": self.truncated},
        )


class SeenKeys:
    """The keys (external ids) seen so far in a file, to refuse duplicates.

    A Python set of 200,000 short ids takes about 20 MB, more than many whole
    files; this keeps a 16-byte BLAKE2 digest per key in a few sorted numpy runs,
    merged like a binary counter, so adding and looking up a chunk stay cheap.
    Two keys share a digest with probability about n**2 / 2**129: never in practice.

    >>> seen = SeenKeys()
    >>> seen.add(["a", "b", "a"]), seen.add(["b", "c"])
    ([False, False, True], [True, False])
    """

    def __init__(self) -> None:
        self._runs: list[np.ndarray] = []

    def add(self, keys: list[str]) -> list[bool]:
        """Record ``keys``; for each, whether it was seen before (here or in an earlier call)."""
        if not keys:
            return []
        digests = np.frombuffer(
            b"".join(hashlib.blake2b(k.encode(), digest_size=16).digest() for k in keys),
            dtype="V16",
        )
        unique, first = np.unique(digests, return_index=True)
        seen = np.ones(len(keys), dtype=bool)
        seen[first] = False  # the first of each repeat within ``keys`` is new
        for run in self._runs:
            at = np.minimum(np.searchsorted(run, digests), len(run) - 1)
            seen |= run[at] == digests
        self._runs.append(unique)
        while len(self._runs) > 1 and len(self._runs[-2]) <= len(self._runs[-1]):
            last = self._runs.pop()
            self._runs[-1] = np.sort(np.concatenate([self._runs[-1], last]))
        return seen.tolist()
