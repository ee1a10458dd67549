"""JSONL (and the REST API's JSON list): one JSON object per item.

An object's ``data`` is the item's data when it is an object; otherwise every
key but ``id`` and ``priority`` is.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, BinaryIO

from labeler.services.importing.readers.checks import Hints
from labeler.services.importing.readers.lines import Lines
from labeler.services.importing.readers.rows import (
    Invalid,
    Problem,
    Row,
    attempt,
    id_from,
    json_type,
    priority_from,
)


def jsonl_rows(stream: BinaryIO, hints: Hints) -> Iterator[Row | Problem]:
    """Items of a JSONL file; blank lines are skipped.

    >>> import io
    >>> rows = list(jsonl_rows(io.BytesIO(b'{"text": "a"}\\n\\n[1]\\n'), Hints()))
    >>> rows[0].external_id, rows[1]
    ('1', Problem(line=3, field=None, message='expected a JSON object, found a list'))
    """
    lines = Lines(stream)
    number = 0
    for text in lines:
        yield from lines.drain()
        if text.strip():
            number += 1
            yield attempt(lines.lineno, _line_row, text, lines.lineno, number)
    yield from lines.drain()


def reject_constant(name: str) -> Any:
    raise Invalid(None, f"invalid JSON: {name} is not a JSON number")


def _line_row(text: str, line: int, number: int) -> Row:
    try:
        obj = json.loads(text, parse_constant=reject_constant)
    except json.JSONDecodeError as exc:
        raise Invalid(None, f"invalid JSON: {exc.msg} (column {exc.colno})") from None
    except RecursionError:
        raise Invalid(None, "invalid JSON: nested too deeply") from None
    return object_row(obj, line, number)


def object_row(obj: Any, line: int, number: int) -> Row:
    """A JSONL line or API record: ``id``, optional ``priority``, and ``data`` or the other keys.

    >>> object_row({"id": 3, "text": "a", "_gold": "pos"}, 1, 1).data
    {'text': 'a', '_gold': 'pos'}
    """
    if not isinstance(obj, dict):
        raise Invalid(None, f"expected a JSON object, found {json_type(obj)}")
    data = obj.get("data")
    if not isinstance(data, dict):
        data = {key: value for key, value in obj.items() if key not in ("id", "priority")}
    return Row(line, id_from(obj.get("id"), number), data, priority_from(obj.get("priority")))


def record_rows(records: list[Any]) -> Iterator[Row | Problem]:
    """The REST API's JSON list; ``line`` is a record's 1-based position."""
    for n, record in enumerate(records, 1):
        yield attempt(n, object_row, record, n, n)
