"""The suite covers the OCTT case list exactly: one test per case, named after it."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

from tests.conformance.cases import BY_ID, CASES, NOT_APPLICABLE
from tests.conformance.report import Outcome, case_id, render

HERE = Path(__file__).resolve().parent


def case_tests() -> Counter[str]:
    found: Counter[str] = Counter()
    for module in sorted(HERE.glob("test_*.py")):
        for node in ast.parse(module.read_text()).body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                cid = case_id(f"{module.name}::{node.name}")
                if cid is not None:
                    found[cid] += 1
    return found


def test_the_case_list_has_the_107_cases_of_the_tool():
    assert len(CASES) == 107 and len(BY_ID) == 107
    assert len({c.module for c in CASES}) == 24  # modules 10 and 11 are one row in the tool's list


def test_every_case_has_exactly_one_test_and_every_test_a_case():
    found = case_tests()
    assert sorted(set(BY_ID) - set(found)) == []
    assert sorted(set(found) - set(BY_ID)) == []
    assert [cid for cid, n in found.items() if n > 1] == []
    assert set(NOT_APPLICABLE) <= set(BY_ID)


def test_the_table_has_a_row_per_case_with_its_result():
    table = render({"TC_001": Outcome("passed"), "TC_032_1": Outcome("not applicable", "no back-up power")},
                   date="2026-12-04", tested="abc123")
    rows = [line for line in table.splitlines() if line.startswith("| ") and "TC_" in line]
    assert len(rows) == 107
    assert "| TC_001 | Cold Boot Charge Point | passed |" in table
    assert "| TC_032_1 | Power Failure – Stop Transaction(s) Before Going Down | not applicable | no back-up power |" in table
    assert "- Commit: abc123" in table
