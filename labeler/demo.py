"""``labeler demo``: the embedded default with demo users and projects.

The text project's items come from a small synthetic generator in this module
(product reviews built from templates: deterministic, no download); the image
project uses scikit-learn's bundled 8x8 digits.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from typing import Any

from flask import Flask
from sqlalchemy import select

from labeler.extensions import db

DEMO_USERS = [
    ("admin", "admin", "admin"),
    ("engineer", "engineer", "engineer"),
    ("sme", "sme", "sme"),
    ("rater1", "rater", "rater1"),
    ("rater2", "rater", "rater2"),
]

_GOOD = ["love", "great", "excellent", "works perfectly", "would buy again", "fantastic"]
_BAD = ["hate", "terrible", "broke after a week", "waste of money", "awful", "returned it"]
_MEH = ["it is okay", "average", "does the job", "nothing special", "fine I guess"]
_THINGS = [
    "headphones",
    "coffee maker",
    "backpack",
    "phone case",
    "desk lamp",
    "kettle",
    "keyboard",
]


def synthetic_reviews(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """Short product reviews with a hidden sentiment in ``_gold``.

    Imported with ``gold_source="demo"``, the answer goes to ``gold_labels``
    (for evaluation), never into the data raters receive.

    >>> rows = synthetic_reviews(3)
    >>> sorted(rows[0])
    ['_gold', 'id', 'text']
    """
    rng = random.Random(seed)
    rows = []
    for k in range(n):
        gold = rng.choice(["positive", "negative", "neutral"])
        words = {"positive": _GOOD, "negative": _BAD, "neutral": _MEH}[gold]
        thing = rng.choice(_THINGS)
        # Some reviews mix signals, so that raters disagree now and then.
        extra = rng.choice(_GOOD + _BAD + _MEH) if rng.random() < 0.25 else rng.choice(words)
        text = f"The {thing}: {rng.choice(words)}, {extra}."
        rows.append({"id": f"review-{k + 1}", "text": text, "_gold": gold})
    return rows


def digit_items(n: int = 300) -> list[dict[str, Any]]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    return [
        {
            "id": f"digit-{k + 1}",
            "image": [int(v) for v in digits.data[k]],
            "_gold": str(digits.target[k]),
        }
        for k in range(min(n, len(digits.data)))
    ]


def seed_demo(app: Flask) -> list[str]:
    """Create demo users and projects unless they exist; returns the login lines."""
    from labeler.models import Project, User
    from labeler.services import importing, projects, training, users

    lines = []
    with app.app_context():
        for name, role, password in DEMO_USERS:
            if db.session.scalar(select(User.id).where(User.name == name)) is None:
                users.create_user(name, role, password)
            lines.append(f"  {name:<9} password {password:<9} ({role})")
        if db.session.scalar(select(Project.id).where(Project.name == "reviews")) is None:
            reviews = projects.create_project(
                "reviews",
                ["positive", "negative", "neutral"],
                kind="text",
                overlap=2,
                strategy="margin",
                instructions="Label the **sentiment** of each review.\n\n"
                "- *positive*: the writer is happy\n- *negative*: unhappy\n"
                "- *neutral*: neither, or mixed",
            )
            importing.import_records(reviews, synthetic_reviews(500), gold_source="demo")
            # Two labeling functions for the sme to start from (labeling-functions page).
            from labeler.services.weak import lfs

            for spec in (
                {"kind": "keyword", "name": "praise", "label": "positive", "words": _GOOD[:3]},
                {
                    "kind": "regex",
                    "name": "complaint",
                    "label": "negative",
                    "pattern": "hate|awful",
                },
            ):
                lfs.save_lf(reviews, spec)
            digits = projects.create_project(
                "digits",
                [str(d) for d in range(10)],
                kind="image",
                overlap=1,
                strategy="cluster",
                text_field="image",
                instructions="Which digit is shown? Press its key, 0 to 9.",
            )
            importing.import_records(digits, digit_items(300), gold_source="demo")
            for proj in (reviews, digits):
                for name, _role, _pw in DEMO_USERS:
                    projects.add_member(proj, users.find_user(name))
                # Rank the queue before the first rater arrives (a cluster-based cold start).
                training.execute_round(training.request_round(proj, "demo", enqueue=False).id)
    return lines


def run_demo(host: str, port: int, *, start_worker: bool = True) -> None:
    from flask_migrate import upgrade

    from labeler import create_app
    from labeler.serve import run_simple_server

    app = create_app()
    with app.app_context():
        upgrade()
    logins = seed_demo(app)
    worker = None
    if start_worker:
        # A real worker process on the SQLite transport: no Redis needed.
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "labeler",
                "worker",
                "--concurrency",
                "1",
                "--loglevel",
                "warning",
            ],
            env=dict(os.environ, LABELER_DATA_DIR=app.config["LABELER_DATA_DIR"]),
        )
    print(
        f"\nlabeler is running at http://{host}:{port}/  (data in {app.config['LABELER_DATA_DIR']})"
    )
    print("Demo logins:")
    print("\n".join(logins))
    print("Press Ctrl+C to stop.\n", flush=True)
    # SIGTERM would end the process without running ``finally``: the worker would outlive us.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        run_simple_server(app, host, port)
    finally:
        if worker is not None:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=15)
