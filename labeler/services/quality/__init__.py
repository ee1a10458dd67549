"""Label quality for a project: agreement, rater quality and human-level performance.

``report`` reads a slice's answers and runs the pure ``labeler.quality`` core;
``inputs`` declares what a request may ask for (API and CLI alike).
"""

from __future__ import annotations

from typing import Any

from labeler.models import Project
from labeler.services.quality.inputs import AgreementQuery
from labeler.services.quality.report import (
    DS_AUTO_MAX,
    PAGE_MAX_ANSWERS,
    AgreementSlice,
    agreement_report,
    item_disagreement,
    load_answers,
    page_report,
)

__all__ = [
    "DS_AUTO_MAX",
    "AgreementQuery",
    "AgreementSlice",
    "agreement_report",
    "item_disagreement",
    "PAGE_MAX_ANSWERS",
    "load_answers",
    "page_report",
    "report_for",
]


def report_for(project: Project, query: AgreementQuery) -> dict[str, Any]:
    """The report ``query`` asks for."""
    where = AgreementSlice(query.label, query.rater_names(), query.since, query.until)
    return agreement_report(project, where, **query.options())
