"""Secrets and files: production refuses a weak key in one line; the data dir is private."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from labeler import create_app
from labeler.extensions import db

ROOT = Path(__file__).resolve().parents[2]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABELER_")}
    env.update({"LABELER_DATA_DIR": str(tmp_path / "data"), "LABELER_ENV": "production"})
    env.update(extra)
    return env


@pytest.mark.parametrize(
    ("argv", "key"),
    [
        (["db", "upgrade"], "x"),
        (["db", "upgrade"], None),
        (["worker"], "short-key"),
        (["serve", "--port", "1"], "k" * 31),
    ],
)
def test_production_refuses_a_weak_secret_key_in_one_line(
    tmp_path: Path, argv: list[str], key: str | None
) -> None:
    extra = {"LABELER_SECRET_KEY": key} if key is not None else {}
    proc = subprocess.run(
        [sys.executable, "-m", "labeler", *argv],
        env=_env(tmp_path, **extra),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "LABELER_SECRET_KEY" in lines[0] and "32" in lines[0]
    assert "Traceback" not in proc.stderr


def test_production_accepts_a_long_key(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "labeler", "db", "upgrade"],
        env=_env(tmp_path, LABELER_SECRET_KEY="k" * 32),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)  # what most systems have: new files 0644 unless we say otherwise
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_data_dir_and_its_files_are_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, umask_022: None
) -> None:
    for name in ("LABELER_SECRET_KEY", "LABELER_DATABASE_URL", "LABELER_BROKER_URL", "LABELER_ENV"):
        monkeypatch.delenv(name, raising=False)
    data = tmp_path / "data"
    app = create_app({"LABELER_DATA_DIR": str(data), "TESTING": True})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        db.session.execute(text("INSERT INTO users (name, role, active, created_at) "
                                "VALUES ('ann', 'rater', true, CURRENT_TIMESTAMP)"))  # fmt: skip
        db.session.commit()
        files = {p.name: _mode(p) for p in data.iterdir()}
        db.session.remove()
        db.engine.dispose()
    assert _mode(data) == 0o700
    for name in ("labeler.db", "labeler.db-wal", "labeler.db-shm", "broker.db", "secret_key"):
        assert files.get(name) == 0o600, (name, files)


def test_files_an_older_version_left_readable_are_tightened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, umask_022: None
) -> None:
    for name in ("LABELER_SECRET_KEY", "LABELER_DATABASE_URL", "LABELER_BROKER_URL", "LABELER_ENV"):
        monkeypatch.delenv(name, raising=False)
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    for name in ("labeler.db", "labeler.db-wal", "secret_key"):
        (data / name).write_text("k" * 64 if name == "secret_key" else "")
        (data / name).chmod(0o644)
    app = create_app({"LABELER_DATA_DIR": str(data), "TESTING": True})
    with app.app_context():
        db.engine.dispose()
    assert _mode(data) == 0o700
    for name in ("labeler.db", "labeler.db-wal", "secret_key", "broker.db"):
        assert _mode(data / name) == 0o600, name
