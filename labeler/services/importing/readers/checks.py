"""Checking a row: ids, the shown field, storable JSON, and hidden fields kept apart.

Hidden fields are what raters must never receive (DESIGN.md): gold answers
(``_gold`` or ``_gold_label`` in any format, WRENCH's ``label``) and weak-label
votes (WRENCH's ``weak_labels``). They leave ``row.data`` here, before anything
is stored; any other data key starting with ``_`` is reserved and refused, so a
new hidden field cannot slip into ``items.data`` by a naming accident.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from labeler.services.importing.readers.rows import Invalid, Row, json_type, unstorable

MAX_ID_LENGTH = 255  # Item.external_id
GOLD_KEYS = ("_gold", "_gold_label")


@dataclass(frozen=True, slots=True)
class Hints:
    """What a project needs of each row: read once from the project, not per row."""

    tabular: bool = False
    # The field raters are shown, then "image" for image projects: one must be there.
    shown: tuple[str, ...] = ("text",)
    image: bool = False
    # The project's ordered label set: gold values are names, WRENCH votes indices.
    labels: tuple[str, ...] = ()


def check_row(hints: Hints, row: Row) -> None:
    """Validate ``row`` and move its hidden fields to ``row.gold`` and ``row.votes``.

    >>> row = Row(3, "a", {"text": "hi", "_gold": "pos"})
    >>> check_row(Hints(labels=("pos", "neg")), row)
    >>> row.data, row.gold
    ({'text': 'hi'}, 'pos')
    >>> check_row(Hints(), Row(4, "b", {"text": "x", "_note": 1}))
    Traceback (most recent call last):
    ...
    labeler.services.importing.readers.rows.Invalid: keys starting with '_' are reserved \
(only _gold and _gold_label, for the gold answer, are accepted)
    """
    _check_id(row.external_id)
    _take_hidden(hints, row)
    _check_shown_field(hints, row.data)
    for key, value in row.data.items():
        why = unstorable([key, value])
        if why:
            raise Invalid(key, why)


def _check_id(external_id: str) -> None:
    if not external_id.strip():
        raise Invalid("id", "the id is empty")
    if len(external_id) > MAX_ID_LENGTH:
        raise Invalid("id", f"the id is longer than {MAX_ID_LENGTH} characters")
    why = unstorable(external_id)
    if why:
        raise Invalid("id", f"the id {why}")


def _take_hidden(hints: Hints, row: Row) -> None:
    for key in [k for k in row.data if k.startswith("_")]:
        if key not in GOLD_KEYS:
            raise Invalid(
                key,
                "keys starting with '_' are reserved (only _gold and _gold_label, "
                "for the gold answer, are accepted)",
            )
        row.hidden[key] = row.data.pop(key)
    given = [k for k in GOLD_KEYS if row.hidden.get(k) not in (None, "")]
    if len(given) > 1 and row.hidden["_gold"] != row.hidden["_gold_label"]:
        raise Invalid("_gold_label", "_gold and _gold_label differ; give one of them")
    if given:
        row.gold = _gold_name(hints, given[0], row.hidden[given[0]])
        row.gold_source = "import"
    if row.hidden.get("label") is not None:
        row.gold = _wrench_gold(hints, row.hidden["label"])
        row.gold_source = "wrench"
    if "weak_labels" in row.hidden:
        row.votes = _wrench_votes(hints, row.hidden["weak_labels"])


def _gold_name(hints: Hints, key: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise Invalid(key, f"the gold label must be a label name, not {json_type(value)}")
    name = str(value)
    if hints.labels and name not in hints.labels:
        allowed = ", ".join(hints.labels)
        raise Invalid(key, f"{name!r} is not one of the project's labels ({allowed})")
    return name


def _index(hints: Hints, value: Any) -> int | None:
    """A label index (-1 = none) when it names one of the project's labels, else None."""
    is_int = isinstance(value, int) and not isinstance(value, bool)
    return value if is_int and -1 <= value < len(hints.labels) else None


def _wrench_gold(hints: Hints, value: Any) -> str | None:
    """WRENCH's ``label``: an index into the label set (-1: unknown); a label name also works."""
    if isinstance(value, str) and value in hints.labels:
        return value
    index = _index(hints, value)
    if index is None:
        raise Invalid(
            "label",
            f"the label must be an index into the project's {len(hints.labels)} labels "
            f"(0 to {len(hints.labels) - 1}, or -1 for none), not {value!r}",
        )
    return None if index == -1 else hints.labels[index]


def _wrench_votes(hints: Hints, value: Any) -> list[int]:
    if not isinstance(value, list):
        raise Invalid("weak_labels", f"weak_labels must be a list, not {json_type(value)}")
    for position, vote in enumerate(value):
        if _index(hints, vote) is None:
            raise Invalid(
                "weak_labels",
                f"vote {position} is {vote!r}; votes are label indices 0 to "
                f"{len(hints.labels) - 1}, or -1 to abstain",
            )
    return list(value)


def _check_shown_field(hints: Hints, data: dict[str, Any]) -> None:
    """The field raters see must be there: text (or image) projects need it non-empty."""
    if hints.tabular:
        if not data:
            raise Invalid(None, "no fields besides the id")
        return
    field = hints.shown[0]
    value = next((data[f] for f in hints.shown if data.get(f) not in (None, "")), None)
    if value is None:
        missing = " or ".join(map(repr, hints.shown))
        raise Invalid(field, f"{missing} is missing or empty")
    if hints.image and isinstance(value, list):
        # Pixel values (e.g. scikit-learn's 8x8 digits): numbers, or rows of numbers.
        flat = [v for row in value for v in (row if isinstance(row, list) else [row])]
        if not flat or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in flat
        ):
            raise Invalid(field, f"{field!r} as a list must hold numbers (pixel values)")
        return
    if not isinstance(value, str):
        raise Invalid(field, f"{field!r} must be a string, not {json_type(value)}")
    if not value.strip():
        raise Invalid(field, f"{field!r} is blank")
