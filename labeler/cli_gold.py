"""``labeler gold import`` and ``labeler gold list``: an engineer's gold items.

Thin: each command calls the service the API calls (:mod:`labeler.services.gold`).
"""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import with_appcontext


@click.group("gold")
def gold_group() -> None:
    """Gold items: items with a known answer, mixed into raters' queues."""


@gold_group.command("import")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def gold_import(project_ref: str, file: Path) -> None:
    """Mark the items of a CSV with columns item_id,label as gold (all or nothing)."""
    from labeler.services import gold, projects

    proj = projects.find_project(project_ref)
    with file.open("rb") as fh:
        result = gold.import_gold(proj, fh)
    click.echo(json.dumps(result.as_dict()))


@gold_group.command("list")
@click.argument("project_ref", metavar="PROJECT")
@click.option("--json", "as_json", is_flag=True, help="One JSON document.")
@with_appcontext
def gold_list(project_ref: str, as_json: bool) -> None:
    """The project's gold items, their known answer and how raters did on them."""
    from labeler.services import gold, projects

    rows = gold.list_gold(projects.find_project(project_ref))
    if as_json:
        click.echo(json.dumps({"items": rows}))
        return
    for r in rows:
        click.echo(f"{r['item']}\t{r['label']}\t{r['correct']}/{r['answers']} correct")
