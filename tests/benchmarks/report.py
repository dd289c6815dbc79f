"""One result row per measurement, printed as a table and written as JSON."""

from __future__ import annotations

import json
import platform
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Row:
    name: str  # short id, e.g. "footprint.rss"
    measures: str  # what it measures, in words
    unit: str  # of floor, target and value
    value: float | None
    floor: float | None  # the same thing without the agent, measured in the same run
    target: str  # e.g. "<= 1.25 x floor", "< 20 ms"
    passed: bool | None  # None: reported, no target
    miss: str = ""  # by how much a missed target is missed
    notes: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.floor:
            return None
        return self.value / self.floor


def ratio_row(name: str, measures: str, unit: str, value: float, floor: float, limit: float,
              *, notes: str = "", details: dict | None = None, at_least: bool = False) -> Row:
    """A row whose target is ``value <= limit x floor`` (``>=`` with ``at_least``)."""
    ratio = value / floor
    ok = ratio >= limit if at_least else ratio <= limit
    target = f"{'>=' if at_least else '<='} {limit:g} x floor"
    miss = "" if ok else f"{abs(ratio - limit) / limit * 100:.0f} % {'under' if at_least else 'over'} ({ratio:.2f} x floor)"
    return Row(name, measures, unit, value, floor, target, ok, miss, notes, details or {})


def limit_row(name: str, measures: str, unit: str, value: float, limit: float, *, floor: float | None = None,
              notes: str = "", details: dict | None = None, at_least: bool = False) -> Row:
    """A row whose target is an absolute ``value < limit`` (``>=`` with ``at_least``)."""
    ok = value >= limit if at_least else value < limit
    target = f"{'>=' if at_least else '<'} {limit:g} {unit}"
    miss = "" if ok else f"{abs(value - limit):.3g} {unit} {'short' if at_least else 'over'} ({value / limit:.2f} x target)"
    return Row(name, measures, unit, value, floor, target, ok, miss, notes, details or {})


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100); with few samples p99 is the maximum."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, -(-len(ordered) * p // 100) - 1))
    return ordered[int(k)]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "min": min(values),
        "p50": statistics.median(values),
        "p99": percentile(values, 99),
        "max": max(values),
    }


def _fmt(x: float | None) -> str:
    if x is None:
        return "-"
    if abs(x) >= 100:
        return f"{x:.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def table(rows: list[Row]) -> str:
    """A Markdown table (readable in a terminal and in the README)."""
    lines = [
        "| benchmark | measures | floor | target | value | ratio | result | missed by |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        result = "-" if r.passed is None else ("pass" if r.passed else "FAIL")
        ratio = "-" if r.ratio is None else f"{r.ratio:.2f}"
        floor = "-" if r.floor is None else f"{_fmt(r.floor)} {r.unit}"
        lines.append(
            f"| {r.name} | {r.measures} | {floor} | {r.target} | {_fmt(r.value)} {r.unit} | {ratio} | {result} | {r.miss or '-'} |"
        )
    notes = [f"- {r.name}: {r.notes}" for r in rows if r.notes]
    return "\n".join(lines + ([""] + notes if notes else []))


def write_json(rows: list[Row], path: Path, *, mode: str, command: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "mode": mode,
        "command": command,
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "machine": platform.machine()},
        "rows": [dict(asdict(r), ratio=r.ratio) for r in rows],
    }
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
