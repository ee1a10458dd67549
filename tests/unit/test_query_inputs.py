"""Query strings are read as the OpenAPI document types them, for every query model.

Pydantic's lax mode (needed: a query string is text) takes more than the document
allows: ``" 5"``, ``"1.0"`` and ``"5_000"`` as integers, ``"yes"``/``"1"`` as true,
``"inf"`` as a number. schemathesis sends such values as invalid and expects a 400.
Every subclass of :class:`~labeler.services.queries.QueryInput` is checked, so a new
query model is covered without a line here.
"""

from __future__ import annotations

import pytest

import labeler.services.exporting.options
import labeler.services.quality.inputs
import labeler.services.weak.inputs  # noqa: F401  (registers its query models)
from labeler.services.errors import BadInput
from labeler.services.inputs import check
from labeler.services.queries import QUERY_TEXT, QueryInput, scalar_kind

UNDOCUMENTED = {
    bool: ["1", "0", "yes", "on", "True", " true", "t"],
    int: [" 5", "5 ", "1.0", "5_000", "+5", "0x10", "1e1"],
    float: ["inf", "nan", "1_0", " 1", "infinity", "0x1p-2", ""],
}
DOCUMENTED = {bool: ["true", "false"], int: ["1", "0", "-3"], float: ["0", "0.5", "1e-3", "-2.5E2"]}


def _models() -> list[type[QueryInput]]:
    found, todo = [], list(QueryInput.__subclasses__())
    while todo:
        model = todo.pop()
        found.append(model)
        todo.extend(model.__subclasses__())
    return sorted(found, key=lambda m: m.__name__)


def _typed_fields() -> list[tuple[type[QueryInput], str, type]]:
    out = []
    for model in _models():
        for name, field in model.model_fields.items():
            kind = scalar_kind(field.annotation)
            if kind is not None:
                out.append((model, name, kind))
    return out


def test_every_query_model_is_found() -> None:
    names = {m.__name__ for m in _models()}
    assert {"AgreementQuery", "ExportOptions", "SimilarQuery", "SuggestQuery"} <= names
    assert {kind for _, _, kind in _typed_fields()} == {bool, int, float}


@pytest.mark.parametrize(("model", "name", "kind"), _typed_fields())
def test_text_outside_the_documented_grammar_is_refused_naming_the_field(
    model: type[QueryInput], name: str, kind: type
) -> None:
    for text in UNDOCUMENTED[kind]:
        with pytest.raises(BadInput) as err:
            check(model, {name: text})
        assert err.value.details is not None and err.value.details["field"] == name, text


@pytest.mark.parametrize(("model", "name", "kind"), _typed_fields())
def test_documented_text_and_python_values_get_through_the_grammar(
    model: type[QueryInput], name: str, kind: type
) -> None:
    grammar = QUERY_TEXT[kind][1]
    for value in [*DOCUMENTED[kind], {bool: True, int: 1, float: 0.5}[kind]]:
        try:
            check(model, {name: value})
        except BadInput as err:  # a range or cross-field rule may still refuse the value
            assert grammar not in str(err), (name, value, str(err))
