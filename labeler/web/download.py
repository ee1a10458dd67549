"""Headers for file downloads that survive any file name.

A project name may hold non-Latin-1 characters, quotes or newlines; put raw into
``Content-Disposition`` they break the response (gunicorn refuses the header).
RFC 6266 gives the answer: an ASCII ``filename=`` fallback for old clients and
the exact name, percent-encoded, in ``filename*=UTF-8''...`` (RFC 5987).
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


def content_disposition(filename: str) -> str:
    """An ``attachment`` header value for ``filename``.

    >>> content_disposition("news.jsonl")
    'attachment; filename="news.jsonl"; filename*=UTF-8\\'\\'news.jsonl'
    >>> content_disposition("отзывы.csv")
    'attachment; filename="download.csv"; filename*=UTF-8\\'\\'%D0%BE%D1%82%D0%B7%D1%8B%D0%B2%D1%8B.csv'
    >>> content_disposition('a "b"\\nc.csv')
    'attachment; filename="a _b_c.csv"; filename*=UTF-8\\'\\'a%20%22b%22%0Ac.csv'
    """
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    stem, dot, ext = _UNSAFE.sub("_", ascii_name).rpartition(".")
    if not dot:
        stem, ext = ext, ""
    stem = stem.strip(" ._") or "download"
    fallback = f"{stem}.{ext}" if dot else stem
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
