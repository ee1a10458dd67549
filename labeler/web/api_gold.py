"""REST API v1 for gold items: an engineer marks items with a known answer.

Engineers and admins only (an sme adjudicates but does not plant test items; a
rater must never learn which items are gold). Declared like every API view.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from labeler.extensions import csrf
from labeler.models import Project, Role
from labeler.services import gold
from labeler.web import schemas as s
from labeler.web.api import _item_ref, authenticated
from labeler.web.openapi import declare

bp = Blueprint("api_gold", __name__)
# As in api.py: token clients carry no cookie to forge; ``authenticated`` checks session clients.
csrf.exempt(bp)


@bp.put("/projects/<pid>/items/<item:iid>/gold")
@authenticated
@declare(
    "Make an item a gold item with its known answer (engineer, admin); idempotent. "
    "Gold items are served to every rater once, at the project's gold_rate",
    body=s.GoldMark,
    responses={200: s.GoldItem},
    roles=(Role.ENGINEER,),
)
def put_gold(project: Project, iid: str, body: s.GoldMark) -> Any:
    return jsonify(gold.mark(project, _item_ref(iid), body.label))


@bp.delete("/projects/<pid>/items/<item:iid>/gold")
@authenticated
@declare(
    "Make a gold item a normal item again, its known answer removed (engineer, admin); "
    "204 also when it was not gold",
    responses={204: None},
    roles=(Role.ENGINEER,),
)
def delete_gold(project: Project, iid: str) -> Any:
    gold.unmark(project, _item_ref(iid))
    return Response(status=204)


@bp.get("/projects/<pid>/gold")
@authenticated
@declare(
    "The project's gold items with their known answer and how many raters got them "
    "right (engineer, admin)",
    responses={200: s.GoldList},
    roles=(Role.ENGINEER,),
)
def list_gold(project: Project) -> Any:
    return jsonify({"items": gold.list_gold(project)})
