"""Uploaded anomaly tables: the limits, the mapping of a file's columns to the item fields, and the items it makes."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from engine.domain.views import AnomalyBatchView

FIELDS = ("external_id", "target", "unit", "value", "observed_at", "description", "data")
REQUIRED = ("external_id", "target", "unit", "observed_at", "description")
MAX_UPLOAD_BYTES = 10 * 1024 * 1024  # a 20,000-row export of the marketing system is about 3 MB
MAX_UPLOAD_ROWS = 20_000  # larger sets go through the API or a scheduled SQL check
MAX_COLUMNS = 100
MAX_CELL_CHARS = 4_000
PREVIEW_ROWS = 10
KEEP_UPLOAD = dt.timedelta(days=7)  # an upload not sent on is dropped after this

# Header names of the marketing system's exports and of hand-made sheets, compared without case, spaces, _ or -.
ALIASES: dict[str, tuple[str, ...]] = {
    "external_id": ("external_id", "externalid", "id", "异常编号", "工单编号", "编号", "外部编号", "流水号", "异常id"),
    "target": (
        "target",
        "稽查对象",
        "对象",
        "户号",
        "用户编号",
        "客户编号",
        "用户号",
        "表号",
        "电能表编号",
        "流程编号",
        "customer",
        "meter",
    ),
    "unit": ("unit", "unitcode", "单位", "单位编码", "单位代码", "供电单位", "管理单位", "所属单位"),
    "value": ("value", "值", "数值", "异常值", "指标值", "测量值"),
    "observed_at": (
        "observed_at",
        "observedat",
        "observed",
        "date",
        "time",
        "发现时间",
        "时间",
        "日期",
        "发生时间",
        "监测时间",
    ),
    "description": ("description", "desc", "描述", "异常描述", "问题描述", "说明", "异常说明"),
}
_SEPARATORS = re.compile(r"[\s_\-（）()]+")


@dataclass(frozen=True)
class UploadView:
    """An uploaded table waiting to be mapped, checked and sent: its columns, first rows and suggested mapping."""

    id: int
    topic_code: str
    filename: str
    uploaded_by: str
    uploaded_at: dt.datetime
    headers: tuple[str, ...]
    preview: tuple[tuple[str, ...], ...]
    row_count: int
    mapping: dict[str, Any]
    batch_id: int | None


@dataclass(frozen=True)
class RowProblem:
    """One refused row of a checked upload: its row in the file, its external id, the field and the reason."""

    row: int
    external_id: str | None
    field: str
    reason: str


@dataclass(frozen=True)
class UploadCheck:
    """What sending an upload would do to its rows, found before anything is created."""

    upload: UploadView
    mapping: dict[str, Any]
    rows: int
    valid: int
    rejected: int
    unchanged: int
    problems: tuple[RowProblem, ...]
    problem_count: int


@dataclass(frozen=True)
class BatchCase:
    """A case a batch raised or fed (merged occurrences), with how many of the batch's items went to it."""

    case_id: int
    case_no: str
    target: str
    unit: str
    status: str
    outcome: str
    occurrences: int


@dataclass(frozen=True)
class UploadReport:
    """A batch's report as the upload page shows it: the batch, its cases, and the file row of each item."""

    batch: AnomalyBatchView
    cases: tuple[BatchCase, ...]
    row_numbers: tuple[int, ...]
    filename: str | None

    def file_row(self, item_no: int) -> int | None:
        """The row in the uploaded file of batch item `item_no` (None once the upload is no longer kept)."""
        return self.row_numbers[item_no - 1] if 0 < item_no <= len(self.row_numbers) else None


def normalise_header(text: str) -> str:
    """A header as compared with the aliases: lower case, without spaces, underscores, dashes or brackets."""
    return _SEPARATORS.sub("", text.strip().lower())


def guess_mapping(headers: list[str] | tuple[str, ...], remembered: dict[str, Any] | None = None) -> dict[str, Any]:
    """Field -> column: the topic's remembered mapping where this file has those columns, else by header name."""
    present = set(headers)
    mapping: dict[str, Any] = {}
    remembered = remembered or {}
    taken: set[str] = set()
    for name in FIELDS[:-1]:
        wanted = remembered.get(name)
        if isinstance(wanted, str) and wanted in present:
            mapping[name] = wanted
            taken.add(wanted)
    by_alias = {normalise_header(h): h for h in reversed(headers)}  # the first of equal headers wins
    for name in FIELDS[:-1]:
        if name in mapping:
            continue
        for alias in ALIASES[name]:
            header = by_alias.get(normalise_header(alias))
            if header is not None and header not in taken:
                mapping[name] = header
                taken.add(header)
                break
    kept = remembered.get("data")
    mapping["data"] = [h for h in kept if h in present and h not in taken] if isinstance(kept, list) else []
    return mapping


def mapping_problems(mapping: dict[str, Any], headers: list[str] | tuple[str, ...]) -> dict[str, list[str]]:
    """Why a mapping cannot be used with these columns (empty when it can)."""
    problems: dict[str, list[str]] = {}
    present = set(headers)
    unknown = sorted(set(mapping) - set(FIELDS))
    if unknown:
        problems["mapping"] = [f"unknown field(s) {', '.join(unknown)}"]
    used: dict[str, str] = {}
    for name in FIELDS[:-1]:
        column = mapping.get(name)
        if column in (None, ""):
            if name in REQUIRED:
                problems[name] = ["choose the column that holds this field"]
            continue
        if not isinstance(column, str) or column not in present:
            problems[name] = [f"the file has no column {column}"]
        elif column in used:
            problems[name] = [f"column {column} is already used for {used[column]}"]
        else:
            used[column] = name
    data = mapping.get("data") or []
    if not isinstance(data, list) or not all(isinstance(c, str) for c in data):
        problems["data"] = ["a list of column names"]
    else:
        missing = [c for c in data if c not in present]
        if missing:
            problems["data"] = [f"the file has no column {', '.join(missing)}"]
    return problems


def build_items(
    headers: list[str] | tuple[str, ...], rows: list[list[str]], mapping: dict[str, Any]
) -> list[dict[str, Any]]:
    """The items the rows make under a checked mapping: empty cells left out, extra columns gathered under data."""
    index = {h: i for i, h in reversed(list(enumerate(headers)))}
    fields = [(name, index[mapping[name]]) for name in FIELDS[:-1] if mapping.get(name)]
    extra = [(column, index[column]) for column in mapping.get("data") or []]
    items = []
    for cells in rows:
        item: dict[str, Any] = {}
        for name, at in fields:
            value = cells[at] if at < len(cells) else ""
            if value != "":
                item[name] = value
        data = {column: cells[at] for column, at in extra if at < len(cells) and cells[at] != ""}
        if data:
            item["data"] = data
        items.append(item)
    return items


@dataclass(frozen=True)
class Occurrence:
    """One anomaly attached to a case: the item as it came, and what it did (raised the case or merged into it)."""

    external_id: str
    target: str
    unit: str
    value: float | None
    observed_at: dt.datetime
    description: str
    outcome: str
    batch_id: int
