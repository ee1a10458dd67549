"""Pages: the project list, the labeling page and the engineer's project page.

Views stay thin: parse the request, call one service function, render. The
labeling page itself talks to the JSON API (``static/label.js``).
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from labeler.extensions import db
from labeler.models import Project, Role
from labeler.services import exporting, importing, jobs, quality, training, vectors
from labeler.services import projects as project_service
from labeler.services import users as user_service
from labeler.services.errors import BadInput, ServiceError
from labeler.services.inputs import CONSENSUS_METHODS, NewMember, ProjectPatch, check
from labeler.services.quality import adjudication
from labeler.services.quality.trend import agreement_over_time
from labeler.web.charts import learning_curve_svg
from labeler.web.markdown import render_markdown
from labeler.web.quality_charts import agreement_trend_svg, kappa_heatmap_svg
from labeler.web.ui_weak import weak_summary

bp = Blueprint("ui", __name__)


def _parse_int(form: Any, field: str) -> int:
    """A whole number typed into a form (ASCII digits); its bounds are the model's."""
    raw = (form.get(field) or "").strip()
    if not re.fullmatch(r"-?[0-9]{1,12}", raw):
        raise BadInput(f"{field} must be a whole number", {"field": field})
    return int(raw)


def _parse_float(form: Any, field: str) -> float | None:
    """A decimal number typed into a form, None when left empty; its bounds are the model's."""
    raw = (form.get(field) or "").strip()
    if not raw:
        return None
    if not re.fullmatch(r"-?[0-9]{0,6}(?:\.[0-9]{1,6})?", raw) or raw in ("-", "."):
        raise BadInput(f"{field} must be a number such as 0.1", {"field": field})
    return float(raw)


def _engineer_project(pid: str) -> Project:
    """The project for engineers/admins: 404 for non-members, then 403 for other roles."""
    project = project_service.project_for(current_user, pid)
    project_service.require_role(current_user, Role.ENGINEER)
    return project


@bp.get("/")
@login_required
def index() -> Any:
    rows = [
        {
            "project": project,
            "progress": project_service.project_progress(project, current_user),
        }
        for project in project_service.visible_projects(current_user)
    ]
    return render_template("index.html", rows=rows, can_manage=current_user.can(Role.ENGINEER))


@bp.get("/projects/<pid>/label")
@login_required
def label(pid: str) -> Any:
    project = project_service.project_for(current_user, pid)
    return render_template(
        "label.html",
        project=project_service.project_dict(project),
        instructions=render_markdown(project.instructions),
        progress=project_service.project_progress(project, current_user),
        can_manage=current_user.can(Role.ENGINEER),
    )


@bp.get("/projects/<pid>")
@login_required
def project_page(pid: str) -> Any:
    project = _engineer_project(pid)
    job = jobs.project_job(project, request.args.get("job"))
    rounds = training.recent_rounds(project, 50)
    model = vectors.model_for(project)
    agreement = quality.page_report(project)
    trend = None
    if agreement:  # the same bound as the report: the page reads every current label
        over_time = agreement_over_time(project)
        trend = {"points": over_time["points"], "period": over_time["period"]}
    return render_template(
        "project.html",
        project=project,
        instructions=render_markdown(project.instructions),
        progress=project_service.project_progress(project, current_user),
        # Stored sentence embeddings (the embed jobs' progress shows in the jobs table).
        vectors_ready=vectors.count_ready(project.id, model) if model else None,
        vectors_model=model,
        strategies=project_service.STRATEGIES,
        consensus_methods=CONSENSUS_METHODS,
        adjudication_queue=adjudication.queue_size(project),
        import_formats=importing.FORMATS,
        export_formats=list(exporting.FORMATS),
        export_methods=exporting.METHODS,
        export_fields=exporting.ExportOptions.model_fields,
        job=job.as_dict() if job is not None else None,
        recent_jobs=[j.as_dict() for j in jobs.recent_jobs(project)],
        rounds=rounds,
        members=project_service.members(project),
        round_in_flight=training.in_flight(project),
        weak=weak_summary(project),
        curve=learning_curve_svg(
            [
                (r.n_labels or 0, r.cv_accuracy, r.cv_macro_f1)
                for r in reversed(rounds)
                if r.status == "done"
            ],
            hlp=agreement["human_level"]["accuracy"] if agreement else None,
        ),
        agreement=agreement,
        agreement_trend=agreement_trend_svg(**trend) if trend else "",
        page_max_answers=quality.PAGE_MAX_ANSWERS,
        kappa_heatmap=kappa_heatmap_svg(
            list(agreement["per_rater"]),
            agreement["cohen_kappa"],
            agreement["support"]["cohen_kappa"],
        )
        if agreement
        else "",
    )


@bp.post("/projects/<pid>/al/run")
@login_required
def run_round(pid: str) -> Any:
    project = _engineer_project(pid)
    rnd = training.request_round(project, "ui")
    flash(f"Round {rnd.id} is {rnd.status}.", "success")
    return redirect(url_for("ui.project_page", pid=project.id) + "#al")


@bp.post("/projects/<pid>/settings")
@login_required
def save_settings(pid: str) -> Any:
    project = _engineer_project(pid)
    try:
        # The same declared rules as PATCH /api/v1/projects/<pid>.
        patch = check(
            ProjectPatch,
            {
                "name": request.form.get("name", "").strip() or None,
                "lease_seconds": _parse_int(request.form, "lease_seconds")
                if request.form.get("lease_seconds")
                else None,
                "strategy": request.form.get("strategy", project.strategy),
                "overlap": _parse_int(request.form, "overlap"),
                "instructions": request.form.get("instructions", "").replace("\r\n", "\n"),
                "retrain_every": _parse_int(request.form, "retrain_every")
                if request.form.get("retrain_every")
                else None,
                "consensus_method": request.form.get("consensus_method") or None,
                "adjudication_threshold": _parse_float(request.form, "adjudication_threshold")
                if request.form.get("adjudication_threshold")
                else None,
                "gold_rate": _parse_float(request.form, "gold_rate"),
                "train_on_weak": request.form.get("train_on_weak") == "on"
                if "weak_min_confidence" in request.form
                else None,
                "weak_min_confidence": _parse_float(request.form, "weak_min_confidence"),
            },
        )
        project_service.update_project(project, patch)
    except ServiceError as exc:
        db.session.rollback()
        flash(f"Settings not saved: {exc.message}", "error")
    else:
        flash("Settings saved.", "success")
    return redirect(url_for("ui.project_page", pid=project.id))


@bp.post("/projects/<pid>/labels")
@login_required
def save_labels(pid: str) -> Any:
    project = _engineer_project(pid)
    olds, names = request.form.getlist("old"), request.form.getlist("name")
    keys = request.form.getlist("hotkey")
    changes = [
        {"old": old or None, "name": name.strip(), "hotkey": key.strip() or None}
        for old, name, key in zip(olds, names, keys, strict=False)
        if old or name.strip()  # the empty "new label" row adds nothing
    ]
    try:
        # The same declared rules as PATCH /api/v1/projects/<pid> with ``labels``.
        project_service.update_project(project, check(ProjectPatch, {"labels": changes}))
    except ServiceError as exc:
        db.session.rollback()
        flash(f"Labels not saved: {exc.message}", "error")
    else:
        flash("Labels saved.", "success")
    return redirect(url_for("ui.project_page", pid=project.id) + "#labels")


@bp.post("/projects/<pid>/members")
@login_required
def add_member(pid: str) -> Any:
    return _change_membership(pid, project_service.add_member, "added", "is already a member")


@bp.post("/projects/<pid>/members/remove")
@login_required
def remove_member(pid: str) -> Any:
    return _change_membership(pid, project_service.remove_member, "removed", "was not a member")


def _change_membership(pid: str, change: Any, done: str, unchanged: str) -> Any:
    """Add or remove the member the form names; the outcome is flashed on the project page."""
    project = _engineer_project(pid)
    try:
        user = user_service.find_user(check(NewMember, {"user": request.form.get("user", "")}).user)
        changed = change(project, user)
    except ServiceError as exc:
        db.session.rollback()
        flash(f"Members not changed: {exc.message}", "error")
    else:
        flash(f"{user.name} {done if changed else unchanged}.", "success")
    return redirect(url_for("ui.project_page", pid=project.id) + "#members")


@bp.post("/projects/<pid>/upload")
@login_required
def upload(pid: str) -> Any:
    project = _engineer_project(pid)
    file = request.files.get("file")
    if file is None or not file.filename:
        flash("Choose a file to import.", "error")
        return redirect(url_for("ui.project_page", pid=project.id))
    filename = file.filename
    try:
        fmt = request.form.get("format") or importing.guess_format(filename)
        job = jobs.enqueue_import(project, file.stream, filename, fmt, current_user)
    except ServiceError as exc:
        db.session.rollback()
        flash(f"Import not started: {exc.message}", "error")
        return redirect(url_for("ui.project_page", pid=project.id))
    flash(f"Import of {filename} queued as job {job.id}.", "success")
    return redirect(url_for("ui.project_page", pid=project.id, job=job.id) + "#job")
