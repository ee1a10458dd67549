"""Private files in the data dir: the directory 0700, its files 0600.

The SQLite database holds password hashes and the secret key signs every
session, so nobody else on the host may read them. SQLite gives its ``-wal`` and
``-shm`` files the mode of the database file, and kombu's SQLite broker is a
plain SQLite file too, so creating the files 0600 before anything opens them
(and tightening files an older version left 0644) covers all of them.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from sqlalchemy.engine import make_url

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def ensure_private_dir(path: Path) -> None:
    """Create ``path`` (and parents) and make it 0700."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    with contextlib.suppress(PermissionError):  # a directory someone else owns
        path.chmod(PRIVATE_DIR)


def ensure_private_file(path: Path) -> None:
    """Create ``path`` empty if missing; make it 0600 either way."""
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, PRIVATE_FILE)
    os.close(fd)
    path.chmod(PRIVATE_FILE)


def write_private_file(path: Path, text: str) -> None:
    """Write ``text`` to a file that is 0600 from the moment it exists."""
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, PRIVATE_FILE)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    path.chmod(PRIVATE_FILE)


def sqlite_file(url: str) -> Path | None:
    """The file behind a SQLite URL (``sqlite:///`` or kombu's ``sqla+sqlite:///``), else None.

    >>> sqlite_file("sqla+sqlite:////tmp/x/broker.db")
    PosixPath('/tmp/x/broker.db')
    >>> sqlite_file("sqlite://") is None, sqlite_file("redis://h:6379/0") is None
    (True, True)
    """
    if url.startswith("sqla+"):
        url = url[len("sqla+") :]
    if not url.startswith("sqlite"):
        return None
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def secure_data_files(data_dir: Path, *urls: str) -> None:
    """Make the data dir 0700 and the SQLite files of ``urls`` (with -wal/-shm) 0600."""
    ensure_private_dir(data_dir)
    for url in urls:
        path = sqlite_file(url)
        if path is None:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        ensure_private_file(path)
        for suffix in ("-wal", "-shm", "-journal"):
            side = path.with_name(path.name + suffix)
            if side.exists():
                side.chmod(PRIVATE_FILE)
    secret = data_dir / "secret_key"
    if secret.exists():
        secret.chmod(PRIVATE_FILE)
