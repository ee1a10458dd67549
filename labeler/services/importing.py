"""Import items (CSV, JSONL, Label Studio, WRENCH) and annotations (CSV).

Every import is all or nothing and can be repeated:

- one transaction per file: a bad row anywhere imports nothing, and the error
  names the line and the field (up to ``MAX_ERRORS`` of them);
- rows are matched to items by external id, so importing a file again creates
  nothing, and a row whose data changed updates its item.

CSV and JSONL are streamed: lines are decoded one at a time and written in
chunks of ``LABELER_IMPORT_CHUNK`` rows with bulk statements, so memory holds one
chunk plus a 16-byte digest per id seen (to catch duplicates), never the file.
Label Studio and WRENCH files are single JSON documents and are read whole.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import itertools
import json
import math
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import PurePath
from typing import Any, BinaryIO

import numpy as np
from flask import current_app
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from labeler.extensions import db
from labeler.models import Annotation, AnnotationKind, Item, Membership, Project, ProjectKind, User
from labeler.models.types import utcnow
from labeler.services.errors import BadInput, Conflict
from labeler.services.users import get_or_create_rater

FORMATS = ("csv", "jsonl", "label-studio", "wrench")
MAX_ERRORS = 20
_EXTENSIONS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "label-studio"}
_MAX_ID_LENGTH = 255  # Item.external_id
_MAX_RATER_LENGTH = 80  # User.name
_MAX_DURATION_MS = 2**31 - 1  # Annotation.duration_ms is a 32-bit integer
_NUMBER = re.compile(r"[+-]?(?:(?:0|[1-9][0-9]*)(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INTEGER = re.compile(r"[+-]?(?:0|[1-9][0-9]*)")
_JSON_SPACE = re.compile(r"[ \t\n\r]*")
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_UNSTORABLE_CHAR = re.compile(r"[\x00\ud800-\udfff]")


# ---------------------------------------------------------------- public API
def guess_format(filename: str) -> str:
    """The import format for ``filename``, from its extension."""
    fmt = _EXTENSIONS.get(PurePath(filename or "").suffix.lower())
    if fmt is None:
        raise BadInput(
            f"cannot tell the format of {filename!r} from its extension; "
            f"name one of: {', '.join(FORMATS)}",
            {"field": "format", "allowed": list(FORMATS)},
        )
    return fmt


def check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise BadInput(
            f"unknown import format {fmt!r}; use one of: {', '.join(FORMATS)}",
            {"field": "format", "allowed": list(FORMATS)},
        )


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


def import_file(
    project: Project,
    stream: BinaryIO,
    fmt: str,
    *,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import the items in ``stream`` (bytes in format ``fmt``) into ``project``.

    Raises BadInput with ``details={"errors": [...], "truncated": bool}`` when any
    row is bad; then nothing is imported. ``progress(n)`` gets the rows done so far.
    """
    check_format(fmt)
    rows = _PARSERS[fmt](project, stream)
    return _ItemImport(project, _source_name(stream), progress=progress).run(rows)


def import_records(project: Project, records: list[dict[str, Any]]) -> ImportResult:
    """Import items given as a JSON list (the REST API); each is checked like a JSONL line.

    In errors, ``line`` is the record's 1-based position in the list.
    """
    if not isinstance(records, list):
        raise BadInput("send a JSON list of items")
    rows = (_attempt(n, _object_row, record, n, n) for n, record in enumerate(records, 1))
    return _ItemImport(project, "the request", unit="item").run(rows)


def import_annotations(project: Project, stream: BinaryIO) -> AnnotationImportResult:
    """Import human labels from a CSV with columns ``item_id,rater,label``.

    Optional columns: ``created_at`` (ISO 8601), ``duration_ms``. Raters missing
    from the database are created (role rater) and made members of ``project``.
    A rater's changed label retracts their old one (history is kept).
    """
    rows = _vote_rows(project, stream)
    return _AnnotationImport(project, _source_name(stream)).run(rows)


# ---------------------------------------------------------------- rows and problems
@dataclass(slots=True)
class _Row:
    line: int
    external_id: str
    data: dict[str, Any]
    # None keeps the stored priority (0.0 for a new item).
    priority: float | None = None


@dataclass(frozen=True, slots=True)
class _Problem:
    line: int
    field: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "field": self.field, "message": self.message}


class _Invalid(Exception):
    """A bad value; turned into a _Problem by whoever knows the line."""

    def __init__(self, field: str | None, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.field, self.message, self.line = field, message, line

    def at(self, line: int) -> _Problem:
        return _Problem(self.line or line, self.field, self.message)


def _attempt(line: int, build: Callable[..., Any], *args: Any) -> Any:
    try:
        return build(*args)
    except _Invalid as exc:
        return exc.at(line)


class _Problems:
    """The first MAX_ERRORS problems; ``truncated`` once there are more."""

    def __init__(self, source: str, unit: str) -> None:
        self.source, self.unit = source, unit
        self.found: list[_Problem] = []
        self.truncated = False

    def __bool__(self) -> bool:
        return bool(self.found)

    def add(self, problem: _Problem) -> None:
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


def _source_name(stream: Any) -> str:
    name = getattr(stream, "name", None)
    return os.path.basename(name) if isinstance(name, str) and name else "the file"


# ---------------------------------------------------------------- the import loop
class _Import(ABC):
    """Feeds rows to ``flush`` in chunks inside one transaction: all or nothing.

    After the first problem nothing more is written, but parsing goes on so the
    error can list up to MAX_ERRORS problems; then the transaction is rolled back.
    """

    result: ImportResult

    def __init__(
        self,
        project: Project,
        source: str,
        *,
        unit: str = "line",
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.project = project
        self.problems = _Problems(source, unit)
        self.progress = progress
        self.chunk_size = max(1, int(current_app.config.get("LABELER_IMPORT_CHUNK", 2000)))

    @abstractmethod
    def check(self, row: Any) -> _Problem | None:
        """Validate one row; a problem, or None when it can be written."""

    @abstractmethod
    def flush(self, chunk: list[Any]) -> None:
        """Write a chunk of checked rows."""

    def run(self, rows: Iterable[Any]) -> Any:
        try:
            self._consume(rows)
            if not self.result.total and not self.problems:
                message = f"nothing to import: {self.problems.source} is empty"
                self.problems.add(_Problem(1, None, message))
            self.problems.raise_if_any()
            db.session.commit()
        except IntegrityError as exc:
            db.session.rollback()
            raise Conflict(
                "the project changed during the import (another import or a rater wrote "
                "the same rows); nothing was imported, run the import again"
            ) from exc
        except BaseException:
            db.session.rollback()
            raise
        return self.result

    def _consume(self, rows: Iterable[Any]) -> None:
        chunk: list[Any] = []
        for row in rows:
            if isinstance(row, _Problem):
                self.problems.add(row)
            else:
                self.result.total += 1
                problem = self.check(row)
                if problem is None:
                    chunk.append(row)
                else:
                    self.problems.add(problem)
                if self.result.total % self.chunk_size == 0:
                    self._flush(chunk)
                    chunk = []
            if self.problems.truncated:
                return
        if self.result.total % self.chunk_size:
            self._flush(chunk)

    def _flush(self, chunk: list[Any]) -> None:
        if chunk:
            self.flush(chunk)
        if self.progress is not None:
            self.progress(self.result.total)


class _SeenKeys:
    """The keys (external ids) seen so far in a file, to refuse duplicates.

    A Python set of 200,000 short ids takes about 20 MB, more than many whole
    files; this keeps a 16-byte BLAKE2 digest per key in a few sorted numpy runs,
    merged like a binary counter, so adding and looking up a chunk stay cheap.
    Two keys share a digest with probability about n**2 / 2**129: never in practice.
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


class _ItemImport(_Import):
    def __init__(self, project: Project, source: str, **kw: Any) -> None:
        super().__init__(project, source, **kw)
        self.result = ImportResult()
        self.shape = _Shape.of(project)
        self.seen = _SeenKeys()

    def check(self, row: _Row) -> _Problem | None:
        try:
            _check_row(self.shape, row)
        except _Invalid as exc:
            return exc.at(row.line)
        return None

    def flush(self, chunk: list[_Row]) -> None:
        repeated = self.seen.add([row.external_id for row in chunk])
        for row in itertools.compress(chunk, repeated):
            message = f"duplicate id {row.external_id!r}: an earlier line has it too"
            self.problems.add(_Problem(row.line, "id", message))
        if self.problems:
            return  # this import fails anyway: only keep checking
        stored = {
            r.external_id: r
            for r in db.session.execute(
                select(Item.external_id, Item.id, Item.data, Item.priority).where(
                    Item.project_id == self.project.id,
                    Item.external_id.in_([row.external_id for row in chunk]),
                )
            )
        }
        now = utcnow()
        new: list[dict[str, Any]] = []
        changed: list[dict[str, Any]] = []
        for row in chunk:
            old = stored.get(row.external_id)
            if old is None:
                new.append(_new_item(self.project.id, row, now))
                continue
            priority = old.priority if row.priority is None else row.priority
            if old.data == row.data and priority == old.priority:
                self.result.unchanged += 1
            else:
                changed.append({"id": old.id, "data": row.data, "priority": priority})
        if new:
            db.session.execute(insert(Item), new)
        if changed:
            db.session.execute(update(Item), changed)
        self.result.created += len(new)
        self.result.updated += len(changed)


def _new_item(project_id: int, row: _Row, now: datetime) -> dict[str, Any]:
    return {
        "project_id": project_id,
        "external_id": row.external_id,
        "data": row.data,
        "priority": 0.0 if row.priority is None else row.priority,
        "n_done": 0,
        "n_leased": 0,
        "is_open": True,
        "created_at": now,
    }


# ---------------------------------------------------------------- checking a row
@dataclass(frozen=True, slots=True)
class _Shape:
    """What a project needs in each item's data; read once, not per row."""

    tabular: bool
    # The field raters are shown, then "image" for image projects: one must be there.
    shown: tuple[str, ...]
    image: bool = False

    @classmethod
    def of(cls, project: Project) -> _Shape:
        field = project.text_field or "text"
        image = project.kind == ProjectKind.IMAGE
        shown = (field, "image") if image else (field,)
        return cls(project.kind == ProjectKind.TABULAR, shown, image)


def _check_row(shape: _Shape, row: _Row) -> None:
    _check_id(row.external_id)
    _check_shown_field(shape, row.data)
    for key, value in row.data.items():
        why = _unstorable([key, value])
        if why:
            raise _Invalid(key, why)


def _check_id(external_id: str) -> None:
    if not external_id.strip():
        raise _Invalid("id", "the id is empty")
    if len(external_id) > _MAX_ID_LENGTH:
        raise _Invalid("id", f"the id is longer than {_MAX_ID_LENGTH} characters")
    why = _unstorable(external_id)
    if why:
        raise _Invalid("id", f"the id {why}")


def _check_shown_field(shape: _Shape, data: dict[str, Any]) -> None:
    """The field raters see must be there: text (or image) projects need it non-empty."""
    if shape.tabular:
        if not data:
            raise _Invalid(None, "no fields besides the id")
        return
    field = shape.shown[0]
    value = next((data[f] for f in shape.shown if data.get(f) not in (None, "")), None)
    if value is None:
        missing = " or ".join(map(repr, shape.shown))
        raise _Invalid(field, f"{missing} is missing or empty")
    if shape.image and isinstance(value, list):
        # Pixel values (e.g. scikit-learn's 8x8 digits): numbers, or rows of numbers.
        flat = [v for row in value for v in (row if isinstance(row, list) else [row])]
        if not flat or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in flat
        ):
            raise _Invalid(field, f"{field!r} as a list must hold numbers (pixel values)")
        return
    if not isinstance(value, str):
        raise _Invalid(field, f"{field!r} must be a string, not {_json_type(value)}")
    if not value.strip():
        raise _Invalid(field, f"{field!r} is blank")


def _unstorable(value: Any) -> str | None:
    """Why ``value`` cannot be stored as JSON on every backend, or None.

    PostgreSQL's JSONB refuses NUL characters and unpaired surrogates (both can
    come from JSON escapes), and JSON has no NaN or infinity. A loop, not
    recursion: JSON nests as deep as the parser allows.
    """
    pending = [value]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            bad = _UNSTORABLE_CHAR.search(value)
            if bad:
                return f"contains the character {bad.group()!r}, which cannot be stored"
        elif isinstance(value, float) and not math.isfinite(value):
            return "is not a finite number"
        elif isinstance(value, dict):
            pending += value.keys()
            pending += value.values()
        elif isinstance(value, list):
            pending += value
    return None


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number")


def _id_from(value: Any, number: int) -> str:
    """An external id from a JSON value; missing means the record's 1-based number."""
    if value is None:
        return str(number)
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise _Invalid("id", f"the id must be a string or an integer, not {_json_type(value)}")


def _priority_from(value: Any) -> float | None:
    """A priority from a JSON value or a CSV cell; None or '' means not given."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        value = float(value)
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    raise _Invalid("priority", f"priority must be a number, not {value!r}")


# ---------------------------------------------------------------- reading bytes
class _Lines:
    """Decoded lines of a binary stream, counted in ``lineno``.

    A line that is not UTF-8 is reported (see ``drain``) and passed on with
    replacement characters, so parsing goes on to find further problems. UTF-8
    never uses the newline byte inside a character, so decoding line by line is exact.
    """

    def __init__(self, stream: BinaryIO) -> None:
        # A raw stream's readline reads byte by byte; buffer it.
        self._stream = io.BufferedReader(stream) if isinstance(stream, io.RawIOBase) else stream
        self.lineno = 0
        self._problems: list[_Problem] = []

    def __iter__(self) -> Iterator[str]:
        for raw in iter(self._stream.readline, b""):
            self.lineno += 1
            if self.lineno == 1:
                if raw.startswith(_UTF16_BOMS):
                    self._problems.append(_Problem(1, None, "the file is UTF-16; save it as UTF-8"))
                    return
                raw = raw.removeprefix(codecs.BOM_UTF8)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                self._problems.append(
                    _Problem(
                        self.lineno,
                        None,
                        f"not UTF-8 (byte 0x{raw[exc.start]:02x} at byte {exc.start + 1} "
                        "of the line); save the file as UTF-8",
                    )
                )
                text = raw.decode("utf-8", "replace")
            yield text

    def drain(self) -> list[_Problem]:
        found, self._problems = self._problems, []
        return found


def _read_text(stream: BinaryIO) -> tuple[str | None, list[_Problem]]:
    """The whole stream as text, or None and the lines that are not UTF-8."""
    raw = stream.read()
    if raw.startswith(_UTF16_BOMS):
        return None, [_Problem(1, None, "the file is UTF-16; save it as UTF-8")]
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        lines = _Lines(io.BytesIO(raw))
        found: list[_Problem] = []
        for _ in lines:
            found += lines.drain()
            if len(found) > MAX_ERRORS:
                break
        return None, found


# ---------------------------------------------------------------- CSV
def _csv_rows(project: Project, stream: BinaryIO) -> Iterator[_Row | _Problem]:
    shape = _Shape.of(project)
    lines = _Lines(stream)
    names: list[str] | None = None
    number = 0
    for record in _csv_records(lines):
        if isinstance(record, _Problem):
            yield record
            continue
        line, fields = record
        if names is None:
            names = [name.strip() for name in fields]
            header_problems = _csv_header_problems(shape, names, line)
            yield from header_problems
            if header_problems:
                return
            continue
        number += 1
        if len(fields) != len(names):
            yield _Problem(line, None, f"{len(fields)} fields where the header has {len(names)}")
        else:
            yield _attempt(line, _csv_row, shape.tabular, names, fields, line, number)
    if names is not None and number == 0:
        yield _Problem(lines.lineno + 1, None, "nothing to import: the file has only a header")


def _csv_records(lines: _Lines) -> Iterator[tuple[int, list[str]] | _Problem]:
    """(first line, fields) of each non-blank record, with problems in line order."""
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
            yield from lines.drain()
            end = f" (the record starting here runs to line {lines.lineno})"
            yield _Problem(
                start, None, f"malformed CSV: {exc}{end if lines.lineno > start else ''}"
            )
            return
        yield from lines.drain()
        if fields:
            yield start, fields


def _csv_header_problems(shape: _Shape, names: list[str], line: int) -> list[_Problem]:
    found = [
        _Problem(line, None, f"column {k} of the header has no name")
        for k, name in enumerate(names, 1)
        if not name
    ]
    seen: set[str] = set()
    for name in names:
        if name and name in seen:
            found.append(_Problem(line, name, f"the column {name!r} appears twice"))
        seen.add(name)
    found += _csv_missing_columns(shape, names, line)
    return found


def _csv_missing_columns(shape: _Shape, names: list[str], line: int) -> list[_Problem]:
    """One error for a missing column, rather than one per row."""
    if shape.tabular:
        if not set(names) - {"id", "priority"}:
            return [_Problem(line, None, "no data columns besides id and priority")]
        return []
    if set(shape.shown) & set(names):
        return []
    return [
        _Problem(
            line,
            shape.shown[0],
            f"no column {' or '.join(map(repr, shape.shown))}, which raters are shown; "
            f"the columns are: {', '.join(names)}",
        )
    ]


def _csv_row(tabular: bool, names: list[str], fields: list[str], line: int, number: int) -> _Row:
    values = dict(zip(names, fields, strict=True))
    external_id = values.pop("id", None)
    priority = _priority_from(values.pop("priority", None))
    if tabular:
        values = {name: _cell(value) for name, value in values.items()}
    return _Row(line, str(number) if external_id is None else external_id.strip(), values, priority)


def _cell(value: str) -> Any:
    """A tabular cell: numbers become numbers and '' a missing value.

    Numbers with leading zeros ('007', zip codes) stay text: they are codes, not amounts.
    """
    text = value.strip()
    if not text:
        return None
    if _INTEGER.fullmatch(text):
        return int(text)
    if _NUMBER.fullmatch(text):
        number = float(text)
        if math.isfinite(number):
            return number
    return value


# ---------------------------------------------------------------- JSONL
def _jsonl_rows(project: Project, stream: BinaryIO) -> Iterator[_Row | _Problem]:
    lines = _Lines(stream)
    number = 0
    for text in lines:
        yield from lines.drain()
        if text.strip():
            number += 1
            yield _attempt(lines.lineno, _jsonl_row, text, lines.lineno, number)
    yield from lines.drain()


def _jsonl_row(text: str, line: int, number: int) -> _Row:
    try:
        obj = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise _Invalid(None, f"invalid JSON: {exc.msg} (column {exc.colno})") from None
    except RecursionError:
        raise _Invalid(None, "invalid JSON: nested too deeply") from None
    return _object_row(obj, line, number)


def _reject_constant(name: str) -> Any:
    raise _Invalid(None, f"invalid JSON: {name} is not a JSON number")


def _object_row(obj: Any, line: int, number: int) -> _Row:
    """A JSONL line or API record: ``id``, optional ``priority``, and ``data`` or the other keys."""
    if not isinstance(obj, dict):
        raise _Invalid(None, f"expected a JSON object, found {_json_type(obj)}")
    data = obj.get("data")
    if not isinstance(data, dict):
        data = {key: value for key, value in obj.items() if key not in ("id", "priority")}
    return _Row(line, _id_from(obj.get("id"), number), data, _priority_from(obj.get("priority")))


# ---------------------------------------------------------------- Label Studio and WRENCH
class _JsonDocument:
    """Walks the top-level list or object of a JSON text one element at a time.

    Label Studio and WRENCH files are one JSON document, so they are read whole
    (uploads are capped by MAX_CONTENT_LENGTH); decoding element by element
    still avoids building the whole parsed tree at once, and gives each element's line.
    """

    _decoder = json.JSONDecoder(parse_constant=_reject_constant)

    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0
        self._line, self._counted = 1, 0

    def line(self, pos: int | None = None) -> int:
        pos = self.pos if pos is None else pos  # positions only move forward
        self._line += self.text.count("\n", self._counted, pos)
        self._counted = pos
        return self._line

    def elements(self, opening: str, expected: str) -> Iterator[tuple[int, Any]]:
        """(line, element) for each element; an object's elements are (key, value)."""
        closing = {"[": "]", "{": "}"}[opening]
        self._skip_space()
        if not self.text.startswith(opening, self.pos):
            raise _Invalid(None, f"expected {expected}", self.line())
        self.pos += 1
        self._skip_space()
        more = not self._take(closing)
        while more:
            self._skip_space()
            line = self.line()
            yield line, self._pair() if opening == "{" else self._value()
            self._skip_space()
            more = self._take(",")
            if not more and not self._take(closing):
                raise _Invalid(None, f"invalid JSON: expected ',' or {closing!r}", self.line())
        self._skip_space()
        if self.pos < len(self.text):
            raise _Invalid(None, "invalid JSON: extra data after the end", self.line())

    def _pair(self) -> tuple[str, Any]:
        key = self._value()
        if not isinstance(key, str):
            raise _Invalid(None, "invalid JSON: object keys must be strings", self.line())
        self._skip_space()
        if not self._take(":"):
            raise _Invalid(None, "invalid JSON: expected ':'", self.line())
        self._skip_space()
        return key, self._value()

    def _value(self) -> Any:
        try:
            value, self.pos = self._decoder.raw_decode(self.text, self.pos)
        except json.JSONDecodeError as exc:
            raise _Invalid(None, f"invalid JSON: {exc.msg}", self.line(exc.pos)) from None
        except RecursionError:
            raise _Invalid(None, "invalid JSON: nested too deeply", self.line()) from None
        return value

    def _skip_space(self) -> None:
        self.pos = _JSON_SPACE.match(self.text, self.pos).end()  # type: ignore[union-attr]

    def _take(self, char: str) -> bool:
        if self.text.startswith(char, self.pos):
            self.pos += 1
            return True
        return False


def _document_rows(
    stream: BinaryIO, opening: str, expected: str, build: Callable[..., _Row]
) -> Iterator[_Row | _Problem]:
    text, problems = _read_text(stream)
    yield from problems
    if text is None:
        return
    if not text.strip():
        return  # empty: the import loop reports it
    document = _JsonDocument(text)
    try:
        for number, (line, element) in enumerate(document.elements(opening, expected), 1):
            yield _attempt(line, build, element, line, number)
    except _Invalid as exc:
        yield exc.at(document.line())


def _label_studio_rows(project: Project, stream: BinaryIO) -> Iterator[_Row | _Problem]:
    expected = (
        'a JSON list of Label Studio tasks [{"id": ..., "data": {...}}, ...] '
        "(for a JSON object keyed by id use the format 'wrench')"
    )
    return _document_rows(stream, "[", expected, _task_row)


def _task_row(task: Any, line: int, number: int) -> _Row:
    if not isinstance(task, dict):
        raise _Invalid(None, f"expected a task object, found {_json_type(task)}")
    data = task.get("data")
    if not isinstance(data, dict):
        raise _Invalid("data", 'a Label Studio task needs a "data" object')
    return _Row(line, _id_from(task.get("id"), number), data)


def _wrench_rows(project: Project, stream: BinaryIO) -> Iterator[_Row | _Problem]:
    expected = (
        'a WRENCH JSON object {"id": {"label": ..., "weak_labels": [...], "data": {...}}, ...} '
        "(for a JSON list of tasks use the format 'label-studio')"
    )
    return _document_rows(stream, "{", expected, _wrench_row)


def _wrench_row(pair: tuple[str, Any], line: int, number: int) -> _Row:
    """Keeps the weak and gold labels in the data for later weak supervision and evaluation."""
    external_id, entry = pair
    if not isinstance(entry, dict) or not isinstance(entry.get("data"), dict):
        raise _Invalid("data", 'a WRENCH entry needs a "data" object')
    data = dict(entry["data"])
    if "weak_labels" in entry:
        data["_weak_labels"] = entry["weak_labels"]
    if "label" in entry:
        data["_gold_label"] = entry["label"]
    return _Row(line, external_id, data)


_PARSERS: dict[str, Callable[[Project, BinaryIO], Iterator[_Row | _Problem]]] = {
    "csv": _csv_rows,
    "jsonl": _jsonl_rows,
    "label-studio": _label_studio_rows,
    "wrench": _wrench_rows,
}


# ---------------------------------------------------------------- annotations
@dataclass(slots=True)
class _Vote:
    line: int
    item: str
    rater: str
    label: str
    created_at: datetime | None
    duration_ms: int | None


def _vote_rows(project: Project, stream: BinaryIO) -> Iterator[_Vote | _Problem]:
    lines = _Lines(stream)
    labels = set(project.label_names)
    names: list[str] | None = None
    rows = 0
    for record in _csv_records(lines):
        if isinstance(record, _Problem):
            yield record
            continue
        line, fields = record
        if names is None:
            names = [name.strip() for name in fields]
            missing = [c for c in ("item_id", "rater", "label") if c not in names]
            for column in missing:
                yield _Problem(line, column, f"the header has no column {column!r}")
            if missing:
                return
            continue
        rows += 1
        if len(fields) != len(names):
            yield _Problem(line, None, f"{len(fields)} fields where the header has {len(names)}")
        else:
            yield _attempt(line, _vote, dict(zip(names, fields, strict=True)), line, labels)
    if names is not None and rows == 0:
        yield _Problem(lines.lineno + 1, None, "nothing to import: the file has only a header")


def _vote(values: dict[str, str], line: int, labels: set[str]) -> _Vote:
    item, rater, label = (values[c].strip() for c in ("item_id", "rater", "label"))
    if not item:
        raise _Invalid("item_id", "the item id is empty")
    if not rater or len(rater) > _MAX_RATER_LENGTH:
        raise _Invalid("rater", f"the rater name must be 1 to {_MAX_RATER_LENGTH} characters")
    if label not in labels:
        allowed = ", ".join(sorted(labels))
        raise _Invalid("label", f"{label!r} is not one of the project's labels ({allowed})")
    return _Vote(
        line,
        item,
        rater,
        label,
        _timestamp(values.get("created_at", "")),
        _duration(values.get("duration_ms", "")),
    )


def _timestamp(text: str) -> datetime | None:
    if not text.strip():
        return None
    try:
        stamp = datetime.fromisoformat(text.strip())
    except ValueError:
        raise _Invalid("created_at", f"{text!r} is not an ISO 8601 date and time") from None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def _duration(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not _INTEGER.fullmatch(text) or not 0 <= int(text) <= _MAX_DURATION_MS:
        raise _Invalid("duration_ms", f"duration_ms must be a whole number >= 0, not {text!r}")
    return int(text)


class _AnnotationImport(_Import):
    def __init__(self, project: Project, source: str) -> None:
        super().__init__(project, source)
        self.result = AnnotationImportResult()
        self.rater_ids: dict[str, int] = {}
        # A file gives one label per item and rater: the pairs seen so far.
        self.pairs = _SeenKeys()

    def check(self, vote: _Vote) -> _Problem | None:
        return None  # needs the database: done per chunk in flush

    def flush(self, chunk: list[_Vote]) -> None:
        # Unknown items are found even after the first problem, to report them all.
        wanted = sorted({vote.item for vote in chunk})
        item_ids: dict[str, int] = {
            external_id: item_id
            for external_id, item_id in db.session.execute(
                select(Item.external_id, Item.id).where(
                    Item.project_id == self.project.id, Item.external_id.in_(wanted)
                )
            )
        }
        known = []
        for vote in chunk:
            if vote.item in item_ids:
                known.append((vote, item_ids[vote.item]))
            else:
                message = f"no item {vote.item!r} in the project"
                self.problems.add(_Problem(vote.line, "item_id", message))
        repeated = self.pairs.add([f"{item_id}\x00{vote.rater}" for vote, item_id in known])
        for vote, _ in itertools.compress(known, repeated):
            message = (
                f"{vote.rater!r} labels item {vote.item!r} on an earlier line too; "
                "keep one row per item and rater"
            )
            self.problems.add(_Problem(vote.line, "rater", message))
        if not self.problems:
            self._write(known)

    def _write(self, votes: list[tuple[_Vote, int]]) -> None:
        raters = {vote.rater: self._rater_id(vote.rater) for vote, _ in votes}
        items = {item_id for _, item_id in votes}
        current = {
            (row.item_id, row.rater_id): row
            for row in db.session.execute(
                select(
                    Annotation.id,
                    Annotation.item_id,
                    Annotation.rater_id,
                    Annotation.kind,
                    Annotation.label,
                ).where(
                    Annotation.project_id == self.project.id,
                    Annotation.is_current,
                    Annotation.item_id.in_(sorted(items)),
                    Annotation.rater_id.in_(sorted(set(raters.values()))),
                )
            )
        }
        now = utcnow()
        new: list[dict[str, Any]] = []
        retracted: list[int] = []
        for vote, item_id in votes:
            old = current.get((item_id, raters[vote.rater]))
            if old is not None and old.kind == AnnotationKind.LABEL and old.label == vote.label:
                self.result.unchanged += 1
                continue
            if old is not None:
                retracted.append(old.id)
            new.append(_new_annotation(self.project.id, item_id, raters[vote.rater], vote, now))
        if retracted:
            # Before the inserts: one current annotation per rater and item (unique index).
            db.session.execute(
                update(Annotation)
                .where(Annotation.id.in_(retracted))
                .values(is_current=False, retracted_at=now)
                .execution_options(synchronize_session=False)
            )
        if new:
            db.session.execute(insert(Annotation), new)
        self.result.updated += len(retracted)
        self.result.created += len(new) - len(retracted)
        _recount(self.project, items)

    def _rater_id(self, name: str) -> int:
        if name not in self.rater_ids:
            existed = db.session.scalar(select(User.id).where(User.name == name)) is not None
            user = get_or_create_rater(name)
            self.result.raters_created += not existed
            if db.session.get(Membership, (self.project.id, user.id)) is None:
                db.session.add(Membership(project_id=self.project.id, user_id=user.id))
                db.session.flush()
            self.rater_ids[name] = user.id
        return self.rater_ids[name]


def _new_annotation(
    project_id: int, item_id: int, rater_id: int, vote: _Vote, now: datetime
) -> dict[str, Any]:
    return {
        "project_id": project_id,
        "item_id": item_id,
        "rater_id": rater_id,
        "kind": AnnotationKind.LABEL.value,
        "label": vote.label,
        "duration_ms": vote.duration_ms,
        "origin": "import",
        "created_at": vote.created_at or now,
        "is_current": True,
    }


def _recount(project: Project, item_ids: set[int]) -> None:
    """Recompute n_done and is_open of ``item_ids`` from their current annotations.

    Run after every chunk: a later chunk may touch the same item again, and then
    recounts it again, so the last recount of each item sees its final state.
    """
    done = (
        select(func.count(Annotation.id))
        .where(
            Annotation.item_id == Item.id,
            Annotation.is_current,
            Annotation.kind != AnnotationKind.SKIP.value,
        )
        .correlate(Item)
        .scalar_subquery()
    )
    db.session.execute(
        update(Item)
        .where(Item.id.in_(sorted(item_ids)))
        .values(n_done=done, is_open=(done + Item.n_leased) < project.overlap)
        .execution_options(synchronize_session=False)
    )
