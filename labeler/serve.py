"""Serving the app: gunicorn in production, werkzeug's threaded server for the demo."""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask


def run_gunicorn(host: str, port: int, workers: int, threads: int = 4) -> None:
    from gunicorn.app.base import BaseApplication

    class _App(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", "gthread" if threads > 1 else "sync")
            self.cfg.set("accesslog", None)
            self.cfg.set("graceful_timeout", 10)

        def load(self) -> Any:
            from labeler import create_app

            app = create_app()
            # In the background: the worker answers at once, and the libraries are in
            # memory by the time an SME opens the LF page.
            threading.Thread(target=warm_web_imports, name="warm-imports", daemon=True).start()
            return app

    _App().run()


def warm_web_imports() -> None:
    """Load what the first LF preview and suggestion need (pyarrow, RE2, scikit-learn) in
    a serving process at start (a background thread), not in its first request. Other processes (the CLI, the
    worker) create the app without them: a CLI export stays small."""
    import labeler.weak.apply  # noqa: F401
    import labeler.weak.suggest  # noqa: F401


def run_simple_server(app: Flask, host: str, port: int) -> None:
    from werkzeug.serving import run_simple

    run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)
