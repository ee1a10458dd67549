"""Export: one row per item with its final label and provenance, streamed, with a manifest.

- :mod:`~labeler.services.exporting.options` declares what an export may ask
  for (format, consensus method, sources, minimum confidence, per-rater answers,
  LF votes, split) once, for the CLI, the REST query and the UI form;
- :mod:`~labeler.services.exporting.rows` builds the rows in keyset-paginated
  chunks (memory flat in the size of the data);
- :mod:`~labeler.services.exporting.formats` turns rows into bytes: JSONL, CSV,
  Parquet, Label Studio JSON, and the Hugging Face layout;
- this module writes files (atomically) and their manifests.

The manifest (``FILE.manifest.json`` beside every file export, or ``GET
.../export/manifest`` with the same options) says which labels a training run
used: the project, the time, the format and options, the counts per source, the
weak runs and LF versions, the consensus method, the split's seed and sizes, the
row count and the data's SHA-256. The data bytes hold no time, so the same
export of an unchanged project has the same checksum.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from labeler import __version__
from labeler.models import Project
from labeler.services.exporting.formats import (
    hf_card,
    hf_info,
    parquet_pieces,
    spreadsheet_safe,
    write,
)
from labeler.services.exporting.options import FORMATS, METHODS, SOURCES, ExportOptions
from labeler.services.exporting.rows import CHUNK, ExportContext, final_label, prepare
from labeler.services.exporting.rows import iter_rows as _ctx_rows

__all__ = [
    "CHUNK",
    "FORMATS",
    "METHODS",
    "SOURCES",
    "ExportContext",
    "ExportOptions",
    "export_lines",
    "export_to_file",
    "file_name",
    "final_label",
    "iter_rows",
    "manifest_for",
    "prepare",
    "spreadsheet_safe",
    "stream",
]

_EXTENSIONS = {"jsonl": "jsonl", "csv": "csv", "parquet": "parquet", "label-studio": "json"}


def file_name(project: Project, fmt: str) -> str:
    """The download's name: ``PROJECT.jsonl``, ``PROJECT.json`` (Label Studio), ``PROJECT-hf.zip``."""
    return f"{project.name}-hf.zip" if fmt == "hf" else f"{project.name}.{_EXTENSIONS[fmt]}"


def stream(project: Project, options: ExportOptions) -> Iterator[bytes]:
    """The export as byte pieces (the HTTP body; ``hf`` is a zip of the layout).

    What the whole export needs (the consensus, the runs, the LFs, the split) is read
    now, so an error there is raised to the caller before a response has started (a
    download never ends half-way with a 200); the rows are read as the pieces are
    asked for, in the session of whoever iterates (the view's, kept by
    ``stream_with_context``).
    """
    return write(prepare(project, options), options.format)


def iter_rows(project_id: int, options: ExportOptions | None = None) -> Iterator[dict[str, Any]]:
    """The rows of an export of project ``project_id`` (dicts, as JSONL writes them)."""
    from labeler.extensions import db

    project = db.session.get_one(Project, project_id)
    return _ctx_rows(prepare(project, options or ExportOptions()))


def export_lines(project_id: int, fmt: str, options: ExportOptions | None = None) -> Iterator[str]:
    """A text format's export as strings (JSONL, CSV, Label Studio)."""
    from labeler.extensions import db

    opts = (options or ExportOptions()).model_copy(update={"format": fmt})
    for piece in stream(db.session.get_one(Project, project_id), opts):
        yield piece.decode()


def _manifest(ctx: ExportContext, file: str, digest: str, size: int) -> dict[str, Any]:
    return {
        "project": {"id": ctx.project.id, "name": ctx.project.name},
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "labeler_version": __version__,
        "format": ctx.options.format,
        "options": ctx.options.model_dump(),
        **ctx.manifest_part(),
        "file": file,
        "sha256": digest,
        "bytes": size,
    }


def manifest_for(project: Project, options: ExportOptions) -> dict[str, Any]:
    """The manifest of the download ``options`` ask for: the export is run and hashed.

    Its checksum matches the download made with the same options while the
    project did not change in between.
    """
    ctx = prepare(project, options)
    sha, size = hashlib.sha256(), 0
    for piece in write(ctx, options.format):
        sha.update(piece)
        size += len(piece)
    return _manifest(ctx, file_name(project, options.format), sha.hexdigest(), size)


def _write_atomic(path: Path, pieces: Iterator[bytes]) -> tuple[str, int]:
    tmp = path.with_name(path.name + ".part")
    sha, size = hashlib.sha256(), 0
    try:
        with tmp.open("wb") as fh:
            for piece in pieces:
                fh.write(piece)
                sha.update(piece)
                size += len(piece)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return sha.hexdigest(), size


class _FileSink:
    def __init__(self, fh: Any) -> None:
        self.fh, self.sha, self.size = fh, hashlib.sha256(), 0

    def write(self, data: Any) -> int:
        data = bytes(data)
        self.fh.write(data)
        self.sha.update(data)
        self.size += len(data)
        return len(data)

    def tell(self) -> int:
        return self.size

    @property
    def closed(self) -> bool:
        return self.fh.closed

    def flush(self) -> None:
        self.fh.flush()

    def close(self) -> None:  # the caller closes the file
        pass


def _write_hf(ctx: ExportContext, out: Path) -> tuple[str, int, dict[str, str]]:
    """The Hugging Face layout: ``out/`` with data.parquet, README.md, dataset_info.json."""
    out.mkdir(parents=True, exist_ok=True)
    data = out / "data.parquet"
    tmp = data.with_name(data.name + ".part")
    try:
        with tmp.open("wb") as fh:
            sink = _FileSink(fh)
            for _ in parquet_pieces(ctx, _ctx_rows(ctx), sink, hf=True):
                pass
        tmp.replace(data)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    files = {"data.parquet": sink.sha.hexdigest()}
    for name, text in (
        ("README.md", hf_card(ctx)),
        ("dataset_info.json", json.dumps(hf_info(ctx), indent=2) + "\n"),
    ):
        (out / name).write_text(text, encoding="utf-8")
        files[name] = hashlib.sha256(text.encode()).hexdigest()
    return files["data.parquet"], sink.size, files


def export_to_file(
    project: Project,
    options: ExportOptions,
    out: Path,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Write the export to ``out`` (atomically) and its manifest to ``out.manifest.json``.

    ``hf`` makes ``out`` a directory (data.parquet, README.md, dataset_info.json).
    Returns the manifest.
    """
    ctx = prepare(project, options)
    ctx.progress = progress
    if options.format == "hf":
        digest, size, files = _write_hf(ctx, out)
        manifest = _manifest(ctx, f"{out.name}/data.parquet", digest, size)
        manifest["files"] = files
    else:
        digest, size = _write_atomic(out, write(ctx, options.format))
        manifest = _manifest(ctx, out.name, digest, size)
    path = out.with_name(out.name + ".manifest.json")
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return manifest
