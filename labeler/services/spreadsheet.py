"""Cells that a spreadsheet shows and never runs (CSV exports and reports alike).

Apart from :mod:`labeler.services.exporting` so that the quality report, which
the export's consensus imports, can use it without an import cycle.
"""

from __future__ import annotations

__all__ = ["spreadsheet_safe"]

# OWASP's CSV-injection rule: a cell starting with one of these is a formula to
# Excel, LibreOffice and Google Sheets. Such cells get a leading apostrophe.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell: str) -> str:
    """``cell`` as a spreadsheet will show it, never run it (OWASP CSV injection rule).

    >>> spreadsheet_safe("=1+1")
    "'=1+1"
    >>> spreadsheet_safe("-1"), spreadsheet_safe("plain")
    ("'-1", 'plain')
    """
    return "'" + cell if cell.startswith(_FORMULA_START) else cell
