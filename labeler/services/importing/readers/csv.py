"""CSV: a header row, then one item per record (multi-line quoted fields allowed).

Streamed: a record at a time, whatever the file's size.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from typing import Any, BinaryIO

from labeler.services.importing.readers.checks import Hints
from labeler.services.importing.readers.lines import Lines
from labeler.services.importing.readers.rows import (
    INTEGER,
    NUMBER,
    Problem,
    Row,
    attempt,
    priority_from,
)

#: Columns that are not data: the id, the priority, and hidden fields (``_gold``...).
_NOT_DATA = {"id", "priority"}


def csv_rows(stream: BinaryIO, hints: Hints) -> Iterator[Row | Problem]:
    """Items of a CSV file; problems in line order.

    >>> import io
    >>> [r.data for r in csv_rows(io.BytesIO(b"id,text\\n1,hi\\n"), Hints())]
    [{'text': 'hi'}]
    >>> [p.message for p in csv_rows(io.BytesIO(b"id,body\\n1,x\\n"), Hints())]
    ["no column 'text', which raters are shown; the columns are: id, body"]
    """
    lines = Lines(stream)
    names: list[str] | None = None
    number = 0
    records = CsvRecords(lines)
    for record in records:
        if isinstance(record, Problem):
            yield record
            continue
        line, fields = record
        if names is None:
            names = [name.strip() for name in fields]
            header_problems = _header_problems(hints, names, line)
            yield from header_problems
            if header_problems:
                return
            continue
        number += 1
        if len(fields) != len(names):
            yield Problem(line, None, f"{len(fields)} fields where the header has {len(names)}")
        else:
            yield attempt(line, _row, hints.tabular, names, fields, line, number)
    if names is not None and number == 0 and not records.broken:
        yield Problem(lines.lineno + 1, None, "nothing to import: the file has only a header")


class CsvRecords:
    """(first line, fields) of each non-blank record, with problems in line order.

    ``broken`` tells, once iterated, that reading stopped at malformed CSV (so a
    caller does not also report "only a header" for a file it could not read).
    """

    def __init__(self, lines: Lines) -> None:
        self.lines = lines
        self.broken = False

    def __iter__(self) -> Iterator[tuple[int, list[str]] | Problem]:
        lines = self.lines
        # strict: a quote left open or followed by text is an error, not silently kept.
        reader = csv.reader(lines, strict=True)
        while True:
            start = lines.lineno + 1
            try:
                fields = next(reader)
            except StopIteration:
                yield from lines.drain()
                return
            except csv.Error as exc:
                # The reader cannot resynchronise after a quoting error: stop here.
                self.broken = True
                yield from lines.drain()
                end = f" (the record starting here runs to line {lines.lineno})"
                yield Problem(
                    start, None, f"malformed CSV: {exc}{end if lines.lineno > start else ''}"
                )
                return
            yield from lines.drain()
            if fields:
                yield start, fields


def _header_problems(hints: Hints, names: list[str], line: int) -> list[Problem]:
    found = [
        Problem(line, None, f"column {k} of the header has no name")
        for k, name in enumerate(names, 1)
        if not name
    ]
    seen: set[str] = set()
    for name in names:
        if name and name in seen:
            found.append(Problem(line, name, f"the column {name!r} appears twice"))
        seen.add(name)
    found += _missing_columns(hints, names, line)
    return found


def _missing_columns(hints: Hints, names: list[str], line: int) -> list[Problem]:
    """One error for a missing column, rather than one per row."""
    if hints.tabular:
        if not {n for n in names if not n.startswith("_")} - _NOT_DATA:
            return [Problem(line, None, "no data columns besides id and priority")]
        return []
    if set(hints.shown) & set(names):
        return []
    return [
        Problem(
            line,
            hints.shown[0],
            f"no column {' or '.join(map(repr, hints.shown))}, which raters are shown; "
            f"the columns are: {', '.join(names)}",
        )
    ]


def _row(tabular: bool, names: list[str], fields: list[str], line: int, number: int) -> Row:
    values: dict[str, Any] = dict(zip(names, fields, strict=True))
    external_id = values.pop("id", None)
    priority = priority_from(values.pop("priority", None))
    if tabular:
        values = {
            name: value if name.startswith("_") else cell(value) for name, value in values.items()
        }
    return Row(line, str(number) if external_id is None else external_id.strip(), values, priority)


def cell(value: str) -> Any:
    """A tabular cell: numbers become numbers and '' a missing value.

    Numbers with leading zeros ('007', zip codes) stay text: they are codes, not amounts.

    >>> cell("42"), cell("-0.5"), cell("007"), cell(" ")
    (42, -0.5, '007', None)
    """
    text = value.strip()
    if not text:
        return None
    if INTEGER.fullmatch(text):
        return int(text)
    if NUMBER.fullmatch(text):
        number = float(text)
        if math.isfinite(number):
            return number
    return value
