"""Results: one JSON file per benchmark under bench/results/, and the table printed at the end of a run."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Row:
    """One line of the printed table."""

    bench: str
    case: str
    n: int
    median_ms: float
    p95_ms: float
    p99_ms: float
    per_s: float | None
    reference: str
    ratio: str
    target: str
    verdict: str  # "ok", "MISS" or "" (no target on this line)


def verdict(ok: bool | None) -> str:
    return "" if ok is None else ("ok" if ok else "MISS")


def write(name: str, payload: dict[str, Any], *, smoke: bool) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / (f"{name}-smoke.json" if smoke else f"{name}.json")
    path.write_text(json.dumps(payload, indent=2, sort_keys=False, default=str) + "\n", encoding="utf-8")
    return path


def _num(value: float | None, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:,.{digits}f}"


def table(rows: list[Row]) -> str:
    header = ("bench", "case", "n", "median ms", "p95 ms", "p99 ms", "per s", "reference", "ratio", "target", "")
    cells = [
        (
            r.bench,
            r.case,
            str(r.n),
            _num(r.median_ms, 3),
            _num(r.p95_ms, 3),
            _num(r.p99_ms, 3),
            _num(r.per_s, 1),
            r.reference,
            r.ratio,
            r.target,
            r.verdict,
        )
        for r in rows
    ]
    widths = [max(len(str(c[i])) for c in [header, *cells]) for i in range(len(header))]
    numeric = {2, 3, 4, 5, 6}

    def line(values: tuple[str, ...]) -> str:
        return "  ".join(
            v.rjust(w) if i in numeric else v.ljust(w) for i, (v, w) in enumerate(zip(values, widths, strict=True))
        )

    return "\n".join([line(header), "  ".join("-" * w for w in widths), *(line(c) for c in cells)])
