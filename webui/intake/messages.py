"""The intake's refusals (English from the engine) and its field and measure names in the person's language."""

from __future__ import annotations

import re
from collections.abc import Callable

from webui.tasks.names import _

_Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]

_RULES: list[_Rule] = [
    # Rows (engine/domain/anomalies.py)
    (re.compile(r".* is required"), lambda m: _("Required: this cell is empty.")),
    (re.compile(r".* is longer than (\d+) characters"), lambda m: _("Longer than %(n)s characters.", n=m[1])),
    (
        re.compile(r"no unit (.+) \(or it is outside your units\)"),
        lambda m: _("No unit %(unit)s, or it is outside your units.", unit=m[1]),
    ),
    (re.compile(r"must be (a|a finite) number"), lambda m: _("Enter a number, like 2.5.")),
    (
        re.compile(r"this topic has numeric thresholds: give the measured value"),
        lambda m: _("This topic has thresholds: the value is needed."),
    ),
    (re.compile(r"an ISO 8601 date or time.*"), lambda m: _("Enter a date or time, like 2026-11-20 08:30.")),
    (re.compile(r"lies in the future"), lambda m: _("Lies in the future.")),
    # Files (engine/services/upload_tables.py)
    (re.compile(r"the file is larger than (\d+) MB"), lambda m: _("The file is larger than %(mb)s MB.", mb=m[1])),
    (re.compile(r"the file is empty"), lambda m: _("The file is empty.")),
    (
        re.compile(r"old Excel files \(\.xls\) are not read.*"),
        lambda m: _("Old Excel files (.xls) cannot be read: save the sheet as .xlsx or CSV."),
    ),
    (
        re.compile(r"upload a CSV \(\.csv\) or Excel \(\.xlsx\) file"),
        lambda m: _("Upload a CSV (.csv) or Excel (.xlsx) file."),
    ),
    (re.compile(r"the file is not a text \(CSV\) file"), lambda m: _("The file is not a text (CSV) file.")),
    (
        re.compile(r"the file is neither UTF-8 nor GBK text.*"),
        lambda m: _("The file is neither UTF-8 nor GBK text: save it as CSV UTF-8."),
    ),
    (
        re.compile(r"the CSV cannot be read near row (\d+).*"),
        lambda m: _("The CSV cannot be read near row %(n)s.", n=m[1]),
    ),
    (
        re.compile(r"the workbook unpacks to more than (\d+) MB"),
        lambda m: _("The workbook unpacks to more than %(mb)s MB.", mb=m[1]),
    ),
    (
        re.compile(r"the file is not a readable Excel \(\.xlsx\) workbook"),
        lambda m: _("The file is not a readable Excel (.xlsx) workbook."),
    ),
    (re.compile(r"the workbook has no sheet"), lambda m: _("The workbook has no sheet.")),
    (
        re.compile(r"the file has more than (\d+) data rows.*"),
        lambda m: _("The file has more than %(n)s data rows: split it, or send the rows through the API.", n=m[1]),
    ),
    (
        re.compile(r"the file has a header row but no data rows"),
        lambda m: _("The file has a header row but no data rows."),
    ),
    (re.compile(r"the file has more than (\d+) columns"), lambda m: _("The file has more than %(n)s columns.", n=m[1])),
    (
        re.compile(r"the first row must name the columns.*"),
        lambda m: _("The first row must name the columns (a header row), e.g. external_id, target, unit."),
    ),
    (
        re.compile(r"column (\d+) has no name in the header row"),
        lambda m: _("Column %(n)s has no name in the header row.", n=m[1]),
    ),
    (
        re.compile(r"the name of column (\d+) is longer than 100 characters"),
        lambda m: _("The name of column %(n)s is longer than 100 characters.", n=m[1]),
    ),
    (
        re.compile(r"two columns are named (.+); column names must differ"),
        lambda m: _("Two columns are named %(name)s; column names must differ.", name=m[1]),
    ),
    # Mapping (engine/domain/anomaly_uploads.py) and topic
    (re.compile(r"choose the column that holds this field"), lambda m: _("Choose the column that holds this field.")),
    (re.compile(r"the file has no column (.+)"), lambda m: _("The file has no column %(name)s.", name=m[1])),
    (
        re.compile(r"column (.+) is already used for (\w+)"),
        lambda m: _("Column %(name)s is already used for %(field)s.", name=m[1], field=field_label(m[2])),
    ),
    (re.compile(r"no topic (.+)"), lambda m: _("There is no topic %(code)s.", code=m[1])),
    (re.compile(r"topic (\S+) is not active.*"), lambda m: _("Topic %(code)s is not active.", code=m[1])),
]


def message(text: str) -> str:
    """One engine message in the person's language (as the engine wrote it when it is not known here)."""
    for pattern, render in _RULES:
        match = pattern.fullmatch(text.strip())
        if match:
            return render(match)
    return text


def messages(fields: dict[str, list[str]]) -> dict[str, list[str]]:
    return {name: [message(m) for m in found] for name, found in fields.items()}


def field_label(name: str) -> str:
    """The name of an item field."""
    return {
        "external_id": _("External ID"),
        "target": _("Target (customer, meter or process number)"),
        "unit": _("Unit code"),
        "value": _("Value"),
        "observed_at": _("Observed at"),
        "description": _("Description"),
        "data": _("Other columns kept as data"),
        "item": _("Row"),
        "file": _("File"),
        "topic": _("Topic"),
        "mapping": _("Mapping"),
    }.get(name, name)


def measure_label(name: str) -> str:
    """The name of a report measure or batch count."""
    return {
        "received": _("Received"),
        "rejected": _("Rejected"),
        "unchanged": _("Sent before (unchanged)"),
        "found": _("Found"),
        "raised": _("Cases raised"),
        "merged": _("Merged into open cases"),
        "skipped": _("Skipped (white list)"),
        "recorded": _("Recorded only"),
        "warned": _("Warned"),
        "completed": _("Cases completed"),
        "overdue": _("Cases overdue"),
    }.get(name, name)
