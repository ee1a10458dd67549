"""How fast the LF preview answers on a big project (the SME types; it must feel live).

Builds a SQLite project of N short texts (and three saved, applied LFs whose
overlaps the preview reports), then times ``POST .../lfs/preview`` through the
Flask test client: the first call (builds the per-process sample cache: a seeded
random 20,000 items, their columns, the other LFs' votes, the human consensus)
and then repeated calls with changing specs (the cache is reused), as an SME
typing produces them.

    PYTHONPATH=. python tests/benchmarks/bench_weak_preview.py --items 100000

``PYTHONPATH=.`` makes it measure the checkout it is run from.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

WORDS = [
    "great",
    "song",
    "love",
    "check",
    "out",
    "my",
    "channel",
    "subscribe",
    "free",
    "money",
    "click",
    "here",
    "nice",
    "video",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=30)
    args = parser.parse_args()

    from flask_migrate import upgrade
    from sqlalchemy import insert

    from labeler import create_app
    from labeler.extensions import db
    from labeler.models import Item
    from labeler.services import projects, users
    from labeler.services.weak import apply, lfs

    tmp = Path(tempfile.mkdtemp(prefix="bench-preview-"))
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'b.db'}",
            "LABELER_DATA_DIR": str(tmp),
            "SECRET_KEY": "bench",
            "TESTING": True,
        }
    )
    rng = random.Random(0)
    with app.app_context():
        upgrade()
        sme = users.create_user("s", "sme", "pw-bench-1")
        token = users.create_token(sme)
        project = projects.create_project("big", ["ham", "spam"], created_by=sme)
        started = time.perf_counter()
        for lo in range(0, args.items, 10_000):
            db.session.execute(
                insert(Item),
                [
                    {
                        "project_id": project.id,
                        "external_id": f"b{k}",
                        "data": {"text": " ".join(rng.choices(WORDS, k=8)), "n": k % 100},
                    }
                    for k in range(lo, min(lo + 10_000, args.items))
                ],
            )
            db.session.commit()
        for spec in (
            {"kind": "keyword", "name": "sub", "label": "spam", "words": ["subscribe"]},
            {"kind": "regex", "name": "money", "label": "spam", "pattern": "free money"},
            {"kind": "keyword", "name": "love", "label": "ham", "words": ["love"]},
        ):
            lfs.save_lf(project, spec)
        applied = time.perf_counter()
        apply.apply_stale(project)
        print(
            f"{args.items} items inserted in {applied - started:.1f} s; "
            f"3 LFs applied in {time.perf_counter() - applied:.1f} s"
        )
        pid = project.id
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    url = f"/api/v1/projects/{pid}/lfs/preview"
    times = []
    for k in range(args.calls + 1):
        word = WORDS[k % len(WORDS)]
        spec = {"kind": "keyword", "name": "typing", "label": "spam", "words": [word[: 2 + k % 4]]}
        if k % 3 == 1:
            spec = {"kind": "regex", "name": "typing", "label": "spam", "pattern": f"{word}.*c"}
        t = time.perf_counter()
        r = client.post(url, json={"spec": spec, "sample": 10}, headers=headers)
        times.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200, r.get_json()
    body = r.get_json()
    warm = sorted(times[1:])
    print(f"first call (builds the sample cache): {times[0]:.0f} ms")
    print(
        f"next {len(warm)} calls: median {statistics.median(warm):.0f} ms, "
        f"p90 {warm[int(0.9 * (len(warm) - 1))]:.0f} ms, max {warm[-1]:.0f} ms "
        f"(scanned {body['n_scanned']} of {body['n_items']} items, exact={body['exact']})"
    )


if __name__ == "__main__":
    main()
