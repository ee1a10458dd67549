"""What readers yield: rows, and problems that name a line and a field."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_UNSTORABLE_CHAR = re.compile(r"[\x00\ud800-\udfff]")
NUMBER = re.compile(r"[+-]?(?:(?:0|[1-9][0-9]*)(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
INTEGER = re.compile(r"[+-]?(?:0|[1-9][0-9]*)")


@dataclass(slots=True)
class Row:
    """One item as read: its shown ``data`` and, apart, what raters must never see.

    ``hidden`` holds evaluation data by the name it had in the file (``_gold``,
    ``_gold_label``, WRENCH's ``label`` and ``weak_labels``); ``checks.check_row``
    turns it into ``gold`` (a label name) and ``votes`` (label indices, -1 = abstain).
    """

    line: int
    external_id: str
    data: dict[str, Any]
    # None keeps the stored priority (0.0 for a new item).
    priority: float | None = None
    hidden: dict[str, Any] = field(default_factory=dict)
    gold: str | None = None
    gold_source: str | None = None
    votes: list[int] | None = None


@dataclass(frozen=True, slots=True)
class Problem:
    line: int
    field: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "field": self.field, "message": self.message}


class Invalid(Exception):
    """A bad value; turned into a Problem by whoever knows the line."""

    def __init__(self, field: str | None, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.field, self.message, self.line = field, message, line

    def at(self, line: int) -> Problem:
        return Problem(self.line or line, self.field, self.message)


def attempt(line: int, build: Callable[..., Any], *args: Any) -> Any:
    """``build(*args)``, or the Problem it raised, placed at ``line``."""
    try:
        return build(*args)
    except Invalid as exc:
        return exc.at(line)


def json_type(value: Any) -> str:
    """How to call a JSON value's type in an error message.

    >>> json_type([]), json_type(None), json_type(2.5)
    ('a list', 'null', 'a number')
    """
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number")


def unstorable(value: Any) -> str | None:
    """Why ``value`` cannot be stored as JSON on every backend, or None.

    PostgreSQL's JSONB refuses NUL characters and unpaired surrogates (both can
    come from JSON escapes), and JSON has no NaN or infinity. A loop, not
    recursion: JSON nests as deep as the parser allows.

    >>> unstorable({"a": ["x\\x00"]})
    "contains the character '\\\\x00', which cannot be stored"
    >>> unstorable([1.0, float("nan")])
    'is not a finite number'
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


def id_from(value: Any, number: int) -> str:
    """An external id from a JSON value; missing means the record's 1-based number.

    >>> id_from(None, 7), id_from(12, 1), id_from("a", 1)
    ('7', '12', 'a')
    """
    if value is None:
        return str(number)
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise Invalid("id", f"the id must be a string or an integer, not {json_type(value)}")


def priority_from(value: Any) -> float | None:
    """A priority from a JSON value or a CSV cell; None or '' means not given.

    >>> priority_from("2.5"), priority_from(""), priority_from(3)
    (2.5, None, 3.0)
    """
    if value is None or value == "":
        return None
    if isinstance(value, str) and NUMBER.fullmatch(value.strip()):
        value = float(value)
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    raise Invalid("priority", f"priority must be a number, not {value!r}")
