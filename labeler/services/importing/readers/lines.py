"""Decoding bytes to text line by line, naming the lines that are not UTF-8."""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterator
from typing import BinaryIO

from labeler.services.importing.readers.rows import Problem

UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
#: A file with more bad lines than this is not worth listing further.
MAX_LISTED = 20


class Lines:
    """Decoded lines of a binary stream, counted in ``lineno``.

    A line that is not UTF-8 is reported (see ``drain``) and passed on with
    replacement characters, so parsing goes on to find further problems. UTF-8
    never uses the newline byte inside a character, so decoding line by line is exact.

    >>> lines = Lines(io.BytesIO(b"\\xef\\xbb\\xbfa\\nb\\xff\\n"))
    >>> list(lines), lines.lineno
    (['a\\n', 'b\\ufffd\\n'], 2)
    >>> lines.drain()[0].message
    'not UTF-8 (byte 0xff at byte 2 of the line); save the file as UTF-8'
    """

    def __init__(self, stream: BinaryIO) -> None:
        # A raw stream's readline reads byte by byte; buffer it.
        self._stream = io.BufferedReader(stream) if isinstance(stream, io.RawIOBase) else stream
        self.lineno = 0
        self._problems: list[Problem] = []

    def __iter__(self) -> Iterator[str]:
        for raw in iter(self._stream.readline, b""):
            self.lineno += 1
            if self.lineno == 1:
                if raw.startswith(UTF16_BOMS):
                    self._problems.append(Problem(1, None, "the file is UTF-16; save it as UTF-8"))
                    return
                raw = raw.removeprefix(codecs.BOM_UTF8)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                self._problems.append(
                    Problem(
                        self.lineno,
                        None,
                        f"not UTF-8 (byte 0x{raw[exc.start]:02x} at byte {exc.start + 1} "
                        "of the line); save the file as UTF-8",
                    )
                )
                text = raw.decode("utf-8", "replace")
            yield text

    def drain(self) -> list[Problem]:
        """The problems found since the last call."""
        found, self._problems = self._problems, []
        return found


def read_text(stream: BinaryIO) -> tuple[str | None, list[Problem]]:
    """The whole stream as text, or None and the lines that are not UTF-8.

    >>> read_text(io.BytesIO(b"ok"))
    ('ok', [])
    >>> read_text(io.BytesIO(b"a\\n\\xff"))[1][0].line
    2
    """
    raw = stream.read()
    if raw.startswith(UTF16_BOMS):
        return None, [Problem(1, None, "the file is UTF-16; save it as UTF-8")]
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        lines = Lines(io.BytesIO(raw))
        found: list[Problem] = []
        for _ in lines:
            found += lines.drain()
            if len(found) > MAX_LISTED:
                break
        return None, found
