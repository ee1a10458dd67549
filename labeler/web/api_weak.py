"""REST API v1 for weak supervision: labeling functions, preview, stats, fit, propagate.

For smes, engineers and admins of the project; a rater gets 403 (and never
sees a vote or an LF's output). Declared like every API view: the input models
in ``services/weak/inputs.py`` validate the requests and, with the outputs in
``web/schemas_weak.py``, describe the routes in the OpenAPI document.
Python files are parsed in a child process; they never run in this process.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, jsonify
from werkzeug.routing import PathConverter

from labeler.extensions import csrf
from labeler.models import Project, Role
from labeler.services.errors import BadInput
from labeler.services.weak import external, jobs, lfs, preview, stats, suggestions
from labeler.services.weak import inputs as wi
from labeler.web import schemas as s
from labeler.web import schemas_weak as sw
from labeler.web.api import authenticated
from labeler.web.openapi import declare

bp = Blueprint("api_weak", __name__)
csrf.exempt(bp)


#: The routes beside ``lfs/<ref>`` (an LF with such a name is reached by its id), so each
#: resource has one ``Allow``; tests/integration/test_api.py keeps this list complete.
LF_ROUTES = ("preview", "stats", "suggestions", "upload", "import-matrix")


class LFRefConverter(PathConverter):
    """An LF's id or name in a path, but none of :data:`LF_ROUTES`."""

    regex = r"(?!(?:" + "|".join(LF_ROUTES) + r")$)[^/]+"


@bp.record_once
def _register_converter(state: Any) -> None:
    state.app.url_map.converters.setdefault("lfref", LFRefConverter)


WEAK_ROLES = (Role.ENGINEER, Role.SME)


@bp.get("/projects/<pid>/lfs")
@authenticated
@declare(
    "The project's labeling functions, newest version of each (sme, engineer, admin)",
    responses={200: sw.LFList},
    roles=WEAK_ROLES,
)
def list_lfs(project: Project) -> Any:
    return jsonify({"lfs": lfs.list_lfs(project)})


@bp.post("/projects/<pid>/lfs")
@authenticated
@declare(
    "Save a labeling function: 201 with a new version, 200 when it equals the newest. "
    "400 names the field (a label outside the project, a pattern RE2 cannot run); "
    "409 when the name belongs to a python or imported LF",
    body=wi.NewLF,
    responses={201: sw.LFSaved, 200: sw.LFSaved},
    roles=WEAK_ROLES,
    errors=(409,),
)
def create_lf(project: Project, body: wi.NewLF) -> Any:
    row, created = lfs.save_lf(project, body.spec(), g.user)
    return jsonify({**lfs.lf_dict(row), "created": created}), 201 if created else 200


@bp.post("/projects/<pid>/lfs/upload")
@authenticated
@declare(
    "Upload a Python file of @labeling_function objects (a file in `file`, or JSON "
    "{filename, source}); one LF per function, a new version where the file changed. "
    "The file runs only in workers' child processes",
    body=wi.PythonSource,
    form=wi.PythonUploadForm,
    responses={201: sw.LFSavedList},
    roles=WEAK_ROLES,
    errors=(409,),
)
def upload_lfs(
    project: Project,
    body: wi.PythonSource | None = None,
    form: wi.PythonUploadForm | None = None,
) -> Any:
    if form is not None:
        upload = form.file
        if not hasattr(upload, "read"):
            raise BadInput("file: a file upload is required", {"field": "file"})
        try:
            source = upload.read(wi.SOURCE_MAX + 1).decode("utf-8")
        except UnicodeDecodeError:
            raise BadInput("file: must be UTF-8 text", {"field": "file"}) from None
        name = upload.filename or "lfs.py"
    else:
        assert body is not None
        source, name = body.source, body.filename
    saved = lfs.upload_python(project, source, name, g.user)
    return jsonify({"lfs": [{**lfs.lf_dict(r), "created": c} for r, c in saved]}), 201


@bp.post("/projects/<pid>/lfs/import-matrix")
@authenticated
@declare(
    "Store a Snorkel label matrix (np.save's .npy, items x LFs, -1 = abstain) as external "
    "LFs, one per column; their earlier votes are replaced. Read without unpickling; 400 "
    "names the row, column or ids line",
    form=wi.MatrixImportForm,
    responses={201: sw.MatrixImported},
    roles=WEAK_ROLES,
    errors=(409,),
)
def import_matrix(project: Project, form: wi.MatrixImportForm | None = None) -> Any:
    if form is None:
        raise BadInput(
            "matrix: send a multipart form with the files matrix and ids", {"field": "matrix"}
        )
    files = {}
    for field in ("matrix", "ids"):
        upload = getattr(form, field)
        if not hasattr(upload, "read"):
            raise BadInput(f"{field}: a file upload is required", {"field": field})
        files[field] = upload.read()
    L = external.load_matrix(files["matrix"])
    try:
        ids = external.read_ids(files["ids"].decode("utf-8"))
    except UnicodeDecodeError:
        raise BadInput("ids: must be UTF-8 text", {"field": "ids"}) from None
    names = form.names.split(",") if form.names is not None else None
    return jsonify(external.import_matrix(project, L, ids, names)), 201


@bp.post("/projects/<pid>/lfs/preview")
@authenticated
@declare(
    "What an LF would do before it is saved: coverage, accuracy against the human "
    "consensus, overlaps and conflicts with the active LFs, matched items with spans "
    "(on a seeded sample of large projects)",
    body=wi.PreviewRequest,
    responses={200: sw.Preview},
    roles=WEAK_ROLES,
)
def preview_lf(project: Project, body: wi.PreviewRequest) -> Any:
    spec = body.spec.model_dump(exclude_none=True)
    return jsonify(preview.preview(project, spec, body.sample))


@bp.get("/projects/<pid>/lfs/stats")
@authenticated
@declare(
    "Coverage, overlaps, conflicts and empirical accuracy (against the human consensus) "
    "of the active LFs, from the stored votes",
    responses={200: sw.LFStats},
    roles=WEAK_ROLES,
)
def lf_stats(project: Project) -> Any:
    return jsonify(stats.lf_stats(project))


@bp.get("/projects/<pid>/lfs/suggestions")
@authenticated
@declare(
    "Keyword LFs mined from the human consensus labels so far, the project's existing LFs "
    "left out: each with its spec (save it with POST .../lfs), precision and support on "
    "the labeled items it matches, coverage of the unlabeled items",
    query=wi.SuggestQuery,
    responses={200: sw.Suggestions},
    roles=WEAK_ROLES,
)
def lf_suggestions(project: Project, query: wi.SuggestQuery) -> Any:
    return jsonify(
        suggestions.suggestions(project, query.min_precision, query.min_support, query.top)
    )


@bp.get("/projects/<pid>/lfs/<lfref:lf>")
@authenticated
@declare(
    "One labeling function (a version id, or a name: its newest version) with its versions",
    responses={200: sw.LFDetail},
    roles=WEAK_ROLES,
)
def get_lf(project: Project, lf: str) -> Any:
    row = lfs.find_lf(project, lf)
    st = lfs.states([v.id for v in lfs.versions(project, row.name)])
    out = lfs.lf_dict(row, st.get(row.id), source=True)
    out["versions"] = [lfs.lf_dict(v, st.get(v.id)) for v in lfs.versions(project, row.name)]
    return jsonify(out)


@bp.patch("/projects/<pid>/lfs/<lfref:lf>")
@authenticated
@declare(
    "Switch a labeling function on or off (every version of its name)",
    body=wi.LFPatch,
    responses={200: sw.LF},
    roles=WEAK_ROLES,
)
def patch_lf(project: Project, lf: str, body: wi.LFPatch) -> Any:
    row = lfs.set_active(project, lf, body.active)
    return jsonify(lfs.lf_dict(row, lfs.states([row.id]).get(row.id)))


@bp.post("/projects/<pid>/weak/fit")
@authenticated
@declare(
    "Queue: apply the stale LFs, then fit the label model (202, a Job; coalesces with "
    "one in flight)",
    body=wi.FitRequest,
    responses={202: s.Job},
    roles=WEAK_ROLES,
)
def weak_fit(project: Project, body: wi.FitRequest) -> Any:
    job = jobs.request_job(project, "weak_fit", {"method": body.method}, g.user)
    return jsonify(job.as_dict()), 202


@bp.post("/projects/<pid>/weak/apply")
@authenticated
@declare(
    "Queue: apply the stale LFs only (202, a Job)",
    responses={202: s.Job},
    roles=WEAK_ROLES,
)
def weak_apply(project: Project) -> Any:
    return jsonify(jobs.request_job(project, "weak_apply", {}, g.user).as_dict()), 202


@bp.get("/projects/<pid>/weak/runs")
@authenticated
@declare(
    "The newest label-model fit and propagation, with their metrics",
    responses={200: sw.WeakRuns},
    roles=WEAK_ROLES,
)
def weak_runs(project: Project) -> Any:
    out = {}
    for kind in ("label_model", "propagation"):
        run = stats.latest_run(project, kind)
        out[kind] = run.as_dict() if run else None
    return jsonify(out)


@bp.post("/projects/<pid>/propagate")
@authenticated
@declare(
    "Queue label propagation from the human consensus and the label model (202, a Job)",
    body=wi.PropagateRequest,
    responses={202: s.Job},
    roles=WEAK_ROLES,
)
def propagate(project: Project, body: wi.PropagateRequest) -> Any:
    params = {"k": body.k, "alpha": body.alpha}
    return jsonify(jobs.request_job(project, "propagate", params, g.user).as_dict()), 202
