"""``labeler agreement``: label quality from the command line.

Kept apart from ``cli.py`` (which other commands grow in); it computes in this
process, as DESIGN.md asks of commands that compute, and validates its options
with the API's own :class:`~labeler.services.quality.AgreementQuery`.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext

from labeler.quality.mislabels import FILTERS


@click.command("agreement")
@click.argument("project_ref", metavar="PROJECT")
@click.option("--json", "as_json", is_flag=True, help="Print the whole report as JSON.")
@click.option("--label", default=None, help="One class: its agreement one-vs-rest.")
@click.option("--raters", default=None, help="Only these raters (comma-separated, e.g. a pair).")
@click.option("--since", default=None, help="Answers created at or after (ISO 8601; naive = UTC).")
@click.option("--until", default=None, help="Answers created before (ISO 8601).")
@click.option("--level", type=click.Choice(["nominal", "ordinal"]), default=None)
@click.option(
    "--threshold", type=float, default=0.7, help="Flag raters agreeing less with the others."
)
@click.option("--min-scored", type=int, default=10, help="Answers a rater needs to be flagged.")
@click.option("--dawid-skene", type=click.Choice(["auto", "on", "off"]), default="auto")
@click.option("--top", type=int, default=20, help="Most disputed items to list.")
@click.option("--bootstrap", type=int, default=200, help="Replicates for the human-level CI.")
@click.option("--seed", type=int, default=0)
@click.option(
    "--items-csv",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write every item's answers and disagreement (entropy) to this CSV.",
)
@with_appcontext
def agreement_cmd(project_ref: str, as_json: bool, items_csv: Path | None, **options: Any) -> None:
    """Agreement, rater quality and human-level performance of PROJECT."""
    from labeler.services import projects, quality
    from labeler.services.inputs import check

    query = check(quality.AgreementQuery, {k: v for k, v in options.items() if v is not None})
    project = projects.find_project(project_ref)
    report = quality.report_for(project, query)
    if items_csv is not None:
        where = quality.AgreementSlice(None, query.rater_names(), query.since, query.until)
        with items_csv.open("w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows(quality.item_disagreement(project, where))
    if as_json:
        click.echo(json.dumps(report, indent=1))
        return
    click.echo(_summary(report))


def _fmt(x: float | None, digits: int = 3) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def _summary(r: dict[str, Any]) -> str:
    s, h = r["support"], r["human_level"]
    lines = [
        f"{r['project']['name']}: {r['n_annotations']} labels on {r['n_items']} items "
        f"({r['n_items_single']} with one label)",
        f"Krippendorff's alpha ({r['level']}) {_fmt(r['krippendorff_alpha'])} "
        f"on {s['krippendorff_alpha']} items",
        f"Fleiss' kappa {_fmt(r['fleiss_kappa'])} on {s['fleiss_kappa']} items "
        f"with {s['fleiss_raters_per_item']} raters each",
        f"percent agreement {_fmt(r['percent_agreement'])} on {s['percent_agreement']} items",
        f"human-level accuracy {_fmt(h['accuracy'])} {_ci(h['accuracy_ci'])}, "
        f"macro-F1 {_fmt(h['macro_f1'])} {_ci(h['macro_f1_ci'])}",
    ]
    if r["model"]:
        m = r["model"]
        lines.append(
            f"model (round {m['round']}): CV accuracy {_fmt(m['cv_accuracy'])}, "
            f"macro-F1 {_fmt(m['cv_macro_f1'])}"
        )
    lines.append("rater\tanswers\tmedian_ms\tskip\tunsure\tloo_agree\tmean_kappa\tflag")
    for name, p in r["per_rater"].items():
        lines.append(
            f"{name}\t{p['answers']}\t{_fmt(p['median_ms'], 0)}\t{_fmt(p['skip_rate'], 2)}\t"
            f"{_fmt(p['unsure_rate'], 2)}\t{_fmt(p['loo_agreement'])}\t{_fmt(p['mean_kappa'])}\t"
            f"{'FLAG' if p['flagged'] else ''}"
        )
    return "\n".join(lines)


def _ci(ci: list[float] | None) -> str:
    return f"[{ci[0]:.3f}, {ci[1]:.3f}]" if ci else ""


@click.command("mislabels")
@click.argument("project_ref", metavar="PROJECT")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option(
    "--flag/--no-flag",
    default=True,
    help="Put the suspects in the adjudication queue (default) or only list them.",
)
@click.option(
    "--filter",
    "filter_by",
    type=click.Choice(list(FILTERS)),
    default=None,
    help="cleanlab's find_label_issues filter (default: predicted_neq_given).",
)
@click.option("--top", type=click.IntRange(0, 100_000), default=20, help="Suspects to list.")
@click.option("--enqueue", is_flag=True, help="Hand the work to the workers instead.")
@with_appcontext
def mislabels_cmd(
    project_ref: str, as_json: bool, flag: bool, filter_by: str | None, top: int, enqueue: bool
) -> None:
    """Likely mislabeled items of PROJECT (held-out model probabilities + cleanlab)."""
    from labeler.services import projects
    from labeler.services.quality import mislabels

    project = projects.find_project(project_ref)
    if enqueue:
        job = mislabels.request_job(project)
        click.echo(json.dumps({"job": job.id}) if as_json else f"queued job {job.id}")
        return
    result = mislabels.find(project, filter_by=filter_by, flag=flag, top=top)
    if as_json:
        click.echo(json.dumps(result, indent=1))
        return
    if result["reason"]:
        click.echo(f"nothing checked: {result['reason']}")
        return
    click.echo(
        f"{result['n_flagged']} of {result['n_checked']} labels look wrong "
        f"({result['filter_by']}, {result['features']})" + (" and are flagged" if flag else "")
    )
    for row in result["items"]:
        click.echo(f"  {row['id']}: {row['label']} -> {row['suggested']} ({row['quality']:.2f})")
