"""Reading an uploaded CSV (UTF-8 with or without BOM, or GBK) or Excel .xlsx file into a header and rows of text.

Nothing in a file is ever run: an Excel formula gives the value Excel saved with it (or nothing), a CSV cell that
starts with = is just text.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from openpyxl import load_workbook  # type: ignore[import-untyped]

from engine.domain import anomaly_uploads as rules
from engine.domain.errors import PayloadTooLargeError, ValidationError

MAX_UNZIPPED_BYTES = 200 * 1024 * 1024  # a workbook that unpacks to more than this is refused (zip bombs)
OLD_EXCEL = b"\xd0\xcf\x11\xe0"
ZIP = b"PK\x03\x04"


@dataclass(frozen=True)
class Table:
    """A file's header (column names) and its non-empty data rows, each with its row number in the file."""

    headers: list[str]
    rows: list[list[str]]
    row_numbers: list[int]


def read_table(filename: str, content: bytes) -> Table:
    """The table in an uploaded file; ValidationError (field "file") or PayloadTooLargeError says what is wrong."""
    name = (filename or "").strip().lower()
    if len(content) > rules.MAX_UPLOAD_BYTES:
        raise _too_large(f"the file is larger than {rules.MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
    if not content.strip():
        raise _refused("the file is empty")
    if content.startswith(OLD_EXCEL) or name.endswith(".xls"):
        raise _refused("old Excel files (.xls) are not read: save the sheet as .xlsx or CSV")
    if content.startswith(ZIP) or name.endswith(".xlsx"):
        return _table(_xlsx_rows(content))
    if name.endswith((".csv", ".txt")) or not name:
        return _table(_csv_rows(content))
    raise _refused("upload a CSV (.csv) or Excel (.xlsx) file")


def _refused(message: str) -> ValidationError:
    return ValidationError({"file": [message]})


def _too_large(message: str) -> PayloadTooLargeError:
    return PayloadTooLargeError(message, {"fields": {"file": [message]}})


def _csv_rows(content: bytes) -> Iterator[tuple[int, list[str]]]:
    if b"\x00" in content:
        raise _refused("the file is not a text (CSV) file")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = content.decode("gbk")
        except UnicodeDecodeError:
            raise _refused("the file is neither UTF-8 nor GBK text; save it as CSV UTF-8") from None
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:8192], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        for number, cells in enumerate(reader, start=1):
            yield number, [cell.strip() for cell in cells]
    except csv.Error as err:
        raise _refused(f"the CSV cannot be read near row {reader.line_num}: {err}") from None


def _xlsx_rows(content: bytes) -> Iterator[tuple[int, list[str]]]:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
        if unpacked > MAX_UNZIPPED_BYTES:
            raise _too_large(f"the workbook unpacks to more than {MAX_UNZIPPED_BYTES // (1024 * 1024)} MB")
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError):
        raise _refused("the file is not a readable Excel (.xlsx) workbook") from None
    except Exception as err:  # openpyxl raises its own kinds for broken parts of the package
        if isinstance(err, ValidationError | PayloadTooLargeError):
            raise
        raise _refused("the file is not a readable Excel (.xlsx) workbook") from None
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        if sheet is None:
            raise _refused("the workbook has no sheet")
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, [_text(v) for v in values]
    finally:
        book.close()


def _text(value: object) -> str:
    """A cell as text: whole numbers without .0, dates and times in ISO 8601 (local time, as the sheet shows it)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep="T", timespec="seconds")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value).strip()


def _table(numbered: Iterable[tuple[int, list[str]]]) -> Table:
    """The first non-empty row names the columns; empty rows are left out; the row limit is checked as rows come."""
    headers: list[str] | None = None
    rows: list[list[str]] = []
    numbers: list[int] = []
    for number, cells in numbered:
        while cells and cells[-1] == "":
            cells.pop()
        if not cells:
            continue
        if headers is None:
            headers = _headers(cells)
            continue
        if len(rows) >= rules.MAX_UPLOAD_ROWS:
            raise _too_large(
                f"the file has more than {rules.MAX_UPLOAD_ROWS} data rows; split it, or send the rows through the API"
            )
        rows.append(cells[: len(headers)])
        numbers.append(number)
    if headers is None:
        raise _refused("the file is empty")
    if not rows:
        raise _refused("the file has a header row but no data rows")
    return Table(headers, rows, numbers)


def _headers(cells: list[str]) -> list[str]:
    if len(cells) > rules.MAX_COLUMNS:
        raise _refused(f"the file has more than {rules.MAX_COLUMNS} columns")
    if all(_looks_like_data(c) for c in cells if c):
        raise _refused("the first row must name the columns (a header row), e.g. external_id, target, unit")
    for at, cell in enumerate(cells, start=1):
        if not cell:
            raise _refused(f"column {at} has no name in the header row")
        if len(cell) > 100:
            raise _refused(f"the name of column {at} is longer than 100 characters")
    seen: set[str] = set()
    for cell in cells:
        if cell in seen:
            raise _refused(f"two columns are named {cell}; column names must differ")
        seen.add(cell)
    return cells


def _looks_like_data(cell: str) -> bool:
    """Numbers and dates name no column: a first row made only of them is data, not a header."""
    try:
        float(cell)
        return True
    except ValueError:
        pass
    try:
        dt.datetime.fromisoformat(cell)
        return True
    except ValueError:
        return False
