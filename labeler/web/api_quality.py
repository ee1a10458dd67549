"""REST API v1 for label quality: the agreement report of a project or a slice, and
the adjudication queue with its decisions.

Its own blueprint so the quality routes grow without ``api.py`` growing; declared
like every API view (:func:`labeler.web.openapi.declare`), with the query model
the CLI also validates with and the output shape of ``schemas_quality``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, jsonify

from labeler.extensions import csrf
from labeler.models import Project, Role
from labeler.services import quality
from labeler.services.quality import adjudication, mislabels
from labeler.web import schemas as s
from labeler.web.api import _item_ref, authenticated
from labeler.web.openapi import declare
from labeler.web.schemas_quality import (
    AdjudicationQuery,
    AdjudicationQueue,
    Agreement,
    Decision,
    FlagAnswer,
    NewDecision,
    NewFlag,
)

bp = Blueprint("api_quality", __name__)
# As in api.py: token clients carry no cookie to forge; ``authenticated`` checks session clients.
csrf.exempt(bp)


@bp.get("/projects/<pid>/agreement")
@authenticated
@declare(
    "Inter-rater agreement, rater quality and human-level performance of the project "
    "or a slice (a class, raters, a date range); engineer, sme, admin",
    query=quality.AgreementQuery,
    responses={200: Agreement},
    roles=(Role.ENGINEER, Role.SME),
)
def agreement(project: Project, query: quality.AgreementQuery) -> Any:
    return jsonify(quality.report_for(project, query))


@bp.get("/projects/<pid>/adjudication")
@authenticated
@declare(
    "The adjudication queue, most disputed first: items that tie or whose consensus "
    "confidence is under the project's threshold, and flagged items, with every answer "
    "(rater names for engineers and admins only); sme, engineer, admin",
    query=AdjudicationQuery,
    responses={200: AdjudicationQueue},
    roles=(Role.ENGINEER, Role.SME),
)
def adjudication_queue(project: Project, query: AdjudicationQuery) -> Any:
    return jsonify(adjudication.queue(project, g.user, query))


@bp.post("/projects/<pid>/items/<item:iid>/adjudication")
@authenticated
@declare(
    "Decide an item's final label (it wins over every other source in the export); "
    "history is kept, the newest decision counts; sme, engineer, admin",
    body=NewDecision,
    responses={201: Decision},
    roles=(Role.ENGINEER, Role.SME),
)
def adjudicate(project: Project, iid: str, body: NewDecision) -> Any:
    decided = adjudication.decide(project, _item_ref(iid), body.label, g.user, body.note)
    return jsonify(decided), 201


@bp.post("/projects/<pid>/items/<item:iid>/flag")
@authenticated
@declare(
    "Flag an item for adjudication, with why (a flag replaces the item's earlier one); "
    "sme, engineer, admin",
    body=NewFlag,
    responses={201: FlagAnswer},
    roles=(Role.ENGINEER, Role.SME),
)
def flag_item(project: Project, iid: str, body: NewFlag) -> Any:
    return jsonify(adjudication.flag(project, _item_ref(iid), body.reason)), 201


@bp.delete("/projects/<pid>/items/<item:iid>/flag")
@authenticated
@declare(
    "Take an item's flag back (404 when it has none); sme, engineer, admin",
    responses={204: None},
    roles=(Role.ENGINEER, Role.SME),
)
def unflag_item(project: Project, iid: str) -> Any:
    adjudication.unflag(project, _item_ref(iid))
    return "", 204


@bp.post("/projects/<pid>/mislabels")
@authenticated
@declare(
    "Queue: find the likely mislabeled items (the project's model, cross-validated, and "
    "cleanlab's find_label_issues) and flag them into the adjudication queue (202, a Job)",
    responses={202: s.Job},
    roles=(Role.ENGINEER, Role.SME),
)
def find_mislabels(project: Project) -> Any:
    job = mislabels.request_job(project, g.user)
    return jsonify(job.as_dict()), 202
