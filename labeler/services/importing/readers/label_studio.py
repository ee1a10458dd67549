"""The answers inside Label Studio tasks: each annotation one rater's vote.

Label Studio keeps a task's human answers in ``annotations``; a choices result
is a label. This is what makes labeler's own Label Studio export import back
without loss: ``completed_by`` is the rater (a name, or Label Studio's user id
or ``{"email": ...}``), ``was_cancelled`` marks a skip (``labeler_kind`` says
skip or unsure), ``lead_time`` is in seconds. Predictions are not answers and
are ignored, as are annotations with an empty result (no answer). The item
rows themselves come from ``json_document``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

from labeler.services.importing.readers.annotations import (
    MAX_DURATION_MS,
    MAX_RATER_LENGTH,
    Vote,
    _timestamp,
)
from labeler.services.importing.readers.json_document import JsonDocument
from labeler.services.importing.readers.lines import read_text
from labeler.services.importing.readers.rows import Invalid, Problem, attempt, id_from

__all__ = ["label_studio_votes"]


def label_studio_votes(stream: BinaryIO, labels: set[str]) -> Iterator[Vote | Problem]:
    """The answers of a Label Studio task list (problems of the document itself are the
    item reader's to report).

    >>> import io
    >>> raw = (b'[{"id": "a", "data": {"text": "x"}, "annotations": [{"completed_by": "ann",'
    ...        b' "lead_time": 1.5, "result": [{"type": "choices", "value": {"choices": ["pos"]}}]}]}]')
    >>> [(v.item, v.rater, v.kind, v.label, v.duration_ms) for v in label_studio_votes(io.BytesIO(raw), {"pos"})]
    [('a', 'ann', 'label', 'pos', 1500)]
    """
    text, _ = read_text(stream)
    if not text or not text.strip():
        return
    try:
        for number, (line, task) in enumerate(JsonDocument(text).elements("[", "a list"), 1):
            if not isinstance(task, dict) or not isinstance(task.get("annotations"), list):
                continue
            try:
                item = id_from(task.get("id"), number)
            except Invalid:
                continue
            for ann in task["annotations"]:
                if _empty(ann):
                    continue  # no choice made and not cancelled: no answer to import
                yield attempt(line, _vote, ann, line, item, labels)
    except Invalid:
        return


def _empty(ann: Any) -> bool:
    """An annotation that holds no answer: no result at all, and not a skip.

    >>> _empty({"result": []}), _empty({"result": [], "was_cancelled": True})
    (True, False)
    """
    return isinstance(ann, dict) and not ann.get("result") and not ann.get("was_cancelled")


def _rater(value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("email") or value.get("username")
    if isinstance(value, int) and not isinstance(value, bool):
        value = f"label-studio-{value}"
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_RATER_LENGTH:
        raise Invalid(
            "completed_by",
            f"each annotation needs completed_by: a rater name of 1 to {MAX_RATER_LENGTH} "
            "characters (or a Label Studio user id)",
        )
    return value.strip()


def _choice(result: Any, labels: set[str]) -> str:
    for region in result if isinstance(result, list) else []:
        if isinstance(region, dict) and region.get("type") == "choices":
            choices = (region.get("value") or {}).get("choices")
            if isinstance(choices, list) and len(choices) == 1 and isinstance(choices[0], str):
                if choices[0] not in labels:
                    allowed = ", ".join(sorted(labels))
                    raise Invalid(
                        "annotations",
                        f"{choices[0]!r} is not one of the project's labels ({allowed})",
                    )
                return choices[0]
    raise Invalid("annotations", "an annotation needs a choices result with one label")


def _vote(ann: Any, line: int, item: str, labels: set[str]) -> Vote:
    if not isinstance(ann, dict):
        raise Invalid("annotations", "each annotation must be an object")
    rater = _rater(ann.get("completed_by"))
    if ann.get("was_cancelled"):
        kind = ann.get("labeler_kind") if ann.get("labeler_kind") in ("skip", "unsure") else "skip"
        label = None
    else:
        kind, label = "label", _choice(ann.get("result"), labels)
    created = ann.get("created_at")
    lead = ann.get("lead_time")
    duration = None
    if lead is not None:
        if isinstance(lead, bool) or not isinstance(lead, (int, float)):
            raise Invalid("lead_time", "lead_time must be a number of seconds")
        duration = round(lead * 1000)
        if not 0 <= duration <= MAX_DURATION_MS:
            raise Invalid("lead_time", "lead_time is out of range")
    stamp = _timestamp(created) if isinstance(created, str) else None
    return Vote(line, item, rater, label, stamp, duration, kind)  # type: ignore[arg-type]
