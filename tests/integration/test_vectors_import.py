"""Imports in process (the CLI, the synchronous API) queue embedding like background imports,
and an item whose text an import changes gets a vector of its new text, even when the
change lands while an embed job is embedding the old one. The real packaged model."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select

from labeler.cli import main
from labeler.extensions import db
from labeler.learning.embeddings import SentenceEmbedder
from labeler.learning.text_features import TextFeaturizer
from labeler.models import Item, ItemVector, Job, Project
from labeler.services import importing, jobs, projects, vectors

pytestmark = pytest.mark.integration

TEXTS = {
    "a": "How do I reset my password?",
    "b": "The cat is sleeping on the sofa.",
    "c": "When does the train to Paris leave?",
}
NEW_TEXT = "This pizza is delicious."


def _embed_jobs(project_id: int, status: str | None = None) -> list[Job]:
    q = select(Job).where(Job.project_id == project_id, Job.kind == "embed")
    if status:
        q = q.where(Job.status == status)
    return list(db.session.scalars(q.order_by(Job.id)))


def _vector_of(project: Project, external_id: str) -> np.ndarray:
    blob = db.session.scalar(
        select(ItemVector.vector)
        .join(Item, Item.id == ItemVector.item_id)
        .where(Item.project_id == project.id, Item.external_id == external_id)
    )
    assert blob is not None, f"{external_id} has no vector"
    return vectors.decode(blob)


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def _jsonl(texts: dict[str, str]) -> bytes:
    return "".join(json.dumps({"id": k, "text": t}) + "\n" for k, t in texts.items()).encode()


def test_the_cli_import_queues_embedding(app, runner, tmp_path):
    project = projects.create_project("t", ["pos", "neg"])
    src = tmp_path / "items.jsonl"
    src.write_bytes(_jsonl(TEXTS))
    result = runner.invoke(main, ["import", "t", str(src)])
    assert result.exit_code == 0, result.output
    queued = _embed_jobs(project.id)
    assert [(j.status, j.params["shard"]) for j in queued] == [("queued", [0, 1])]
    # The same file again changes nothing: no second job (one is already on its way anyway).
    assert runner.invoke(main, ["import", "t", str(src)]).exit_code == 0
    assert len(_embed_jobs(project.id)) == 1
    jobs.run_embed_job(queued[0].id)
    assert vectors.count_ready(project.id, vectors.model_for(project) or "") == 3
    # Everything embedded: an import that changes nothing queues nothing.
    assert runner.invoke(main, ["import", "t", str(src)]).exit_code == 0
    assert len(_embed_jobs(project.id)) == 1


def test_the_synchronous_api_import_queues_embedding(app, backend, client, make_user):
    eng, token = make_user("eng", "engineer")
    project = projects.create_project("t", ["pos", "neg"])
    projects.add_member(project, eng)
    headers = {"Authorization": f"Bearer {token}"}
    body = [{"id": k, "text": t} for k, t in TEXTS.items()]
    r = client.post(f"/api/v1/projects/{project.id}/items", json=body, headers=headers)
    assert r.status_code == 201, r.get_json()
    assert len(_embed_jobs(project.id, "queued")) == 1


def test_a_changed_text_is_embedded_again_and_the_rest_is_kept(app, backend):
    project = projects.create_project("t", ["pos", "neg"])
    importing.import_file(project, io.BytesIO(_jsonl(TEXTS)), "jsonl")
    jobs.run_embed_job(_embed_jobs(project.id)[0].id)
    kept = dict(db.session.execute(select(ItemVector.item_id, ItemVector.created_at)).all())

    changed = importing.import_file(project, io.BytesIO(_jsonl({**TEXTS, "b": NEW_TEXT})), "jsonl")
    assert (changed.updated, changed.unchanged) == (1, 2)
    assert db.session.scalar(select(func.count()).select_from(ItemVector)) == 2  # b's is gone
    again = _embed_jobs(project.id, "queued")
    assert len(again) == 1
    jobs.run_embed_job(again[0].id)
    db.session.expire_all()
    assert db.session.get_one(Job, again[0].id).result["embedded"] == 1
    now = dict(db.session.execute(select(ItemVector.item_id, ItemVector.created_at)).all())
    b_id = db.session.scalar(select(Item.id).where(Item.external_id == "b"))
    assert {i: t for i, t in now.items() if i != b_id} == {
        i: t for i, t in kept.items() if i != b_id
    }
    new = SentenceEmbedder().transform([NEW_TEXT])[0]
    assert _cosine(_vector_of(project, "b"), new) > 0.999


def test_a_text_changed_while_its_batch_is_embedded_is_embedded_again(app, backend, monkeypatch):
    project = projects.create_project("t", ["pos", "neg"])
    importing.import_file(project, io.BytesIO(_jsonl(TEXTS)), "jsonl")
    real = TextFeaturizer.transform
    calls: list[int] = []

    def import_during_the_first_batch(self: Any, records: Any) -> Any:
        calls.append(len(records))
        if len(calls) == 1:  # the batch was read with b's old text: an import changes it now
            importing.import_records(project, [{"id": "b", "text": NEW_TEXT}])
        return real(self, records)

    monkeypatch.setattr(TextFeaturizer, "transform", import_during_the_first_batch)
    assert vectors.embed_missing(project.id) == 3  # 3 written, b's dropped, then b again
    assert calls == [3, 1]
    assert db.session.scalar(select(func.count()).select_from(ItemVector)) == 3
    new = SentenceEmbedder().transform([NEW_TEXT])
    assert _cosine(_vector_of(project, "b"), new[0]) > 0.999
    old = SentenceEmbedder().transform([TEXTS["b"]])
    assert _cosine(_vector_of(project, "b"), old[0]) < 0.9
