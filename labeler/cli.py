"""The ``labeler`` command.

Commands that compute do the work in this process and print the result, so
scripts need no running worker; ``--enqueue`` (where offered) hands it to workers.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from labeler.cli_gold import gold_group
from labeler.cli_quality import agreement_cmd, mislabels_cmd
from labeler.cli_users import user_group
from labeler.cli_weak import lf_group, propagate_cmd, weak_group
from labeler.config import ConfigError
from labeler.services.errors import ServiceError


def _create_app() -> Flask:
    from labeler import create_app

    return create_app()


def register_flask_commands(app: Flask) -> None:
    """Nothing extra on ``flask``: the ``labeler`` group below carries the commands."""


class _Group(FlaskGroup):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ServiceError as exc:
            details = f"\n  {json.dumps(exc.details)}" if exc.details else ""
            raise click.ClickException(f"{exc.message}{details}") from None
        except ConfigError as exc:
            # One line for the operator, not a traceback.
            raise click.ClickException(str(exc)) from None


@click.group(cls=_Group, create_app=_create_app, add_default_commands=False, load_dotenv=False)
def main() -> None:
    """labeler: a labeling service with active learning and weak supervision."""


def _db_group() -> click.Group:
    from flask_migrate.cli import db as migrate_db

    return migrate_db


main.add_command(_db_group(), "db")


# ---------------------------------------------------------------- users
main.add_command(user_group, "user")

# ---------------------------------------------------------------- weak supervision
main.add_command(lf_group, "lf")
main.add_command(weak_group, "weak")
main.add_command(propagate_cmd, "propagate")
main.add_command(gold_group, "gold")


# ---------------------------------------------------------------- projects
@main.group()
def project() -> None:
    """Projects and their members."""


@project.command("create")
@click.argument("name")
@click.option("--labels", required=True, help="Comma-separated label set, in hotkey order.")
@click.option("--kind", type=click.Choice(["text", "tabular", "image"]), default="text")
@click.option("--overlap", type=int, default=1, help="Distinct raters per item (1-100).")
@click.option("--strategy", default="random")
@click.option("--instructions", default="", help="Markdown shown to raters.")
@click.option("--text-field", default="text", help="Field of an item's data to show.")
@click.option("--lease-seconds", type=int, default=600)
@click.option("--retrain-every", type=int, default=20, help="New labels per round; 0 = on demand.")
@click.option("--ordered", "labels_ordered", is_flag=True, help="The labels are an ordered scale.")
@with_appcontext
def project_create(name: str, labels: str, **settings: Any) -> None:
    """Create project NAME; prints its id on the last line.

    The options are checked by the same declared rules as the API (NewProject).
    """
    from labeler.services import projects
    from labeler.services.inputs import NewProject, check

    spec = check(NewProject, {"name": name, "labels": projects.parse_labels(labels), **settings})
    created = projects.create_project(spec)
    click.echo(f"created project {created.name} with labels {','.join(created.label_names)}")
    click.echo(str(created.id))


@project.command("add-member")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("user_ref", metavar="USER")
@with_appcontext
def project_add_member(project_ref: str, user_ref: str) -> None:
    """Let USER see and label PROJECT."""
    from labeler.services import projects, users

    proj = projects.find_project(project_ref)
    member = users.find_user(user_ref)
    added = projects.add_member(proj, member)
    click.echo(f"{member.name} {'added to' if added else 'is already in'} {proj.name}")


@project.command("list")
@with_appcontext
def project_list() -> None:
    """List projects with their progress."""
    from sqlalchemy import select

    from labeler.extensions import db
    from labeler.models import Project
    from labeler.services import projects

    for proj in db.session.scalars(select(Project).order_by(Project.id)):
        p = projects.project_progress(proj)
        click.echo(
            f"{proj.id}\t{proj.name}\t{proj.kind}\toverlap={proj.overlap}\t"
            f"items={p['n_items']}\tcomplete={p['n_complete']}"
        )


# ---------------------------------------------------------------- data in and out
@main.command("import")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "jsonl", "label-studio", "wrench"]), default=None
)
@with_appcontext
def import_cmd(project_ref: str, file: Path, fmt: str | None) -> None:
    """Import items from FILE (all or nothing; idempotent by id)."""
    from tqdm import tqdm

    from labeler.services import importing, projects

    proj = projects.find_project(project_ref)
    fmt = fmt or importing.guess_format(file.name)
    with (
        file.open("rb") as fh,
        tqdm(
            total=file.stat().st_size,
            unit="B",
            unit_scale=True,
            desc="import",
            file=sys.stderr,
            disable=None,
        ) as bar,
    ):
        last = [0]

        def progress(_rows: int) -> None:
            pos = fh.tell()
            bar.update(pos - last[0])
            last[0] = pos

        result = importing.import_file(proj, fh, fmt, progress=progress)
    click.echo(json.dumps(result.as_dict()))


@main.command("import-annotations")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def import_annotations_cmd(project_ref: str, file: Path) -> None:
    """Load human labels from a CSV with columns item_id,rater,label."""
    from labeler.services import importing, projects

    proj = projects.find_project(project_ref)
    with file.open("rb") as fh:
        result = importing.import_annotations(proj, fh)
    click.echo(json.dumps(result.as_dict()))


@main.command("export")
@click.argument("project_ref", metavar="PROJECT")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv", "parquet", "label-studio", "hf"]),
    default="jsonl",
    help="hf: a directory that datasets.load_dataset reads",
)
@click.option("--out", type=click.Path(path_type=Path), required=True)
@click.option("--consensus", type=click.Choice(["mv", "wawa", "dawid-skene"]), default=None)
@click.option("--sources", default=None, help="e.g. adjudicated,human (default: all four)")
@click.option("--min-confidence", type=float, default=None, help="lower: label left null")
@click.option("--annotations/--no-annotations", default=True, help="per-rater answers")
@click.option("--lf-votes", is_flag=True, help="each labeling function's vote")
@click.option("--split", default=None, help="train,dev,test fractions, e.g. 0.8,0.1,0.1")
@click.option("--seed", type=int, default=None, help="the split's seed (default 0)")
@with_appcontext
def export_cmd(project_ref: str, fmt: str, out: Path, **options: Any) -> None:
    """Write one row per item with its final label and provenance, and FILE.manifest.json."""
    from tqdm import tqdm

    from labeler.services import exporting, projects
    from labeler.services.inputs import check

    given = {k: v for k, v in options.items() if v is not None}
    opts = check(exporting.ExportOptions, {"format": fmt, **given})
    proj = projects.find_project(project_ref)
    total = projects.project_progress(proj)["n_items"]
    with tqdm(total=total, unit="item", desc="export", file=sys.stderr, disable=None) as bar:
        manifest = exporting.export_to_file(proj, opts, out, progress=bar.update)
    click.echo(f"wrote {manifest['rows']} items to {out} (manifest: {out}.manifest.json)")


main.add_command(agreement_cmd, "agreement")
main.add_command(mislabels_cmd, "mislabels")


# ---------------------------------------------------------------- active learning
@main.group("al")
def al() -> None:
    """Active learning."""


@al.command("run")
@click.argument("project_ref", metavar="PROJECT")
@click.option("--enqueue", is_flag=True, help="Hand the round to the workers instead.")
@with_appcontext
def al_run_cmd(project_ref: str, enqueue: bool) -> None:
    """Retrain PROJECT's model and re-rank its queue; prints the round as JSON."""
    from labeler.services import projects, training

    proj = projects.find_project(project_ref)
    rnd = training.request_round(proj, "cli", enqueue=enqueue)
    if not enqueue:
        rnd = training.execute_round(rnd.id)
    click.echo(json.dumps(rnd.as_dict()))
    if rnd.status == "failed":
        raise SystemExit(1)


@main.command("simulate")
@click.argument("data")
@click.option("--label-column", default="label", help="Column with the true label (CSV).")
@click.option("--text-column", default=None, help="Featurize this column with TF-IDF (CSV).")
@click.option("--strategies", default="margin,random", help="Comma-separated strategies.")
@click.option("--budget", type=click.IntRange(2), default=300)
@click.option("--batch", type=click.IntRange(1), default=10)
@click.option("--seeds", type=click.IntRange(1), default=5)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option(
    "--features",
    type=click.Choice(["auto", "embeddings", "tfidf", "hashing"]),
    default="auto",
    show_default=True,
    help="Text features, as a project's rounds make them (auto: embeddings, else TF-IDF).",
)
@click.option(
    "--cache",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keep embeddings here across runs (keyed by the texts and the model).",
)
@click.option("--jobs", type=click.IntRange(1), default=1, help="Worker processes (same rows).")
def simulate_cmd(
    data: str,
    label_column: str,
    text_column: str | None,
    strategies: str,
    budget: int,
    batch: int,
    seeds: int,
    out: Path,
    features: str = "auto",
    cache: Path | None = None,
    jobs: int = 1,
) -> None:
    """Run active learning offline with the true labels as the oracle.

    DATA is a CSV file (numeric feature columns, or --text-column) or one of
    scikit-learn's bundled sets: sklearn:digits, sklearn:breast_cancer, sklearn:iris, sklearn:wine.
    Writes OUT/curve.csv, OUT/curve.png and OUT/run.json (features used, timings).
    """
    import time

    from labeler.learning import simulate as sim
    from labeler.learning.datasets import load_table
    from labeler.sampling.registry import STRATEGIES

    names = [s.strip() for s in strategies.split(",") if s.strip()]
    unknown = [s for s in names if s not in STRATEGIES]
    if unknown:
        raise click.BadParameter(
            f"unknown {unknown}; choose from {sorted(STRATEGIES)}", param_hint="--strategies"
        )
    used: dict[str, Any] = {}
    started = time.perf_counter()
    try:
        X, y, title = load_table(
            data,
            label_column=label_column,
            text_column=text_column,
            features=features,
            cache=cache,
            report=used,
        )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(_features_line(used))
    loaded = time.perf_counter()
    rows = sim.simulate(
        X, y, names, budget=budget, batch=batch, seeds=seeds, progress=True, n_jobs=jobs
    )
    simulated = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    sim.write_csv(rows, out / "curve.csv")
    sim.plot_curves(rows, out / "curve.png", title=f"{title} ({used.get('kind')} features)")
    run = {
        "data": data,
        "title": title,
        "n_items": int(len(y)),
        "features": used,
        "strategies": names,
        "seeds": list(range(seeds)),
        "budget": budget,
        "batch": batch,
        "jobs": jobs,
        "timings": {
            "load_and_featurize_s": round(loaded - started, 3),
            "simulate_s": round(simulated - loaded, 3),
            "total_s": round(time.perf_counter() - started, 3),
        },
    }
    (out / "run.json").write_text(json.dumps(run, indent=2) + "\n")
    click.echo(f"wrote {out / 'curve.csv'}, {out / 'curve.png'} and {out / 'run.json'}")


def _features_line(used: dict[str, Any]) -> str:
    """One line saying which features a simulation uses, and why when it fell back."""
    kind = used.get("kind")
    line = f"features: {kind}"
    if used.get("model"):
        line += f" ({used['model']} on {used.get('device')}"
        line += ", from cache)" if used.get("from_cache") else ")"
    if used.get("fallback"):
        line += f" (asked for {used.get('requested')}; fell back: {used['fallback']})"
    return line


# ---------------------------------------------------------------- processes
@main.command("worker")
@click.option("--concurrency", type=click.IntRange(1), default=1)
@click.option("--loglevel", default="info")
@with_appcontext
def worker_cmd(concurrency: int, loglevel: str) -> None:
    """Run a Celery worker for this database and broker."""
    celery = current_app.extensions["celery"]
    celery.worker_main(
        [
            "worker",
            f"--concurrency={concurrency}",
            f"--loglevel={loglevel}",
            "--without-gossip",
            "--without-mingle",
            "--pool=prefork",
        ]
    )


@main.command("serve")
@click.option("--host", default="127.0.0.1")
@click.option("--port", type=int, default=8000)
@click.option("--workers", type=click.IntRange(1), default=2)
@click.option("--threads", type=click.IntRange(1), default=4)
def serve_cmd(host: str, port: int, workers: int, threads: int) -> None:
    """Serve the web app with gunicorn (production)."""
    from labeler.config import load_config
    from labeler.serve import run_gunicorn

    load_config()  # refuse bad settings here, in one line, not in every gunicorn worker

    run_gunicorn(host, port, workers, threads)


@main.command("demo")
@click.option("--host", default="127.0.0.1")
@click.option("--port", type=int, default=5000)
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.option("--no-worker", is_flag=True, help="Do not start the background worker.")
def demo_cmd(host: str, port: int, data_dir: Path | None, no_worker: bool) -> None:
    """Web + worker on the embedded default, with demo users and projects."""
    from labeler.demo import run_demo

    if data_dir is not None:
        os.environ["LABELER_DATA_DIR"] = str(data_dir.resolve())
    run_demo(host, port, start_worker=not no_worker)


if __name__ == "__main__":  # pragma: no cover
    main()
