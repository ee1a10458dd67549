"""schemathesis against a live server: every operation, real ids, all checks, 0 failures.

gunicorn serves the app (``labeler serve``) on a database seeded with a real
project (labels, items, a job), an engineer and a rater. schemathesis reads
``/api/v1/openapi.json`` and generates valid and invalid requests for every
operation; path ids are pinned to rows that exist (``[parameters]`` in its
config), so operations are reached, not only answered with 404.

Statuses that depend on data rather than on the schema are allowed explicitly
(see ``_CONFIG``): a valid-by-schema label that is not in this project's label
set, or an import row without the project's text field, is a 400 by design.

The generated cases come from a fixed seed (``LABELER_FUZZ_SEED``, default below), so
a run is reproducible and a failure is the code's, not the draw's; set
``LABELER_FUZZ_SEED=random`` to explore new cases (do, after changing the API).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from tests.conftest import _create_schema, _truncate_pg, make_app
from tests.integration.conftest import Server, broker_for, process_env

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

MAX_EXAMPLES = 25
SEED = os.environ.get("LABELER_FUZZ_SEED", "20261203")

# Real ids most of the time (schemathesis still generates others, and invalid ones in
# negative cases); labels of the project's set for answers.
_CONFIG = """
# A request line longer than gunicorn's limit (4094 bytes) is refused by gunicorn with 414
# before the app sees it: that is a rejection, and the OpenAPI document declares it. The rest
# is schemathesis' default list.
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "406", "414", "422", "428", "5xx"]

[dictionaries]
pid = {{ values = ["{pid}", "reviews"] }}
iid = {{ values = ["n0", "n1", "n2", "n3", "n4", "n5"] }}
job_id = {{ values = [{job_id}] }}
token_id = {{ values = {decoys} }}
user_id = {{ values = [{rater_id}, {eng_id}] }}
label = {{ values = ["positive", "negative", "neutral"] }}
lf = {{ values = ["kw", "{lf_id}"] }}

[parameters]
"path.pid" = {{ dictionary = "pid", probability = 0.9 }}
"path.iid" = {{ dictionary = "iid", probability = 0.9 }}
"path.job_id" = {{ dictionary = "job_id", probability = 0.9 }}
"path.token_id" = {{ dictionary = "token_id", probability = 0.9 }}
"path.user_id" = {{ dictionary = "user_id", probability = 0.9 }}
"path.lf" = {{ dictionary = "lf", probability = 0.9 }}

[[operations]]
include-path-regex = "/(annotations|adjudication|gold)$"
parameters = {{ "body.label" = {{ dictionary = "label", probability = 0.7 }} }}

# Validity that depends on data, not on the schema: a label outside this project's
# set (an answer, an adjudication, a gold item's known answer), or an import row without the project's text field,
# is a 400 by design.
[[operations]]
include-path-regex = "/(annotations|items|adjudication|gold)$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409"]

# Also data: an agreement slice naming a label or a rater the project does not have, or
# ending before it starts, is a 400 naming the field.
[[operations]]
include-path-regex = "/agreement$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404"]

# Also data, not schema: a wrong old password; an admin demoting or deactivating
# themselves; a user, project or label name that is taken.
[[operations]]
include-path-regex = "/(me/password|users|users/[^/]+|projects/[^/]+)$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409"]

# Data too: an LF's label outside this project's set, a pattern RE2 refuses, a Python file
# that does not load, a name that belongs to a python LF; a fit with no LF to fit.
[[operations]]
include-path-regex = "/(lfs|lfs/preview|lfs/upload|lfs/[^/]+)$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409"]
"""


def _seed(db_url: str, tmp_path: Path) -> dict[str, Any]:
    from sqlalchemy import update

    from labeler.extensions import db
    from labeler.models import ApiToken, Item, Job
    from labeler.services import projects, users

    app = make_app(db_url, tmp_path)
    with app.app_context():
        # The fuzzer runs as an admin, so it reaches every operation. It may revoke
        # any token id it is given: decoys, and never its own (moved far away).
        admin = users.create_user("root", "admin", "pw-root-1")
        decoys = [users.issue_token(admin, f"decoy{k}")[0].id for k in range(3)]
        admin_token = users.create_token(admin)
        db.session.execute(
            update(ApiToken)
            .where(ApiToken.token_hash == users._hash_token(admin_token))
            .values(id=987_654_321)
        )
        db.session.commit()
        eng = users.create_user("eng", "engineer", "pw")
        rater = users.create_user("rita", "rater", "pw")
        project = projects.create_project(
            "reviews", ["positive", "negative", "neutral"], overlap=2, created_by=eng
        )
        projects.add_member(project, rater)
        db.session.execute(
            insert(Item),
            [
                {"project_id": project.id, "external_id": f"n{k}", "data": {"text": f"review {k}"}}
                for k in range(200)
            ],
        )
        # Stored vectors (random, the model's shape), so "similar items" answers 200 and
        # is fuzzed past its "vectors not ready" 409.
        import numpy as np

        from labeler.models import ItemVector
        from labeler.services import vectors

        model = vectors.model_for(project)
        assert model is not None, "the embeddings model is part of the default install"
        rng = np.random.default_rng(0)
        ids = db.session.scalars(select(Item.id).where(Item.project_id == project.id)).all()
        db.session.execute(
            insert(ItemVector),
            [
                {
                    "item_id": i,
                    "model": model,
                    "project_id": project.id,
                    "dim": 384,
                    "vector": vectors.encode(rng.standard_normal(384)),
                }
                for i in ids
            ],
        )
        from labeler.services.weak import lfs

        kw, _ = lfs.save_lf(
            project, {"kind": "keyword", "name": "kw", "label": "positive", "words": ["review"]}
        )
        job = Job(project_id=project.id, kind="import", status="done", params={}, result={})
        db.session.add(job)
        db.session.commit()
        seeded = {
            "pid": project.id,
            "job_id": job.id,
            "lf_id": kw.id,
            "decoys": decoys,
            "rater_id": rater.id,
            "eng_id": eng.id,
            "admin": admin_token,
            "eng": users.create_token(eng),
            "rater": users.create_token(rater),
        }
        db.session.remove()
        db.engine.dispose()
    return seeded


def _schemathesis(server: Server, seeded: dict[str, Any], token: str, tmp_path: Path) -> str:
    config = tmp_path / "schemathesis.toml"
    config.write_text(_CONFIG.format(**seeded))
    cli = Path(sys.executable).with_name("schemathesis")
    result = subprocess.run(
        [
            str(cli),
            "--config-file",
            str(config),
            "run",
            server.url + "/api/v1/openapi.json",
            "--checks",
            "all",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--phases",
            "examples,coverage,fuzzing",
            # One worker thread: schemathesis' coverage phase names its filters through
            # hypothesis, which calls ast.parse, and CPython 3.11's AST constructor tracks its
            # recursion depth in shared state that threaded programs can trip
            # ("SystemError: AST constructor recursion depth mismatch", python/cpython#106905).
            # CI failed on it once, inside schemathesis, with two worker threads.
            "--workers",
            "1",
            "--request-timeout",
            "20",
            "-H",
            f"Authorization: Bearer {token}",
            "--no-color",
            *([] if SEED == "random" else ["--seed", SEED]),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,  # its cache and hypothesis database stay out of the repository
    )
    out = result.stdout + result.stderr
    (tmp_path / "schemathesis.log").write_text(out)
    print(out[-6000:])
    assert result.returncode == 0, out[-8000:]
    return out


@pytest.fixture(params=["postgresql", "sqlite"])
def live(request: pytest.FixtureRequest, tmp_path: Path, redis_url: str) -> Any:
    backend = str(request.param)
    if backend == "postgresql":
        db_url = request.getfixturevalue("pg_database")
        _truncate_pg(db_url)
    else:
        db_url = f"sqlite:///{tmp_path / 'labeler.db'}"
        _create_schema(db_url)
    seeded = _seed(db_url, tmp_path)
    env = process_env(db_url, tmp_path / "data", broker_for(backend, tmp_path, redis_url))
    server = Server(env, tmp_path / "server.log", workers=2, threads=2)
    yield server, seeded
    server.stop()
    log = (tmp_path / "server.log").read_text()
    assert "Traceback" not in log, log[-5000:]


def test_schemathesis_all_checks_clean(live: Any, tmp_path: Path) -> None:
    server, seeded = live
    out = _schemathesis(server, seeded, seeded["admin"], tmp_path)
    # Every operation was tested, and every generated case passed every check.
    selected = re.search(r"Selected: (\d+)/(\d+)", out)
    tested = re.search(r"Tested: (\d+)", out)
    cases = re.search(r"(\d+) generated, (\d+) passed", out)
    assert selected and tested and cases, out[-3000:]
    assert selected.group(1) == selected.group(2) == tested.group(1), out[-3000:]
    assert int(tested.group(1)) >= 23
    assert cases.group(1) == cases.group(2), out[-3000:]
