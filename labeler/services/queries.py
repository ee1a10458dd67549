"""Query strings: read as text, the way the OpenAPI document types them.

Apart from :mod:`labeler.services.inputs` (request bodies, strict) because the rule
differs: a query string is text, so its models are lax, but only as lax as the
document. Every query model derives from :class:`QueryInput`;
``tests/unit/test_query_inputs.py`` checks each subclass.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, get_args, get_origin

from pydantic import ConfigDict, Field, ValidationInfo, field_validator

from labeler.services.inputs import Input

__all__ = ["MY_ANSWERS_MAX", "SIMILAR_MAX", "MyAnswersQuery", "QueryInput", "SimilarQuery"]

MY_ANSWERS_MAX = 100
SIMILAR_MAX = 100

# What a query string's value may look like for the type the OpenAPI document gives it.
QUERY_TEXT: dict[type, tuple[re.Pattern[str], str]] = {
    bool: (re.compile(r"true|false"), "true or false"),
    int: (re.compile(r"-?[0-9]+"), "an integer, e.g. 10"),
    float: (re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?"), "a number, e.g. 0.5"),
}


def scalar_kind(annotation: Any) -> type | None:
    """bool, int or float when a field is one of them (or that or None), else None."""
    args = [a for a in get_args(annotation) if a is not type(None)] or [annotation]
    if len(args) != 1:
        return None
    inner = args[0]
    if get_origin(inner) is Annotated:
        inner = get_args(inner)[0]
    return inner if inner in QUERY_TEXT else None


class QueryInput(Input):
    """A query string (or form) read as text, the way the OpenAPI document types it.

    Values arrive as strings, so the model is lax ("0.7" is a number), but only as
    lax as the document: an integer is digits, a number a JSON number, a boolean
    ``true`` or ``false``. Pydantic's lax mode alone also takes ``" 5"``, ``"1.0"``
    and ``"5_000"`` as integers, ``"yes"``/``"on"``/``"1"`` as true and ``"inf"`` as
    a number, all of which the document calls invalid (schemathesis' ST201).
    Python callers (the CLI) pass typed values, which are not text and pass through.
    """

    model_config = ConfigDict(strict=False, extra="ignore", regex_engine="python-re")

    @field_validator("*", mode="before")
    @classmethod
    def _as_documented(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, str) or info.field_name is None:
            return value
        kind = scalar_kind(cls.model_fields[info.field_name].annotation)
        if kind is not None:
            pattern, what = QUERY_TEXT[kind]
            if not pattern.fullmatch(value):
                raise ValueError(f"{what}, not {value[:40]!r}")
        return value


class MyAnswersQuery(QueryInput):
    """The query string of the rater's recent answers."""

    limit: Annotated[int, Field(ge=1, le=MY_ANSWERS_MAX)] = 10


class SimilarQuery(QueryInput):
    """The query string of an item's nearest neighbours."""

    k: Annotated[int, Field(ge=1, le=SIMILAR_MAX)] = 10
