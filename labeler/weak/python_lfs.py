"""Python LFs written Snorkel's way, run in a child process with time and memory limits.

SMEs who already have Snorkel code upload it as-is: a ``.py`` file whose
top-level ``@labeling_function`` objects (or ``LabelingFunction`` instances,
alone or in a top-level list) are the LFs. It is code from users, so it runs
only in a worker, and there only in a child process (``_lf_child.py``):

- a fresh interpreter (``python -I``) with a minimal environment, so the
  worker's settings and credentials are not in ``os.environ``;
- its address space capped at what pandas and Snorkel take plus
  ``memory_mb`` (a ``MemoryError`` is reported for that LF);
- ``timeout_s`` of wall-clock time per LF: an LF that overruns is reported
  as timed out, the child is killed and a new one runs the remaining LFs;
  the same happens when the child dies.

A subprocess, not ``multiprocessing``: Celery's prefork children are daemonic
and may not start ``multiprocessing`` children. This is containment of
accidents (loops, memory blow-ups, exceptions), not a security sandbox: the
code can still read files the worker can read.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["PythonLFResult", "list_python_lfs", "run_python_lfs"]

CHILD = Path(__file__).with_name("_lf_child.py")
STARTUP_S = 60.0  # importing pandas, torch and Snorkel on a loaded machine
FILE_ERROR = "<file>"


@dataclass
class PythonLFResult:
    """LF names in file order, their ``(n, len(names))`` votes and errors by name."""

    names: list[str]
    L: np.ndarray
    errors: dict[str, str] = field(default_factory=dict)


def _child_env(tmp: str) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": tmp, "LANG": "C.UTF-8"}
    # One thread per library in the child: it shares the worker's cores.
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[var] = "1"
    return env


class _Child:
    """One child process and the JSON lines it sends on its result pipe."""

    def __init__(self, job_dir: str) -> None:
        read_fd, write_fd = os.pipe()
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-I", str(CHILD), job_dir, str(write_fd)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self.stderr,
            pass_fds=(write_fd,),
            env=_child_env(job_dir),
            cwd=job_dir,
            start_new_session=True,
        )
        os.close(write_fd)
        self.fd = read_fd
        self.buf = b""

    def next_message(self, deadline: float) -> dict[str, Any] | None:
        """The next message, or None when the child ended or the deadline passed."""
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.fd], [], [], left)
            if not ready:
                return None
            chunk = os.read(self.fd, 1 << 20)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        msg: dict[str, Any] = json.loads(line)
        return msg

    def stop(self) -> str:
        """Kill the child's process group; return the tail of its stderr."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        os.close(self.fd)
        self.stderr.seek(0)
        tail = self.stderr.read()[-2000:].decode("utf-8", "replace").strip()
        self.stderr.close()
        return tail

    def death(self) -> str:
        self.proc.wait()
        code = self.proc.returncode
        if code is not None and code < 0:
            try:
                return f"the LF process was killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"the LF process was killed by signal {-code}"
        return f"the LF process exited with code {code}"


def _write_job(job_dir: str, mode: str, source: str, labels: Sequence[str], **kw: Any) -> None:
    job = {"mode": mode, "source": source, "labels": list(labels), "skip": [], **kw}
    Path(job_dir, "job.json").write_text(json.dumps(job))


def run_python_lfs(
    source: str,
    records: list[dict[str, Any]],
    label_names: Sequence[str],
    timeout_s: float = 60,
    memory_mb: int = 1024,
) -> PythonLFResult:
    """Apply the Snorkel LFs defined in ``source`` to ``records`` in a child process.

    Parameters
    ----------
    source : str
        A Python file's text defining ``@labeling_function`` objects.
    records : list of dict
        The items' data; each LF sees one row as a ``pandas.Series`` (``x.text``).
    label_names : sequence of str
        The project's labels; an LF returns an index into them (or a name), or -1.
    timeout_s : float
        Wall-clock limit per LF.
    memory_mb : int
        Address space the LFs may use on top of the libraries.

    Returns
    -------
    PythonLFResult
        An LF that raised, returned something else than a label or ran out of
        time or memory has an entry in ``errors`` and a column of -1; a file
        that fails to load has one under ``"<file>"`` and no columns.
    """
    n = len(records)
    dtype = np.int8 if len(label_names) <= 128 else np.int16
    names: list[str] = []
    columns: dict[str, np.ndarray] = {}
    errors: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="labeler-lfs-") as job_dir:
        Path(job_dir, "records.json").write_text(json.dumps(records, default=str))
        listed = False
        while True:
            settled = set(columns) | set(errors)
            _write_job(
                job_dir,
                "run",
                source,
                label_names,
                memory_mb=memory_mb,
                timeout_s=timeout_s,
                skip=sorted(settled),
            )
            child = _Child(job_dir)
            current: str | None = None
            deadline = time.monotonic() + STARTUP_S + timeout_s
            restart = False
            while True:
                msg = child.next_message(deadline)
                if msg is None:
                    timed_out = time.monotonic() >= deadline
                    if not timed_out:
                        # Ended on its own: reap it so its exit status is its own.
                        with contextlib.suppress(subprocess.TimeoutExpired):
                            child.proc.wait(timeout=10)
                    tail = child.stop()
                    if current is not None:
                        errors[current] = (
                            f"timed out after {timeout_s:g} s" if timed_out else child.death()
                        )
                        restart = True
                    elif not listed and FILE_ERROR not in errors:
                        why = "timed out loading the file" if timed_out else child.death()
                        errors[FILE_ERROR] = f"{why}: {tail}" if tail else why
                    break
                if "lfs" in msg:
                    names, listed = list(msg["lfs"]), True
                elif "start" in msg:
                    current = msg["start"]
                    deadline = time.monotonic() + timeout_s
                elif "done" in msg:
                    votes = np.frombuffer(base64.b64decode(msg["votes"]), dtype=np.int16)
                    columns[msg["done"]] = votes.astype(dtype) if len(votes) == n else votes
                    current = None
                elif "error" in msg:
                    errors[msg["error"]] = msg["message"]
                    current = None
            if not restart or len(set(columns) | set(errors)) >= len(names):
                break
    L = np.full((n, len(names)), -1, dtype=dtype)
    for j, name in enumerate(names):
        col = columns.get(name)
        if col is not None and len(col) == n:
            L[:, j] = col
    return PythonLFResult(names=names, L=L, errors=errors)


def list_python_lfs(source: str, timeout_s: float = 10) -> list[str]:
    """Names of the LFs ``source`` defines, found in a child process.

    Raises ``ValueError`` with the message (and line) when the file does not load.
    """
    with tempfile.TemporaryDirectory(prefix="labeler-lfs-") as job_dir:
        _write_job(job_dir, "list", source, [], memory_mb=512, timeout_s=timeout_s)
        child = _Child(job_dir)
        msg = child.next_message(time.monotonic() + STARTUP_S + timeout_s)
        timed_out = msg is None
        tail = child.stop()
    if msg is not None and "lfs" in msg:
        return list(msg["lfs"])
    if msg is not None and "error" in msg:
        raise ValueError(msg["message"])
    raise ValueError(
        "timed out loading the file" if timed_out else f"the file did not load: {tail}"
    )
