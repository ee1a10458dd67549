"""Typed SQLAlchemy 2.0 models, one module per aggregate."""

from labeler.models.adjudication import Adjudication, ReviewFlag
from labeler.models.annotations import Annotation, AnnotationKind
from labeler.models.artifacts import Artifact
from labeler.models.evaluation import GoldLabel, LabelingFunction, WeakVoteBlock
from labeler.models.imports import ImportBatch, ImportRow
from labeler.models.items import Item, Lease
from labeler.models.jobs import Job
from labeler.models.projects import Label, Membership, Project, ProjectKind
from labeler.models.rounds import TrainingRound
from labeler.models.users import ApiToken, Role, User
from labeler.models.vectors import ItemVector
from labeler.models.weak import LFApplyState, WeakDirtyItem, WeakResult, WeakRun

__all__ = [
    "Adjudication",
    "Annotation",
    "AnnotationKind",
    "ApiToken",
    "Artifact",
    "GoldLabel",
    "ImportBatch",
    "ImportRow",
    "ItemVector",
    "Item",
    "Job",
    "LFApplyState",
    "Label",
    "LabelingFunction",
    "Lease",
    "Membership",
    "Project",
    "ProjectKind",
    "ReviewFlag",
    "Role",
    "TrainingRound",
    "User",
    "WeakDirtyItem",
    "WeakResult",
    "WeakRun",
    "WeakVoteBlock",
]
