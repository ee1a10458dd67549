"""The declared outputs of the agreement report (README, "Agreement") and of adjudication.

Open like every output model (new fields are not a breaking change); the
OpenAPI document takes its components from here.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from labeler.services.quality.inputs import AdjudicationQuery, NewDecision, NewFlag
from labeler.web.schemas import Output

__all__ = [
    "AdjudicationQuery",
    "AdjudicationQueue",
    "Agreement",
    "Decision",
    "FlagAnswer",
    "NewDecision",
    "NewFlag",
]


class ProjectRef(Output):
    id: int
    name: str


class Slice(Output):
    label: str | None
    raters: list[str] | None
    since: str | None
    until: str | None


class Support(Output):
    krippendorff_alpha: int = Field(description="Items with two answers or more")
    fleiss_kappa: int = Field(description="Items with the most common number of raters")
    fleiss_raters_per_item: int
    percent_agreement: int
    cohen_kappa: dict[str, int] = Field(description="Items each rater pair shares")


class DawidSkeneRater(Output):
    accuracy: float | None
    confusion: list[list[float | None]] = Field(description="[true][observed]: P(observed | true)")


class GoldScore(Output):
    answers: int = Field(description="Label answers on gold items")
    correct: int = Field(description="Those equal to the known answer")
    accuracy: float | None = Field(description="correct / answers; null without any")


class RaterQuality(Output):
    answers: int
    labels: int
    skip_rate: float | None
    unsure_rate: float | None
    median_ms: float | None
    loo_agreement: float | None = Field(description="Agreement with the others' consensus")
    loo_scored: int
    mean_kappa: float | None
    flagged: bool
    gold: GoldScore | None = Field(
        default=None, description="Accuracy on the project's gold items (known answers)"
    )
    dawid_skene: DawidSkeneRater | None


class DawidSkeneInfo(Output):
    computed: bool
    reason: str | None


class ClassQuality(Output):
    answers: int
    specific_agreement: float | None
    alpha_one_vs_rest: float | None


class Confusion(Output):
    labels: list[str]
    counts: list[list[int]] = Field(description="Ordered answer pairs within items")


class DisputedItem(Output):
    id: str
    entropy: float | None
    counts: dict[str, int]


class HumanLevel(Output):
    accuracy: float | None
    accuracy_ci: list[float] | None
    macro_f1: float | None
    macro_f1_ci: list[float] | None
    n_items: int
    n_answers: int
    confidence: float
    n_boot: int
    seed: int


class ModelScore(Output):
    round: int
    n_labels: int | None
    cv_accuracy: float | None
    cv_macro_f1: float | None


class Agreement(Output):
    project: ProjectRef
    computed_at: str
    slice: Slice
    labels: list[str]
    level: Literal["nominal", "ordinal"]
    krippendorff_alpha: float | None
    fleiss_kappa: float | None
    percent_agreement: float | None
    cohen_kappa: dict[str, float | None] = Field(
        description='Keyed "RATER_A|RATER_B", names sorted'
    )
    n_items: int = Field(description="Items with at least one label")
    n_annotations: int = Field(description="Current label answers")
    n_answers: int = Field(description="Current answers, skips and unsure included")
    n_items_single: int = Field(description="Items with one label: counted, in no coefficient")
    support: Support
    per_rater: dict[str, RaterQuality]
    rater_threshold: float
    dawid_skene: DawidSkeneInfo
    per_class: dict[str, ClassQuality]
    confusion: Confusion
    items: list[DisputedItem] = Field(description="The most disputed items, by entropy")
    human_level: HumanLevel
    model: ModelScore | None


# ---------------------------------------------------------------- adjudication
Reason = Literal["tie", "low_confidence", "flagged", "manual"]


class AdjudicationAnswer(Output):
    rater: str = Field(description='A name for engineers and admins; "rater 1..k" for smes')
    kind: str
    label: str | None
    created_at: str


class Vote(Output):
    label: str
    confidence: float


class ConsensusVote(Output):
    label: str | None = Field(description="None: a tie (or no label answers)")
    confidence: float | None


class Flag(Output):
    reason: str | None
    score: float | None


class FlagAnswer(Output):
    id: str = Field(description="The item's id")
    reason: str
    queued: bool = Field(
        description="In the adjudication queue now (false: decided since its last answer)"
    )


class Decision(Output):
    id: str = Field(description="The item's id")
    label: str
    reason: Reason = Field(description="Why the item was in the queue; manual when it was not")
    note: str
    decided_by: str | None
    decided_at: str


class AdjudicationEntry(Output):
    id: str
    data: dict[str, Any] = Field(description="The item's shown data")
    reason: Reason
    reasons: list[Reason]
    entropy: float = Field(description="Of the item's label answers, in bits")
    n_answers: int = Field(description="Label answers")
    consensus: ConsensusVote
    flag: Flag | None
    answers: list[AdjudicationAnswer]
    label_model: Vote | None
    propagation: Vote | None
    previous_decision: Decision | None = Field(
        description="A decision made before newer answers disputed the item again"
    )


class AdjudicationQueue(Output):
    method: str = Field(description="The project's consensus method")
    threshold: float
    total: int = Field(description="Items in the queue")
    limit: int
    offset: int
    items: list[AdjudicationEntry] = Field(description="Most disputed first")
