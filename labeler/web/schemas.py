"""One declared shape per API input and output.

The inputs the services also enforce (projects, annotations, members) are
declared in :mod:`labeler.services.inputs` and re-exported here; the shapes only
the API has (output bodies, the import body, query strings) are declared below.
:mod:`labeler.web.openapi` turns all of them into the document's
``components.schemas``, so the document cannot disagree with the server.

Outputs are open (``extra`` fields allowed) so adding a field is not a breaking
change; inputs are strict and closed.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, RootModel

from labeler.services import exporting, importing
from labeler.services.exporting.options import ExportOptions
from labeler.services.inputs import (
    ANSWER_KINDS,
    INT32_MAX,
    ITEM_ID_MAX,
    GoldMark,
    Input,
    Kind,
    NewAnnotation,
    NewMember,
    NewProject,
    NewToken,
    NewUser,
    PasswordChange,
    ProjectPatch,
    RoleName,
    UserPatch,
)
from labeler.services.queries import MyAnswersQuery, SimilarQuery

__all__ = [
    "Annotation",
    "Assignment",
    "Error",
    "GoldItem",
    "GoldList",
    "GoldMark",
    "JobList",
    "ExportManifest",
    "ExportQuery",
    "ExportRow",
    "ImportForm",
    "ImportResult",
    "Item",
    "ItemEnvelope",
    "Job",
    "Label",
    "Me",
    "MemberAdded",
    "MyAnswer",
    "MyAnswerList",
    "MyAnswersQuery",
    "QueueStatus",
    "NewAnnotation",
    "NewItems",
    "NewMember",
    "NewProject",
    "NewToken",
    "NewTokenOut",
    "NewUser",
    "PasswordChange",
    "Progress",
    "Project",
    "ProjectList",
    "ProjectPatch",
    "Round",
    "RoundList",
    "SimilarItem",
    "SimilarItems",
    "SimilarQuery",
    "Token",
    "TokenList",
    "User",
    "UserList",
    "UserPatch",
]

MAX_JSON_ITEMS = 100_000  # per JSON request; larger imports go as a file
STATUSES = Literal["queued", "running", "done", "failed"]
if TYPE_CHECKING:
    ExportFormat = str
    ImportFormat = str
else:  # the services' own lists of formats, as enums in the document
    ExportFormat = Literal[tuple(exporting.FORMATS)]
    ImportFormat = Literal[tuple(importing.FORMATS)]


class Output(BaseModel):
    """A response body: open to new fields."""

    model_config = ConfigDict(extra="allow")


# ---------------------------------------------------------------- errors
class ErrorBody(Output):
    code: str = Field(description="Machine-readable, e.g. bad_input, not_found, conflict")
    message: str = Field(description="For people; names the field or line")
    details: Any = Field(description="e.g. {field, errors: [...]} for bad input")


class Error(Output):
    """Every 4xx/5xx under /api/."""

    error: ErrorBody


# ---------------------------------------------------------------- projects
class Me(Output):
    id: int
    name: str
    role: str


class Label(Output):
    name: str
    hotkey: str


class AnswerCounts(Output):
    label: int
    unsure: int
    skip: int


class Progress(Output):
    n_items: int
    n_complete: int = Field(description="Items with `overlap` answers")
    n_annotations: int = Field(
        description="Answers filling items' slots (labels, unsure; at most `overlap` per item)"
    )
    target_annotations: int = Field(description="n_items * overlap")
    mine: int | None = Field(default=None, description="The caller's own current labels")
    mine_by_kind: AnswerCounts | None = Field(
        default=None, description="The caller's current answers by kind"
    )
    left_for_me: int | None = Field(
        default=None, description="Items the caller can still get (their held item included)"
    )
    left_capped: bool | None = Field(default=None, description="left_for_me is a lower bound")


class Project(Output):
    id: int
    name: str
    kind: Kind
    overlap: int
    strategy: str
    lease_seconds: int
    retrain_every: int
    text_field: str
    labels_ordered: bool = False
    consensus_method: str = "mv"
    adjudication_threshold: float = 0.6
    gold_rate: float = 0.0
    train_on_weak: bool = False
    weak_min_confidence: float = 0.9
    instructions: str
    labels: list[Label]
    created_at: datetime | None
    progress: Progress | None = Field(default=None, description="Only on GET of one project")


class ProjectList(Output):
    projects: list[Project]


class MemberAdded(Output):
    project: int
    user: str
    added: bool


# ---------------------------------------------------------------- items
def _no_nul(value: Any) -> Any:
    """No NUL anywhere in item data (PostgreSQL cannot store it in JSON)."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if "\x00" in node:
                raise ValueError("item data must not contain NUL characters")
        elif isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return value


NewItem = Annotated[
    dict[str, Any],
    AfterValidator(_no_nul),
    Field(description="One item: `id` (optional external id) and the data fields"),
]


class NewItems(RootModel[list[NewItem]]):
    """Items to import as JSON: a list of objects (all or nothing, idempotent by id)."""

    root: Annotated[list[NewItem], Field(max_length=MAX_JSON_ITEMS)]


class ImportForm(Input):
    """The multipart form of an import (a file in ``file``)."""

    model_config = ConfigDict(extra="ignore")

    file: Any = Field(json_schema_extra={"type": "string", "format": "binary"})
    format: ImportFormat | None = Field(default=None, description="Guessed from the file name")
    # ``async`` is a keyword in Python; the form field keeps its name.
    async_: Literal["0", "1", "true", "false"] | None = Field(
        default=None, alias="async", description="1: run it on a worker (202, a Job)"
    )


class ImportResult(Output):
    created: int
    updated: int
    unchanged: int
    total: int


class Item(Output):
    id: str = Field(description="The external id given at import")
    data: dict[str, Any]
    priority: float
    n_done: int


class GoldItem(Output):
    item: str = Field(description="The external id given at import")
    label: str = Field(description="The known answer")
    source: str
    answers: int | None = Field(default=None, description="Current label answers to it")
    correct: int | None = Field(default=None, description="Those equal to the known answer")


class GoldList(Output):
    items: list[GoldItem]


class ItemEnvelope(Output):
    item: Item


class Assignment(Output):
    item: Item
    lease_expires_at: datetime


class Annotation(Output):
    id: int
    item: str
    kind: Literal[ANSWER_KINDS]  # type: ignore[valid-type]
    label: str | None
    created_at: datetime


class SimilarItem(Output):
    id: str = Field(description="The external id given at import")
    data: dict[str, Any]
    similarity: float = Field(description="Cosine similarity of the stored vectors")


class SimilarItems(Output):
    """An item's nearest neighbours by sentence embeddings, most similar first."""

    item: str
    model: str = Field(description="The embedding model the vectors come from")
    method: Literal["exact", "hnsw"] = Field(
        description="exact cosine over every stored vector, or the project's HNSW index "
        "(large projects; items embedded after it was built are not among the neighbours)"
    )
    ready: int = Field(
        description="Items of the project with a vector (neighbours come from these)"
    )
    total: int
    similar: list[SimilarItem]


class QueueStatus(Output):
    """Why `next` has (or has not) something for the caller."""

    available: int = Field(description="Items the caller can still get, their held one included")
    available_capped: bool = Field(description="available is a lower bound")
    held_by_others: int = Field(
        description="Items the caller could answer whose free slots other raters' leases hold"
    )
    next_expiry: datetime | None = Field(description="When the first of those leases runs out")
    holding: str | None = Field(description="The item the caller holds a lease on")


class MyAnswer(Annotation):
    status: Literal["current", "changed", "undone"]
    current_id: int | None = Field(
        description="The caller's current annotation of the item (send it as `replaces`)"
    )


class MyAnswerList(Output):
    answers: list[MyAnswer]


# ---------------------------------------------------------------- export, rounds, jobs
# The export's options are declared once, in the service (CLI, REST and the UI form).
ExportQuery = ExportOptions


class ExportAnnotation(Output):
    rater: str | None
    label: str | None
    kind: str
    created_at: str
    duration_ms: int | None


class ExportRow(Output):
    """One JSONL row (``annotations``, ``lf_votes``, ``split`` as the options ask)."""

    id: str
    data: dict[str, Any]
    annotations: list[ExportAnnotation] | None = None
    label: str | None
    source: Literal["adjudicated", "human", "label_model", "propagation"] | None
    confidence: float | None
    n_raters: int
    agreement: float | None
    lf_votes: dict[str, str | None] | None = None
    split: Literal["train", "dev", "test"] | None = None


class ExportManifest(Output):
    """What an export holds: see README "Export" (the same as ``FILE.manifest.json``)."""

    project: dict[str, Any]
    created_at: str
    format: str
    options: dict[str, Any]
    consensus_method: str
    counts_per_source: dict[str, int]
    below_min_confidence: int
    weak_runs: dict[str, int]
    label_model_lfs: dict[str, int]
    lf_versions: dict[str, int]
    split: dict[str, Any] | None
    rows: int
    file: str
    sha256: str
    bytes: int


class Round(Output):
    id: int
    project_id: int
    status: STATUSES
    trigger: str
    strategy: str
    strategy_used: str | None
    cold_start: bool
    n_labels: int | None
    n_ranked: int | None
    n_weak_labels: int | None = Field(
        default=None, description="Weak labels the round trained on (train_on_weak)"
    )
    cv_accuracy: float | None
    cv_macro_f1: float | None
    duration_s: float | None
    info: dict[str, Any] | None
    error: str | None
    created_at: datetime | None
    finished_at: datetime | None


class RoundList(Output):
    rounds: list[Round]


class Job(Output):
    id: int
    project_id: int | None
    kind: str
    status: STATUSES
    progress: int
    total: int | None
    result: Any
    error: str | None
    created_at: datetime | None
    updated_at: datetime | None


class JobList(Output):
    jobs: list[Job]


# Path parameters: what an id in a URL may look like (others are 404 by the view).
# ---------------------------------------------------------------- accounts
class Token(Output):
    """An API token as its owner sees it: never the hash, never the token itself."""

    id: int
    name: str
    prefix: str
    created_at: str | None
    last_used_at: str | None


class NewTokenOut(Token):
    """The clear-text token, shown this once."""

    token: str


class TokenList(Output):
    tokens: list[Token]


class User(Output):
    id: int
    name: str
    role: RoleName
    active: bool
    created_at: str | None


class UserList(Output):
    users: list[User]


_ROW_ID = {"type": "integer", "minimum": 1, "maximum": INT32_MAX}
PATH_PARAMETERS: dict[str, dict[str, Any]] = {
    "pid": {
        "description": "Project id or name",
        "schema": {"type": "string", "minLength": 1, "maxLength": 120, "pattern": "^[^/]+$"},
    },
    "iid": {
        "description": "Item id as given at import",
        "schema": {"type": "string", "minLength": 1, "maxLength": ITEM_ID_MAX},
    },
    "job_id": {"description": "Job id", "schema": _ROW_ID},
    "token_id": {"description": "Token id (from GET /me/tokens)", "schema": _ROW_ID},
    "user_id": {"description": "User id", "schema": _ROW_ID},
    "lf": {
        "description": "Labeling function: a version id, or a name (its newest version)",
        "schema": {"type": "string", "minLength": 1, "maxLength": 120, "pattern": "^[^/]+$"},
    },
}
