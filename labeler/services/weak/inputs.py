"""The declared inputs of weak supervision: LF specs, preview, fit and propagation options.

One model per spec kind, joined on ``kind``: the API validates with them and
the OpenAPI document lists them; what only the project can tell (is the label
one of its labels, can RE2 run the pattern) is checked by the core's
``lf_from_spec`` after, and refused with a 400 naming the field too.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, RootModel

from labeler.services.inputs import (
    LINE_PATTERN,
    Input,
    Integral,
    LabelName,
    TextField,
    _line,
)
from labeler.services.queries import QueryInput

LF_NAME_MAX = 100
WORD_MAX = 100
WORDS_MAX = 500
PATTERN_MAX = 2000
MAPPING_MAX = 1000
PREVIEW_SAMPLE_MAX = 50
SOURCE_MAX = 1_000_000
NUMBER_MAX = 1e15

LFName = Annotated[
    str,
    Field(min_length=1, max_length=LF_NAME_MAX, json_schema_extra={"pattern": LINE_PATTERN}),
    AfterValidator(_line),
]
Word = Annotated[
    str,
    Field(min_length=1, max_length=WORD_MAX, json_schema_extra={"pattern": LINE_PATTERN}),
    AfterValidator(_line),
]
Pattern = Annotated[str, Field(min_length=1, max_length=PATTERN_MAX)]
Number = Annotated[float, Field(ge=-NUMBER_MAX, le=NUMBER_MAX)]
LookupKey = Annotated[str, Field(min_length=1, max_length=200)]


class KeywordSpec(Input):
    """Vote `label` when any (or all) of `words` occur in the text field."""

    kind: Literal["keyword"]
    name: LFName
    label: LabelName
    words: Annotated[list[Word], Field(min_length=1, max_length=WORDS_MAX)]
    mode: Literal["any", "all"] = "any"
    case_sensitive: bool = False
    whole_word: bool = True
    field: TextField | None = Field(default=None, description="Default: the project's text field")


class RegexSpec(Input):
    """Vote `label` when the RE2 `pattern` matches anywhere in the text field."""

    kind: Literal["regex"]
    name: LFName
    label: LabelName
    pattern: Pattern
    case_sensitive: bool = False
    field: TextField | None = Field(default=None, description="Default: the project's text field")


class ThresholdSpec(Input):
    """Vote `label` when the numeric `field` compares true with `value` (else abstain)."""

    kind: Literal["threshold"]
    name: LFName
    label: LabelName
    field: TextField
    op: Literal["<", "<=", ">", ">=", "==", "!="]
    value: Number


class LookupSpec(Input):
    """Vote the label `mapping` gives the field's value (without `mapping`: the value is a label)."""

    kind: Literal["lookup"]
    name: LFName
    field: TextField
    mapping: Annotated[dict[LookupKey, LabelName], Field(max_length=MAPPING_MAX)] | None = None


LFSpec = Annotated[
    KeywordSpec | RegexSpec | ThresholdSpec | LookupSpec, Field(discriminator="kind")
]


class NewLF(RootModel[LFSpec]):
    """A labeling function to save (a new version when its name exists and it differs)."""

    root: LFSpec

    def spec(self) -> dict[str, Any]:
        return self.root.model_dump(exclude_none=True)


class LFPatch(Input):
    """Switch an LF (every version of its name) on or off."""

    active: bool


class PreviewRequest(Input):
    """What an LF would do on the project, before it is saved."""

    spec: LFSpec
    sample: Annotated[int, Field(ge=0, le=PREVIEW_SAMPLE_MAX), Integral] = 10


class PythonSource(Input):
    """A Python file of Snorkel ``@labeling_function`` objects, as text."""

    filename: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[\w.\- ]+$")] = "lfs.py"
    source: Annotated[str, Field(min_length=1, max_length=SOURCE_MAX)]


class PythonUploadForm(Input):
    """The multipart form of a Python LF upload (the file in ``file``)."""

    model_config = ConfigDict(extra="ignore")

    file: Any = Field(json_schema_extra={"type": "string", "format": "binary"})


class MatrixImportForm(Input):
    """The multipart form of a Snorkel label matrix import (``lf import-matrix``'s API)."""

    model_config = ConfigDict(extra="ignore")

    matrix: Any = Field(
        json_schema_extra={"type": "string", "format": "binary"},
        description="np.save's .npy of an items x LFs integer array, -1 = abstain",
    )
    ids: Any = Field(
        json_schema_extra={"type": "string", "format": "binary"},
        description="The items' external ids, one a line, in the matrix's row order",
    )
    names: Annotated[str, Field(max_length=20_000)] | None = Field(
        default=None, description="Comma-separated LF names (default snorkel_0, ...)"
    )


class FitRequest(Input):
    method: Literal["label_model", "majority"] = "label_model"


class PropagateRequest(Input):
    k: Annotated[int, Field(ge=1, le=100), Integral] = 10
    alpha: Annotated[float, Field(ge=0.0, le=1.0)] = 0.2


class SuggestQuery(QueryInput):
    """The query string of ``GET .../lfs/suggestions``: the bar a suggested keyword LF must pass."""

    min_precision: Annotated[float, Field(ge=0.0, le=1.0)] = 0.9
    min_support: Annotated[int, Field(ge=1, le=10_000)] = 5
    top: Annotated[int, Field(ge=1, le=100)] = 20
