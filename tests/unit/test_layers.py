"""Dependencies point one way (DESIGN.md): web -> services -> models and cores.

Read from the source with ``ast``: no database, no app, so it runs in the fast tier.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORES = ("sampling", "learning", "weak", "quality")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("core", CORES)
def test_cores_import_no_framework(core: str) -> None:
    banned = ("flask", "sqlalchemy", "celery", "labeler.models", "labeler.services", "labeler.web")
    for path in _modules(f"labeler/{core}"):
        bad = sorted(m for m in _imports(path) if m.startswith(banned) or m == "workers")
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_services_reach_workers_only_by_task_name() -> None:
    for path in _modules("labeler/services") + _modules("labeler/models"):
        bad = sorted(m for m in _imports(path) if m.startswith(("workers", "labeler.web")))
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_task_names_match_the_enqueue_constants() -> None:
    from labeler.services import enqueue

    tasks = (ROOT / "workers" / "tasks.py").read_text()
    for constant in ("IMPORT_UPLOAD", "RETRAIN_AND_RANK"):
        assert f"name={constant}" in tasks
        assert getattr(enqueue, constant).startswith("labeler.")
