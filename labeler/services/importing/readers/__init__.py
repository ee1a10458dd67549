"""Pure readers: bytes in, rows and problems out.

Nothing here knows a ``Project``, the database or Flask, so every format quirk
(BOMs, CRLF, quoting, JSON nesting, WRENCH's shape) is tested with literal bytes
and no database. The writers (``importing.batch``) feed what a reader yields to
``checks.check_row`` and then to the database.

>>> import io
>>> rows = list(read("jsonl", io.BytesIO(b'{"id": "a", "text": "hi"}\\n'), Hints()))
>>> rows[0].external_id, rows[0].data
('a', {'text': 'hi'})
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import BinaryIO

from labeler.services.importing.readers.checks import Hints
from labeler.services.importing.readers.csv import csv_rows
from labeler.services.importing.readers.json_document import label_studio_rows, wrench_rows
from labeler.services.importing.readers.jsonl import jsonl_rows
from labeler.services.importing.readers.rows import Problem, Row

Reader = Callable[[BinaryIO, Hints], Iterator[Row | Problem]]

READERS: dict[str, Reader] = {
    "csv": csv_rows,
    "jsonl": jsonl_rows,
    "label-studio": label_studio_rows,
    "wrench": wrench_rows,
}


def read(fmt: str, stream: BinaryIO, hints: Hints) -> Iterator[Row | Problem]:
    """The rows (and problems, in line order) of ``stream`` in format ``fmt``."""
    return READERS[fmt](stream, hints)


__all__ = ["READERS", "Hints", "Problem", "Row", "read"]
