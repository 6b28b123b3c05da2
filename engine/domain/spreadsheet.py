"""Values as they go into exported spreadsheets and CSV files: text that a spreadsheet would run is defused."""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """Numbers stay numbers; text starting like a formula (= + - @, tab, CR) gets a leading ' so it stays text."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
