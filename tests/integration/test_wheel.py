"""An installed wheel serves its pages: templates/ and static/ are mapped into the package."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = r"""
import labeler, sys
from pathlib import Path
assert "site" in labeler.__file__ or "wheel-target" in labeler.__file__, labeler.__file__
app = labeler.create_app({"SQLALCHEMY_DATABASE_URI": "sqlite:///" + sys.argv[1] + "/x.db",
                          "LABELER_DATA_DIR": sys.argv[1], "SECRET_KEY": "x"})
from flask_migrate import upgrade
with app.app_context():
    upgrade()
c = app.test_client()
r = c.get("/login")
assert r.status_code == 200 and b"<form" in r.data, r.status_code
r = c.get("/static/style.css")
assert r.status_code == 200 and len(r.data) > 100, r.status_code
print("WHEEL-OK")
"""


def test_built_wheel_serves_pages(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(dist),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("labeler-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "labeler/templates/label.html" in names
    assert "labeler/static/style.css" in names
    assert any(n.startswith("labeler/migrations/versions/") for n in names)
    assert "workers/tasks.py" in names
    target = tmp_path / "wheel-target"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
    )
    env = dict(os.environ, PYTHONPATH=str(target))
    # Run from an empty folder so the source tree cannot be imported instead.
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert "WHEEL-OK" in out.stdout, out.stderr[-3000:]


def test_every_source_package_is_listed():
    import tomllib

    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for top in ("labeler", "workers")
        for p in (ROOT / top).rglob("__init__.py")
    }
    assert found <= listed, f"add to pyproject.toml: {sorted(found - listed)}"
