"""``labeler lf ...``, ``labeler weak fit`` and ``labeler propagate``: weak supervision
from the command line.

Computing commands work in this process (``--enqueue`` hands them to the
workers); each calls the same service functions the API and the jobs call.
Python LF files are executed only in a child process with limits.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext


def _bar(desc: str) -> Any:
    """A tqdm progress callback ``(done, total)`` on stderr, and the bar to close."""
    from tqdm import tqdm

    bar = tqdm(desc=desc, unit="item", file=sys.stderr, disable=None)

    def update(done: int, total: int) -> None:
        if bar.total != total:
            bar.total = total
        bar.n = done
        bar.refresh()

    return update, bar


@click.group("lf")
def lf_group() -> None:
    """Labeling functions: add, upload, list, switch, stats."""


@lf_group.command("add")
@click.argument("project_ref", metavar="PROJECT")
@click.option("--spec", "spec_json", default=None, help="The whole spec as JSON.")
@click.option("--kind", type=click.Choice(["keyword", "regex", "threshold", "lookup"]))
@click.option("--name", default=None)
@click.option("--label", default=None, help="A label name of the project.")
@click.option("--words", default=None, help="keyword: comma-separated words.")
@click.option("--mode", type=click.Choice(["any", "all"]), default=None)
@click.option("--pattern", default=None, help="regex: an RE2 pattern.")
@click.option("--field", default=None, help="The item data field (default: the text field).")
@click.option("--op", type=click.Choice(["<", "<=", ">", ">=", "==", "!="]), default=None)
@click.option("--value", type=float, default=None, help="threshold: the number.")
@click.option("--case-sensitive", is_flag=True, default=None)
@with_appcontext
def lf_add(project_ref: str, spec_json: str | None, **options: Any) -> None:
    """Save a labeling function (a new version when its definition changed); prints it as JSON."""
    from labeler.services import projects
    from labeler.services.weak import lfs

    proj = projects.find_project(project_ref)
    if spec_json is not None:
        try:
            spec = json.loads(spec_json)
        except json.JSONDecodeError as exc:
            raise click.BadParameter(str(exc), param_hint="--spec") from None
    else:
        words = options.pop("words")
        spec = {k: v for k, v in options.items() if v is not None}
        if words is not None:
            spec["words"] = [w.strip() for w in words.split(",") if w.strip()]
    if not isinstance(spec, dict):
        raise click.BadParameter("must be a JSON object", param_hint="--spec")
    row, created = lfs.save_lf(proj, spec)
    out = lfs.lf_dict(row)
    out["created"] = created
    click.echo(json.dumps(out))


@lf_group.command("upload")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def lf_upload(project_ref: str, file: Path) -> None:
    """Save the @labeling_function objects of FILE.py (one LF each); prints them as JSON."""
    from labeler.services import projects
    from labeler.services.weak import lfs

    proj = projects.find_project(project_ref)
    saved = lfs.upload_python(proj, file.read_text(encoding="utf-8"), file.name)
    click.echo(json.dumps([{**lfs.lf_dict(lf), "created": created} for lf, created in saved]))


@lf_group.command("list")
@click.argument("project_ref", metavar="PROJECT")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def lf_list(project_ref: str, as_json: bool) -> None:
    """The newest version of each labeling function, with how far it is applied."""
    from labeler.services import projects
    from labeler.services.weak import lfs

    rows = lfs.list_lfs(projects.find_project(project_ref))
    if as_json:
        click.echo(json.dumps({"lfs": rows}))
        return
    for r in rows:
        state = "on " if r["active"] else "off"
        votes = "-" if r["n_votes"] is None else r["n_votes"]
        error = f"\terror: {r['error'].splitlines()[-1]}" if r["error"] else ""
        click.echo(f"{r['id']}\t{state}\t{r['name']} v{r['version']}\t{r['kind']}\t{votes}{error}")


@lf_group.command("stats")
@click.argument("project_ref", metavar="PROJECT")
@click.option("--json", "as_json", is_flag=True)
@click.option("--no-apply", is_flag=True, help="Use the stored votes as they are.")
@with_appcontext
def lf_stats(project_ref: str, as_json: bool, no_apply: bool) -> None:
    """Coverage, overlaps, conflicts, empirical accuracy (against the human consensus)."""
    from labeler.services import projects
    from labeler.services.weak import apply, stats

    proj = projects.find_project(project_ref)
    if not no_apply:
        update, bar = _bar("apply")
        with bar:
            apply.apply_stale(proj, progress=update)
    out = stats.lf_stats(proj)
    if as_json:
        click.echo(json.dumps(out))
        return
    for r in out["lfs"]:
        acc = r.get("emp_accuracy")
        click.echo(
            f"{r['name']}\tcoverage={r['coverage']:.3f}\toverlaps={r['overlaps']:.3f}\t"
            f"conflicts={r['conflicts']:.3f}\taccuracy={'-' if acc is None else f'{acc:.3f}'}"
        )


@lf_group.command("suggest")
@click.argument("project_ref", metavar="PROJECT")
@click.option("--min-precision", type=click.FloatRange(0.0, 1.0), default=0.9, show_default=True)
@click.option("--min-support", type=click.IntRange(1, 10_000), default=5, show_default=True)
@click.option("--top", type=click.IntRange(1, 100), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def lf_suggest(
    project_ref: str, min_precision: float, min_support: int, top: int, as_json: bool
) -> None:
    """Keyword LFs mined from the human labels so far (save one with ``lf add --spec``)."""
    from labeler.services import projects
    from labeler.services.weak import suggestions

    out = suggestions.suggestions(
        projects.find_project(project_ref), min_precision, min_support, top
    )
    if as_json:
        click.echo(json.dumps(out))
        return
    if not out["suggestions"]:
        click.echo(f"no suggestions ({out['n_labeled']} items with a human label)", err=True)
    for r in out["suggestions"]:
        click.echo(
            f"{', '.join(r['words'])}\t-> {r['label']}\tprecision={r['precision']:.3f}\t"
            f"support={r['support']}\tcoverage={r['coverage']:.3f}\t{json.dumps(r['spec'])}"
        )


@lf_group.command("import-matrix")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--ids",
    "ids_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The items' external ids, one a line, in the matrix's row order.",
)
@click.option("--names", default=None, help="Comma-separated LF names (default snorkel_0,...).")
@with_appcontext
def lf_import_matrix(project_ref: str, file: Path, ids_file: Path, names: str | None) -> None:
    """Store a Snorkel label matrix FILE.npy (items x LFs, -1 abstain) as external LFs."""
    from labeler.services import projects
    from labeler.services.weak import external

    proj = projects.find_project(project_ref)
    L = external.load_matrix(file.read_bytes())
    ids = external.read_ids(ids_file.read_text(encoding="utf-8"))
    given = names.split(",") if names is not None else None
    click.echo(json.dumps(external.import_matrix(proj, L, ids, given)))


def _switch(project_ref: str, ref: str, active: bool) -> None:
    from labeler.services import projects
    from labeler.services.weak import lfs

    row = lfs.set_active(projects.find_project(project_ref), ref, active)
    click.echo(f"{row.name} {'enabled' if active else 'disabled'}")


@lf_group.command("disable")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("lf_ref", metavar="LF")
@with_appcontext
def lf_disable(project_ref: str, lf_ref: str) -> None:
    """Leave LF (a name or version id) out of fits."""
    _switch(project_ref, lf_ref, False)


@lf_group.command("enable")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("lf_ref", metavar="LF")
@with_appcontext
def lf_enable(project_ref: str, lf_ref: str) -> None:
    """Use LF (a name or version id) in fits again."""
    _switch(project_ref, lf_ref, True)


@click.group("weak")
def weak_group() -> None:
    """The label model."""


@weak_group.command("fit")
@click.argument("project_ref", metavar="PROJECT")
@click.option("--method", type=click.Choice(["label_model", "majority"]), default="label_model")
@click.option("--enqueue", is_flag=True, help="Hand it to the workers; prints the job.")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def weak_fit(project_ref: str, method: str, enqueue: bool, as_json: bool) -> None:
    """Apply what is stale and fit the label model; prints the run (with its metrics)."""
    from labeler.services import projects
    from labeler.services.weak import jobs

    proj = projects.find_project(project_ref)
    if enqueue:
        click.echo(json.dumps(jobs.request_job(proj, "weak_fit", {"method": method}).as_dict()))
        return
    update, bar = _bar("apply")
    with bar:
        out = jobs.fit_project(proj, method, progress=update)
    _print_run(out["run"], as_json, applied=out["apply"])


@click.command("propagate")
@click.argument("project_ref", metavar="PROJECT")
@click.option("--k", type=click.IntRange(1, 100), default=10, help="Neighbours per item.")
@click.option("--alpha", type=click.FloatRange(0.0, 1.0), default=0.2)
@click.option("--enqueue", is_flag=True, help="Hand it to the workers; prints the job.")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def propagate_cmd(project_ref: str, k: int, alpha: float, enqueue: bool, as_json: bool) -> None:
    """Propagate labels (human consensus, else the label model) to the items without one."""
    from labeler.services import projects
    from labeler.services.weak import jobs, propagate

    proj = projects.find_project(project_ref)
    if enqueue:
        job = jobs.request_job(proj, "propagate", {"k": k, "alpha": alpha})
        click.echo(json.dumps(job.as_dict()))
        return
    update, bar = _bar("store")
    with bar:
        run = propagate.run_propagation(proj, k=k, alpha=alpha, progress=update)
    _print_run(run.as_dict(), as_json)


def _print_run(run: dict[str, Any], as_json: bool, **extra: Any) -> None:
    if as_json:
        click.echo(json.dumps({**run, **extra}))
    else:
        m = run.get("metrics") or {}
        click.echo(f"run {run['id']} {run['kind']} ({run['method']}): {run['status']}")
        for key in ("n_items", "n_lfs", "coverage", "n_labeled", "n_seeds", "features"):
            if key in m:
                click.echo(f"  {key}: {m[key]}")
        for key in ("gold", "human", "gold_unseeded"):
            if isinstance(m.get(key), dict) and m[key].get("n"):
                click.echo(f"  accuracy vs {key}: {m[key]['accuracy']} (n={m[key]['n']})")
    if run["status"] == "failed":
        click.echo(run.get("error") or "failed", err=True)
        raise SystemExit(1)
