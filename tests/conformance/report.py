"""Run the OCPP conformance suites and write their results tables.

    python -m tests.conformance.report [--version 1.6|2.0.1|all] [--out FILE] [-- pytest arguments]

(``.ci/dev conformance`` runs it with ``--version all``.) One row per OCTT case: passed, not
applicable (and why), not yet implemented, or failing (and the first line of why), with the
date and the commit the run tested.

- 1.6: tests/conformance/, cases in tests/conformance/cases.py, writes docs/conformance-1.6.md.
- 2.0.1: tests/conformance201/, cases in tests/conformance201/cases.py, writes
  docs/conformance-2.0.1.md. A case with neither a test nor a not-applicable reason is
  "failing (no test yet)", never passed.

``all`` runs both suites in one pytest session (one strict backend process) and writes both
tables. The exit status is pytest's.
"""

from __future__ import annotations

import argparse
import ast
import datetime as dt
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conformance.cases import CASES, Case

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = ROOT / "docs" / "conformance-1.6.md"
CASE_OF_TEST = re.compile(r"::test_(TC_\d{3}(?:_\d+)?)_")
# 2.0.1: test_TC_B_01_<what> is TC_B_01_CS; test_not_applicable[TC_M_24_CS] is the not-applicable check.
CASE_OF_TEST_201 = re.compile(r"::test_TC_([A-P])_(\d{2})_|::test_not_applicable\[(TC_[A-P]_\d{2}_CS)\]")

NO_TEST_YET = "failing (no test yet)"


def case_id(nodeid: str) -> str | None:
    """The 1.6 case a test node is, or None."""
    match = CASE_OF_TEST.search(nodeid)
    return match.group(1) if match else None


def case_id_201(nodeid: str) -> str | None:
    """The 2.0.1 case a test node is, or None."""
    match = CASE_OF_TEST_201.search(nodeid)
    if not match:
        return None
    return match.group(3) or f"TC_{match.group(1)}_{match.group(2)}_CS"


@dataclass
class Outcome:
    result: str = "passed"  # passed | not applicable | not yet implemented | failing | not run | NO_TEST_YET
    note: str = ""
    seconds: float = 0.0


@dataclass(eq=False)  # a plugin: hashed by identity, two may run in one session
class Outcomes:
    """A pytest plugin that keeps the outcome of every conformance test, by case id."""

    case_of: Callable[[str], str | None] = case_id
    under: str = "tests/conformance/"  # only the test nodes of this directory
    by_case: dict[str, Outcome] = field(default_factory=dict)

    def pytest_runtest_logreport(self, report) -> None:
        if not report.nodeid.startswith(self.under):
            return
        cid = self.case_of(report.nodeid)
        if cid is None:
            return
        outcome = self.by_case.setdefault(cid, Outcome())
        outcome.seconds += report.duration
        if outcome.result == "failing":
            return
        if hasattr(report, "wasxfail"):
            reason = report.wasxfail.removeprefix("reason: ")
            if reason.startswith("not yet implemented: "):
                outcome.result, outcome.note = "not yet implemented", reason.removeprefix("not yet implemented: ")
            else:
                outcome.result, outcome.note = "failing", f"expected to fail until merged: {reason}"
        elif report.failed:
            outcome.result, outcome.note = "failing", _first_line(report)
        elif report.skipped:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            reason = reason.removeprefix("Skipped: ")
            if reason.startswith("not applicable: "):
                outcome.result, outcome.note = "not applicable", reason.removeprefix("not applicable: ")
            else:
                outcome.result, outcome.note = "not run", reason


def _first_line(report) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    text = crash.message if crash is not None else str(report.longrepr)
    line = next((line.strip() for line in text.splitlines() if line.strip()), "failed")
    return (f"{report.when}: " if report.when != "call" else "") + line[:160]


def commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()

    head = git("rev-parse", "--short=12", "HEAD") or "unknown"
    return head + (" (with uncommitted changes)" if git("status", "--porcelain", "--untracked-files=no") else "")


def case_tests(directory: Path, case_of: Callable[[str], str | None]) -> Counter[str]:
    """How many test functions each case has in ``directory`` (read from the source, not run)."""
    found: Counter[str] = Counter()
    for module in sorted(directory.glob("test_*.py")):
        for node in ast.parse(module.read_text()).body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                cid = case_of(f"{module.name}::{node.name}")
                if cid is not None:
                    found[cid] += 1
    return found


def _table(title: str, intro: list[str], rows: list[tuple[Any, Outcome]], *, date: str, tested: str,
           column: str) -> str:
    order = ("passed", "not applicable", "not yet implemented", "failing", NO_TEST_YET, "not run")
    counts = Counter(o.result for _, o in rows)
    summary = ", ".join(f"{r} {counts[r]}" for r in order if counts[r] or r in ("passed", "not applicable", "failing"))
    lines = [f"# {title}", "", *intro, "", f"- Date: {date}", f"- Commit: {tested}",
             f"- Cases: {len(rows)} — {summary}", "",
             f"| {column} | Case | Name | Result | Notes |", "|---|---|---|---|---|"]
    for case, outcome in rows:
        note = outcome.note.replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {case.module} | {case.id} | {case.name} | {outcome.result} | {note} |")
    lines += ["", "Regenerate: `.ci/dev conformance` (writes this file; the exit status is the suite's).", ""]
    return "\n".join(lines)


# ---- OCPP 1.6 ----------------------------------------------------------------------------------


def render(outcomes: dict[str, Outcome], *, date: str, tested: str) -> str:
    rows: list[tuple[Case, Outcome]] = [(c, outcomes.get(c.id, Outcome("not run", "no test ran"))) for c in CASES]
    intro = [
        "Generated by `.ci/dev conformance` (`python -m tests.conformance.report`) from a run of",
        "`tests/conformance/`: one test per case of the Open Charge Alliance's Compliancy Testing Tool",
        "(OCPP 1.6, charge point role; the tool names them `<ID>_CS`), each doing what the case describes",
        "against a backend this project did not write: the `ocpp-rpc` package in strict mode, which",
        "validates every message in both directions against the official OCPP 1.6 JSON schemas (a",
        "single violation fails the test). The charge point is `evse-agent run` driving the simulator's",
        "hardware: EVSE-DIN board and SDM630 meter (Modbus TCP), PN532 card reader (I²C), main contactor",
        "and motor cable lock (GPIO); one connector.",
    ]
    return _table("OCPP 1.6 conformance: the OCTT charge-point test cases", intro, rows, date=date, tested=tested,
                  column="Module")


# ---- OCPP 2.0.1 --------------------------------------------------------------------------------


def render_201(outcomes: dict[str, Outcome], *, date: str, tested: str,
               tests: Counter[str] | None = None) -> str:
    """The 2.0.1 table. ``tests``: the cases that have a test (read from the source); a case
    without one and without a not-applicable reason is failing (no test yet)."""
    from tests.conformance201.cases import CASES as CASES_201
    from tests.conformance201.cases import NOT_APPLICABLE

    if tests is None:
        tests = case_tests(ROOT / "tests" / "conformance201", case_id_201)

    def outcome(case) -> Outcome:
        if case.id in outcomes:
            return outcomes[case.id]
        if tests[case.id] or case.id in NOT_APPLICABLE:
            return Outcome("not run", "its test was not run")
        return Outcome(NO_TEST_YET, "")

    rows = [(c, outcome(c)) for c in CASES_201]
    intro = [
        "Generated by `.ci/dev conformance` (`python -m tests.conformance.report --version 2.0.1`) from a",
        "run of `tests/conformance201/`: one test per case of the Open Charge Alliance's Compliancy",
        "Testing Tool for OCPP 2.0.1 (charging station role, functional blocks A–P, the cases numbered",
        "below 100), each doing what the case describes against a backend this project did not write:",
        "the `ocpp-rpc` package in strict mode on the `ocpp2.0.1` subprotocol, which validates every",
        "message in both directions against the official OCPP 2.0.1 JSON schemas; the backend adds the",
        "OCPP-J 2.0.1 error codes, message id length and date-time format (a single violation fails the",
        "test). A case that does not apply to this station says why, and a test checks the fact behind",
        "the reason. A case with no test yet is listed as failing. The charging station is `evse-agent",
        "run` driving the simulator's hardware: EVSE-DIN board and SDM630 meter (Modbus TCP), PN532 card",
        "reader (I²C), main contactor and motor cable lock (GPIO); one EVSE with one connector.",
    ]
    return _table("OCPP 2.0.1 conformance: the OCTT charging-station test cases", intro, rows, date=date,
                  tested=tested, column="Block")


DEFAULT_OUT_201 = ROOT / "docs" / "conformance-2.0.1.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.conformance.report", description=__doc__.splitlines()[0])
    parser.add_argument("--version", choices=("1.6", "2.0.1", "all"), default="1.6",
                        help="which suite to run and which table to write (default 1.6)")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"the table to write, with one version (default {DEFAULT_OUT} / {DEFAULT_OUT_201})")
    parser.add_argument("pytest_args", nargs="*", help="more pytest arguments (after --)")
    args = parser.parse_args(argv)
    if args.out is not None and args.version == "all":
        parser.error("--out names one table: give --version 1.6 or 2.0.1 with it")
    suites = {
        "1.6": (Outcomes(case_id, "tests/conformance/"), ROOT / "tests" / "conformance", DEFAULT_OUT, render),
        "2.0.1": (Outcomes(case_id_201, "tests/conformance201/"), ROOT / "tests" / "conformance201",
                  DEFAULT_OUT_201, render_201),
    }
    chosen = list(suites) if args.version == "all" else [args.version]
    started = dt.datetime.now(dt.timezone.utc)
    status = pytest.main([*(str(suites[v][1]) for v in chosen), "-p", "no:cacheprovider", "-q", *args.pytest_args],
                         plugins=[suites[v][0] for v in chosen])
    tested = commit()
    for version in chosen:
        collector, _, default_out, render_table = suites[version]
        out = args.out or default_out
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(render_table(collector.by_case, date=started.strftime("%Y-%m-%d"), tested=tested))
        print(f"wrote {out}", file=sys.stderr)
    return int(status)


if __name__ == "__main__":
    sys.exit(main())
