"""Similar items: exact below the size threshold, the HNSW index the embed job builds above
it, the item page's list (or its line when vectors are not ready), and nothing hidden
reaching a rater. The real packaged model."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from labeler.extensions import db
from labeler.models import Artifact, Item, Job
from labeler.services import importing, jobs, neighbours, projects
from tests.factories import gen_items
from tests.integration.test_pages import login
from tests.integration.test_vectors import PAIRS, _sentences_project

pytestmark = pytest.mark.integration


def _items(project: Any) -> dict[str, Item]:
    return {
        i.external_id: i
        for i in db.session.scalars(select(Item).where(Item.project_id == project.id))
    }


def _embed(project: Any) -> Job:
    job = jobs.request_embedding(project)
    assert job is not None
    jobs.run_embed_job(job.id)
    db.session.expire_all()
    return db.session.get_one(Job, job.id)


def _indexes(project: Any) -> int:
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(Artifact)
            .where(Artifact.project_id == project.id, Artifact.kind == neighbours.INDEX_KIND)
        )
        or 0
    )


def test_small_projects_are_searched_exactly_and_get_no_index(app, backend):
    project = _sentences_project()
    job = _embed(project)
    assert job.status == "done" and job.result["index"] is None, job.error
    assert _indexes(project) == 0
    got = neighbours.similar_items(project, _items(project)["s00"], k=9)
    assert got["method"] == "exact" and len(got["similar"]) == 9
    assert "s00" not in [s["id"] for s in got["similar"]]


def test_large_projects_get_an_index_that_agrees_with_the_exact_search(app, backend):
    app.config["LABELER_ANN_MIN_ITEMS"] = 5
    project = _sentences_project()
    job = _embed(project)
    assert job.status == "done" and job.result["index"] is not None, job.error
    assert _indexes(project) == 1
    items = _items(project)
    for k in range(len(PAIRS)):
        for j in (0, 1):
            got = neighbours.similar_items(project, items[f"s{k}{j}"], k=3)
            assert got["method"] == "hnsw"
            assert got["similar"][0]["id"] == f"s{k}{1 - j}", (PAIRS[k][j], got["similar"])
            app.config["LABELER_ANN_MIN_ITEMS"] = 1000
            exact = neighbours.similar_items(project, items[f"s{k}{j}"], k=3)
            app.config["LABELER_ANN_MIN_ITEMS"] = 5
            assert exact["method"] == "exact"
            assert [s["id"] for s in got["similar"]] == [s["id"] for s in exact["similar"]]
            for a, b in zip(got["similar"], exact["similar"], strict=True):
                assert a["similarity"] == pytest.approx(b["similarity"], abs=1e-4)

    # New items: the next embed job rebuilds the index (one stored, the old one deleted).
    gen_items(project, records=[{"external_id": "new", "data": {"text": "A kitten sleeps."}}])
    job = _embed(project)
    assert job.result["embedded"] == 1 and job.result["index"] is not None
    assert _indexes(project) == 1
    got = neighbours.similar_items(project, _items(project)["s10"], k=2)
    assert got["method"] == "hnsw" and {s["id"] for s in got["similar"]} == {"s11", "new"}


def test_the_item_page_lists_neighbours_or_says_why_not(app, backend, client, make_user):
    make_user("eng", "engineer")
    project = _sentences_project(members=[projects_user("eng")])
    login(client, "eng")
    url = f"/projects/{project.id}/items/s20"
    html = client.get(url).get_data(as_text=True)
    assert "Similar items appear once this item has a stored vector: 0 of 10 items embedded" in (
        html
    )
    page = client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert "Sentence embeddings: 0 / 10 items embedded (rounds use TF-IDF" in page
    job = _embed(project)
    page = client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert "Sentence embeddings: 10 / 10 items embedded." in page
    assert f'<tr data-job-id="{job.id}" data-status="done">' in page
    html = client.get(url).get_data(as_text=True)
    listed = re.findall(r'<li><a href="/projects/\d+/items/(s\d\d)">', html)
    assert listed[0] == "s21" and len(listed) == 9 and "s20" not in listed
    assert PAIRS[2][1] in html and "cosine 0." in html and "exact cosine" in html

    app.config["LABELER_TEXT_FEATURES"] = "tfidf"
    html = client.get(url).get_data(as_text=True)
    assert "Similar items need sentence embeddings" in html
    page = client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert "Text features: TF-IDF (sentence embeddings are off)." in page


def projects_user(name: str) -> Any:
    from labeler.models import User

    return db.session.scalar(select(User).where(User.name == name))


def test_a_rater_gets_shown_data_only(app, backend, client, make_user):
    """Gold answers imported with the items never reach a rater through similar items."""
    rater, token = make_user("rex")
    project = projects.create_project("g", ["zqxgoldyes", "zqxgoldno"])
    projects.add_member(project, rater)
    rows = [
        {"id": f"s{k}{j}", "text": t, "_gold": ["zqxgoldyes", "zqxgoldno"][j]}
        for k, pair in enumerate(PAIRS)
        for j, t in enumerate(pair)
    ]
    jsonl = "".join(json.dumps(r) + "\n" for r in rows).encode()
    importing.import_file(project, io.BytesIO(jsonl), "jsonl")
    _embed(project)
    r = client.get(
        f"/api/v1/projects/{project.id}/items/s00/similar?k=9",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 200, r.get_json()
    body = r.get_data(as_text=True)
    assert len(r.get_json()["similar"]) == 9
    assert "zqxgold" not in body and "_gold" not in body
    assert all(set(s["data"]) == {"text"} for s in r.get_json()["similar"])
