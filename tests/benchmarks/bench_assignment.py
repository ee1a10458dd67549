"""Assignment hot path under load: 32 raters doing ``next`` + ``annotate`` against gunicorn.

A standalone script (pytest does not collect ``bench_*.py``)::

    . .venv/bin/activate
    python tests/benchmarks/bench_assignment.py                       # 100k items, 5 s + 30 s
    python tests/benchmarks/bench_assignment.py --sizes 100000,1000000 --json bench.json
    python tests/benchmarks/bench_assignment.py --items 2000 --duration 5 --warmup 1   # smoke
    python tests/benchmarks/bench_assignment.py --items 20000 --gold-items 200 --gold-rate 0.2   # the gold path

For every (size, gunicorn setting) it

1. creates a fresh PostgreSQL database ``labeler_bench_*``, builds the schema with the
   real migrations, creates a project with overlap 3, bulk-inserts N items in SQL
   (``generate_series``, random priority) and 32 raters with API tokens who are members;
2. starts ``labeler serve`` (gunicorn; ``--gunicorn WxT[,WxT...]`` = workers x threads);
3. runs the raters from several client processes, each an asyncio loop speaking raw
   HTTP/1.1 keep-alive (one connection per rater), so the load generator costs little CPU
   next to the server. Closed loop by default (each rater asks again as soon as it is
   answered: this measures capacity, and by Little's law the latency is then
   32 / requests per second); ``--rate R`` paces the raters to R labels/s in total, each
   holding its lease until its answer is due, to measure latency at a given load;
4. measures every call after the warm-up: p50/p90/p99 of ``next`` and ``annotate``,
   accepted (201) annotations per second, errors by status, the CPU used by gunicorn,
   by this database's PostgreSQL backends and by everything else on the machine (the
   load), and PostgreSQL's own counters: buffer accesses and rows read by sequential
   scans per label. CPU per label and buffers per label are the figures to compare when
   the machine is shared; latencies and labels/s move with the load;
5. checks the invariants in the database (no item above ``overlap`` current non-skip
   annotations, no rater twice on an item, done + leased within the budget, every 201
   stored, counters match the rows), then drops the database.

With several sizes it prints next's p50/p99 ratio of the largest to the smallest size and
the ratio of buffer accesses per label (a size-independent ``next`` keeps it near 1).
``--sizes 100000,1000000,100000,1000000`` interleaves the sizes; ratios use the medians.
``--app-path DIR`` serves a patched copy of the package instead of the working tree, to
measure a change before it lands. Exit status 1 when an invariant is broken (the
performance aims only print MISS).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import random
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.benchmarks._db import (  # noqa: E402
    PG_ADMIN_URL,
    bench_app,
    drop_database,
    filled_database,
    vacuum_analyze,
)

OVERLAP = 3
LABELS = ["positive", "negative", "neutral"]
# The aims on this 2-core machine.
AIM_P99_MS = 100.0
AIM_LABELS_PER_S = 200.0
AIM_SIZE_RATIO = 1.20


# --------------------------------------------------------------------------- setup
def create_database(
    n_items: int, n_raters: int, gold_items: int = 0, gold_rate: float = 0.0
) -> dict[str, Any]:
    """A fresh database with the real schema, one project, ``n_items`` items, raters.

    ``gold_items`` of the items (spread over the id range) are gold items, served at
    ``gold_rate`` (the gold path of ``next``).
    """
    _name, _url, filled = filled_database(
        "assign",
        lambda name, url: _fill_database(name, url, n_items, n_raters, gold_items, gold_rate),
    )
    return filled


def _fill_database(
    name: str, url: str, n_items: int, n_raters: int, gold_items: int, gold_rate: float
) -> dict[str, Any]:
    import sqlalchemy as sa

    from labeler.extensions import db
    from labeler.services import projects, users
    from tests.conftest import _create_schema

    t0 = time.perf_counter()
    _create_schema(url)

    app = bench_app(url)
    with app.app_context():
        project = projects.create_project("bench", LABELS, overlap=OVERLAP)
        pid = project.id
        tokens = []
        for k in range(n_raters):
            rater = users.create_user(f"rater{k:02d}", "rater")
            projects.add_member(project, rater)
            tokens.append(users.create_token(rater, "bench"))
        db.session.remove()
        db.engine.dispose()

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            """
            INSERT INTO items (project_id, external_id, data, priority, n_done, n_leased, is_open, created_at)
            SELECT %(pid)s, 'x' || g,
                   jsonb_build_object('text', 'Item ' || g || ': ' || repeat(md5(g::text), 3)),
                   random(), 0, 0, true, now()
            FROM generate_series(1, %(n)s) AS g
            """,
            {"pid": pid, "n": n_items},
        )
        if gold_items:
            step = max(n_items // gold_items, 1)
            conn.exec_driver_sql(
                "UPDATE items SET is_gold = true, is_open = false WHERE project_id = %(pid)s"
                " AND external_id IN (SELECT 'x' || g FROM generate_series(1, %(n)s, %(step)s) g"
                " LIMIT %(gold)s)",
                {"pid": pid, "n": n_items, "step": step, "gold": gold_items},
            )
            conn.exec_driver_sql(
                "INSERT INTO gold_labels (project_id, item_id, label, source, created_at)"
                " SELECT %(pid)s, id, %(label)s, 'engineer', now() FROM items"
                " WHERE project_id = %(pid)s AND is_gold",
                {"pid": pid, "label": LABELS[0]},
            )
            conn.exec_driver_sql(
                "UPDATE projects SET gold_rate = %(r)s WHERE id = %(pid)s",
                {"pid": pid, "r": gold_rate},
            )
    engine.dispose()
    # Set hint bits and the visibility map now, so autovacuum does not start mid-run. Only
    # the items: analyzing the empty annotations and leases tables would tell the planner
    # they stay empty, and psycopg's prepared (generic) plans would then scan them until
    # the next autoanalyze.
    vacuum_analyze(url, "items")
    return {
        "name": name,
        "url": url,
        "project_id": pid,
        "tokens": tokens,
        "setup_s": time.perf_counter() - t0,
    }


# --------------------------------------------------------------------------- invariants
def check_invariants(url: str, pid: int, accepted_ids: list[int]) -> dict[str, Any]:
    import sqlalchemy as sa

    from labeler.extensions import db
    from labeler.models import Project
    from labeler.services import assignment

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        q = conn.exec_driver_sql
        per_item_max = q(
            "SELECT coalesce(max(n), 0), count(*) FILTER (WHERE n > %(k)s) FROM ("
            " SELECT a.item_id, count(*) AS n FROM annotations a JOIN items i ON i.id = a.item_id"
            " WHERE a.project_id = %(p)s AND a.is_current AND a.kind <> 'skip'"
            " AND NOT i.is_gold GROUP BY a.item_id) t",
            {"p": pid, "k": OVERLAP},
        ).one()
        twice = q(
            "SELECT count(*) FROM (SELECT item_id, rater_id FROM annotations WHERE project_id = %(p)s"
            " GROUP BY item_id, rater_id HAVING count(*) > 1) t",
            {"p": pid},
        ).scalar_one()
        over_budget = q(
            "SELECT count(*) FROM items WHERE project_id = %(p)s AND n_done + n_leased > %(k)s"
            " AND NOT is_gold",
            {"p": pid, "k": OVERLAP},
        ).scalar_one()
        stored = {
            r[0] for r in q("SELECT id FROM annotations WHERE project_id = %(p)s", {"p": pid})
        }
        items_touched = q(
            "SELECT count(*) FROM items WHERE project_id = %(p)s AND (n_done > 0 OR n_leased > 0)",
            {"p": pid},
        ).scalar_one()
    engine.dispose()
    app = bench_app(url)
    with app.app_context():
        project = db.session.get(Project, pid)
        inconsistent = assignment.counters_consistent(project)
        db.session.remove()
        db.engine.dispose()
    accepted = set(accepted_ids)
    out = {
        "max_current_labels_per_item": int(per_item_max[0]),
        "items_above_overlap": int(per_item_max[1]),
        "rater_item_pairs_twice": int(twice),
        "items_over_budget_done_plus_leased": int(over_budget),
        "accepted_201": len(accepted_ids),
        "stored_annotations": len(stored),
        "accepted_missing_from_db": len(accepted - stored),
        "stored_not_acknowledged": len(stored - accepted),
        "counter_mismatches": len(inconsistent),
        "items_touched": int(items_touched),
    }
    out["ok"] = (
        out["items_above_overlap"] == 0
        and out["rater_item_pairs_twice"] == 0
        and out["items_over_budget_done_plus_leased"] == 0
        and out["accepted_missing_from_db"] == 0
        and out["counter_mismatches"] == 0
        and len(accepted_ids) == len(accepted)
    )
    return out


# --------------------------------------------------------------------------- CPU accounting
_TICK = os.sysconf("SC_CLK_TCK")


def _proc_cpu(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime
    except (OSError, IndexError, ValueError):
        return 0.0


def _all_procs() -> list[tuple[int, int, str]]:
    """(pid, ppid, comm) of every process we can read."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                raw = fh.read()
            comm = raw[raw.index("(") + 1 : raw.rindex(")")]
            ppid = int(raw.rsplit(")", 1)[1].split()[1])
            out.append((int(entry), ppid, comm))
        except (OSError, ValueError, IndexError):
            continue
    return out


def _tree_cpu(root: int) -> float:
    procs = _all_procs()
    kids: dict[int, list[int]] = {}
    for pid, ppid, _ in procs:
        kids.setdefault(ppid, []).append(pid)
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += _proc_cpu(pid)
        todo.extend(kids.get(pid, []))
    return total


def _postgres_backends(dbname: str) -> list[int]:
    """Backend pids serving ``dbname`` (other databases on the server are not ours to count)."""
    import psycopg

    dsn = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        return [
            r[0]
            for r in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (dbname,),
            )
        ]


def _db_work(url: str) -> dict[str, int]:
    """PostgreSQL's own counters for the bench database: work done, independent of the load.

    Buffer accesses per label and sequential scans of the queue tables are what "no scan
    over open items per call" means in numbers; CPU milliseconds vary with the machine's load.
    """
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        blks, tup = conn.execute(
            "SELECT blks_hit + blks_read, tup_returned + tup_fetched FROM pg_stat_database"
            " WHERE datname = current_database()"
        ).fetchone()
        out = {"buffers": int(blks), "tuples": int(tup)}
        for rel, seq, seq_rows in conn.execute(
            "SELECT relname, seq_scan, seq_tup_read FROM pg_stat_user_tables"
            " WHERE relname IN ('items', 'annotations', 'leases')"
        ):
            out[f"{rel}_seq_scans"] = int(seq)
            out[f"{rel}_seq_rows"] = int(seq_rows)
    return out


def _postgres_cpu(pids: list[int]) -> dict[int, float]:
    return {pid: _proc_cpu(pid) for pid in pids}


def _machine_ticks() -> tuple[int, int, int]:
    """(busy, total, steal) jiffies of all CPUs."""
    with open("/proc/stat") as fh:
        parts = [int(x) for x in fh.readline().split()[1:]]
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0)
    steal = parts[7] if len(parts) > 7 else 0
    total = sum(parts[:8])
    return total - idle, total, steal


# --------------------------------------------------------------------------- load generator
class HttpConn:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams (cheap next to requests)."""

    def __init__(self, host: str, port: int, token: str) -> None:
        self.host, self.port = host, port
        self.head = f"Host: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        for attempt in (0, 1):
            fresh = self.writer is None
            if fresh:
                await self._open()
            assert self.reader is not None and self.writer is not None
            msg = f"{method} {path} HTTP/1.1\r\n{self.head}"
            if body is not None:
                msg += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            data = msg.encode() + b"\r\n" + (body or b"")
            try:
                self.writer.write(data)
                head = await self.reader.readuntil(b"\r\n\r\n")
            except (ConnectionError, asyncio.IncompleteReadError):
                # The server closed an idle keep-alive connection: nothing was processed.
                self.close()
                if attempt == 0 and not fresh:
                    continue
                raise
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ", 2)[1])
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    k, v = line.split(":", 1)
                    headers[k.strip().lower()] = v.strip()
            if "content-length" in headers:
                payload = await self.reader.readexactly(int(headers["content-length"]))
            elif headers.get("transfer-encoding", "").lower() == "chunked":
                payload = b""
                while True:
                    size = int((await self.reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
                    chunk = await self.reader.readexactly(size + 2)
                    if size == 0:
                        break
                    payload += chunk[:-2]
            elif status in (204, 304) or 100 <= status < 200:
                payload = b""
            else:
                payload = await self.reader.read()
                self.close()
            if headers.get("connection", "").lower() == "close":
                self.close()
            return status, payload
        raise RuntimeError("unreachable")


async def _rater(
    conn: HttpConn, pid: int, seed: int, plan: dict[str, Any], out: dict[str, Any]
) -> None:
    rng = random.Random(seed)
    clock = time.monotonic
    end, rounds = plan["end"], plan["rounds"]
    think = plan["think_ms"] / 1000.0
    # Paced mode (--rate): this rater answers once every ``interval`` seconds; it reads
    # (holds the lease) until its answer is due, as a person would.
    interval = plan["interval"]
    due = plan["start"] + rng.random() * interval
    next_path = f"/api/v1/projects/{pid}/next"
    done_rounds = 0
    while True:
        if rounds is not None and done_rounds >= rounds:
            break
        if rounds is None and clock() >= end:
            break
        t = clock()
        try:
            status, body = await conn.request("GET", next_path)
        except Exception as exc:  # noqa: BLE001 - a benchmark records, it does not crash
            out["errors"].append(("next", repr(exc)))
            conn.close()
            await asyncio.sleep(0.05)
            continue
        out["next"].append((t, clock() - t, status, seed))
        if status == 204:
            out["exhausted"] += 1
            break
        if status != 200:
            out["errors"].append(("next", status, body[:200].decode(errors="replace")))
            await asyncio.sleep(0.05)
            continue
        iid = json.loads(body)["item"]["id"]
        if think:
            await asyncio.sleep(rng.expovariate(1.0 / think))
        if interval:
            due += interval
            wait = due - clock()
            if wait > 0:
                await asyncio.sleep(wait)
            elif -wait > interval:
                out["late"] += 1  # more than a whole cycle behind: the server does not keep up
        if rng.random() < plan["skip_rate"]:
            payload = {"kind": "skip"}
        else:
            payload = {"label": rng.choice(LABELS), "duration_ms": rng.randint(300, 3000)}
        t = clock()
        try:
            status, body = await conn.request(
                "POST",
                f"/api/v1/projects/{pid}/items/{iid}/annotations",
                json.dumps(payload).encode(),
            )
        except Exception as exc:  # noqa: BLE001
            out["errors"].append(("annotate", repr(exc)))
            conn.close()
            continue
        t_end = clock()
        out["annotate"].append((t, t_end - t, status, seed))
        if status == 201:
            out["accepted"].append((t_end, json.loads(body)["id"]))
        else:
            out["errors"].append(("annotate", status, body[:200].decode(errors="replace")))
        done_rounds += 1


def client_process(
    host: str, port: int, pid: int, tokens: list[tuple[int, str]], plan: dict[str, Any], queue: Any
) -> None:
    """One load-generator process: an asyncio loop running its share of the raters."""
    out: dict[str, Any] = {
        "next": [],
        "annotate": [],
        "accepted": [],
        "errors": [],
        "exhausted": 0,
        "late": 0,
    }

    async def main() -> None:
        conns = [HttpConn(host, port, tok) for _, tok in tokens]
        for c in conns:  # connect before the start line, not inside the measurement
            await c._open()
        delay = plan["start"] - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        await asyncio.gather(
            *(_rater(c, pid, seed, plan, out) for c, (seed, _) in zip(conns, tokens, strict=True))
        )
        for c in conns:
            c.close()

    asyncio.run(main())
    ru = os.times()
    out["cpu_s"] = ru.user + ru.system
    queue.put(out)


# --------------------------------------------------------------------------- one run
def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = min(len(s) - 1, max(0, int(round(q / 100.0 * (len(s) - 1)))))
    return s[k]


def _summary(lat_s: list[float]) -> dict[str, Any]:
    ms = [x * 1000.0 for x in lat_s]
    return {
        "n": len(ms),
        "p50_ms": _pct(ms, 50),
        "p90_ms": _pct(ms, 90),
        "p99_ms": _pct(ms, 99),
        "max_ms": max(ms) if ms else float("nan"),
        "mean_ms": statistics.fmean(ms) if ms else float("nan"),
    }


def run_once(size: int, workers: int, threads: int, args: argparse.Namespace) -> dict[str, Any]:
    print(f"\n== {size:,} items, gunicorn {workers} workers x {threads} threads ==", flush=True)
    setup = create_database(size, args.raters, args.gold_items, args.gold_rate)
    print(f"   database {setup['name']} ready in {setup['setup_s']:.1f} s", flush=True)
    try:
        result = _measure(size, workers, threads, args, setup)
    finally:
        if args.keep_db:
            print(f"   kept database {setup['name']}", flush=True)
        else:
            drop_database(setup["name"])
    _print_run(result)
    return result


def _collect(queue: Any, procs: list[Any], timeout: float) -> list[dict[str, Any]]:
    """One result per client process; fails fast if one died without reporting."""
    import queue as queue_mod

    outs: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(outs) < len(procs):
        try:
            outs.append(queue.get(timeout=1.0))
        except queue_mod.Empty:
            dead = [p for p in procs if p.exitcode not in (None, 0)]
            if dead or time.monotonic() > deadline:
                raise RuntimeError(
                    f"load generator failed: exit codes {[p.exitcode for p in procs]}"
                ) from None
    return outs


def _measure(
    size: int, workers: int, threads: int, args: argparse.Namespace, setup: dict[str, Any]
) -> dict[str, Any]:
    from tests.integration.conftest import Server, process_env

    tmp = Path(tempfile.mkdtemp(prefix="labeler-bench-"))
    result: dict[str, Any] = {
        "size": size,
        "workers": workers,
        "threads": threads,
        "database": setup["name"],
        "app_path": args.app_path,
    }
    server = None
    procs: list[Any] = []
    try:
        env = process_env(setup["url"], tmp / "data", "memory://")
        if args.app_path:
            # Serve a patched copy of the package (measure a change without editing the repo).
            env["PYTHONPATH"] = os.pathsep.join(
                [str(Path(args.app_path).resolve())]
                + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
            )
        cwd = os.getcwd()
        if args.app_path:
            # ``python -m`` puts the working directory first on sys.path: start from the copy.
            os.chdir(args.app_path)
        try:
            server = Server(env, tmp / "server.log", workers=workers, threads=threads)
        finally:
            os.chdir(cwd)
        port = server.port
        ctx = mp.get_context("spawn")
        queue = ctx.Queue()
        n_proc = max(1, min(args.client_procs, args.raters))
        shares: list[list[tuple[int, str]]] = [[] for _ in range(n_proc)]
        for k, tok in enumerate(setup["tokens"]):
            shares[k % n_proc].append((k, tok))
        # Children start (interpreter, imports, connections) before the start line.
        start = time.monotonic() + 3.0 + 0.5 * n_proc
        measure_from = start + (0.0 if args.rounds else args.warmup)
        end = measure_from + args.duration
        plan = {
            "start": start,
            "end": end,
            "rounds": args.rounds,
            "think_ms": args.think_ms,
            "skip_rate": args.skip_rate,
            "interval": args.raters / args.rate if args.rate else 0.0,
        }
        procs = [
            ctx.Process(
                target=client_process,
                args=("127.0.0.1", port, setup["project_id"], share, plan, queue),
            )
            for share in shares
        ]
        for p in procs:
            p.start()
        while time.monotonic() < measure_from:
            time.sleep(0.01)
        cpu0 = (
            _tree_cpu(server.proc.pid),
            _postgres_cpu(_postgres_backends(setup["name"])),
            _machine_ticks(),
            os.getloadavg(),
        )
        work0 = _db_work(setup["url"])
        wall0 = time.monotonic()
        if not args.rounds:
            # Sample the CPU counters at the end of the window, not when the last cycle ends.
            while time.monotonic() < end and all(p.exitcode is None for p in procs):
                time.sleep(0.01)
            wall1 = time.monotonic()
            cpu1 = (
                _tree_cpu(server.proc.pid),
                _postgres_cpu(_postgres_backends(setup["name"])),
                _machine_ticks(),
                os.getloadavg(),
            )
            work1 = _db_work(setup["url"])
        outs = _collect(queue, procs, args.duration + args.warmup + 900)
        if args.rounds:
            wall1 = time.monotonic()
            cpu1 = (
                _tree_cpu(server.proc.pid),
                _postgres_cpu(_postgres_backends(setup["name"])),
                _machine_ticks(),
                os.getloadavg(),
            )
            work1 = _db_work(setup["url"])
        for p in procs:
            p.join(timeout=30)
    finally:
        for p in procs:  # only left running when something above failed
            if p.is_alive():
                p.terminate()
                p.join(timeout=10)
        if server is not None:
            server.stop()

    nxt = [c for o in outs for c in o["next"]]
    ann = [c for o in outs for c in o["annotate"]]
    accepted = [a for o in outs for a in o["accepted"]]
    if args.rounds:
        t_first = min(c[0] for c in nxt)
        t_last = max(c[0] + c[1] for c in nxt + ann)
        window = (t_first, t_last)
    else:
        window = (measure_from, end)
    wall = window[1] - window[0]

    def in_window(calls: list[tuple[float, float, int, int]], ok: tuple[int, ...]) -> list[float]:
        return [d for t, d, s, _ in calls if window[0] <= t < window[1] and s in ok]

    # Median latency of each rater: with keep-alive, gunicorn pins a connection to the
    # worker that accepted it, so an uneven spread of connections shows up here.
    by_rater: dict[int, list[float]] = {}
    for t, d, s, rid in nxt + ann:
        if window[0] <= t < window[1] and s in (200, 201, 204):
            by_rater.setdefault(rid, []).append(d * 1000.0)
    rater_medians = sorted(statistics.median(v) for v in by_rater.values())

    labels = sum(1 for t, _ in accepted if window[0] <= t <= window[1])
    errors: dict[str, int] = {}
    samples: dict[str, str] = {}
    for o in outs:
        for e in o["errors"]:
            key = f"{e[0]} {e[1]}"
            errors[key] = errors.get(key, 0) + 1
            samples.setdefault(key, str(e[-1])[:200])
    busy = cpu1[2][0] - cpu0[2][0]
    total = cpu1[2][1] - cpu0[2][1]
    span = wall1 - wall0
    srv_cpu = cpu1[0] - cpu0[0]
    pg_cpu = sum(v - cpu0[1].get(pid, 0.0) for pid, v in cpu1[1].items())
    client_cpu = sum(o["cpu_s"] for o in outs)  # whole life of the clients, warm-up included
    client_cores = client_cpu / (span + (0 if args.rounds else args.warmup))
    labels_in_span = sum(1 for t, _ in accepted if wall0 <= t <= wall1)
    result.update(
        {
            "next": _summary(in_window(nxt, (200, 204))),
            "annotate": _summary(in_window(ann, (201,))),
            "labels": labels,
            "wall_s": wall,
            "labels_per_s": labels / wall if wall > 0 else 0.0,
            "requests_per_s": (len(in_window(nxt, (200, 204))) + len(in_window(ann, (201,))))
            / wall,
            "errors": errors,
            "error_samples": samples,
            "rater_median_ms": {
                "fastest": rater_medians[0] if rater_medians else float("nan"),
                "median": statistics.median(rater_medians) if rater_medians else float("nan"),
                "slowest": rater_medians[-1] if rater_medians else float("nan"),
            },
            "exhausted_raters": sum(o["exhausted"] for o in outs),
            "target_rate": args.rate,
            "late_cycles": sum(o["late"] for o in outs),
            # CPU of gunicorn + this database's backends per accepted label: robust to the load.
            "cpu_ms_per_label": 1000.0 * (srv_cpu + pg_cpu) / max(1, labels_in_span),
            "cpu": {
                "server_cores": srv_cpu / span,
                "postgres_cores": pg_cpu / span,
                "clients_cpu_s_total": client_cpu,
                "machine_busy_pct": 100.0 * busy / total if total else float("nan"),
                # Cores busy with everything else on the machine (other users' work): the load.
                "other_cores": max(
                    0.0,
                    (os.cpu_count() or 1) * busy / total - (srv_cpu + pg_cpu) / span - client_cores,
                )
                if total
                else float("nan"),
                "steal_pct": 100.0 * (cpu1[2][2] - cpu0[2][2]) / total if total else 0.0,
                "loadavg_1m_before": cpu0[3][0],
                "loadavg_1m_after": cpu1[3][0],
            },
            "client_procs": len(procs),
            # Per accepted label, from PostgreSQL's statistics (flushed about once a second).
            "db": {
                "buffers_per_label": (work1["buffers"] - work0["buffers"]) / max(1, labels_in_span),
                "tuples_per_label": (work1["tuples"] - work0["tuples"]) / max(1, labels_in_span),
                "seq_scans": {
                    rel: work1.get(f"{rel}_seq_scans", 0) - work0.get(f"{rel}_seq_scans", 0)
                    for rel in ("items", "annotations", "leases")
                },
                "seq_rows_per_label": sum(
                    work1.get(f"{rel}_seq_rows", 0) - work0.get(f"{rel}_seq_rows", 0)
                    for rel in ("items", "annotations", "leases")
                )
                / max(1, labels_in_span),
            },
        }
    )
    print("   checking invariants ...", flush=True)
    result["invariants"] = check_invariants(
        setup["url"], setup["project_id"], [i for _, i in accepted]
    )
    return result


# --------------------------------------------------------------------------- reporting
def _print_run(r: dict[str, Any]) -> None:
    n, a, c = r["next"], r["annotate"], r["cpu"]
    print(
        f"   {'call':<9} {'n':>7} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8} {'mean ms':>8}"
    )
    for name, s in (("next", n), ("annotate", a)):
        print(
            f"   {name:<9} {s['n']:>7} {s['p50_ms']:>8.1f} {s['p90_ms']:>8.1f} {s['p99_ms']:>8.1f} "
            f"{s['max_ms']:>8.1f} {s['mean_ms']:>8.1f}"
        )
    paced = (
        f" (target {r['target_rate']:g}/s, {r['late_cycles']} cycles late)"
        if r["target_rate"]
        else ""
    )
    print(
        f"   labels/s {r['labels_per_s']:.1f}{paced} ({r['labels']} accepted in {r['wall_s']:.1f} s), "
        f"requests/s {r['requests_per_s']:.1f}, server+db CPU {r['cpu_ms_per_label']:.1f} ms/label, "
        f"errors {r['errors'] or 'none'}"
    )
    print(
        f"   CPU: server {c['server_cores']:.2f} cores, postgres {c['postgres_cores']:.2f} cores, "
        f"clients {c['clients_cpu_s_total']:.1f} s in total, other work ~{c['other_cores']:.2f} cores; "
        f"machine busy {c['machine_busy_pct']:.0f}% "
        f"(steal {c['steal_pct']:.0f}%), load avg {c['loadavg_1m_before']:.2f} -> {c['loadavg_1m_after']:.2f}"
    )
    rm = r["rater_median_ms"]
    print(
        f"   per-rater median latency: fastest {rm['fastest']:.1f} ms, median {rm['median']:.1f} ms, "
        f"slowest {rm['slowest']:.1f} ms"
    )
    for key, sample in r["error_samples"].items():
        print(f"   first {key}: {sample}")
    d = r["db"]
    print(
        f"   PostgreSQL work per label: {d['buffers_per_label']:.0f} buffer accesses, "
        f"{d['tuples_per_label']:.0f} rows read, {d['seq_rows_per_label']:.0f} by sequential scans "
        f"(seq scans in the window: {d['seq_scans']})"
    )
    inv = r["invariants"]
    print(
        f"   invariants {'OK' if inv['ok'] else 'BROKEN'}: max current labels/item "
        f"{inv['max_current_labels_per_item']} (items above {OVERLAP}: {inv['items_above_overlap']}), "
        f"rater twice on an item: {inv['rater_item_pairs_twice']}, done+leased over budget: "
        f"{inv['items_over_budget_done_plus_leased']}, 201s {inv['accepted_201']} / stored "
        f"{inv['stored_annotations']} (missing {inv['accepted_missing_from_db']}), "
        f"counter mismatches {inv['counter_mismatches']}",
        flush=True,
    )


def _print_table(runs: list[dict[str, Any]]) -> None:
    print("\n" + "=" * 100)
    print(
        f"{'items':>9} {'gunicorn':>8} | {'next p50':>8} {'next p99':>8} | {'ann p50':>8} {'ann p99':>8} | "
        f"{'labels/s':>8} {'cpu/lbl':>7} | {'srv':>4} {'pg':>4} {'other':>5} {'busy':>5} | inv"
    )
    for r in runs:
        print(
            f"{r['size']:>9,} {str(r['workers']) + 'x' + str(r['threads']):>8} | "
            f"{r['next']['p50_ms']:>8.1f} {r['next']['p99_ms']:>8.1f} | "
            f"{r['annotate']['p50_ms']:>8.1f} {r['annotate']['p99_ms']:>8.1f} | "
            f"{r['labels_per_s']:>8.1f} {r['cpu_ms_per_label']:>7.1f} | {r['cpu']['server_cores']:>4.2f} {r['cpu']['postgres_cores']:>4.2f} "
            f"{r['cpu']['other_cores']:>5.2f} "
            f"{r['cpu']['machine_busy_pct']:>4.0f}% | {'OK' if r['invariants']['ok'] else 'BROKEN'}"
        )
    print(
        "(latencies in ms; cpu/lbl = ms of gunicorn + PostgreSQL CPU per accepted label;\n"
        " srv/pg = cores used by gunicorn / this database's PostgreSQL backends;\n"
        " other = cores busy with other work on the machine, i.e. the load; busy = whole machine)"
    )


def _ratios(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for setting in sorted({(r["workers"], r["threads"]) for r in runs}):
        same = [r for r in runs if (r["workers"], r["threads"]) == setting]
        sizes = sorted({r["size"] for r in same})
        if len(sizes) < 2:
            continue
        small = statistics.median([r["next"]["p50_ms"] for r in same if r["size"] == sizes[0]])
        small99 = statistics.median([r["next"]["p99_ms"] for r in same if r["size"] == sizes[0]])
        big = statistics.median([r["next"]["p50_ms"] for r in same if r["size"] == sizes[-1]])
        big99 = statistics.median([r["next"]["p99_ms"] for r in same if r["size"] == sizes[-1]])
        bsmall = statistics.median(
            [r["db"]["buffers_per_label"] for r in same if r["size"] == sizes[0]]
        )
        bbig = statistics.median(
            [r["db"]["buffers_per_label"] for r in same if r["size"] == sizes[-1]]
        )
        out.append(
            {
                "workers": setting[0],
                "threads": setting[1],
                "small": sizes[0],
                "large": sizes[-1],
                "next_p50_ratio": big / small,
                "next_p99_ratio": big99 / small99,
                "db_buffers_per_label_ratio": bbig / bsmall if bsmall else float("nan"),
            }
        )
    return out


def _aims(runs: list[dict[str, Any]], ratios: list[dict[str, Any]]) -> list[str]:
    lines = []
    for r in runs:
        p99 = max(r["next"]["p99_ms"], r["annotate"]["p99_ms"])
        tag = f"{r['size']:,} items {r['workers']}x{r['threads']}"
        if r["target_rate"]:
            # Paced: the throughput aim holds when the target (>= the aim) was sustained.
            ok = (
                r["target_rate"] >= AIM_LABELS_PER_S
                and r["labels_per_s"] >= 0.98 * r["target_rate"]
            )
            rate = (
                f"{r['labels_per_s']:.1f} labels/s at a target of {r['target_rate']:g} "
                f"{'PASS' if ok else 'MISS'} (sustain >= {AIM_LABELS_PER_S:.0f}; paced, capacity not measured)"
            )
        else:
            ok = r["labels_per_s"] >= AIM_LABELS_PER_S
            rate = f"{r['labels_per_s']:.0f} labels/s {'PASS' if ok else 'MISS'} (>= {AIM_LABELS_PER_S:.0f})"
        lines.append(
            f"{tag}: p99 {p99:.0f} ms {'PASS' if p99 < AIM_P99_MS else 'MISS'} (< {AIM_P99_MS:.0f}), "
            + rate
        )
    for q in ratios:
        worst = max(q["next_p50_ratio"], q["next_p99_ratio"])
        lines.append(
            f"{q['large']:,} vs {q['small']:,} items ({q['workers']}x{q['threads']}): next p50 x"
            f"{q['next_p50_ratio']:.2f}, p99 x{q['next_p99_ratio']:.2f} "
            f"{'PASS' if worst <= AIM_SIZE_RATIO else 'MISS'} (<= x{AIM_SIZE_RATIO:.2f}); "
            f"PostgreSQL buffers per label x{q['db_buffers_per_label_ratio']:.2f} "
            f"{'PASS' if q['db_buffers_per_label_ratio'] <= AIM_SIZE_RATIO else 'MISS'}"
        )
    return lines


def _git_describe() -> str:
    import subprocess

    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "labeler"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + (" (labeler/ has uncommitted changes)" if dirty else "")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--items", type=int, default=100_000, help="items in the project (default 100000)"
    )
    ap.add_argument(
        "--sizes", default=None, help="comma-separated item counts, e.g. 100000,1000000"
    )
    ap.add_argument("--raters", type=int, default=32)
    ap.add_argument("--duration", type=float, default=30.0, help="measured seconds (default 30)")
    ap.add_argument(
        "--warmup", type=float, default=5.0, help="unmeasured seconds first (default 5)"
    )
    ap.add_argument(
        "--rounds",
        type=int,
        default=None,
        help="instead of a duration: next+annotate rounds per rater, all measured",
    )
    ap.add_argument(
        "--gunicorn",
        default="4x2",
        help="comma-separated WORKERSxTHREADS settings to try (default 4x2, the best measured on 2 cores)",
    )
    ap.add_argument(
        "--repeat", type=int, default=1, help="runs per (size, setting); medians reported"
    )
    ap.add_argument(
        "--client-procs", type=int, default=2, help="load-generator processes (default 2)"
    )
    ap.add_argument(
        "--rate",
        type=float,
        default=None,
        help="paced mode: total labels/s the raters aim at (default: closed loop, flat out)",
    )
    ap.add_argument(
        "--think-ms",
        type=float,
        default=0.0,
        help="mean think time between next and annotate (default 0: closed loop, saturation)",
    )
    ap.add_argument(
        "--skip-rate", type=float, default=0.0, help="fraction of answers that are skips"
    )
    ap.add_argument(
        "--gold-items",
        type=int,
        default=0,
        help="gold items in the project (served to every rater once; not held to overlap)",
    )
    ap.add_argument(
        "--gold-rate", type=float, default=0.0, help="project.gold_rate (0 to 0.5; default 0)"
    )
    ap.add_argument("--json", dest="json_path", default=None, help="write the results here")
    ap.add_argument(
        "--app-path",
        default=None,
        help="directory put first on the server's PYTHONPATH: serve a patched copy of labeler",
    )
    ap.add_argument(
        "--keep-db", action="store_true", help="do not drop the databases (for EXPLAIN)"
    )
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else [args.items]
    settings = []
    for s in args.gunicorn.split(","):
        w, t = s.lower().split("x")
        settings.append((int(w), int(t)))
    print(
        f"labeler assignment benchmark: sizes {sizes}, gunicorn {settings}, {args.raters} raters "
        f"from {args.client_procs} client processes, "
        + (
            f"{args.rounds} rounds each"
            if args.rounds
            else f"{args.warmup:g} s warm-up + {args.duration:g} s"
        )
        + f"; {os.cpu_count()} CPUs, load avg {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    runs = []
    for size in sizes:
        for w, t in settings:
            for _ in range(args.repeat):
                runs.append(run_once(size, w, t, args))
    _print_table(runs)
    ratios = _ratios(runs)
    for q in ratios:
        print(
            f"next at {q['large']:,} vs {q['small']:,} items ({q['workers']}x{q['threads']}): "
            f"p50 ratio {q['next_p50_ratio']:.2f}, p99 ratio {q['next_p99_ratio']:.2f}; "
            f"PostgreSQL buffer accesses per label ratio {q['db_buffers_per_label_ratio']:.2f}"
        )
    aims = _aims(runs, ratios)
    print("aims:\n  " + "\n  ".join(aims))
    ok = all(r["invariants"]["ok"] for r in runs)
    print(f"invariants: {'all OK' if ok else 'BROKEN in some run'}")
    if args.json_path:
        doc = {
            "config": dict(vars(args)),
            "cpus": os.cpu_count(),
            "git": _git_describe(),
            "runs": runs,
            "ratios": ratios,
            "aims": aims,
            "invariants_ok": ok,
        }
        Path(args.json_path).write_text(json.dumps(doc, indent=2))
        print(f"wrote {args.json_path}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
