"""The README's OCPP 2.0.1 message tables say what the adapter does: every action of OCPP 2.0.1
listed once, "yes" exactly for the CSMS requests the adapter has a handler for and the station
requests it sends."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import ocpp.v201

import agent.ocpp201

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = Path(ocpp.v201.__file__).parent / "schemas"
ROW = re.compile(r"^\| (\w+) \| ([A-P]) \| (yes|no) \| .*\|$")


def readme_tables() -> dict[str, dict[str, str]]:
    """{"CSMS → station": {action: "yes"|"no"}, "Station → CSMS": {...}} from the README."""
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## OCPP 2.0.1\n", 1)[1].split("\n## ", 1)[0]
    tables: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for line in section.splitlines():
        if line in ("CSMS → station:", "Station → CSMS:"):
            current = tables.setdefault(line.rstrip(":"), {})
        elif current is not None and (row := ROW.match(line)):
            assert row[1] not in current, f"{row[1]} listed twice"
            current[row[1]] = row[3]
    return tables


def ocpp201_modules() -> list[object]:
    return [importlib.import_module(m.name)
            for m in pkgutil.walk_packages(agent.ocpp201.__path__, "agent.ocpp201.")]


def handled_actions() -> set[str]:
    """The actions with an ``@on`` handler anywhere in agent/ocpp201."""
    found = set()
    for module in ocpp201_modules():
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__:
                for _, member in inspect.getmembers(cls, callable):
                    if hasattr(member, "_on_action"):
                        found.add(str(getattr(member._on_action, "value", member._on_action)))
    return found


def sent_actions() -> set[str]:
    """The requests agent/ocpp201 builds (``call.<Action>(...)`` of ocpp.v201)."""
    found = set()
    for path in Path(agent.ocpp201.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "call"):
                found.add(node.func.attr)
    return found


def test_every_ocpp_201_action_is_listed_once():
    tables = readme_tables()
    listed = set(tables["CSMS → station"]) | set(tables["Station → CSMS"])
    actions = {p.name.removesuffix("Request.json") for p in SCHEMAS.glob("*Request.json")}
    assert len(actions) == 64
    assert listed == actions
    assert set(tables["CSMS → station"]) & set(tables["Station → CSMS"]) == {"DataTransfer"}  # both ways


def test_supported_csms_requests_are_those_the_adapter_handles():
    table = readme_tables()["CSMS → station"]
    assert {action for action, supported in table.items() if supported == "yes"} == handled_actions()


def test_supported_station_requests_are_those_the_adapter_sends():
    table = readme_tables()["Station → CSMS"]
    assert {action for action, supported in table.items() if supported == "yes"} == sent_actions()
