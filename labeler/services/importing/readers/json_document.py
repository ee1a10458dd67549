"""Label Studio (a JSON list of tasks) and WRENCH (a JSON object keyed by id).

Both are one JSON document, so they are read whole (uploads are capped by
``MAX_CONTENT_LENGTH``); decoding element by element still avoids building the
whole parsed tree at once, and gives each element's line for error messages.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from labeler.services.importing.readers.checks import Hints
from labeler.services.importing.readers.jsonl import reject_constant
from labeler.services.importing.readers.lines import read_text
from labeler.services.importing.readers.rows import (
    Invalid,
    Problem,
    Row,
    attempt,
    id_from,
    json_type,
)

_JSON_SPACE = re.compile(r"[ \t\n\r]*")


class JsonDocument:
    """Walks the top-level list or object of a JSON text one element at a time.

    >>> doc = JsonDocument('[\\n 1,\\n {"a": 2}\\n]')
    >>> list(doc.elements("[", "a list"))
    [(2, 1), (3, {'a': 2})]
    """

    _decoder = json.JSONDecoder(parse_constant=reject_constant)

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
            raise Invalid(None, f"expected {expected}", self.line())
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
                raise Invalid(None, f"invalid JSON: expected ',' or {closing!r}", self.line())
        self._skip_space()
        if self.pos < len(self.text):
            raise Invalid(None, "invalid JSON: extra data after the end", self.line())

    def _pair(self) -> tuple[str, Any]:
        key = self._value()
        if not isinstance(key, str):
            raise Invalid(None, "invalid JSON: object keys must be strings", self.line())
        self._skip_space()
        if not self._take(":"):
            raise Invalid(None, "invalid JSON: expected ':'", self.line())
        self._skip_space()
        return key, self._value()

    def _value(self) -> Any:
        try:
            value, self.pos = self._decoder.raw_decode(self.text, self.pos)
        except json.JSONDecodeError as exc:
            raise Invalid(None, f"invalid JSON: {exc.msg}", self.line(exc.pos)) from None
        except RecursionError:
            raise Invalid(None, "invalid JSON: nested too deeply", self.line()) from None
        return value

    def _skip_space(self) -> None:
        self.pos = _JSON_SPACE.match(self.text, self.pos).end()  # type: ignore[union-attr]

    def _take(self, char: str) -> bool:
        if self.text.startswith(char, self.pos):
            self.pos += 1
            return True
        return False


def _document_rows(
    stream: BinaryIO, opening: str, expected: str, build: Callable[..., Row]
) -> Iterator[Row | Problem]:
    text, problems = read_text(stream)
    yield from problems
    if text is None or not text.strip():
        return  # empty: the writer reports it
    document = JsonDocument(text)
    try:
        for number, (line, element) in enumerate(document.elements(opening, expected), 1):
            yield attempt(line, build, element, line, number)
    except Invalid as exc:
        yield exc.at(document.line())


def label_studio_rows(stream: BinaryIO, hints: Hints) -> Iterator[Row | Problem]:
    """Label Studio tasks: ``[{"id": ..., "data": {...}}, ...]``.

    >>> import io
    >>> [r.data for r in label_studio_rows(io.BytesIO(b'[{"data": {"text": "a"}}]'), Hints())]
    [{'text': 'a'}]
    """
    expected = (
        'a JSON list of Label Studio tasks [{"id": ..., "data": {...}}, ...] '
        "(for a JSON object keyed by id use the format 'wrench')"
    )
    return _document_rows(stream, "[", expected, _task_row)


def _task_row(task: Any, line: int, number: int) -> Row:
    if not isinstance(task, dict):
        raise Invalid(None, f"expected a task object, found {json_type(task)}")
    data = task.get("data")
    if not isinstance(data, dict):
        raise Invalid("data", 'a Label Studio task needs a "data" object')
    return Row(line, id_from(task.get("id"), number), data)


def wrench_rows(stream: BinaryIO, hints: Hints) -> Iterator[Row | Problem]:
    """WRENCH: ``{"id": {"label": 1, "weak_labels": [-1, 0], "data": {...}}, ...}``.

    ``label`` (the gold answer) and ``weak_labels`` (one vote per labeling
    function, -1 = abstain) are kept apart from the shown data, in ``hidden``.

    >>> import io
    >>> raw = b'{"7": {"label": 1, "weak_labels": [-1, 0], "data": {"text": "a"}}}'
    >>> row = next(wrench_rows(io.BytesIO(raw), Hints()))
    >>> row.external_id, row.data, row.hidden
    ('7', {'text': 'a'}, {'weak_labels': [-1, 0], 'label': 1})
    """
    expected = (
        'a WRENCH JSON object {"id": {"label": ..., "weak_labels": [...], "data": {...}}, ...} '
        "(for a JSON list of tasks use the format 'label-studio')"
    )
    return _document_rows(stream, "{", expected, _wrench_row)


def _wrench_row(pair: tuple[str, Any], line: int, number: int) -> Row:
    external_id, entry = pair
    if not isinstance(entry, dict) or not isinstance(entry.get("data"), dict):
        raise Invalid("data", 'a WRENCH entry needs a "data" object')
    hidden = {key: entry[key] for key in ("weak_labels", "label") if key in entry}
    return Row(line, external_id, dict(entry["data"]), hidden=hidden)
