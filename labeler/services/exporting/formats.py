"""The export's file formats: rows in, bytes out, a bounded buffer at a time.

Every writer is a generator of ``bytes`` pieces, so the same code feeds a file,
an HTTP response and the manifest's checksum. Parquet is written in row groups
of :data:`ROW_GROUP` rows through pyarrow into a sink the generator drains after
each group; the Hugging Face layout is that Parquet with ``datasets``' own
schema metadata (the ``huggingface`` key of the Parquet schema, where
``datasets`` reads its ``Features``: the label is a ``ClassLabel``), plus a
README dataset card and ``dataset_info.json``.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from labeler.services.exporting.rows import ExportContext, iter_rows
from labeler.services.spreadsheet import spreadsheet_safe

__all__ = ["ROW_GROUP", "hf_card", "hf_info", "spreadsheet_safe", "write"]

ROW_GROUP = 10_000
_FLUSH = 1 << 16  # bytes of text gathered before a piece is yielded
_FIXED_TIME = (2000, 1, 1, 0, 0, 0)  # zip entries' time: the same export, the same bytes


def write(ctx: ExportContext, fmt: str) -> Iterator[bytes]:
    """The export of ``ctx`` in ``fmt`` as byte pieces (``hf``: a zip of the layout)."""
    rows = iter_rows(ctx)
    if fmt == "jsonl":
        return _text(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    if fmt == "csv":
        return _text(_csv(ctx, rows))
    if fmt == "label-studio":
        return _text(_label_studio(ctx, rows))
    if fmt == "parquet":
        return _parquet(ctx, rows, hf=False)
    if fmt == "hf":
        return _hf_zip(ctx)
    raise ValueError(fmt)


def _text(pieces: Iterator[str]) -> Iterator[bytes]:
    buf: list[str] = []
    size = 0
    for piece in pieces:
        buf.append(piece)
        size += len(piece)
        if size >= _FLUSH:
            yield "".join(buf).encode()
            buf, size = [], 0
    if buf:
        yield "".join(buf).encode()


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _csv(ctx: ExportContext, rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    opts = ctx.options
    header = ["id", "label", "source", "confidence", "n_raters", "agreement"]
    header += ["split"] if opts.split else []
    header += ["n_annotations", "annotations"] if opts.annotations else []
    header += ["lf_votes"] if opts.lf_votes else []
    header.append("data")
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    yield buf.getvalue()
    buf.seek(0)
    buf.truncate()
    for row in rows:
        cells = [
            spreadsheet_safe(row["id"]),
            spreadsheet_safe(row["label"] or ""),
            row["source"] or "",
            _num(row["confidence"]),
            row["n_raters"],
            _num(row["agreement"]),
        ]
        if opts.split:
            cells.append(row["split"] or "")
        if opts.annotations:
            # JSON starts with [ or {: never a formula, and stays parseable.
            cells += [len(row["annotations"]), json.dumps(row["annotations"], ensure_ascii=False)]
        if opts.lf_votes:
            cells.append(json.dumps(row["lf_votes"], ensure_ascii=False))
        cells.append(json.dumps(row["data"], ensure_ascii=False))
        writer.writerow(cells)
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()


def _choices(label: str, ctx: ExportContext) -> list[dict[str, Any]]:
    return [
        {
            "type": "choices",
            "value": {"choices": [label]},
            "from_name": "label",
            "to_name": ctx.project.text_field or "text",
        }
    ]


def label_studio_task(ctx: ExportContext, row: dict[str, Any]) -> dict[str, Any]:
    """A Label Studio task: each answer an annotation, the final label a prediction.

    ``completed_by`` is the rater's name (Label Studio's own exports put a user
    id there); skips and unsure answers are ``was_cancelled`` annotations without
    a result, their kind in ``labeler_kind``; ``lead_time`` is in seconds.
    """
    task: dict[str, Any] = {"id": row["id"], "data": row["data"]}
    annotations = []
    for answer in row.get("annotations", []):
        ann: dict[str, Any] = {
            "completed_by": answer["rater"],
            "created_at": answer["created_at"],
            "lead_time": None if answer["duration_ms"] is None else answer["duration_ms"] / 1000,
            "was_cancelled": answer["kind"] != "label",
            "result": _choices(answer["label"], ctx) if answer["kind"] == "label" else [],
        }
        if answer["kind"] != "label":
            ann["labeler_kind"] = answer["kind"]
        annotations.append(ann)
    task["annotations"] = annotations
    task["predictions"] = (
        []
        if row["label"] is None
        else [
            {
                "model_version": f"labeler-{row['source']}",
                "score": row["confidence"],
                "result": _choices(row["label"], ctx),
            }
        ]
    )
    task["meta"] = {
        k: row[k] for k in ("source", "confidence", "n_raters", "agreement", "split") if k in row
    }
    if "lf_votes" in row:
        task["meta"]["lf_votes"] = row["lf_votes"]
    return task


def _label_studio(ctx: ExportContext, rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    yield "["
    sep = "\n"
    for row in rows:
        yield sep + json.dumps(label_studio_task(ctx, row), ensure_ascii=False)
        sep = ",\n"
    yield "\n]\n"


# ---------------------------------------------------------------- Parquet and the HF layout
_ANSWER = pa.struct(
    [
        ("rater", pa.string()),
        ("label", pa.string()),
        ("kind", pa.string()),
        ("created_at", pa.string()),
        ("duration_ms", pa.int64()),
    ]
)


def _columns(ctx: ExportContext, hf: bool) -> list[tuple[str, pa.DataType, dict[str, Any]]]:
    """(name, arrow type, datasets feature) of each column, in order."""
    opts = ctx.options
    string = {"dtype": "string", "_type": "Value"}
    cols: list[tuple[str, pa.DataType, dict[str, Any]]] = [("id", pa.string(), string)]
    if hf and ctx.project.kind == "text":
        cols.append(("text", pa.string(), string))
    cols.append(("data", pa.string(), string))  # JSON: item fields differ between projects
    if opts.annotations:
        answer = {
            name: {"dtype": "int64" if name == "duration_ms" else "string", "_type": "Value"}
            for name in _ANSWER.names
        }
        cols.append(("annotations", pa.list_(_ANSWER), [answer]))  # type: ignore[arg-type]
    if hf:
        names = ctx.project.label_names
        cols.append(("label", pa.int64(), {"names": names, "_type": "ClassLabel"}))
    else:
        cols.append(("label", pa.string(), string))
    cols += [
        ("source", pa.string(), string),
        ("confidence", pa.float64(), {"dtype": "float64", "_type": "Value"}),
        ("n_raters", pa.int32(), {"dtype": "int32", "_type": "Value"}),
        ("agreement", pa.float64(), {"dtype": "float64", "_type": "Value"}),
    ]
    if opts.lf_votes:
        cols.append(("lf_votes", pa.string(), string))  # JSON: LF name -> label or null
    if opts.split:
        cols.append(("split", pa.string(), string))
    return cols


def hf_features(ctx: ExportContext) -> dict[str, Any]:
    return {name: feature for name, _, feature in _columns(ctx, hf=True)}


def _schema(ctx: ExportContext, hf: bool) -> pa.Schema:
    schema = pa.schema([(name, typ) for name, typ, _ in _columns(ctx, hf)])
    if hf:
        meta = {"info": {"features": hf_features(ctx)}}
        schema = schema.with_metadata({"huggingface": json.dumps(meta)})
    return schema


class _Sink(io.RawIOBase):
    """A write-only file whose bytes the generator takes after each row group."""

    def __init__(self) -> None:
        self.pieces: list[bytes] = []
        self.pos = 0

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        data = bytes(b)
        self.pieces.append(data)
        self.pos += len(data)
        return len(data)

    def tell(self) -> int:
        return self.pos

    def take(self) -> bytes:
        out = b"".join(self.pieces)
        self.pieces = []
        return out


def _cell(ctx: ExportContext, name: str, row: dict[str, Any], hf: bool) -> Any:
    if name == "data" or name == "lf_votes":
        return json.dumps(row[name], ensure_ascii=False)
    if name == "text":
        value = row["data"].get(ctx.project.text_field or "text")
        return None if value is None else str(value)
    if name == "label" and hf:
        return -1 if row["label"] is None else ctx.project.label_names.index(row["label"])
    return row[name]


def parquet_pieces(
    ctx: ExportContext, rows: Iterator[dict[str, Any]], sink: Any, *, hf: bool
) -> Iterator[None]:
    """Write ``rows`` to ``sink`` as Parquet, one row group per :data:`ROW_GROUP` rows."""
    schema = _schema(ctx, hf)
    names = schema.names
    with pq.ParquetWriter(sink, schema, compression="zstd") as writer:
        batch: dict[str, list[Any]] = {n: [] for n in names}
        count = 0
        for row in rows:
            for n in names:
                batch[n].append(_cell(ctx, n, row, hf))
            count += 1
            if count == ROW_GROUP:
                writer.write_table(pa.Table.from_pydict(batch, schema=schema))
                batch, count = {n: [] for n in names}, 0
                yield
        if count or not ctx.rows:
            writer.write_table(pa.Table.from_pydict(batch, schema=schema))
    yield


def _parquet(ctx: ExportContext, rows: Iterator[dict[str, Any]], hf: bool) -> Iterator[bytes]:
    sink = _Sink()
    for _ in parquet_pieces(ctx, rows, sink, hf=hf):
        piece = sink.take()
        if piece:
            yield piece


def hf_info(ctx: ExportContext) -> dict[str, Any]:
    """``dataset_info.json`` of the Hugging Face layout."""
    return {
        "description": f"labeler export of project {ctx.project.name!r}",
        "features": hf_features(ctx),
        "splits": {"train": {"name": "train", "num_examples": ctx.rows}},
    }


def hf_card(ctx: ExportContext) -> str:
    """The layout's README.md: a dataset card whose YAML header says where the data is."""
    # The features (the label's ClassLabel) are in data.parquet's schema metadata.
    return (
        "---\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n"
        "    path: data.parquet\n---\n\n"
        f"# {ctx.project.name}\n\nExported by labeler: one row per item with its final label "
        "(`label`, a ClassLabel; -1 when the item has none), its `source`, `confidence`, "
        "`n_raters` and `agreement`. See the manifest next to this directory for the "
        "options, the counts per source and the checksums.\n\n"
        "```python\nimport datasets\n"
        'ds = datasets.load_dataset("parquet", data_files="data.parquet")\n```\n'
    )


def _hf_zip(ctx: ExportContext) -> Iterator[bytes]:
    """The Hugging Face layout as one zip stream (data.parquet, README.md, dataset_info.json)."""
    out = _Sink()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as zf:
        entry = zipfile.ZipInfo("data.parquet", date_time=_FIXED_TIME)
        with zf.open(entry, "w", force_zip64=True) as fh:
            for _ in parquet_pieces(ctx, iter_rows(ctx), fh, hf=True):
                piece = out.take()
                if piece:
                    yield piece
        for name, text in (
            ("README.md", hf_card(ctx)),
            ("dataset_info.json", json.dumps(hf_info(ctx), indent=2) + "\n"),
        ):
            zf.writestr(zipfile.ZipInfo(name, date_time=_FIXED_TIME), text)
    yield out.take()
