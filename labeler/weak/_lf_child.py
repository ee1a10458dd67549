"""Child process for Python LFs: run by :mod:`labeler.weak.python_lfs`, never imported.

Started as ``python -I _lf_child.py JOB_DIR RESULT_FD`` with a minimal
environment. It imports pandas and Snorkel first, then caps its own address
space (``RLIMIT_AS`` = what the imports use + ``memory_mb``) and CPU time,
executes the user's file as a module and applies each ``LabelingFunction``
found at its top level (or in a top-level list) the way Snorkel's
``PandasLFApplier`` does: once per row of a DataFrame built from the records,
``x`` being the row as a ``pandas.Series``.

Progress goes to the parent as JSON lines on RESULT_FD (the user's prints go
to stderr): ``{"lfs": [...]}``, then per LF ``{"start": name}`` and
``{"done": name, "votes": base64 int16}`` or ``{"error": name, "message": ...}``.
The parent enforces the per-LF wall-clock limit and restarts this process
without the LFs already settled when one hangs or kills it.
"""

import base64
import json
import os
import resource
import sys
import traceback
import types


def _address_space() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[0]) * resource.getpagesize()


def _limit_memory(memory_mb: int) -> None:
    soft = _address_space() + memory_mb * 1024 * 1024
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _limit_cpu(cpu_s: float) -> None:
    """A backstop only: the parent's wall-clock limit per LF acts first."""
    used = resource.getrusage(resource.RUSAGE_SELF).ru_utime
    _, cpu_hard = resource.getrlimit(resource.RLIMIT_CPU)
    cpu = int(used + cpu_s) + 1
    if cpu_hard == resource.RLIM_INFINITY or cpu < cpu_hard:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu_hard))


def _error_line(exc: BaseException) -> str:
    if isinstance(exc, SyntaxError):
        return f"SyntaxError: {exc.msg} (line {exc.lineno})"
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == "<lfs>"]
    where = f" (line {frames[-1].lineno})" if frames else ""
    detail = str(exc) or ("over the memory limit" if isinstance(exc, MemoryError) else "")
    return f"{type(exc).__name__}: {detail}{where}"[:2000]


def _find_lfs(module: types.ModuleType, lf_class: type) -> list:
    found, seen = [], set()
    for value in list(vars(module).values()):
        items = value if isinstance(value, list | tuple) else [value]
        for item in items:
            if isinstance(item, lf_class) and id(item) not in seen:
                seen.add(id(item))
                found.append(item)
    return found


def main() -> None:
    job_dir, fd = sys.argv[1], int(sys.argv[2])
    out = os.fdopen(fd, "w", buffering=1)
    sys.stdout = sys.stderr

    def send(msg: dict) -> None:
        out.write(json.dumps(msg) + "\n")
        out.flush()

    with open(os.path.join(job_dir, "job.json")) as fh:
        job = json.load(fh)
    import numpy as np
    import pandas as pd
    from snorkel.labeling import LabelingFunction

    _limit_memory(job["memory_mb"])
    _limit_cpu(job["timeout_s"] + 30)
    module = types.ModuleType("user_lfs")
    module.__file__ = "<lfs>"
    sys.modules["user_lfs"] = module
    try:
        exec(compile(job["source"], "<lfs>", "exec"), module.__dict__)
    except BaseException as exc:  # the user's file: report anything, including SystemExit
        send({"error": "<file>", "message": _error_line(exc)})
        return
    lfs = _find_lfs(module, LabelingFunction)
    names = [lf.name for lf in lfs]
    send({"lfs": names})
    _limit_cpu(job["timeout_s"] * (len(lfs) + 1) + 30)
    if job["mode"] == "list":
        return
    with open(os.path.join(job_dir, "records.json")) as fh:
        df = pd.DataFrame.from_records(json.load(fh))
    labels = job["labels"]
    k = len(labels)
    skip = set(job["skip"])
    for lf in lfs:
        if lf.name in skip:
            continue
        send({"start": lf.name})
        votes = np.full(len(df), -1, dtype=np.int16)
        try:
            for i, (_, x) in enumerate(df.iterrows()):
                y = lf(x)
                if isinstance(y, str) and y in labels:
                    y = labels.index(y)
                if isinstance(y, bool) or not isinstance(y, int | np.integer) or not -1 <= y < k:
                    raise ValueError(f"row {i}: returned {y!r}, not -1 or a label index < {k}")
                votes[i] = y
        except BaseException as exc:
            send({"error": lf.name, "message": _error_line(exc)})
            continue
        send({"done": lf.name, "votes": base64.b64encode(votes.tobytes()).decode("ascii")})


if __name__ == "__main__":
    main()
