"""REST API v1 for label quality: the agreement report of a project or a slice.

Its own blueprint so the quality routes grow without ``api.py`` growing; declared
like every API view (:func:`labeler.web.openapi.declare`), with the query model
the CLI also validates with and the output shape of ``schemas_quality``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from labeler.extensions import csrf
from labeler.models import Project, Role
from labeler.services import quality
from labeler.web.api import authenticated
from labeler.web.openapi import declare
from labeler.web.schemas_quality import Agreement

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
