"""A small Python client of the REST API, for notebooks, training scripts and scripted raters.

Standard library only (``urllib``), so ``pip install labeler`` is enough on a
training machine; pandas is needed only for ``as_frame=True``. Every error the
API returns (``{"error": {"code", "message", "details"}}``) is raised as
:class:`ApiError` carrying that code.

    from labeler.client import Client

    api = Client("http://labeler:8000", token)
    rows = api.export(7, consensus="dawid-skene", split="0.8,0.1,0.1", seed=1)
    frame = api.export(7, format="parquet", as_frame=True)
    manifest = api.manifest(7, split="0.8,0.1,0.1", seed=1)
    api.download(7, "train.parquet", format="parquet")

    while (item := api.next(7)) is not None:          # a scripted rater
        api.annotate(7, item["item"]["id"], "pos", duration_ms=800)
"""

from __future__ import annotations

import io
import json
import shutil
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

__all__ = ["ApiError", "Client"]


class ApiError(Exception):
    """An error answer of the API: ``status`` (HTTP), ``code`` (e.g. ``bad_input``), ``details``."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.details = status, code, message, details


def _options(options: dict[str, Any]) -> dict[str, str]:
    """Python values as the query string wants them (booleans as true/false)."""
    out = {}
    for key, value in options.items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, (list, tuple)):
            value = ",".join(str(v) for v in value)
        out[key] = str(value)
    return out


class Client:
    """The API at ``url`` (e.g. ``http://host:8000``) as the user of API token ``token``."""

    def __init__(self, url: str, token: str, *, timeout: float = 300.0) -> None:
        self.url = url.rstrip("/") + "/api/v1"
        self.token, self.timeout = token, timeout

    # ------------------------------------------------------------ transport
    def _open(
        self, method: str, path: str, query: dict[str, Any] | None = None, body: Any = None
    ) -> Any:
        url = self.url + path
        if query:
            url += "?" + urllib.parse.urlencode(_options(query))
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            return urllib.request.urlopen(request, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            raise self._error(exc) from None

    @staticmethod
    def _error(exc: urllib.error.HTTPError) -> ApiError:
        raw = exc.read()
        try:
            error = json.loads(raw)["error"]
            return ApiError(exc.code, error["code"], error["message"], error.get("details"))
        except (ValueError, KeyError, TypeError):
            return ApiError(exc.code, "http_error", raw.decode("utf-8", "replace")[:500])

    def _json(self, method: str, path: str, body: Any = None, **query: Any) -> Any:
        with self._open(method, path, query, body) as resp:
            if resp.status == 204:
                return None
            return json.loads(resp.read())

    @staticmethod
    def _project(project: int | str) -> str:
        return urllib.parse.quote(str(project), safe="")

    # ------------------------------------------------------------ exports
    def export(
        self, project: int | str, format: str = "jsonl", *, as_frame: bool = False, **options: Any
    ) -> Any:
        """The export's rows: a list of dicts, or a pandas DataFrame with ``as_frame=True``.

        ``format`` is ``jsonl`` (rows as JSONL writes them) or ``parquet`` (typed
        columns; ``data`` as JSON text). ``options`` are the export's options
        (``consensus``, ``sources``, ``min_confidence``, ``annotations``,
        ``lf_votes``, ``split``, ``seed``); see README "Export".
        """
        if format not in ("jsonl", "parquet"):
            raise ValueError("export() reads jsonl or parquet; download() saves any format")
        path = f"/projects/{self._project(project)}/export"
        with self._open("GET", path, {**options, "format": format}) as resp:
            if format == "parquet":
                import pyarrow.parquet as pq

                table = pq.read_table(io.BytesIO(resp.read()))
                return table.to_pandas() if as_frame else table.to_pylist()
            rows = [json.loads(line) for line in resp if line.strip()]
        if as_frame:
            import pandas as pd

            return pd.DataFrame(rows)
        return rows

    def download(
        self, project: int | str, out: str | Path, format: str = "jsonl", **options: Any
    ) -> Path:
        """Stream the export to the file ``out`` (``hf``: a zip of the layout)."""
        out = Path(out)
        path = f"/projects/{self._project(project)}/export"
        with self._open("GET", path, {**options, "format": format}) as resp, out.open("wb") as fh:
            shutil.copyfileobj(resp, fh, 1 << 20)
        return out

    def manifest(self, project: int | str, format: str = "jsonl", **options: Any) -> Any:
        """The manifest of the export with these options (its checksum, counts, versions)."""
        path = f"/projects/{self._project(project)}/export/manifest"
        return self._json("GET", path, **{**options, "format": format})

    # ------------------------------------------------------------ scripted raters
    def next(self, project: int | str) -> dict[str, Any] | None:
        """The next item leased to this user, ``{"item": {...}, ...}``; None when none is left."""
        return self._json("GET", f"/projects/{self._project(project)}/next")

    def annotate(
        self, project: int | str, item_id: str, label: str, duration_ms: int | None = None
    ) -> dict[str, Any]:
        """Answer ``label`` on item ``item_id`` (the id given at import)."""
        body: dict[str, Any] = {"label": label}
        if duration_ms is not None:
            body["duration_ms"] = duration_ms
        item = urllib.parse.quote(str(item_id), safe="")
        path = f"/projects/{self._project(project)}/items/{item}/annotations"
        return self._json("POST", path, body)
