"""The declared inputs: one rule per field, written once.

The API views, the settings page, the CLI and the services all validate with
these models, and the OpenAPI document is generated from them
(:mod:`labeler.web.schemas` re-exports them next to the output shapes). They
live here, below the web layer, so that a service caller cannot bypass them
without the services importing from ``web/`` (dependencies point one way).

Every number has bounds and every string a length; types are strict, so JSON
that would otherwise be coerced (``"abc"``, ``true``, ``10**20``, ``null``) is
refused, and unknown fields are refused by name.

>>> check(ProjectPatch, {"overlap": 3}).overlap
3
>>> check(ProjectPatch, {"overlap": True})
Traceback (most recent call last):
...
labeler.services.errors.BadInput: overlap: Input should be a valid integer
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from labeler.models.annotations import AnnotationKind
from labeler.models.projects import ProjectKind
from labeler.quality.consensus import METHODS as CONSENSUS_METHODS
from labeler.sampling.names import STRATEGY_NAMES as _STRATEGY_NAMES
from labeler.services.errors import BadInput

HOTKEYS = "1234567890abcdefghijklmnopqrtvwxy"  # s, u, z are skip, unsure, undo
NAME_MAX = 120
LABEL_MAX = 120
MAX_LABELS = len(HOTKEYS)
OVERLAP_MAX = 100
LEASE_MAX = 7 * 24 * 3600  # a week
RETRAIN_EVERY_MAX = 1_000_000
INSTRUCTIONS_MAX = 100_000
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
ITEM_ID_MAX = 255
USER_NAME_MAX = 80
TOKEN_NAME_MAX = 80
MIN_PASSWORD_LENGTH = 8
# Nobody's password is longer; hashing megabytes would be a denial of service.
MAX_PASSWORD_LENGTH = 1024
ROLE_NAMES: tuple[str, ...] = ("admin", "engineer", "sme", "rater")

# Python ``re`` semantics, as in the generated data of hypothesis/schemathesis.
_NO_CONTROL = r"[^\x00-\x1f\x7f]"
# U+0085 (NEL) is whitespace to Python's str.strip but not to JSON Schema's (ECMAScript)
# \s, so it is named: otherwise a name the document allows would be refused.
_EDGE = r"[^\s\x00-\x1f\x7f\x85]"
# One line, no control characters, no surrounding whitespace.
LINE_PATTERN = rf"^{_EDGE}(?:{_NO_CONTROL}*{_EDGE})?$"
# ... and not all ASCII digits: such names would read as ids.
NAME_PATTERN = rf"^(?![0-9]+$){_EDGE}(?:{_NO_CONTROL}*{_EDGE})?$"
# Multi-line text: tabs and newlines, but no NUL or other control characters.
TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"

STRATEGY_NAMES: tuple[str, ...] = _STRATEGY_NAMES
KIND_NAMES: tuple[str, ...] = tuple(k.value for k in ProjectKind)
ANSWER_KINDS: tuple[str, ...] = tuple(k.value for k in AnnotationKind)


def _explain(value: str, *, one_line: bool, not_number: bool = False) -> str:
    """Why ``value`` breaks the patterns above (the same rule, said in words)."""
    if not_number and value.isascii() and value.isdigit():
        raise ValueError("cannot be all digits (numbers are ids)")
    bad = _CONTROL_LINE if one_line else _CONTROL_TEXT
    if bad.search(value):
        raise ValueError("must not contain control characters (NUL, escapes, ...)")
    if one_line and value != value.strip():
        raise ValueError("must not start or end with whitespace")
    return value


_CONTROL_LINE = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _line(value: str) -> str:
    return _explain(value, one_line=True)


def _name(value: str) -> str:
    return _explain(value, one_line=True, not_number=True)


def _text(value: str) -> str:
    return _explain(value, one_line=False)


ProjectName = Annotated[
    str,
    Field(min_length=1, max_length=NAME_MAX, json_schema_extra={"pattern": NAME_PATTERN}),
    AfterValidator(_name),
]
LabelName = Annotated[
    str,
    Field(min_length=1, max_length=LABEL_MAX, json_schema_extra={"pattern": LINE_PATTERN}),
    AfterValidator(_line),
]
Kind = Literal[KIND_NAMES]  # type: ignore[valid-type]
Strategy = Literal[STRATEGY_NAMES]  # type: ignore[valid-type]
AnswerKind = Literal[ANSWER_KINDS]  # type: ignore[valid-type]
ConsensusMethod = Literal[CONSENSUS_METHODS]  # type: ignore[valid-type]


def _integral(value: Any) -> Any:
    """JSON Schema's ``integer`` includes ``3.0``; strings, bools and ``3.5`` stay refused."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    return value


Integral = BeforeValidator(_integral)
# Field before the validator: pydantic writes minimum/maximum into the JSON Schema then.
Overlap = Annotated[
    int, Field(ge=1, le=OVERLAP_MAX, description="Distinct raters per item"), Integral
]
LeaseSeconds = Annotated[int, Field(ge=1, le=LEASE_MAX), Integral]
RetrainEvery = Annotated[
    int,
    Field(ge=0, le=RETRAIN_EVERY_MAX, description="New labels per round; 0 = on demand"),
    Integral,
]
Instructions = Annotated[
    str,
    Field(max_length=INSTRUCTIONS_MAX, json_schema_extra={"pattern": TEXT_PATTERN}),
    AfterValidator(_text),
]
NOTE_MAX = 2000
Note = Annotated[
    str,
    Field(max_length=NOTE_MAX, json_schema_extra={"pattern": TEXT_PATTERN}),
    AfterValidator(_text),
]
TextField = Annotated[
    str,
    Field(min_length=1, max_length=NAME_MAX, json_schema_extra={"pattern": LINE_PATTERN}),
    AfterValidator(_line),
]
AdjudicationThreshold = Annotated[
    float,
    Field(
        ge=0,
        le=1,
        description="Items whose consensus confidence is below this (or that tie) "
        "go to adjudication",
    ),
]
DurationMs = Annotated[int, Field(ge=0, le=INT32_MAX), Integral]
GOLD_RATE_MAX = 0.5


def _real(value: Any) -> Any:
    """A number where a fraction is asked: ``0`` and ``1`` are fine; bools stay refused."""
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


Real = BeforeValidator(_real)
GoldRate = Annotated[
    float,
    Field(
        ge=0.0,
        le=GOLD_RATE_MAX,
        description="Share of a rater's `next` calls that serve a gold item they have not "
        "answered yet (0 = none)",
    ),
    Real,
]
WeakMinConfidence = Annotated[
    float,
    Field(
        ge=0.0,
        le=1.0,
        description="With train_on_weak: the least confidence of a weak label trained on",
    ),
    Real,
]
TrainOnWeak = Annotated[
    bool,
    Field(
        description="Active learning also trains on label-model and propagation labels of "
        "items without a human label, weighted by their confidence"
    ),
]
Labels = Annotated[
    list[LabelName],
    Field(
        min_length=1,
        max_length=MAX_LABELS,
        description="Distinct, in hotkey order",
        json_schema_extra={"uniqueItems": True},
    ),
]


class Input(BaseModel):
    """Strict, closed: no coercion, no unknown fields."""

    model_config = ConfigDict(
        strict=True, extra="forbid", allow_inf_nan=False, regex_engine="python-re"
    )


class NewProject(Input):
    """A project to create."""

    name: ProjectName
    labels: Labels
    kind: Kind = "text"
    overlap: Overlap = 1
    strategy: Strategy = "random"
    instructions: Instructions = ""
    lease_seconds: LeaseSeconds = 600
    text_field: TextField = "text"
    retrain_every: RetrainEvery = 20
    labels_ordered: bool = Field(default=False, description="The labels are an ordered scale")
    consensus_method: ConsensusMethod = Field(
        default="mv", description="How answers become one label: mv, wawa, dawid-skene"
    )
    adjudication_threshold: AdjudicationThreshold = 0.6
    gold_rate: GoldRate = 0.0
    train_on_weak: TrainOnWeak = False
    weak_min_confidence: WeakMinConfidence = 0.9

    @field_validator("labels")
    @classmethod
    def _distinct(cls, labels: list[str]) -> list[str]:
        if len(set(labels)) != len(labels):
            raise ValueError("labels must be distinct")
        return labels


Hotkey = Literal[tuple(HOTKEYS)]  # type: ignore[valid-type]


class LabelChange(Input):
    """Rename a label (``old`` set) or add one (``old`` absent); ``hotkey`` optional.

    A renamed label keeps its history: its annotations and gold labels are renamed too.
    """

    old: LabelName | None = Field(default=None, description="The label to change; absent: add")
    name: LabelName
    hotkey: Hotkey | None = None  # type: ignore[valid-type]


class ProjectPatch(Input):
    """Settings an engineer may change; absent fields stay as they are."""

    name: ProjectName | None = None
    labels: Annotated[list[LabelChange], Field(max_length=MAX_LABELS)] | None = None
    instructions: Instructions | None = None
    overlap: Overlap | None = None
    strategy: Strategy | None = None
    lease_seconds: LeaseSeconds | None = None
    retrain_every: RetrainEvery | None = None
    labels_ordered: bool | None = None
    consensus_method: ConsensusMethod | None = None
    adjudication_threshold: AdjudicationThreshold | None = None
    gold_rate: GoldRate | None = None
    train_on_weak: TrainOnWeak | None = None
    weak_min_confidence: WeakMinConfidence | None = None

    def changes(self) -> dict[str, Any]:
        """The fields that were sent (``null`` means unchanged)."""
        return self.model_dump(exclude_none=True)


class NewAnnotation(Input):
    """A rater's answer; ``kind`` defaults to ``label``."""

    label: LabelName | None = Field(
        default=None, description="A label of the project's set (for kind `label`)"
    )
    kind: AnswerKind | None = None
    duration_ms: DurationMs | None = None
    replaces: Annotated[int, Field(ge=1, le=INT64_MAX), Integral] | None = Field(
        default=None,
        description="To change your answer: the id of your current annotation of the item. "
        "A different answer without it, when you have one, is a 409 naming the current one.",
    )


class GoldMark(Input):
    """The known answer of a gold item (engineer, admin): a label of the project's set."""

    label: LabelName


class NewMember(Input):
    """A user to add to a project, by name or id."""

    user: (
        Annotated[str, Field(min_length=1, max_length=USER_NAME_MAX)]
        | Annotated[int, Field(ge=1, le=INT32_MAX), Integral]
    )


RoleName = Literal["admin", "engineer", "sme", "rater"]
Password = Annotated[str, Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)]


class NewToken(Input):
    """An API token to create for oneself."""

    name: Annotated[str, Field(max_length=TOKEN_NAME_MAX)] = ""


class PasswordChange(Input):
    """One's own new password, with the old one."""

    old_password: Annotated[str, Field(max_length=MAX_PASSWORD_LENGTH)]
    new_password: Password


class NewUser(Input):
    """A user an admin creates; without a password the user can only use tokens."""

    name: Annotated[str, Field(min_length=1, max_length=USER_NAME_MAX, pattern=LINE_PATTERN)]
    role: RoleName = "rater"
    password: Password | None = None


class UserPatch(Input):
    """What an admin may change about a user; absent fields stay as they are."""

    active: bool | None = None
    role: RoleName | None = None
    password: Password | None = None

    def changes(self) -> dict[str, Any]:
        """The fields that were sent (``null`` means unchanged)."""
        return self.model_dump(exclude_none=True)


M = TypeVar("M", bound=BaseModel)


def as_id(ref: object) -> int | None:
    """``ref`` as a row id when it is one: ASCII digits within a 32-bit column, else None.

    >>> as_id("42"), as_id(7), as_id("99999999999999999999"), as_id("\u00b9"), as_id(True)
    (42, 7, None, None, None)
    """
    if isinstance(ref, bool):
        return None
    if isinstance(ref, int):
        return ref if 1 <= ref <= INT32_MAX else None
    if isinstance(ref, str) and 0 < len(ref) <= 10 and ref.isascii() and ref.isdigit():
        value = int(ref)
        return value if 1 <= value <= INT32_MAX else None
    return None


def is_reference(ref: str, max_length: int) -> bool:
    r"""Whether ``ref`` can name a row at all (a name or external id): bounded, no NUL.

    >>> is_reference("n0", 255), is_reference("x" * 256, 255), is_reference("a\x00", 255)
    (True, False, False)
    """
    return 0 < len(ref) <= max_length and "\x00" not in ref


def problems(exc: ValidationError) -> list[dict[str, Any]]:
    """pydantic's errors, JSON-safe and without the (possibly huge) input."""
    return [
        {"field": ".".join(str(p) for p in e["loc"]), "type": e["type"], "message": e["msg"]}
        for e in exc.errors(include_url=False, include_context=False, include_input=False)
    ]


def bad_input(exc: ValidationError) -> BadInput:
    """The 400 for a failed validation: the first field named in the message and ``details``."""
    found = problems(exc)
    first = found[0]
    field = first["field"].split(".")[0] if first["field"] else None
    if first["type"] == "json_invalid":
        return BadInput(f"invalid JSON: {first['message']}", {"field": None, "errors": found})
    where = f"{first['field']}: " if first["field"] else ""
    return BadInput(f"{where}{first['message']}", {"field": field, "errors": found})


def check(model: type[M], data: Any) -> M:
    """``data`` (Python values) validated by ``model``; a :class:`BadInput` naming the field."""
    if isinstance(data, model):
        return data
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise bad_input(exc) from None


def check_json(model: type[M], raw: bytes | str) -> M:
    """A JSON document validated by ``model``; malformed or too deep JSON is 'invalid JSON'."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise bad_input(exc) from None
